//! Typed ids, parsed at the edge (the wire layer and the invoke requests make them; the domains and the ports take
//! them), so that one cannot be passed for another, and none is printed in clear by accident: `Display` and
//! `Debug` mask every phone number in them (a privacy-number call's sessionId holds the parties' numbers).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::telemetry::{mask_numbers, mask_phone};

mod country_codes;

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
    #[error("verificationId must be 1 to 128 of A-Z a-z 0-9 . _ : -")]
    NotAVerificationId,
    #[error("the code must be 2 to 8 digits")]
    NotACode,
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
text_id!(VerificationId);

/// Longest verification id accepted: it becomes part of a partition key.
pub const MAX_VERIFICATION_ID_LEN: usize = 128;

/// The id of one verification (one person proving one number, over one or more calls): given by the app, 1 to
/// 128 of `A-Z a-z 0-9 . _ : -`, or generated (a UUID v4).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VerificationId(String);

impl VerificationId {
    pub fn parse(text: impl Into<String>) -> Result<Self, IdError> {
        let text = text.into();
        let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-');
        match (1..=MAX_VERIFICATION_ID_LEN).contains(&text.len()) && text.bytes().all(allowed) {
            true => Ok(Self(text)),
            false => Err(IdError::NotAVerificationId),
        }
    }

    /// A new random id: a UUID v4 from the thread's CSPRNG.
    pub fn generate() -> Self {
        let mut bytes: [u8; 16] = rand::random();
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let hex = hex::encode(bytes);
        Self(format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]))
    }

    /// The id as the app gave it: for keys and answers, never for a log line.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Digits of a code the bundle generates.
pub const GENERATED_CODE_DIGITS: std::ops::RangeInclusive<u8> = 4..=8;

/// A verification code: the digits spoken in a call, which the user types back. A secret: it is never printed
/// (`Display` and `Debug` show `****`), never serialized, and stored only as a keyed hash.
#[derive(Clone, PartialEq, Eq)]
pub struct VerificationCode(String);

impl VerificationCode {
    /// A code an app gives: 2 to 8 digits (Huawei's `verifyCode`).
    pub fn parse(text: impl Into<String>) -> Result<Self, IdError> {
        let text = text.into();
        match (2..=8).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()) {
            true => Ok(Self(text)),
            false => Err(IdError::NotACode),
        }
    }

    /// A new code of `digits` digits (clamped to [`GENERATED_CODE_DIGITS`]), each drawn from the thread's CSPRNG
    /// (`rand::rng()`, ChaCha seeded by the operating system), uniform over 0–9.
    pub fn generate(digits: u8) -> Self {
        use rand::Rng;
        let digits = digits.clamp(*GENERATED_CODE_DIGITS.start(), *GENERATED_CODE_DIGITS.end());
        let mut rng = rand::rng();
        Self((0..digits).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect())
    }

    /// The digits: for Huawei's request and the keyed hash only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VerificationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

impl fmt::Debug for VerificationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("VerificationCode(****)")
    }
}

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

    /// The E.164 country calling code of the number (`86` for `+8613800000001`), from the ITU's list of assigned
    /// codes ([`country_codes`]); `None` for a number that starts with no assigned code.
    pub fn country_code(&self) -> Option<&'static str> {
        country_codes::of(&self.0[1..])
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

/// The ids' JSON Schemas (the contract's, docs/app-backend.md "Schemas and code bindings"): the limits `parse`
/// enforces. JSON Schema counts characters where `parse` counts bytes, so a schema's `maxLength` is the looser of
/// the two and the description says which.
#[cfg(feature = "schema")]
mod schema {
    use std::borrow::Cow;

