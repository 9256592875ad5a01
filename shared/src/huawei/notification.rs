//! Voice pushes sent to `statusUrl`/`feeUrl`: call-status events and CDRs. One URL may receive both, so a
//! push is told apart by its `eventType`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::lenient::{json_kind, opt_int};
use super::PayloadError;

/// Huawei merges at most this many CDRs into one push.
pub const MAX_CDRS_PER_PUSH: usize = 50;
/// `sessionId` is `String(1-256)` in Huawei's CDR table.
pub const MAX_SESSION_ID_LEN: usize = 256;
/// Longest `icid` we accept: it becomes part of the CDR's sort key, which DynamoDB limits to 1024 bytes.
pub const MAX_ICID_LEN: usize = 256;
/// Longest `eventType` we accept (known ones are ≤ 11 chars; it becomes part of a sort key).
pub const MAX_EVENT_TYPE_LEN: usize = 64;

/// Call events Huawei documents for voice verification (callout…disconnect), privacy numbers (`callin`) and
/// voice notification (`collectInfo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CallEventKind {
    Callin,
    Callout,
    Alerting,
    Answer,
    CollectInfo,
    Disconnect,
}

impl CallEventKind {
    pub const ALL: [CallEventKind; 6] =
        [Self::Callin, Self::Callout, Self::Alerting, Self::Answer, Self::CollectInfo, Self::Disconnect];

    pub fn from_wire(event_type: &str) -> Option<Self> {
        Some(match event_type {
            "callin" => Self::Callin,
            "callout" => Self::Callout,
            "alerting" => Self::Alerting,
            "answer" => Self::Answer,
            "collectInfo" => Self::CollectInfo,
            "disconnect" => Self::Disconnect,
            _ => return None,
        })
    }

    pub fn as_wire(self) -> &'static str {
        match self {
            Self::Callin => "callin",
            Self::Callout => "callout",
            Self::Alerting => "alerting",
            Self::Answer => "answer",
            Self::CollectInfo => "collectInfo",
            Self::Disconnect => "disconnect",
        }
    }
}

/// `statusInfo` of a call event. Only `sessionId` is required: the rest is stored when present.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StatusInfo {
    pub session_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub called: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
    #[serde(default, deserialize_with = "opt_int", skip_serializing_if = "Option::is_none")]
    pub state_code: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_desc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
}

/// One CDR of `feeLst`. Only `sessionId` is required: a bill refused for a missing optional field would be lost
/// after Huawei's six re-pushes, so absent fields are stored as absent. Types are still checked.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Cdr {
    pub session_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icid: Option<String>,
    #[serde(default, deserialize_with = "opt_int", skip_serializing_if = "Option::is_none")]
    pub direction: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sp_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_num: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_num: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callee_num: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_out_start_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_out_alerting_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_out_answer_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_end_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_time: Option<String>,
    #[serde(default, deserialize_with = "opt_int", skip_serializing_if = "Option::is_none")]
    pub ul_fail_reason: Option<i64>,
    #[serde(default, deserialize_with = "opt_int", skip_serializing_if = "Option::is_none")]
    pub sip_status_code: Option<i64>,
    #[serde(default, deserialize_with = "opt_int", skip_serializing_if = "Option::is_none")]
    pub call_out_unasw_rsn: Option<i64>,
    #[serde(default, deserialize_with = "opt_int", skip_serializing_if = "Option::is_none")]
    pub fwd_unasw_rsn: Option<i64>,
    #[serde(default, deserialize_with = "opt_int", skip_serializing_if = "Option::is_none")]
    pub record_flag: Option<i64>,
    #[serde(default, deserialize_with = "opt_int", skip_serializing_if = "Option::is_none")]
    pub tts_play_times: Option<i64>,
    #[serde(default, deserialize_with = "opt_int", skip_serializing_if = "Option::is_none")]
    pub tts_trans_duration: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
}

