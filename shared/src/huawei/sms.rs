//! Privacy-number SMS notification (短信通知, Notify mode). It carries no sessionId: a notification is identified
//! by `smsIdentifier` + `notificationMode` (Block and Notify for one SMS are separate pushes).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::lenient::{json_kind, opt_int};
use super::notification::{invalid, parse_object, salvage, QuarantineSource, Quarantined};
use super::PayloadError;

/// `smsIdentifier` is `String(1-64)`; `notificationMode` `String(1-8)`.
pub const MAX_SMS_IDENTIFIER_LEN: usize = 64;
pub const MAX_NOTIFICATION_MODE_LEN: usize = 8;

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SmsEvent {
    pub sms_identifier: String,
    pub notification_mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calling: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub called: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_number: Option<String>,
    /// Trimmed: Huawei's example sends `"Text SMS "` with a trailing space.
    #[serde(default, deserialize_with = "trimmed", skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_stamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms_content: Option<String>,
    #[serde(default, deserialize_with = "opt_int", skip_serializing_if = "Option::is_none")]
    pub send_result: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
    /// `extInfo.extParas`, read as a key → value map whether Huawei sent `[{key,value}]` or an object.
    #[serde(default, rename = "extInfo", deserialize_with = "ext_paras", skip_serializing_if = "Map::is_empty")]
    pub ext_paras: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SmsNotification {
    pub app_key: Option<String>,
    pub event: SmsEvent,
    pub raw: String,
    /// Fields (of `smsEvent`, or `appKey`) that did not parse: left out of the typed view, kept in `raw`.
    pub dropped_fields: Vec<String>,
}

/// A privacy-number SMS push: a notification, or (no usable `smsIdentifier`/`notificationMode`, the record's
/// key) the whole push kept in quarantine.
#[derive(Debug, Clone, PartialEq)]
pub enum SmsPush {
    /// Boxed: a notification has many more fields than a quarantined push.
    Notification(Box<SmsNotification>),
    Quarantined(Quarantined),
}

impl SmsNotification {
    /// Parses a push to the SMS notification address. Refuses only a body that is not a JSON object or has no
    /// `smsEvent`; see [`super::VoicePush::parse`] for what is salvaged.
    pub fn parse(body: &[u8]) -> Result<SmsPush, PayloadError> {
        let root = parse_object(body)?;
        let raw = || String::from_utf8_lossy(body).into_owned();
        let quarantined =
            |reason| SmsPush::Quarantined(Quarantined { source: QuarantineSource::Sms, reason, raw: raw() });
        let event_value = match root.get("smsEvent") {
            None | Some(Value::Null) => return Err(PayloadError::MissingField("smsEvent")),
            Some(value) => value,
        };
        let identity = ["smsIdentifier", "notificationMode"];
        let checked = match event_value.as_object() {
            None => Err(invalid("smsEvent", "expected an object".into())),
            Some(event) => bounded(event, "smsIdentifier", MAX_SMS_IDENTIFIER_LEN)
                .and_then(|()| bounded(event, "notificationMode", MAX_NOTIFICATION_MODE_LEN)),
        };
        if let Err(reason) = checked {
            return Ok(quarantined(reason));
        }
        let (event, mut dropped_fields) = match salvage::<SmsEvent>(event_value, &identity) {
            Ok(salvaged) => salvaged,
            Err(reason) => return Ok(quarantined(reason)),
        };
        let app_key = match root.get("appKey") {
            Some(Value::String(key)) => Some(key.clone()),
            None | Some(Value::Null) => None,
            Some(_) => {
                dropped_fields.push("appKey".into());
                None
            }
        };
        Ok(SmsPush::Notification(Box::new(Self { app_key, event, raw: raw(), dropped_fields })))
    }
}

/// A key field of `smsEvent`: a string of 1 to `max` printable characters.
fn bounded(event: &Map<String, Value>, field: &'static str, max: usize) -> Result<(), PayloadError> {
    let value = match event.get(field) {
        None | Some(Value::Null) => return Err(PayloadError::MissingField(field)),
        Some(Value::String(value)) => value,
        Some(other) => return Err(invalid(field, format!("expected a string, got {}", json_kind(other)))),
    };
    let ok = !value.trim().is_empty() && value.len() <= max && !value.chars().any(char::is_control);
    ok.then_some(()).ok_or_else(|| invalid(field, format!("must be 1 to {max} printable characters")))
}

fn trimmed<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.map(|s| s.trim().to_owned()))
}

fn ext_paras<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Map<String, Value>, D::Error> {
    use serde::de::Error;
    let ext_info = match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => return Ok(Map::new()),
        Some(Value::Object(ext_info)) => ext_info,
        Some(_) => return Err(D::Error::custom("extInfo must be an object")),
    };
    match ext_info.get("extParas") {
        None | Some(Value::Null) => Ok(Map::new()),
        // An entry whose key DynamoDB cannot take as an attribute name is kept in `raw` only.
        Some(Value::Object(map)) => Ok(map
            .iter()
            .filter(|(key, _)| storable_key(key))
            .map(|(key, value)| (key.clone(), as_text(value)))
            .collect()),
        Some(Value::Array(pairs)) => pairs
            .iter()
            .map(|pair| match (pair.get("key"), pair.get("value")) {
                (Some(Value::String(key)), Some(value)) => Ok((key.clone(), as_text(value))),
                _ => Err(D::Error::custom("extParas entries must be {\"key\": string, \"value\": …}")),
            })
            .filter(|entry| !matches!(entry, Ok((key, _)) if !storable_key(key)))
            .collect(),
        Some(_) => Err(D::Error::custom("extParas must be an array or an object")),
    }
}

