//! What happens to a call: chosen by the callee number's last four digits, or forced via `POST /sim/scenario`.

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::api_error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    Answered,
    NoAnswer,
    Busy,
    HangupRinging,
    Rejected,
    Throttled,
    Unavailable,
    Timeout,
    PoweredOff,
    InvalidNumber,
    Blocked,
    PlatformFailure,
    SipOnly,
    LostStatus,
    LateCdr,
    Silent,
}

/// Callee suffix → scenario. Suffixes mirror the codes they provoke (stateCode, SIP status or HTTP/resultcode);
/// `0404` (the status pushes are "not found"), `0777` (the CDR comes late) and `0204` (no content: nothing comes back) are
/// mnemonics. No suffix is a
/// suffix of another, so the order of the table does not matter.
pub const CALLEE_SUFFIXES: &[(&str, Scenario)] = &[
    ("8101", Scenario::NoAnswer),
    ("8102", Scenario::Busy),
    ("8004", Scenario::HangupRinging),
    ("0403", Scenario::Rejected),
    ("1010", Scenario::Throttled),
    ("0500", Scenario::Unavailable),
    ("0408", Scenario::Timeout),
    ("8104", Scenario::PoweredOff),
    ("8100", Scenario::InvalidNumber),
    ("7001", Scenario::Blocked),
    ("8000", Scenario::PlatformFailure),
    ("0486", Scenario::SipOnly),
    ("0404", Scenario::LostStatus),
    ("0777", Scenario::LateCdr),
    ("0204", Scenario::Silent),
];

/// The hang-up as the `disconnect` event reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disconnect {
    pub state_code: i32,
    pub state_desc: &'static str,
}

/// How a placed call unfolds; drives both the status events and the CDR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallScript {
    pub rings: bool,
    pub answered: bool,
    pub disconnect: Disconnect,
    /// CDR failure fields. Huawei publishes no table for these, so the values are plausible, not observed:
    /// ulFailReason from the 5xx platform codes (514 ring timeout, 518 remote call failure), the SIP final
    /// response, and the Q.850 cause.
    pub ul_fail_reason: i32,
    pub sip_status_code: i32,
    pub call_out_unasw_rsn: i32,
    /// `false`: every status push of the call is lost (never reaches the statusUrl); the CDR still comes.
    pub push_status: bool,
    /// `true`: the CDR is queued `late_cdr_delay` after the disconnect instead of `cdr_delay`.
    pub late_cdr: bool,
    /// `false`: the CDR never comes either (with `push_status: false`, the call is never heard of again).
    pub push_cdr: bool,
}

/// The platform's answer to a valid callVerify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlatformAnswer {
    /// `200 resultcode 0`, then the call unfolds per the script.
    Place(CallScript),
    /// An error answer; nothing is pushed.
    Refuse(ApiError),
    /// Hold the request past the client's timeout ("outcome unknown").
    Hang,
}

const ANSWERED: CallScript = CallScript {
    rings: true,
    answered: true,
    disconnect: Disconnect { state_code: 0, state_desc: "The user releases the call." },
    ul_fail_reason: 0,
    sip_status_code: 0,
    call_out_unasw_rsn: 0,
    push_status: true,
    late_cdr: false,
    push_cdr: true,
};

/// A call refused or failed before it rang: `callout`, then `disconnect` with `state_code`; no alerting or
/// answer time in the CDR.
const fn failed_before_ringing(
    state_code: i32,
    state_desc: &'static str,
    call_out_unasw_rsn: i32,
    ul_fail_reason: i32,
    sip_status_code: i32,
) -> CallScript {
    CallScript {
        rings: false,
        answered: false,
        disconnect: Disconnect { state_code, state_desc },
        ul_fail_reason,
        sip_status_code,
        call_out_unasw_rsn,
        push_status: true,
        late_cdr: false,
        push_cdr: true,
    }
}