/// A call event as received: typed fields plus the raw JSON of the whole push.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusEvent {
    pub kind: CallEventKind,
    pub info: StatusInfo,
    pub raw: String,
}

/// A CDR as received: typed fields plus the raw JSON of this one `feeLst` element.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedCdr {
    pub cdr: Cdr,
    pub raw: String,
}

/// An `eventType` we do not know yet but that names a session: Huawei's news, stored raw.
#[derive(Debug, Clone, PartialEq)]
pub struct UnrecognisedEvent {
    pub event_type: String,
    pub session_id: String,
    pub raw: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum VoicePush {
    Status(StatusEvent),
    Fee(Vec<ReceivedCdr>),
    Unrecognised(UnrecognisedEvent),
}

impl VoicePush {
    /// Parses the raw body bytes of a push to `statusUrl` or `feeUrl`.
    pub fn parse(body: &[u8]) -> Result<Self, PayloadError> {
        let root = parse_object(body)?;
        let event_type = required_str(&root, "eventType")?.trim();
        if event_type.is_empty() || event_type.len() > MAX_EVENT_TYPE_LEN {
            return Err(invalid("eventType", format!("must be 1 to {MAX_EVENT_TYPE_LEN} characters")));
        }
        let raw = || String::from_utf8_lossy(body).into_owned();
        if event_type == "fee" {
            return parse_fee_list(&root).map(VoicePush::Fee);
        }
        if let Some(kind) = CallEventKind::from_wire(event_type) {
            let info_value = root.get("statusInfo").ok_or(PayloadError::MissingField("statusInfo"))?;
            let info: StatusInfo = typed("statusInfo", info_value)?;
            check_session_id(&info.session_id)?;
            return Ok(VoicePush::Status(StatusEvent { kind, info, raw: raw() }));
        }
        let session_id = unrecognised_session_id(&root)?;
        Ok(VoicePush::Unrecognised(UnrecognisedEvent { event_type: event_type.to_owned(), session_id, raw: raw() }))
    }
}

fn parse_fee_list(root: &Map<String, Value>) -> Result<Vec<ReceivedCdr>, PayloadError> {
    let list = match root.get("feeLst") {
        None | Some(Value::Null) => return Err(PayloadError::MissingField("feeLst")),
        Some(Value::Array(list)) => list,
        Some(other) => return Err(invalid("feeLst", format!("expected an array, got {}", json_kind(other)))),
    };
    if list.is_empty() || list.len() > MAX_CDRS_PER_PUSH {
        return Err(PayloadError::FeeListSize { got: list.len(), max: MAX_CDRS_PER_PUSH });
    }
    list.iter()
        .map(|element| {
            let cdr: Cdr = typed("feeLst[]", element)?;
            check_session_id(&cdr.session_id)?;
            if cdr.icid.as_ref().is_some_and(|icid| icid.len() > MAX_ICID_LEN) {
                return Err(invalid("icid", format!("must be at most {MAX_ICID_LEN} bytes")));
            }
            Ok(ReceivedCdr { cdr, raw: element.to_string() })
        })
        .collect()
}

/// An unknown event's sessionId, where Huawei puts it for the events it documents: `statusInfo.sessionId`, or
/// at the top level.
fn unrecognised_session_id(root: &Map<String, Value>) -> Result<String, PayloadError> {
    let nested = root.get("statusInfo").and_then(Value::as_object).and_then(|info| info.get("sessionId"));
    match nested.or_else(|| root.get("sessionId")) {
        Some(Value::String(id)) => check_session_id(id).map(|()| id.clone()),
        Some(other) => Err(invalid("sessionId", format!("expected a string, got {}", json_kind(other)))),
        None => Err(PayloadError::MissingField("statusInfo.sessionId")),
    }
}

pub(crate) fn parse_object(body: &[u8]) -> Result<Map<String, Value>, PayloadError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(PayloadError::NotAnObject),
        Err(e) => Err(PayloadError::InvalidJson(e.to_string())),
    }
}

