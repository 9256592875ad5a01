//! The invoke event and its validation. Everything is checked before anything is sent or stored.

use serde::{Deserialize, Serialize};

use super::TriggerError;
use crate::ids::MAX_IDEMPOTENCY_KEY_LEN;
use crate::ids::{CalleeNumber, IdempotencyKey, VerificationCode, VerificationId, GENERATED_CODE_DIGITS};

/// The event app backends send (docs/app-backend.md, "trigger-verification-call"). Only `calleeNbr` is required
/// (without `verifyCode` the code is generated); unknown fields are refused so that a typo (`verfyCode`) is not
/// silently ignored. An optional field may also be `null` (as if absent).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(title = "trigger-verification-call request", transform = code_or_length))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TriggerEvent {
    /// The number to ring: `+`, the country calling code and the number, 4 to 31 characters.
    #[cfg_attr(feature = "schema", schemars(pattern(crate::ids::NUMBER_PATTERN)))]
    pub callee_nbr: String,
    /// The app's code, 2 to 8 digits; absent, the function generates one of `codeLength` digits.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(pattern(r"^[0-9]{2,8}$")))]
    pub verify_code: Option<String>,
    /// Digits of a generated code (default `CODE_LENGTH`); only without `verifyCode`.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(range(min = 4, max = 8)))]
    pub code_length: Option<i64>,
    /// The verification this call belongs to: a new id starts one, the id of a `pending` one resends a code.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(pattern(crate::ids::VERIFICATION_ID_PATTERN)))]
    pub verification_id: Option<String>,
    /// The request's key: a retry with the same key and payload places no second call (1 to 128 printable ASCII).
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(pattern(r"^[ -~]{1,128}$")))]
    pub idempotency_key: Option<String>,
    /// The number the callee sees (default `DISPLAY_NBR`; one of the two is required).
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(pattern(crate::ids::NUMBER_PATTERN)))]
    pub display_nbr: Option<String>,
    /// Huawei's language of the spoken code (2 = Chinese; default `LANGUAGE_TYPE`).
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = 255)))]
    pub language_type: Option<i64>,
    /// The announcement before the code (default `PRE_TONE`; one of the two is required), 1 to 128 printable ASCII.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(pattern(r"^[ -~]{1,128}$")))]
    pub pre_tone: Option<String>,
    /// The announcement after the code, 1 to 128 printable ASCII.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(pattern(r"^[ -~]{1,128}$")))]
    pub pos_tone: Option<String>,
    /// How often the code is played, 1 to 9 (0, until the callee hangs up, only with `ALLOW_ENDLESS_PLAYBACK`).
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(range(min = 0, max = 9)))]
    pub times: Option<i64>,
    /// The app's own data, returned in the call's outcome: 1 to 256 printable ASCII.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(pattern(r"^[ -~]{1,256}$")))]
    pub user_data: Option<String>,
}

/// `codeLength` is for generated codes: refused beside a `verifyCode` (both given, neither null).
#[cfg(feature = "schema")]
fn code_or_length(schema: &mut schemars::Schema) {
    schema.insert(
        "not".into(),
        serde_json::json!({
            "description": "codeLength is for generated codes: give it or verifyCode, not both",
            "required": ["verifyCode", "codeLength"],
            "properties": {"verifyCode": {"type": "string"}, "codeLength": {"type": "integer"}}
        }),
    );
}

/// Defaults from configuration (DISPLAY_NBR, PRE_TONE, LANGUAGE_TYPE) and policy.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    pub display_nbr: Option<String>,
    pub pre_tone: Option<String>,
    pub language_type: i64,
    /// `times = 0` makes Huawei repeat the code until the callee hangs up; refused unless allowed.
    pub allow_endless_playback: bool,
    /// Digits of a generated code (`CODE_LENGTH`).
    pub code_length: u8,
}