impl Scenario {
    pub const ALL: [Scenario; 16] = [
        Scenario::Answered,
        Scenario::NoAnswer,
        Scenario::Busy,
        Scenario::HangupRinging,
        Scenario::Rejected,
        Scenario::Throttled,
        Scenario::Unavailable,
        Scenario::Timeout,
        Scenario::PoweredOff,
        Scenario::InvalidNumber,
        Scenario::Blocked,
        Scenario::PlatformFailure,
        Scenario::SipOnly,
        Scenario::LostStatus,
        Scenario::LateCdr,
        Scenario::Silent,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Answered => "answered",
            Scenario::NoAnswer => "no-answer",
            Scenario::Busy => "busy",
            Scenario::HangupRinging => "hangup-ringing",
            Scenario::Rejected => "rejected",
            Scenario::Throttled => "throttled",
            Scenario::Unavailable => "unavailable",
            Scenario::Timeout => "timeout",
            Scenario::PoweredOff => "powered-off",
            Scenario::InvalidNumber => "invalid-number",
            Scenario::Blocked => "blocked",
            Scenario::PlatformFailure => "platform-failure",
            Scenario::SipOnly => "sip-only",
            Scenario::LostStatus => "lost-status",
            Scenario::LateCdr => "late-cdr",
            Scenario::Silent => "silent",
        }
    }

    pub fn parse(name: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|s| s.name() == name)
    }

    pub fn for_callee(callee: &str) -> Scenario {
        CALLEE_SUFFIXES
            .iter()
            .find(|(suffix, _)| callee.ends_with(suffix))
            .map_or(Scenario::Answered, |(_, scenario)| *scenario)
    }

    /// `throttle_status` is configurable because Huawei pairs no HTTP status with flow control
    /// (docs/huawei-protocol.md, "callVerify result codes").
    pub fn platform_answer(self, throttle_status: StatusCode) -> PlatformAnswer {
        match self {
            Scenario::Answered => PlatformAnswer::Place(ANSWERED),
            Scenario::NoAnswer => PlatformAnswer::Place(CallScript {
                rings: true,
                answered: false,
                disconnect: Disconnect { state_code: 8101, state_desc: "The callee does not answer." },
                ul_fail_reason: 514,
                sip_status_code: 480,
                call_out_unasw_rsn: 19,
                push_status: true,
                late_cdr: false,
                push_cdr: true,
            }),
            Scenario::Busy => PlatformAnswer::Place(CallScript {
                rings: false,
                answered: false,
                disconnect: Disconnect { state_code: 8102, state_desc: "The callee is busy." },
                ul_fail_reason: 518,
                sip_status_code: 486,
                call_out_unasw_rsn: 17,
                push_status: true,
                late_cdr: false,
                push_cdr: true,
            }),
            Scenario::HangupRinging => PlatformAnswer::Place(CallScript {
                rings: true,
                answered: false,
                disconnect: Disconnect {
                    state_code: 8004,
                    state_desc: "The user hangs up while the phone is ringing.",
                },
                ul_fail_reason: 518,
                sip_status_code: 603,
                call_out_unasw_rsn: 21,
                push_status: true,
                late_cdr: false,
                push_cdr: true,
            }),
            Scenario::Rejected => PlatformAnswer::Refuse(ApiError::invalid_request("calleeNbr is not allowed")),
            Scenario::Throttled => PlatformAnswer::Refuse(ApiError::new(
                throttle_status,
                "1010010",
                "The flow control upper limit is reached on the platform",
            )),
            Scenario::Unavailable => PlatformAnswer::Refuse(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "1010001",
                "Internal system error",
            )),
            Scenario::Timeout => PlatformAnswer::Hang,
            // Q.850 20 "subscriber absent" with a 480 from the far end; 518: the remote call failed.
            Scenario::PoweredOff => {
                PlatformAnswer::Place(failed_before_ringing(8104, "The callee is powered off.", 20, 518, 480))
            }
            // Q.850 1 "unallocated number", SIP 404.
            Scenario::InvalidNumber => {
                PlatformAnswer::Place(failed_before_ringing(8100, "The callee number does not exist.", 1, 518, 404))
            }
            // Refused by the platform itself: no Q.850 cause or SIP status; ulFailReason repeats the stateCode
            // (docs/huawei-protocol.md, "`ulFailReason` (CDR)", 7001–7005).
            Scenario::Blocked => {
                PlatformAnswer::Place(failed_before_ringing(7001, "Call frequency control (developer).", 0, 7001, 0))
            }
            // 517: the platform's own response timed out; nothing reached the network.
            Scenario::PlatformFailure => {
                PlatformAnswer::Place(failed_before_ringing(8000, "Internal error.", 0, 517, 0))
            }
            // The CDR's only cause is the SIP status (busy here); the stateCode is the vague 8001.
            Scenario::SipOnly => {
                PlatformAnswer::Place(failed_before_ringing(8001, "The user is not connected.", 0, 0, 486))
            }
            Scenario::LostStatus => PlatformAnswer::Place(CallScript { push_status: false, ..ANSWERED }),
            Scenario::LateCdr => PlatformAnswer::Place(CallScript { late_cdr: true, ..ANSWERED }),
            Scenario::Silent => PlatformAnswer::Place(CallScript { push_status: false, push_cdr: false, ..ANSWERED }),
        }
    }

    /// The call a `timeout` request still places when configured to: an ordinary answered call.
    pub fn hung_call_script() -> CallScript {
        ANSWERED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callee_suffix_table() {
        assert_eq!(Scenario::for_callee("+8613800008101"), Scenario::NoAnswer);
        assert_eq!(Scenario::for_callee("+8613800008102"), Scenario::Busy);
        assert_eq!(Scenario::for_callee("+8613800008004"), Scenario::HangupRinging);
        assert_eq!(Scenario::for_callee("+8613800000403"), Scenario::Rejected);
        assert_eq!(Scenario::for_callee("+8613800001010"), Scenario::Throttled);
        assert_eq!(Scenario::for_callee("+8613800000500"), Scenario::Unavailable);
        assert_eq!(Scenario::for_callee("+8613800000408"), Scenario::Timeout);
        assert_eq!(Scenario::for_callee("+8613800008104"), Scenario::PoweredOff);
        assert_eq!(Scenario::for_callee("+8613800008100"), Scenario::InvalidNumber);
        assert_eq!(Scenario::for_callee("+8613800007001"), Scenario::Blocked);
        assert_eq!(Scenario::for_callee("+8613800008000"), Scenario::PlatformFailure);
        assert_eq!(Scenario::for_callee("+8613800000486"), Scenario::SipOnly);
        assert_eq!(Scenario::for_callee("+8613800000404"), Scenario::LostStatus);
        assert_eq!(Scenario::for_callee("+8613800000777"), Scenario::LateCdr);
        assert_eq!(Scenario::for_callee("+8613800000204"), Scenario::Silent);
        // The project's default numbers (fixtures, run-local, integration tests) stay answered.
        for answered in ["+8613800000001", "+8613800000021", "+8613800000022", "+8613800000000", "+8618900000007"] {
            assert_eq!(Scenario::for_callee(answered), Scenario::Answered, "{answered}");
        }
    }

    #[test]
    fn suffixes_are_unique_and_cover_every_suffix_scenario() {
        for (i, (a, _)) in CALLEE_SUFFIXES.iter().enumerate() {
            assert_eq!(a.len(), 4, "{a}");
            for (b, _) in &CALLEE_SUFFIXES[i + 1..] {
                assert_ne!(a, b, "duplicate suffix");
            }
        }
        for scenario in Scenario::ALL.into_iter().filter(|s| *s != Scenario::Answered) {
            let count = CALLEE_SUFFIXES.iter().filter(|(_, s)| *s == scenario).count();
            assert_eq!(count, 1, "{} has exactly one suffix", scenario.name());
        }
    }

    #[test]
    fn placed_scripts_are_consistent() {
        for scenario in Scenario::ALL {
            let PlatformAnswer::Place(script) = scenario.platform_answer(StatusCode::OK) else {
                continue;
            };
            let name = scenario.name();
            assert!(!script.answered || script.rings, "{name}: an answered call rang");
            assert_eq!(script.answered, script.disconnect.state_code == 0, "{name}: stateCode 0 iff answered");
            let codes = [script.call_out_unasw_rsn, script.ul_fail_reason, script.sip_status_code];
            assert_eq!(script.answered, codes == [0, 0, 0], "{name}: CDR causes are zero iff answered");
        }
    }

    #[test]
    fn names_round_trip() {
        for s in Scenario::ALL {
            assert_eq!(Scenario::parse(s.name()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::Value::from(s.name()));
        }
    }
}
