//! Typed ids, parsed at the edge (the wire layer and the invoke requests make them; the domains and the ports take
//! them), so that one cannot be passed for another, and none is printed in clear by accident: `Display` and
//! `Debug` mask every phone number in them (a privacy-number call's sessionId holds the parties' numbers).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::telemetry::{mask_numbers, mask_phone};

/// `sessionId` is `String(1-256)` in Huawei's tables.
pub const MAX_SESSION_ID_LEN: usize = 256;
/// Longest idempotency key accepted: it becomes part of a partition key.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 128;

/// Why a text is not an id. Never holds the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{what} must be 1 to {max} bytes")]
    Length { what: &'static str, max: usize },
    #[error("{what} must not contain control characters")]
    ControlCharacter { what: &'static str },
    #[error("calleeNbr must be '+' followed by digits, 4 to 31 characters")]
    NotANumber,
}

fn check(what: &'static str, text: &str, max: usize) -> Result<(), IdError> {
    if text.is_empty() || text.len() > max {
        return Err(IdError::Length { what, max });
    }
    if text.chars().any(char::is_control) {
        return Err(IdError::ControlCharacter { what });
    }
    Ok(())
}

fn checked(what: &'static str, text: String, max: usize) -> Result<String, IdError> {
    check(what, &text, max).map(|()| text)
}

/// Huawei's id of one call, exactly as Huawei sent it (it may hold `@`, `+`, `_`).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SessionId(String);

impl SessionId {
    pub fn parse(text: impl Into<String>) -> Result<Self, IdError> {
        checked("sessionId", text.into(), MAX_SESSION_ID_LEN).map(Self)
    }

    /// Whether `text` would parse, without making the id (the wire layer checks every sessionId it reads).
    pub fn check(text: &str) -> Result<(), IdError> {
        check("sessionId", text, MAX_SESSION_ID_LEN)
    }

    /// The id as Huawei sent it: for keys and the wire, never for a log line.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The id of one request an app backend made (its retries carry the same key).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(text: impl Into<String>) -> Result<Self, IdError> {
        checked("idempotencyKey", text.into(), MAX_IDEMPOTENCY_KEY_LEN).map(Self)
    }

    /// The key as the app gave it: for keys and answers, never for a log line.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! text_id {
    ($id:ident) => {
        impl TryFrom<String> for $id {
            type Error = IdError;
            fn try_from(text: String) -> Result<Self, IdError> {
                Self::parse(text)
            }
        }

        impl From<$id> for String {
            fn from(id: $id) -> String {
                id.0
            }
        }

        /// Masked: a number in it never reaches a log line in clear.
        impl fmt::Display for $id {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&mask_numbers(&self.0))
            }
        }

        impl fmt::Debug for $id {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($id), mask_numbers(&self.0))
            }
        }
    };
}

text_id!(SessionId);
text_id!(IdempotencyKey);

/// The number a verification call rings: `+` and digits, 4 to 31 characters (Huawei's `calleeNbr`). Printed, only
/// its country code, first digits and last four show (`+86138****0001`).
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "String")]
pub struct CalleeNumber(String);

impl CalleeNumber {
    pub fn parse(text: impl Into<String>) -> Result<Self, IdError> {
        let text = text.into();
        Self::is_number(&text).then_some(Self(text)).ok_or(IdError::NotANumber)
    }

    /// Huawei's form of a phone number (`String(4-31)`, global format): `+` then digits, 4 to 31 characters in all.
    /// The display number of a call follows it too.
    pub fn is_number(text: &str) -> bool {
        let digits = text.strip_prefix('+').unwrap_or("");
        (4..=31).contains(&text.len()) && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    }

    /// The whole number: for Huawei's request and the keyed hash of the rate limit, never for a log line.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<CalleeNumber> for String {
    fn from(number: CalleeNumber) -> String {
        number.0
    }
}

impl fmt::Display for CalleeNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&mask_phone(&self.0))
    }
}

impl fmt::Debug for CalleeNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CalleeNumber({})", mask_phone(&self.0))
    }
}

/// A sessionId the test itself wrote (it panics on one that is not).
#[cfg(any(test, feature = "test-util"))]
pub fn sid(text: &str) -> SessionId {
    SessionId::parse(text).expect("a valid sessionId in a test")
}

/// An idempotency key the test itself wrote (it panics on one that is not).
#[cfg(any(test, feature = "test-util"))]
pub fn key(text: &str) -> IdempotencyKey {
    IdempotencyKey::parse(text).expect("a valid idempotency key in a test")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_bounded_and_printable() {
        assert!(SessionId::parse("1201_612_4294967295_20190124030424@callenabler245.huaweicaas.com").is_ok());
        assert_eq!(SessionId::parse(""), Err(IdError::Length { what: "sessionId", max: 256 }));
        assert!(SessionId::parse("s".repeat(256)).is_ok());
        assert!(SessionId::parse("s".repeat(257)).is_err());
        assert_eq!(SessionId::parse("a\u{7}b"), Err(IdError::ControlCharacter { what: "sessionId" }));
        assert!(IdempotencyKey::parse("k".repeat(128)).is_ok());
        assert!(IdempotencyKey::parse("k".repeat(129)).is_err());
    }

    #[test]
    fn a_number_in_an_id_is_masked_when_printed_and_kept_for_keys() {
        let id = SessionId::parse("+8613400007762_+8615000002131_4_627e5c1f").unwrap();
        for printed in [id.to_string(), format!("{id:?}")] {
            assert!(!printed.contains("13400007762") && !printed.contains("15000002131"), "{printed}");
        }
        assert_eq!(id.as_str(), "+8613400007762_+8615000002131_4_627e5c1f");
        let key = IdempotencyKey::parse("signup-+8613800000001").unwrap();
        assert!(!format!("{key} {key:?}").contains("13800000001"));
    }

    #[test]
    fn a_callee_number_is_e164_and_masked_whenever_printed() {
        let number = CalleeNumber::parse("+8613800000001").unwrap();
        assert_eq!(number.expose(), "+8613800000001");
        for printed in [number.to_string(), format!("{number:?}"), format!("{:?}", Some(&number))] {
            assert!(!printed.contains("13800000001") && printed.contains("0001"), "{printed}");
        }
        assert_eq!(serde_json::to_string(&number).unwrap(), r#""+8613800000001""#, "the wire gets it whole");
        for bad in ["8613800000001", "+86 138", "+12", "+", &format!("+{}", "1".repeat(31))] {
            let error = CalleeNumber::parse(bad).unwrap_err();
            assert!(!error.to_string().contains("138"), "{error}");
        }
    }

    #[test]
    fn ids_read_and_write_as_plain_json_strings_and_are_checked_when_read() {
        let id: SessionId = serde_json::from_str(r#""s-1""#).unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), r#""s-1""#);
        assert!(serde_json::from_str::<SessionId>(r#""""#).is_err());
        let error = serde_json::from_str::<IdempotencyKey>(&format!("{:?}", "k".repeat(200))).unwrap_err();
        assert!(!error.to_string().contains("kkkk"), "the value is not echoed: {error}");
    }
}