/// A validated call request: what will be sent to callVerify (callback URLs aside).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRequest {
    pub callee_nbr: CalleeNumber,
    /// The app's own code; `None`: one is generated for each call.
    #[serde(serialize_with = "fingerprinted_code")]
    pub verify_code: Option<VerificationCode>,
    /// Digits of a generated code.
    pub code_length: u8,
    /// The app's verification id; `None`: one is made (see [`CallRequest::verification_id`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification_id: Option<VerificationId>,
    pub display_nbr: String,
    pub language_type: i64,
    pub pre_tone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pos_tone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub times: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
    #[serde(skip)]
    pub idempotency_key: Option<IdempotencyKey>,
}

impl CallRequest {
    /// Parses and validates an invoke event (a JSON value from the Lambda runtime).
    pub fn from_event(event: serde_json::Value, defaults: &Defaults) -> Result<Self, TriggerError> {
        check_field_types(&event)?;
        // Every field's type is checked above; a serde message would quote the value (`invalid type: integer
        // `482913`…`), so none is passed on.
        let event: TriggerEvent = serde_json::from_value(event).map_err(|_| invalid("invalid event".into()))?;
        Self::validate(event, defaults)
    }

    pub fn validate(event: TriggerEvent, defaults: &Defaults) -> Result<Self, TriggerError> {
        let callee_nbr = CalleeNumber::parse(event.callee_nbr).map_err(|e| invalid(e.to_string()))?;
        let verify_code = event
            .verify_code
            .map(VerificationCode::parse)
            .transpose()
            .map_err(|_| invalid("verifyCode must be 2 to 8 digits".into()))?;
        let code_length = match (event.code_length, &verify_code) {
            (None, _) => defaults.code_length,
            (Some(_), Some(_)) => {
                return Err(invalid("codeLength is for generated codes: give it or verifyCode".into()))
            }
            (Some(n), None) => u8::try_from(n)
                .ok()
                .filter(|n| GENERATED_CODE_DIGITS.contains(n))
                .ok_or_else(|| invalid("codeLength must be 4 to 8".into()))?,
        };
        let verification_id =
            event.verification_id.map(VerificationId::parse).transpose().map_err(|e| invalid(e.to_string()))?;
        let display_nbr = event
            .display_nbr
            .or_else(|| defaults.display_nbr.clone())
            .ok_or_else(|| invalid("displayNbr is required (in the event or DISPLAY_NBR)".into()))?;
        check_number("displayNbr", &display_nbr)?;
        let pre_tone = event
            .pre_tone
            .or_else(|| defaults.pre_tone.clone())
            .ok_or_else(|| invalid("preTone is required (in the event or PRE_TONE)".into()))?;
        check_text("preTone", &pre_tone, 128)?;
        if let Some(pos_tone) = &event.pos_tone {
            check_text("posTone", pos_tone, 128)?;
        }
        let language_type = event.language_type.unwrap_or(defaults.language_type);
        if !(1..=255).contains(&language_type) {
            return Err(invalid("languageType must be a positive integer (2 = Chinese)".into()));
        }
        match event.times {
            None | Some(1..=9) => {}
            Some(0) if defaults.allow_endless_playback => {}
            Some(0) => {
                return Err(invalid("times = 0 (endless playback) is not allowed (ALLOW_ENDLESS_PLAYBACK)".into()))
            }
            Some(_) => return Err(invalid("times must be 1 to 9".into())),
        }
        if let Some(user_data) = &event.user_data {
            check_text("userData", user_data, 256)?;
        }
        if let Some(key) = &event.idempotency_key {
            check_text("idempotencyKey", key, MAX_IDEMPOTENCY_KEY_LEN)?;
        }
        let idempotency_key =
            event.idempotency_key.map(IdempotencyKey::parse).transpose().map_err(|e| invalid(e.to_string()))?;
        Ok(Self {
            callee_nbr,
            verify_code,
            code_length,
            verification_id,
            display_nbr,
            language_type,
            pre_tone,
            pos_tone: event.pos_tone,
            times: event.times,
            user_data: event.user_data,
            idempotency_key,
        })
    }
}