    use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};

    use super::{IdempotencyKey, SessionId, VerificationId, MAX_IDEMPOTENCY_KEY_LEN, MAX_SESSION_ID_LEN};

    /// No control character (what `char::is_control` refuses: Unicode category Cc).
    pub const NO_CONTROL_CHARACTERS: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$";

    impl JsonSchema for SessionId {
        fn schema_name() -> Cow<'static, str> {
            "SessionId".into()
        }

        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_SESSION_ID_LEN,
                "pattern": NO_CONTROL_CHARACTERS,
                "description": "Huawei's id of one call, as Huawei sent it: 1 to 256 bytes of UTF-8, no control characters."
            })
        }
    }

    impl JsonSchema for IdempotencyKey {
        fn schema_name() -> Cow<'static, str> {
            "IdempotencyKey".into()
        }

        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_IDEMPOTENCY_KEY_LEN,
                "pattern": NO_CONTROL_CHARACTERS,
                "description": "The app's key of one request: 1 to 128 bytes of UTF-8, no control characters."
            })
        }
    }

    impl JsonSchema for VerificationId {
        fn schema_name() -> Cow<'static, str> {
            "VerificationId".into()
        }

        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({
                "type": "string",
                "pattern": VERIFICATION_ID_PATTERN,
                "description": "A verification's id: the app's (1 to 128 of A-Z a-z 0-9 . _ : -) or a generated UUID v4."
            })
        }
    }

    /// What [`VerificationId::parse`] accepts.
    pub const VERIFICATION_ID_PATTERN: &str = "^[A-Za-z0-9._:-]{1,128}$";
}

#[cfg(feature = "schema")]
pub use schema::{NO_CONTROL_CHARACTERS, VERIFICATION_ID_PATTERN};

/// What [`CalleeNumber::is_number`] accepts, as a JSON Schema `pattern`: `+` and 3 to 30 digits.
pub const NUMBER_PATTERN: &str = "^\\+[0-9]{3,30}$";

/// A sessionId the test itself wrote (it panics on one that is not).
#[cfg(any(test, feature = "test-util"))]
pub fn sid(text: &str) -> SessionId {
    SessionId::parse(text).expect("a valid sessionId in a test")
}

/// A verification id the test itself wrote (it panics on one that is not).
#[cfg(any(test, feature = "test-util"))]
pub fn vid(text: &str) -> VerificationId {
    VerificationId::parse(text).expect("a valid verification id in a test")
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
    fn a_verification_id_is_given_or_a_uuid_v4() {
        assert!(VerificationId::parse("signup-42:try.1_a").is_ok());
        for bad in ["", "a b", "a/b", "a+b", &"v".repeat(129)] {
            assert_eq!(VerificationId::parse(bad), Err(IdError::NotAVerificationId), "{bad}");
        }
        let generated = VerificationId::generate();
        let text = generated.as_str();
        assert_eq!((text.len(), &text[14..15]), (36, "4"), "{text}");
        assert!(matches!(&text[19..20], "8" | "9" | "a" | "b"), "{text}");
        assert!(VerificationId::parse(text).is_ok());
        assert_ne!(VerificationId::generate(), generated);
    }

    #[test]
    fn a_code_is_never_printed_and_generated_codes_use_every_digit() {
        let code = VerificationCode::parse("482913").unwrap();
        assert_eq!((code.to_string(), format!("{code:?}")), ("****".into(), "VerificationCode(****)".into()));
        for bad in ["1", "123456789", "12a4", ""] {
            assert_eq!(VerificationCode::parse(bad), Err(IdError::NotACode));
        }
        let mut seen = [0usize; 10];
        for _ in 0..500 {
            let code = VerificationCode::generate(6);
            assert_eq!(code.expose().len(), 6);
            for digit in code.expose().bytes() {
                seen[usize::from(digit - b'0')] += 1;
            }
        }
        // 3000 digits, 300 expected each: a digit under 200 or over 400 is ~6 standard deviations off.
        assert!(seen.iter().all(|n| (200..=400).contains(n)), "{seen:?}");
        assert_eq!(VerificationCode::generate(2).expose().len(), 4, "clamped to 4..=8");
        assert_eq!(VerificationCode::generate(12).expose().len(), 8);
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
