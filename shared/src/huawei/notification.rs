//! Voice pushes sent to `statusUrl`/`feeUrl`: call-status events and CDRs. One URL may receive both, so a
//! push is told apart by its `eventType`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::lenient::{json_kind, opt_int};
use super::PayloadError;
use crate::ids::{IdError, SessionId};

/// Huawei merges at most this many CDRs into one push.
pub const MAX_CDRS_PER_PUSH: usize = 50;
/// `sessionId` is `String(1-256)` in Huawei's tables; defined once, beside the typed id.
pub use crate::ids::MAX_SESSION_ID_LEN;
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
    pub session_id: SessionId,
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
    pub session_id: SessionId,
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
    /// `statusInfo` fields that did not parse: left out of `info`, kept in `raw`.
    pub dropped_fields: Vec<String>,
}

/// A CDR as received: typed fields plus the raw JSON of this one `feeLst` element.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedCdr {
    pub cdr: Cdr,
    pub raw: String,
    /// Fields of the element that did not parse: left out of `cdr`, kept in `raw`.
    pub dropped_fields: Vec<String>,
}

/// Where a quarantined element came from, which says how to read it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuarantineSource {
    /// A whole push to `statusUrl` (a call event, or an event type we do not know).
    Status,
    /// One element of a fee push's `feeLst`.
    Fee,
    /// A whole privacy-number SMS push.
    Sms,
}

impl QuarantineSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::Fee => "fee",
            Self::Sms => "sms",
        }
    }
}

/// An element whose identity cannot be a key (no or bad `sessionId`, an `icid` too long, …): kept whole, as it
/// came, so that nothing Huawei sent is lost (docs/huawei-protocol.md, "Refused or salvaged").
#[derive(Debug, Clone, PartialEq)]
pub struct Quarantined {
    pub source: QuarantineSource,
    /// Why it could not be a record of its own. Never echoes a value of the payload.
    pub reason: PayloadError,
    pub raw: String,
}

/// The CDRs of a fee push, and the elements of it that had to be quarantined.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FeeList {
    pub cdrs: Vec<ReceivedCdr>,
    pub quarantined: Vec<Quarantined>,
}