/// The JSON type a field of the event must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonType {
    String,
    Integer,
}

/// Every field of [`TriggerEvent`], its type and whether it is required.
const EVENT_FIELDS: [(&str, JsonType, bool); 11] = [
    ("calleeNbr", JsonType::String, true),
    ("verifyCode", JsonType::String, false),
    ("codeLength", JsonType::Integer, false),
    ("verificationId", JsonType::String, false),
    ("idempotencyKey", JsonType::String, false),
    ("displayNbr", JsonType::String, false),
    ("languageType", JsonType::Integer, false),
    ("preTone", JsonType::String, false),
    ("posTone", JsonType::String, false),
    ("times", JsonType::Integer, false),
    ("userData", JsonType::String, false),
];

/// The event's shape, refused with a message that names the field and the type it needs but never its value:
/// `verifyCode` and `calleeNbr` are secrets, and the message is logged and returned to the caller.
fn check_field_types(event: &serde_json::Value) -> Result<(), TriggerError> {
    let Some(fields) = event.as_object() else { return Err(invalid("the event must be a JSON object".into())) };
    for (name, value) in fields {
        let Some(&(field, expected, required)) = EVENT_FIELDS.iter().find(|(field, _, _)| field == name) else {
            return Err(invalid(unknown_field(name)));
        };
        let admitted = match expected {
            _ if value.is_null() => !required,
            JsonType::String => value.is_string(),
            JsonType::Integer => value.is_i64(),
        };
        if !admitted {
            let type_name = if expected == JsonType::String { "a string" } else { "an integer" };
            return Err(invalid(format!("{field} must be {type_name}")));
        }
    }
    match EVENT_FIELDS.iter().find(|(field, _, required)| *required && !fields.contains_key(*field)) {
        Some((field, _, _)) => Err(invalid(format!("{field} is required"))),
        None => Ok(()),
    }
}

/// An unknown field, named when its name is a plain word (a typo such as `verfyCode`), else not: a key holding
/// digits could be a code or a number.
fn unknown_field(name: &str) -> String {
    match (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphabetic()) {
        true => format!("unknown field `{name}`"),
        false => "an unknown field (its name is not repeated)".into(),
    }
}

/// A number in Huawei's form ([`CalleeNumber::is_number`]).
fn check_number(field: &str, number: &str) -> Result<(), TriggerError> {
    let ok = CalleeNumber::is_number(number);
    ok.then_some(()).ok_or_else(|| invalid(format!("{field} must be '+' followed by digits, 4 to 31 characters")))
}

/// Printable ASCII, 1 to `max` characters (Huawei refuses Chinese characters in userData).
fn check_text(field: &str, text: &str, max: usize) -> Result<(), TriggerError> {
    let ok = (1..=max).contains(&text.len()) && text.bytes().all(|b| (0x20..0x7f).contains(&b));
    ok.then_some(()).ok_or_else(|| invalid(format!("{field} must be 1 to {max} printable ASCII characters")))
}

impl CallRequest {
    /// The verification this call belongs to: the app's id, else one derived from the idempotency key (keyed
    /// by `secret`, so a retry with the key answers the same id and nothing else can predict it), else a new UUID
    /// v4.
    pub fn verification_id(&self, secret: &[u8]) -> VerificationId {
        if let Some(id) = &self.verification_id {
            return id.clone();
        }
        let Some(key) = &self.idempotency_key else { return VerificationId::generate() };
        let digest = crate::idempotency::fingerprint(secret, format!("verificationId\0{}", key.as_str()).as_bytes());
        let hex = &digest[..32];
        let variant = ["8", "9", "a", "b"][usize::from(hex.as_bytes()[16] % 4)];
        let id = format!("{}-{}-4{}-{variant}{}-{}", &hex[..8], &hex[8..12], &hex[13..16], &hex[17..20], &hex[20..32]);
        VerificationId::parse(id).unwrap_or_else(|_| VerificationId::generate())
    }
}

