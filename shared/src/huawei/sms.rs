//! Privacy-number SMS notification (短信通知, Notify mode). It carries no sessionId: a notification is identified
//! by `smsIdentifier` + `notificationMode` (Block and Notify for one SMS are separate pushes).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::lenient::opt_int;
use super::notification::{invalid, parse_object, typed};
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
}

impl SmsNotification {
    pub fn parse(body: &[u8]) -> Result<Self, PayloadError> {
        let root = parse_object(body)?;
        let app_key = match root.get("appKey") {
            None | Some(Value::Null) => None,
            Some(Value::String(key)) => Some(key.clone()),
            Some(_) => return Err(invalid("appKey", "expected a string".into())),
        };
        let event_value = root.get("smsEvent").ok_or(PayloadError::MissingField("smsEvent"))?;
        let event: SmsEvent = typed("smsEvent", event_value).map_err(|e| match e {
            PayloadError::InvalidField { reason, .. } if reason.contains("missing field `smsIdentifier`") => {
                PayloadError::MissingField("smsEvent.smsIdentifier")
            }
            PayloadError::InvalidField { reason, .. } if reason.contains("missing field `notificationMode`") => {
                PayloadError::MissingField("smsEvent.notificationMode")
            }
            other => other,
        })?;
        bounded("smsEvent.smsIdentifier", &event.sms_identifier, MAX_SMS_IDENTIFIER_LEN)?;
        bounded("smsEvent.notificationMode", &event.notification_mode, MAX_NOTIFICATION_MODE_LEN)?;
        Ok(Self { app_key, event, raw: String::from_utf8_lossy(body).into_owned() })
    }
}

fn bounded(field: &'static str, value: &str, max: usize) -> Result<(), PayloadError> {
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

    #[test]
    fn parses_documented_notify_with_trailing_space_event() {
        let sms = SmsNotification::parse(NOTIFY.as_bytes()).unwrap();
        assert_eq!(sms.event.sms_identifier, "id-1");
        assert_eq!(sms.event.event.as_deref(), Some("Text SMS"));
        assert_eq!(sms.event.ext_paras.get("direction"), Some(&Value::from("2")));
        assert_eq!(sms.event.send_result, Some(2));
    }

    #[test]
    fn ext_paras_may_be_an_object() {
        let body =
            r#"{"smsEvent":{"smsIdentifier":"i","notificationMode":"Notify","extInfo":{"extParas":{"splitNum":"2"}}}}"#;
        let sms = SmsNotification::parse(body.as_bytes()).unwrap();
        assert_eq!(sms.event.ext_paras.get("splitNum"), Some(&Value::from("2")));
    }

    #[test]
    fn key_fields_are_required_and_bounded() {
        let cases = [
            (r#"{"appKey":"k"}"#, PayloadError::MissingField("smsEvent")),
            (r#"{"smsEvent":{"notificationMode":"Notify"}}"#, PayloadError::MissingField("smsEvent.smsIdentifier")),
            (r#"{"smsEvent":{"smsIdentifier":"i"}}"#, PayloadError::MissingField("smsEvent.notificationMode")),
        ];
        for (body, expected) in cases {
            assert_eq!(SmsNotification::parse(body.as_bytes()), Err(expected), "{body}");
        }
        let long = format!(r#"{{"smsEvent":{{"smsIdentifier":"{}","notificationMode":"Notify"}}}}"#, "i".repeat(65));
        assert!(matches!(SmsNotification::parse(long.as_bytes()), Err(PayloadError::InvalidField { .. })));
        let wrong = r#"{"smsEvent":{"smsIdentifier":"i","notificationMode":"Notify","extInfo":{"extParas":7}}}"#;
        assert!(matches!(SmsNotification::parse(wrong.as_bytes()), Err(PayloadError::InvalidField { .. })));
    }
}