/// An `eventType` we do not know yet but that names a session: Huawei's news, stored raw.
#[derive(Debug, Clone, PartialEq)]
pub struct UnrecognisedEvent {
    pub event_type: String,
    pub session_id: SessionId,
    pub raw: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum VoicePush {
    Status(StatusEvent),
    Fee(FeeList),
    Unrecognised(UnrecognisedEvent),
    /// A push with content but no usable identity, kept whole.
    Quarantined(Quarantined),
}

impl VoicePush {
    /// Parses the raw body bytes of a push to `statusUrl` or `feeUrl`.
    ///
    /// Refuses only what holds nothing to keep: not a JSON object, no `statusInfo`/`feeLst` (nor, for an event
    /// type we do not know, a top-level `sessionId`), an empty or over-long `feeLst`. Anything else is kept: a
    /// field that does not parse is dropped from the typed view (named in `dropped_fields`), and an element whose
    /// identity cannot be a key is [`Quarantined`].
    pub fn parse(body: &[u8]) -> Result<Self, PayloadError> {
        let root = parse_object(body)?;
        let raw = || String::from_utf8_lossy(body).into_owned();
        let quarantined =
            |reason| VoicePush::Quarantined(Quarantined { source: QuarantineSource::Status, reason, raw: raw() });
        let event_type = match event_type(&root) {
            Ok(event_type) => event_type,
            // Content without a usable eventType: something was sent about a call, so keep it.
            Err(reason) if ["statusInfo", "feeLst", "sessionId"].iter().any(|f| has_value(&root, f)) => {
                return Ok(quarantined(reason))
            }
            Err(reason) => return Err(reason),
        };
        if event_type == "fee" {
            return parse_fee_list(&root, raw).map(VoicePush::Fee);
        }
        if let Some(kind) = CallEventKind::from_wire(event_type) {
            let info_value = match root.get("statusInfo") {
                None | Some(Value::Null) => return Err(PayloadError::MissingField("statusInfo")),
                Some(value) => value,
            };
            let Some(info_object) = info_value.as_object() else {
                return Ok(quarantined(invalid(
                    "statusInfo",
                    format!("expected an object, got {}", json_kind(info_value)),
                )));
            };
            if let Err(reason) = identity_str(info_object, "sessionId").and_then(parse_session_id) {
                return Ok(quarantined(reason));
            }
            let (info, dropped_fields) = match salvage::<StatusInfo>(info_value, &["sessionId"]) {
                Ok(salvaged) => salvaged,
                Err(reason) => return Ok(quarantined(reason)),
            };
            return Ok(VoicePush::Status(StatusEvent { kind, info, raw: raw(), dropped_fields }));
        }
        match unrecognised_session_id(&root) {
            Ok(session_id) => Ok(VoicePush::Unrecognised(UnrecognisedEvent {
                event_type: event_type.to_owned(),
                session_id,
                raw: raw(),
            })),
            Err(PayloadError::MissingField(field)) if !has_value(&root, "statusInfo") => {
                Err(PayloadError::MissingField(field))
            }
            Err(reason) => Ok(quarantined(reason)),
        }
    }
}

/// `eventType`, trimmed, when it can be a part of a sort key.
fn event_type(root: &Map<String, Value>) -> Result<&str, PayloadError> {
    let event_type = required_str(root, "eventType")?.trim();
    if event_type.is_empty() || event_type.len() > MAX_EVENT_TYPE_LEN || event_type.chars().any(char::is_control) {
        return Err(invalid("eventType", format!("must be 1 to {MAX_EVENT_TYPE_LEN} printable characters")));
    }
    Ok(event_type)
}

fn has_value(map: &Map<String, Value>, field: &str) -> bool {
    map.get(field).is_some_and(|value| !value.is_null())
}

fn parse_fee_list(root: &Map<String, Value>, raw: impl Fn() -> String) -> Result<FeeList, PayloadError> {
    let list = match root.get("feeLst") {
        None | Some(Value::Null) => return Err(PayloadError::MissingField("feeLst")),
        Some(Value::Array(list)) => list,
        Some(other) => {
            let reason = invalid("feeLst", format!("expected an array, got {}", json_kind(other)));
            let quarantined = Quarantined { source: QuarantineSource::Status, reason, raw: raw() };
            return Ok(FeeList { cdrs: Vec::new(), quarantined: vec![quarantined] });
        }
    };
    if list.is_empty() || list.len() > MAX_CDRS_PER_PUSH {
        return Err(PayloadError::FeeListSize { got: list.len(), max: MAX_CDRS_PER_PUSH });
    }
    let mut fee = FeeList::default();
    for element in list {
        match received_cdr(element) {
            Ok(cdr) => fee.cdrs.push(cdr),
            Err(reason) => {
                fee.quarantined.push(Quarantined { source: QuarantineSource::Fee, reason, raw: element.to_string() })
            }
        }
    }
    Ok(fee)
}

/// One `feeLst` element as a CDR, or why its identity (`sessionId`, `icid`) cannot be a key.
fn received_cdr(element: &Value) -> Result<ReceivedCdr, PayloadError> {
    let Some(object) = element.as_object() else {
        return Err(invalid("feeLst[]", format!("expected an object, got {}", json_kind(element))));
    };
    identity_str(object, "sessionId").and_then(parse_session_id)?;
    match object.get("icid") {
        None | Some(Value::Null) => {}
        Some(Value::String(icid)) if icid.len() > MAX_ICID_LEN || icid.chars().any(char::is_control) => {
            return Err(invalid("icid", format!("must be at most {MAX_ICID_LEN} printable bytes")));
        }
        Some(Value::String(_)) => {}
        Some(other) => return Err(invalid("icid", format!("expected a string, got {}", json_kind(other)))),
    }
    let (cdr, dropped_fields) = salvage::<Cdr>(element, &["sessionId", "icid"])?;
    Ok(ReceivedCdr { cdr, raw: element.to_string(), dropped_fields })
}

/// An identity field: present and a string (its value is never part of the error).
fn identity_str<'a>(object: &'a Map<String, Value>, field: &'static str) -> Result<&'a str, PayloadError> {
    match object.get(field) {
        None | Some(Value::Null) => Err(PayloadError::MissingField(field)),
        Some(Value::String(value)) => Ok(value),
        Some(other) => Err(invalid(field, format!("expected a string, got {}", json_kind(other)))),
    }
}

/// A typed view of the object `value` that keeps every field that parses. A field that does not is left out of
/// the view (it stays in the raw JSON beside it) and named in the list returned: a bill with one odd field is
/// still a bill. `identity` names the fields already checked, which every probe keeps. Only a push with such a
/// field pays for the probes (one small parse per field).
pub(crate) fn salvage<T: serde::de::DeserializeOwned>(
    value: &Value,
    identity: &[&str],
) -> Result<(T, Vec<String>), PayloadError> {
    if let Ok(typed) = T::deserialize(value) {
        return Ok((typed, Vec::new()));
    }
    let Some(object) = value.as_object() else {
        return Err(invalid("object", format!("expected an object, got {}", json_kind(value))));
    };
    let kept_identity: Map<String, Value> = object
        .iter()
        .filter(|(name, _)| identity.contains(&name.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let parses_alone = |name: &str, field: &Value| {
        let mut probe = kept_identity.clone();
        probe.insert(name.to_owned(), field.clone());
        T::deserialize(&Value::Object(probe)).is_ok()
    };
    let dropped: Vec<String> = object
        .iter()
        .filter(|(name, field)| !identity.contains(&name.as_str()) && !parses_alone(name, field))
        .map(|(name, _)| name.clone())
        .collect();
    let kept: Map<String, Value> =
        object.iter().filter(|(name, _)| !dropped.contains(name)).map(|(k, v)| (k.clone(), v.clone())).collect();
    // The identity fields alone must parse: they were checked before; a failure here is a shape we do not know.
    T::deserialize(&Value::Object(kept))
        .map(|typed| (typed, dropped))
        .map_err(|_| invalid("object", "its identity fields do not parse".into()))
}

/// An unknown event's sessionId, where Huawei puts it for the events it documents: `statusInfo.sessionId`, or
/// at the top level.
fn unrecognised_session_id(root: &Map<String, Value>) -> Result<SessionId, PayloadError> {
    let nested = root.get("statusInfo").and_then(Value::as_object).and_then(|info| info.get("sessionId"));
    match nested.or_else(|| root.get("sessionId")) {
        Some(Value::String(id)) => parse_session_id(id),
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

/// A sessionId as the key of its records; the error names the rule, never the value.
fn parse_session_id(id: &str) -> Result<SessionId, PayloadError> {
    SessionId::parse(id).map_err(|not_one| match not_one {
        IdError::Length { max, .. } => invalid("sessionId", format!("must be 1 to {max} bytes")),
        _ => invalid("sessionId", "must not contain control characters".into()),
    })
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
    fn a_parsed_push_prints_its_sessionid_masked() {
        // A sessionId may hold numbers (ids.rs tests one such id): the key keeps them whole, a log line never does.
        let push = br#"{"eventType":"callin","statusInfo":{"sessionId":"+8613400007762_+8615000002131_4_627e5c1f"}}"#;
        let VoicePush::Status(event) = VoicePush::parse(push).unwrap() else { panic!("a status event") };
        let printed = format!("{:?} {}", event.info, event.info.session_id);
        for number in ["13400007762", "15000002131"] {
            assert!(!printed.contains(number), "{printed}");
        }
        assert_eq!(
            event.info.session_id.as_str(),
            "+8613400007762_+8615000002131_4_627e5c1f",
            "kept whole for the key"
        );
    }

    #[test]
    fn parses_a_documented_callout() {
        let event = status(
            r#"{"eventType":"callout","statusInfo":{"sessionId":"1201_612@x","timestamp":"2019-01-24 03:04:24","caller":"+8613800000022","called":"+8613800000021","userData":"customerId123"}}"#,
        );
        assert_eq!(event.kind, CallEventKind::Callout);
        assert_eq!(event.info.session_id.as_str(), "1201_612@x");
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

    fn fee(json: &str) -> FeeList {
        match VoicePush::parse(json.as_bytes()).unwrap() {
            VoicePush::Fee(fee) => fee,
            other => panic!("expected a fee push, got {other:?}"),
        }
    }

    fn quarantined(json: &str) -> Quarantined {
        match VoicePush::parse(json.as_bytes()) {
            Ok(VoicePush::Quarantined(q)) => q,
            other => panic!("{json}: expected quarantine, got {other:?}"),
        }
    }

    #[test]
    fn fee_push_keeps_each_cdr_raw() {
        let body = r#"{"eventType":"fee","feeLst":[{"sessionId":"a","icid":"1","voiceCheckType":0,"ulFailReason":"518"},{"sessionId":"b"}]}"#;
        let cdrs = fee(body).cdrs;
        assert_eq!(cdrs.len(), 2);
        assert_eq!(cdrs[0].cdr.ul_fail_reason, Some(518));
        assert!(cdrs[0].raw.contains("voiceCheckType"));
        assert!(!cdrs[1].raw.contains("voiceCheckType"));
    }

    #[test]
    fn unknown_event_type_with_session_is_unrecognised_not_garbage() {
        let push = VoicePush::parse(br#"{"eventType":"hold","statusInfo":{"sessionId":"s1"}}"#).unwrap();
        assert!(
            matches!(push, VoicePush::Unrecognised(UnrecognisedEvent { ref session_id, .. }) if session_id.as_str() == "s1")
        );
        let top = VoicePush::parse(br#"{"eventType":"hold","sessionId":"s2"}"#).unwrap();
        assert!(
            matches!(top, VoicePush::Unrecognised(UnrecognisedEvent { ref session_id, .. }) if session_id.as_str() == "s2")
        );
    }

    #[test]
    fn only_a_push_with_nothing_to_keep_is_refused() {
        use PayloadError::*;
        type Expectation = fn(&PayloadError) -> bool;
        let cases: &[(&str, Expectation)] = &[
            ("not json", |e| matches!(e, InvalidJson(_))),
            ("[1,2]", |e| matches!(e, NotAnObject)),
            (r#"{"other":{"sessionId":"s"}}"#, |e| *e == MissingField("eventType")),
            (r#"{"eventType":7}"#, |e| matches!(e, InvalidField { field: "eventType", .. })),
            (r#"{"eventType":"  "}"#, |e| matches!(e, InvalidField { field: "eventType", .. })),
            (r#"{"eventType":"answer"}"#, |e| *e == MissingField("statusInfo")),
            (r#"{"eventType":"answer","statusInfo":null}"#, |e| *e == MissingField("statusInfo")),
            (r#"{"eventType":"fee"}"#, |e| *e == MissingField("feeLst")),
            (r#"{"eventType":"fee","feeLst":[]}"#, |e| matches!(e, FeeListSize { got: 0, .. })),
            (r#"{"eventType":"hold"}"#, |e| *e == MissingField("statusInfo.sessionId")),
        ];
        for (body, expected) in cases {
            let err = VoicePush::parse(body.as_bytes()).expect_err(body);
            assert!(expected(&err), "{body} gave {err:?}");
        }
    }

    #[test]
    fn a_push_whose_identity_cannot_be_a_key_is_quarantined_whole() {
        use PayloadError::*;
        type Expectation = fn(&PayloadError) -> bool;
        let cases: &[(&str, Expectation)] = &[
            (r#"{"statusInfo":{"sessionId":"s"}}"#, |e| *e == MissingField("eventType")),
            (r#"{"eventType":7,"statusInfo":{"sessionId":"s"}}"#, |e| {
                matches!(e, InvalidField { field: "eventType", .. })
            }),
            (r#"{"eventType":"answer","statusInfo":{}}"#, |e| *e == MissingField("sessionId")),
            (r#"{"eventType":"answer","statusInfo":[]}"#, |e| matches!(e, InvalidField { field: "statusInfo", .. })),
            (r#"{"eventType":"answer","statusInfo":{"sessionId":5}}"#, |e| {
                matches!(e, InvalidField { field: "sessionId", .. })
            }),
            (r#"{"eventType":"answer","statusInfo":{"sessionId":""}}"#, |e| {
                matches!(e, InvalidField { field: "sessionId", .. })
            }),
            (r#"{"eventType":"fee","feeLst":{}}"#, |e| matches!(e, InvalidField { field: "feeLst", .. })),
            (r#"{"eventType":"hold","statusInfo":{"other":1}}"#, |e| *e == MissingField("statusInfo.sessionId")),
            (r#"{"eventType":"hold","sessionId":["s"]}"#, |e| matches!(e, InvalidField { field: "sessionId", .. })),
        ];
        for (body, expected) in cases {
            let q = match VoicePush::parse(body.as_bytes()) {
                Ok(VoicePush::Fee(fee)) if fee.cdrs.is_empty() && fee.quarantined.len() == 1 => {
                    fee.quarantined[0].clone()
                }
                _ => quarantined(body),
            };
            assert!(expected(&q.reason), "{body} gave {:?}", q.reason);
            assert_eq!((q.source, q.raw.as_str()), (QuarantineSource::Status, *body), "kept whole, as it came");
        }
    }

    #[test]
    fn a_malformed_field_is_dropped_and_the_bill_kept() {
        // One merged push: a CDR with a text where an integer belongs, one with an object, one whose identity cannot
        // be a key (no sessionId, an icid too long, not an object), and a good one.
        let long_icid = "i".repeat(MAX_ICID_LEN + 1);
        let body = format!(
            r#"{{"eventType":"fee","feeLst":[{{"sessionId":"a","icid":"1","callOutUnaswRsn":"N/A","ulFailReason":518,"callerNum":"+8613800000001"}},{{"sessionId":"b","sipStatusCode":{{"x":1}},"direction":[0]}},{{"icid":"2"}},{{"sessionId":"c","icid":"{long_icid}"}},7,{{"sessionId":"d","icid":3}},{{"sessionId":"e","callOutUnaswRsn":17}}]}}"#
        );
        let fee = fee(&body);
        let kept: Vec<(&str, Vec<String>)> =
            fee.cdrs.iter().map(|c| (c.cdr.session_id.as_str(), c.dropped_fields.clone())).collect();
        assert_eq!(
            kept,
            [
                ("a", vec!["callOutUnaswRsn".to_owned()]),
                ("b", vec!["direction".to_owned(), "sipStatusCode".to_owned()]),
                ("e", vec![])
            ]
        );
        let a = &fee.cdrs[0];
        assert_eq!((a.cdr.call_out_unasw_rsn, a.cdr.ul_fail_reason), (None, Some(518)), "typed as far as it parses");
        assert_eq!(a.cdr.caller_num.as_deref(), Some("+8613800000001"));
        assert!(a.raw.contains(r#""callOutUnaswRsn":"N/A""#), "the dropped value stays in raw: {}", a.raw);
        assert_eq!(fee.cdrs[2].cdr.call_out_unasw_rsn, Some(17));
        let reasons: Vec<(QuarantineSource, &str)> =
            fee.quarantined.iter().map(|q| (q.source, q.raw.as_str())).collect();
        assert_eq!(
            reasons,
            [
                (QuarantineSource::Fee, r#"{"icid":"2"}"#),
                (QuarantineSource::Fee, &*format!(r#"{{"icid":"{long_icid}","sessionId":"c"}}"#)),
                (QuarantineSource::Fee, "7"),
                (QuarantineSource::Fee, r#"{"icid":3,"sessionId":"d"}"#),
            ]
        );
    }

    #[test]
    fn a_status_code_that_does_not_parse_is_dropped_not_refused() {
        let event =
            status(r#"{"eventType":"disconnect","statusInfo":{"sessionId":"s","stateCode":"busy","stateDesc":"d"}}"#);
        assert_eq!((event.info.state_code, event.info.state_desc.as_deref()), (None, Some("d")));
        assert_eq!(event.dropped_fields, ["stateCode"]);
        assert!(event.raw.contains(r#""stateCode":"busy""#));
    }

    #[test]
    fn a_quarantine_reason_never_echoes_a_value() {
        let q = quarantined(r#"{"eventType":"answer","statusInfo":{"sessionId":8613800000001}}"#);
        assert!(!q.reason.to_string().contains("8613800000001"), "{}", q.reason);
    }

    #[test]
    fn fifty_cdrs_pass_and_fifty_one_do_not() {
        let push = |n: usize| {
            let cdrs: Vec<String> = (0..n).map(|i| format!(r#"{{"sessionId":"s{i}"}}"#)).collect();
            format!(r#"{{"eventType":"fee","feeLst":[{}]}}"#, cdrs.join(","))
        };
        assert!(matches!(VoicePush::parse(push(50).as_bytes()), Ok(VoicePush::Fee(f)) if f.cdrs.len() == 50));
        assert_eq!(VoicePush::parse(push(51).as_bytes()), Err(PayloadError::FeeListSize { got: 51, max: 50 }));
    }

    #[test]
    fn oversized_session_id_is_quarantined_and_deep_nesting_refused_without_panic() {
        let long = format!(r#"{{"eventType":"answer","statusInfo":{{"sessionId":"{}"}}}}"#, "x".repeat(10_000));
        assert!(matches!(
            VoicePush::parse(long.as_bytes()),
            Ok(VoicePush::Quarantined(Quarantined {
                reason: PayloadError::InvalidField { field: "sessionId", .. },
                ..
            }))
        ));
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(VoicePush::parse(deep.as_bytes()), Err(PayloadError::InvalidJson(_))));
        assert!(matches!(VoicePush::parse(&[0xff, 0xfe, b'{']), Err(PayloadError::InvalidJson(_))));
    }
}