/// The app's code, in the request's fingerprint only (which is keyed: [`payload_hash`]).
fn fingerprinted_code<S: serde::Serializer>(code: &Option<VerificationCode>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_some(&code.as_ref().map(VerificationCode::expose))
}

fn invalid(message: String) -> TriggerError {
    TriggerError::InvalidRequest(message)
}

/// Fingerprint of what is being asked (everything but the idempotency key itself), keyed by `secret`: see
/// [`crate::idempotency::fingerprint`].
pub fn payload_hash(secret: &[u8], request: &CallRequest) -> String {
    let canonical = serde_json::to_string(request).unwrap_or_default();
    crate::idempotency::fingerprint(secret, canonical.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defaults() -> Defaults {
        Defaults {
            display_nbr: Some("+8675528000088".into()),
            pre_tone: Some("welcome.wav".into()),
            language_type: 2,
            allow_endless_playback: false,
            code_length: 6,
        }
    }

    fn check(event: serde_json::Value) -> Result<CallRequest, TriggerError> {
        CallRequest::from_event(event, &defaults())
    }

    #[test]
    fn the_design_example_is_valid_and_defaults_fill_gaps() {
        let full = json!({"calleeNbr": "+8613800000001", "verifyCode": "482913", "idempotencyKey": "signup-42-try-1",
            "displayNbr": "+8675528000088", "languageType": 2, "preTone": "welcome.wav", "posTone": "bye.wav",
            "times": 2, "userData": "user-42"});
        let request = check(full).unwrap();
        assert_eq!(request.idempotency_key.as_ref().map(IdempotencyKey::as_str), Some("signup-42-try-1"));
        let minimal = check(json!({"calleeNbr": "+8613800000001", "verifyCode": "12"})).unwrap();
        assert_eq!(
            (minimal.display_nbr.as_str(), minimal.pre_tone.as_str(), minimal.language_type),
            ("+8675528000088", "welcome.wav", 2)
        );
        assert_eq!(minimal.times, None);
    }

    #[test]
    fn every_rule_refuses_what_it_should() {
        let base = || json!({"calleeNbr": "+8613800000001", "verifyCode": "482913"});
        let with = |field: &str, value: serde_json::Value| {
            let mut event = base();
            event[field] = value;
            event
        };
        let bad = [
            json!({"verifyCode": "1234"}),
            with("calleeNbr", json!("8613800000001")),
            with("calleeNbr", json!("+86 138")),
            with("calleeNbr", json!("+12")),
            with("calleeNbr", json!(format!("+{}", "1".repeat(31)))),
            with("calleeNbr", json!(8613800000001u64)),
            with("verifyCode", json!("1")),
            with("verifyCode", json!("123456789")),
            with("verifyCode", json!("12a4")),
            with("times", json!(0)),
            with("times", json!(10)),
            with("times", json!(-1)),
            with("languageType", json!(0)),
            with("languageType", json!("2")),
            with("userData", json!("用户")),
            with("userData", json!("x".repeat(257))),
            with("userData", json!("")),
            with("preTone", json!("")),
            with("displayNbr", json!("0755")),
            with("idempotencyKey", json!("k".repeat(129))),
            with("verfyCode", json!("123")),
            with("codeLength", json!(6)),
            json!({"calleeNbr": "+8613800000001", "codeLength": 3}),
            json!({"calleeNbr": "+8613800000001", "codeLength": 9}),
            with("verificationId", json!("")),
            with("verificationId", json!("has space")),
            with("verificationId", json!("v".repeat(129))),
            json!("not an object"),
        ];
        for event in bad {
            assert!(matches!(check(event.clone()), Err(TriggerError::InvalidRequest(_))), "{event} should be refused");
        }
        assert!(check(with("times", json!(9))).is_ok());
        assert!(check(json!({"calleeNbr": "+8613800000001"})).is_ok(), "without a code, one is generated");
        assert!(check(json!({"calleeNbr": "+8613800000001", "codeLength": 8})).is_ok());
        assert!(check(with("verificationId", json!("signup:42.a_b-c"))).is_ok());
        assert!(check(with("userData", json!("x".repeat(256)))).is_ok());
    }

    #[test]
    fn a_value_of_the_wrong_type_is_named_by_its_field_never_echoed() {
        let cases = [
            (json!({"calleeNbr": "+8613800000001", "verifyCode": 482913}), "verifyCode must be a string"),
            (json!({"calleeNbr": 8613800000001u64, "verifyCode": "482913"}), "calleeNbr must be a string"),
            (json!({"calleeNbr": 13800000001u64, "verifyCode": [482913]}), "calleeNbr must be a string"),
            (
                json!({"calleeNbr": "+8613800000001", "verifyCode": "4829", "times": "482913"}),
                "times must be an integer",
            ),
            (json!({"calleeNbr": "+8613800000001", "codeLength": "6"}), "codeLength must be an integer"),
            (json!({"calleeNbr": "+8613800000001", "verifyCode": "4829", "verfyCode": 1}), "unknown field `verfyCode`"),
            (json!({"calleeNbr": "+8613800000001", "verifyCode": "4829", "482913": 1}), "an unknown field"),
            (json!(8613800000001u64), "the event must be a JSON object"),
        ];
        for (event, expected) in cases {
            let Err(TriggerError::InvalidRequest(message)) = check(event.clone()) else { panic!("{event} accepted") };
            assert!(message.starts_with(expected), "{event}: {message}");
            for secret in ["482913", "13800000001"] {
                assert!(!message.contains(secret), "{event}: {message}");
            }
        }
    }

    #[test]
    fn missing_display_number_or_tone_without_defaults_is_refused() {
        let event = json!({"calleeNbr": "+8613800000001", "verifyCode": "1234"});
        let none = Defaults { language_type: 2, ..Defaults::default() };
        assert!(
            matches!(CallRequest::from_event(event, &none), Err(TriggerError::InvalidRequest(m)) if m.contains("displayNbr"))
        );
    }

    #[test]
    fn endless_playback_only_when_allowed() {
        let event = json!({"calleeNbr": "+8613800000001", "verifyCode": "1234", "times": 0});
        let allowed = Defaults { allow_endless_playback: true, ..defaults() };
        assert_eq!(CallRequest::from_event(event, &allowed).unwrap().times, Some(0));
    }
    #[test]
    fn hash_covers_the_payload_but_not_the_key() {
        let defaults = Defaults {
            display_nbr: Some("+8675528000088".into()),
            pre_tone: Some("w.wav".into()),
            language_type: 2,
            allow_endless_playback: false,
            code_length: 6,
        };
        let request = |code: &str, key: &str| {
            CallRequest::from_event(
                json!({"calleeNbr": "+8613800000001", "verifyCode": code, "idempotencyKey": key}),
                &defaults,
            )
            .unwrap()
        };
        let hash = |r: &CallRequest| payload_hash(b"secret", r);
        assert_eq!(hash(&request("1234", "a")), hash(&request("1234", "b")));
        assert_ne!(hash(&request("1234", "a")), hash(&request("9999", "a")));
    }

    #[test]
    fn the_hash_is_keyed_so_the_code_cannot_be_guessed_from_it() {
        use sha2::{Digest, Sha256};
        let request = CallRequest::from_event(
            json!({"calleeNbr": "+8613800000001", "verifyCode": "482913", "displayNbr": "+8675528000088",
                "preTone": "w.wav"}),
            &Defaults { language_type: 2, ..Defaults::default() },
        )
        .unwrap();
        let stored = payload_hash(b"secret", &request);
        let canonical = serde_json::to_string(&request).unwrap();
        assert_ne!(stored, hex::encode(Sha256::digest(canonical.as_bytes())), "not the plain SHA-256");
        assert_ne!(stored, payload_hash(b"another secret", &request), "depends on the key");
        assert_eq!(stored, payload_hash(b"secret", &request), "stable: a replay matches");
        assert_eq!(stored.len(), 64);
    }
}
