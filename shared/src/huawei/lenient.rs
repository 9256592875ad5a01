//! Lenient readers for the quirks Huawei's payloads are known to have: integers sent as strings, times with a
//! double space, ISO times with milliseconds.

use serde::{de::Error as _, Deserialize, Deserializer};
use serde_json::Value;
use time::{format_description::well_known::Rfc3339, macros::format_description, OffsetDateTime, PrimitiveDateTime};

/// An optional integer that may arrive as a JSON number or as a string of digits (public Java models declare
/// some of Huawei's integer fields as `String`). `null` and `""` read as absent.
pub fn opt_int<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            n.as_i64().map(Some).ok_or_else(|| D::Error::custom(format!("expected an integer, got {n}")))
        }
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => {
            s.trim().parse().map(Some).map_err(|_| D::Error::custom("expected an integer or a string of digits"))
        }
        Some(other) => Err(D::Error::custom(format!("expected an integer, got {}", json_kind(&other)))),
    }
}

pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses Huawei's notification times: `yyyy-MM-dd HH:mm:ss` in UTC (any run of whitespace between date and
/// time, as one Huawei demo shows a double space), or RFC 3339 as the privacy-number SMS `timeStamp` uses.
pub fn parse_time(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(t);
    }
    let mut parts = text.split_whitespace();
    let (date, clock) = (parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    PrimitiveDateTime::parse(&format!("{date} {clock}"), format).ok().map(PrimitiveDateTime::assume_utc)
}

/// [`parse_time`] rendered as RFC 3339 (`2019-01-24T03:04:24Z`), the form stored beside Huawei's own text.
pub fn normalised_time(text: &str) -> Option<String> {
    parse_time(text).and_then(|t| t.format(&Rfc3339).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Probe {
        #[serde(default, deserialize_with = "opt_int")]
        n: Option<i64>,
    }

    fn probe(json: &str) -> Result<Option<i64>, serde_json::Error> {
        serde_json::from_str::<Probe>(json).map(|p| p.n)
    }

    #[test]
    fn integers_arrive_as_numbers_or_strings() {
        assert_eq!(probe(r#"{"n":8101}"#).unwrap(), Some(8101));
        assert_eq!(probe(r#"{"n":"8101"}"#).unwrap(), Some(8101));
        assert_eq!(probe(r#"{"n":" 0 "}"#).unwrap(), Some(0));
        assert_eq!(probe(r#"{"n":""}"#).unwrap(), None);
        assert_eq!(probe(r#"{"n":null}"#).unwrap(), None);
        assert_eq!(probe(r#"{}"#).unwrap(), None);
    }

    #[test]
    fn non_integers_are_refused() {
        for bad in [r#"{"n":"abc"}"#, r#"{"n":1.5}"#, r#"{"n":{}}"#, r#"{"n":[1]}"#, r#"{"n":true}"#] {
            assert!(probe(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn times_with_single_or_double_space_are_utc() {
        assert_eq!(normalised_time("2019-01-24 03:04:24").as_deref(), Some("2019-01-24T03:04:24Z"));
        assert_eq!(normalised_time("2018-04-09  10:57:42").as_deref(), Some("2018-04-09T10:57:42Z"));
        assert_eq!(normalised_time("2020-12-23T09:06:16.450Z").as_deref(), Some("2020-12-23T09:06:16.45Z"));
    }

    #[test]
    fn garbage_times_are_none() {
        for bad in ["", "yesterday", "2019-01-24", "2019-01-24 25:00:00", "2019-01-24 03:04:24 extra"] {
            assert_eq!(parse_time(bad), None, "{bad:?}");
        }
    }
}