pub(crate) fn required_str<'a>(map: &'a Map<String, Value>, field: &'static str) -> Result<&'a str, PayloadError> {
    match map.get(field) {
        None | Some(Value::Null) => Err(PayloadError::MissingField(field)),
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(invalid(field, format!("expected a string, got {}", json_kind(other)))),
    }
}

/// Reads a typed view of a JSON value, turning serde's message into a field-level error.
pub(crate) fn typed<T: serde::de::DeserializeOwned>(field: &'static str, value: &Value) -> Result<T, PayloadError> {
    if !value.is_object() {
        return Err(invalid(field, format!("expected an object, got {}", json_kind(value))));
    }
    T::deserialize(value).map_err(|e| match missing_field_name(&e.to_string()) {
        Some("sessionId") => PayloadError::MissingField("sessionId"),
        _ => invalid(field, e.to_string()),
    })
}

fn missing_field_name(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

pub(crate) fn check_session_id(id: &str) -> Result<(), PayloadError> {
    if id.is_empty() || id.len() > MAX_SESSION_ID_LEN {
        return Err(invalid("sessionId", format!("must be 1 to {MAX_SESSION_ID_LEN} bytes")));
    }
    if id.chars().any(char::is_control) {
        return Err(invalid("sessionId", "must not contain control characters".into()));
    }
    Ok(())
}

pub(crate) fn invalid(field: &'static str, reason: String) -> PayloadError {
    PayloadError::InvalidField { field, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(json: &str) -> StatusEvent {
        match VoicePush::parse(json.as_bytes()).unwrap() {
            VoicePush::Status(event) => event,
            other => panic!("expected a status event, got {other:?}"),
        }
    }

    #[test]
    fn parses_a_documented_callout() {
        let event = status(
            r#"{"eventType":"callout","statusInfo":{"sessionId":"1201_612@x","timestamp":"2019-01-24 03:04:24","caller":"+8613800000022","called":"+8613800000021","userData":"customerId123"}}"#,
        );
        assert_eq!(event.kind, CallEventKind::Callout);
        assert_eq!(event.info.session_id, "1201_612@x");
        assert_eq!(event.info.user_data.as_deref(), Some("customerId123"));
        assert!(event.raw.contains("customerId123"));
    }

    #[test]
    fn disconnect_state_code_may_be_a_string_and_event_type_may_have_spaces() {
        let event = status(r#"{"eventType":" disconnect ","statusInfo":{"sessionId":"s","stateCode":"8101"}}"#);
        assert_eq!(event.kind, CallEventKind::Disconnect);
        assert_eq!(event.info.state_code, Some(8101));
    }

    #[test]
    fn unknown_fields_are_tolerated_and_kept_raw() {
        let event = status(r#"{"eventType":"answer","statusInfo":{"sessionId":"s","newField":{"a":1}},"extra":true}"#);
        assert!(event.raw.contains("newField"));
    }

    #[test]
    fn fee_push_keeps_each_cdr_raw() {
        let body = r#"{"eventType":"fee","feeLst":[{"sessionId":"a","icid":"1","voiceCheckType":0,"ulFailReason":"518"},{"sessionId":"b"}]}"#;
        let VoicePush::Fee(cdrs) = VoicePush::parse(body.as_bytes()).unwrap() else { panic!("not fee") };
        assert_eq!(cdrs.len(), 2);
        assert_eq!(cdrs[0].cdr.ul_fail_reason, Some(518));
        assert!(cdrs[0].raw.contains("voiceCheckType"));
        assert!(!cdrs[1].raw.contains("voiceCheckType"));
    }

    #[test]
    fn unknown_event_type_with_session_is_unrecognised_not_garbage() {
        let push = VoicePush::parse(br#"{"eventType":"hold","statusInfo":{"sessionId":"s1"}}"#).unwrap();
        assert!(
            matches!(push, VoicePush::Unrecognised(UnrecognisedEvent { ref session_id, .. }) if session_id == "s1")
        );
        let top = VoicePush::parse(br#"{"eventType":"hold","sessionId":"s2"}"#).unwrap();
        assert!(matches!(top, VoicePush::Unrecognised(UnrecognisedEvent { ref session_id, .. }) if session_id == "s2"));
    }

    #[test]
    fn bad_inputs_are_refused_with_the_right_error() {
        use PayloadError::*;
        type Expectation = fn(&PayloadError) -> bool;
        let cases: &[(&str, Expectation)] = &[
            ("not json", |e| matches!(e, InvalidJson(_))),
            ("[1,2]", |e| matches!(e, NotAnObject)),
            (r#"{"statusInfo":{"sessionId":"s"}}"#, |e| *e == MissingField("eventType")),
            (r#"{"eventType":7}"#, |e| matches!(e, InvalidField { field: "eventType", .. })),
            (r#"{"eventType":"  "}"#, |e| matches!(e, InvalidField { field: "eventType", .. })),
            (r#"{"eventType":"answer"}"#, |e| *e == MissingField("statusInfo")),
            (r#"{"eventType":"answer","statusInfo":{}}"#, |e| *e == MissingField("sessionId")),
            (r#"{"eventType":"answer","statusInfo":[]}"#, |e| matches!(e, InvalidField { field: "statusInfo", .. })),
            (r#"{"eventType":"answer","statusInfo":{"sessionId":5}}"#, |e| matches!(e, InvalidField { .. })),
            (r#"{"eventType":"answer","statusInfo":{"sessionId":""}}"#, |e| {
                matches!(e, InvalidField { field: "sessionId", .. })
            }),
            (r#"{"eventType":"disconnect","statusInfo":{"sessionId":"s","stateCode":"x"}}"#, |e| {
                matches!(e, InvalidField { .. })
            }),
            (r#"{"eventType":"fee"}"#, |e| *e == MissingField("feeLst")),
            (r#"{"eventType":"fee","feeLst":{}}"#, |e| matches!(e, InvalidField { field: "feeLst", .. })),
            (r#"{"eventType":"fee","feeLst":[]}"#, |e| matches!(e, FeeListSize { got: 0, .. })),
            (r#"{"eventType":"fee","feeLst":[{"icid":"1"}]}"#, |e| *e == MissingField("sessionId")),
            (r#"{"eventType":"fee","feeLst":[1]}"#, |e| matches!(e, InvalidField { field: "feeLst[]", .. })),
            (r#"{"eventType":"hold"}"#, |e| *e == MissingField("statusInfo.sessionId")),
        ];
        for (body, expected) in cases {
            let err = VoicePush::parse(body.as_bytes()).expect_err(body);
            assert!(expected(&err), "{body} gave {err:?}");
        }
    }

    #[test]
    fn fifty_cdrs_pass_and_fifty_one_do_not() {
        let push = |n: usize| {
            let cdrs: Vec<String> = (0..n).map(|i| format!(r#"{{"sessionId":"s{i}"}}"#)).collect();
            format!(r#"{{"eventType":"fee","feeLst":[{}]}}"#, cdrs.join(","))
        };
        assert!(matches!(VoicePush::parse(push(50).as_bytes()), Ok(VoicePush::Fee(c)) if c.len() == 50));
        assert_eq!(VoicePush::parse(push(51).as_bytes()), Err(PayloadError::FeeListSize { got: 51, max: 50 }));
    }

    #[test]
    fn oversized_session_id_and_deep_nesting_are_refused_without_panic() {
        let long = format!(r#"{{"eventType":"answer","statusInfo":{{"sessionId":"{}"}}}}"#, "x".repeat(10_000));
        assert!(matches!(
            VoicePush::parse(long.as_bytes()),
            Err(PayloadError::InvalidField { field: "sessionId", .. })
        ));
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(VoicePush::parse(deep.as_bytes()), Err(PayloadError::InvalidJson(_))));
        assert!(matches!(VoicePush::parse(&[0xff, 0xfe, b'{']), Err(PayloadError::InvalidJson(_))));
    }
}
