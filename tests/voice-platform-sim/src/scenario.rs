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
}

/// Callee suffix → scenario. Suffixes mirror the codes they provoke (stateCode or HTTP/resultcode).
pub const CALLEE_SUFFIXES: &[(&str, Scenario)] = &[
    ("8101", Scenario::NoAnswer),
    ("8102", Scenario::Busy),
    ("8004", Scenario::HangupRinging),
    ("0403", Scenario::Rejected),
    ("1010", Scenario::Throttled),
    ("0500", Scenario::Unavailable),
    ("0408", Scenario::Timeout),
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
};

impl Scenario {
    pub const ALL: [Scenario; 8] = [
        Scenario::Answered,
        Scenario::NoAnswer,
        Scenario::Busy,
        Scenario::HangupRinging,
        Scenario::Rejected,
        Scenario::Throttled,
        Scenario::Unavailable,
        Scenario::Timeout,
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
    /// (docs/huawei-protocol.md §2.4).
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
            }),
            Scenario::Busy => PlatformAnswer::Place(CallScript {
                rings: false,
                answered: false,
                disconnect: Disconnect { state_code: 8102, state_desc: "The callee is busy." },
                ul_fail_reason: 518,
                sip_status_code: 486,
                call_out_unasw_rsn: 17,
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
        assert_eq!(Scenario::for_callee("+8613800000021"), Scenario::Answered);
    }

    #[test]
    fn names_round_trip() {
        for s in Scenario::ALL {
            assert_eq!(Scenario::parse(s.name()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::Value::from(s.name()));
        }
    }
}