/// Longest extParas key kept as an attribute name (Huawei's are short words such as `splitNum`).
const MAX_EXT_PARAS_KEY_LEN: usize = 255;

/// DynamoDB refuses empty attribute names, and names over 64 KB.
fn storable_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_EXT_PARAS_KEY_LEN
}

/// An extParas value as stored: text as it is, any other JSON as its text. Huawei sends text; other values are
/// typed attributes DynamoDB may not hold (over 32 levels of nesting, numbers beyond 38 digits or 1E+126),
/// which would fail the write with a 503 that Huawei re-pushes in vain.
fn as_text(value: &Value) -> Value {
    match value {
        Value::String(_) => value.clone(),
        other => Value::String(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTIFY: &str = r#"{"appKey":"k","smsEvent":{"smsIdentifier":"id-1","notificationMode":"Notify","calling":"+8613800000001","virtualNumber":"+8613800000000","event":"Text SMS ","timeStamp":"2020-12-23T09:06:16.450Z","extInfo":{"extParas":[{"key":"splitNum","value":"0"},{"key":"direction","value":"2"}]},"sendResult":2}}"#;

    fn notification(body: &str) -> SmsNotification {
        match SmsNotification::parse(body.as_bytes()) {
            Ok(SmsPush::Notification(sms)) => *sms,
            other => panic!("{body}: expected a notification, got {other:?}"),
        }
    }

    fn quarantined(body: &str) -> PayloadError {
        match SmsNotification::parse(body.as_bytes()) {
            Ok(SmsPush::Quarantined(q)) => {
                assert_eq!((q.source, q.raw.as_str()), (QuarantineSource::Sms, body));
                q.reason
            }
            other => panic!("{body}: expected quarantine, got {other:?}"),
        }
    }

    #[test]
    fn parses_documented_notify_with_trailing_space_event() {
        let sms = notification(NOTIFY);
        assert_eq!(sms.event.sms_identifier, "id-1");
        assert_eq!(sms.event.event.as_deref(), Some("Text SMS"));
        assert_eq!(sms.event.ext_paras.get("direction"), Some(&Value::from("2")));
        assert_eq!(sms.event.send_result, Some(2));
        assert!(sms.dropped_fields.is_empty());
    }

    #[test]
    fn ext_paras_may_be_an_object() {
        let body =
            r#"{"smsEvent":{"smsIdentifier":"i","notificationMode":"Notify","extInfo":{"extParas":{"splitNum":"2"}}}}"#;
        assert_eq!(notification(body).event.ext_paras.get("splitNum"), Some(&Value::from("2")));
    }

    #[test]
    fn only_a_push_without_sms_event_is_refused() {
        assert_eq!(SmsNotification::parse(br#"{"appKey":"k"}"#), Err(PayloadError::MissingField("smsEvent")));
        assert_eq!(SmsNotification::parse(br#"{"smsEvent":null}"#), Err(PayloadError::MissingField("smsEvent")));
        assert!(matches!(SmsNotification::parse(b"[]"), Err(PayloadError::NotAnObject)));
    }

    #[test]
    fn a_push_without_a_usable_key_is_quarantined_whole() {
        let missing = quarantined(r#"{"smsEvent":{"notificationMode":"Notify"}}"#);
        assert_eq!(missing, PayloadError::MissingField("smsIdentifier"));
        assert_eq!(
            quarantined(r#"{"smsEvent":{"smsIdentifier":"i"}}"#),
            PayloadError::MissingField("notificationMode")
        );
        let long = format!(r#"{{"smsEvent":{{"smsIdentifier":"{}","notificationMode":"Notify"}}}}"#, "i".repeat(65));
        assert!(matches!(quarantined(&long), PayloadError::InvalidField { field: "smsIdentifier", .. }));
        let number = quarantined(r#"{"smsEvent":{"smsIdentifier":8613800000001,"notificationMode":"Notify"}}"#);
        assert!(!number.to_string().contains("8613800000001"), "{number}");
        assert!(matches!(
            quarantined(r#"{"smsEvent":"Notify"}"#),
            PayloadError::InvalidField { field: "smsEvent", .. }
        ));
    }

    #[test]
    fn a_field_that_does_not_parse_is_dropped_and_kept_raw() {
        let body = r#"{"appKey":7,"smsEvent":{"smsIdentifier":"i","notificationMode":"Notify","extInfo":{"extParas":7},"sendResult":"N/A","calling":"+8613800000001"}}"#;
        let sms = notification(body);
        assert_eq!(sms.dropped_fields, ["extInfo", "sendResult", "appKey"]);
        assert_eq!((sms.event.send_result, sms.app_key.as_deref()), (None, None));
        assert_eq!(sms.event.calling.as_deref(), Some("+8613800000001"), "the fields that parse are kept");
        assert_eq!(sms.raw, body);
    }
}
