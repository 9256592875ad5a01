//! The invoke event of check-verification, parsed at the edge: exactly one of a code, a report-back or a cancel.

use serde::Deserialize;
use serde_json::Value;

use super::CheckError;
use crate::ids::{VerificationCode, VerificationId};

/// What an invoke asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckRequest {
    /// `{"verificationId": "…", "code": "123456"}`: the code the user typed.
    Code { id: VerificationId, code: VerificationCode },
    /// `{"verificationId": "…", "verified": true}`: the app checked its own code and the user passed.
    Verified { id: VerificationId },
    /// `{"verificationId": "…", "cancel": true}`.
    Cancel { id: VerificationId },
}

/// The event on the wire: `verificationId` and exactly one of `code`, `verified: true`, `cancel: true` (the others
/// absent or `null`).
#[derive(Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(title = "check-verification request", transform = one_request))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CheckEvent {
    /// The verification, as the trigger answered it.
    #[cfg_attr(feature = "schema", schemars(required, with = "VerificationId"))]
    verification_id: Option<String>,
    /// The code the user typed: 2 to 8 digits.
    #[cfg_attr(feature = "schema", schemars(pattern(r"^[0-9]{2,8}$")))]
    #[serde(default)]
    code: Option<String>,
    /// `true`: the app checked its own code and the user passed (only for codes the app gave).
    #[cfg_attr(feature = "schema", schemars(schema_with = "true_or_null"))]
    #[serde(default)]
    verified: Option<bool>,
    /// `true`: end the verification.
    #[cfg_attr(feature = "schema", schemars(schema_with = "true_or_null"))]
    #[serde(default)]
    cancel: Option<bool>,
}

/// The wire form is [`CheckEvent`]'s, which stays private: nothing but the parser builds one.
#[cfg(feature = "schema")]
impl schemars::JsonSchema for CheckRequest {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "CheckVerificationRequest".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        CheckEvent::json_schema(generator)
    }
}

#[cfg(feature = "schema")]
fn true_or_null(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"enum": [true, null]})
}

/// Exactly one request: a code (a string), `verified: true` or `cancel: true`.
#[cfg(feature = "schema")]
fn one_request(schema: &mut schemars::Schema) {
    use serde_json::json;
    let given = |field: &str, value: Value| json!({"required": [field], "properties": {field: value}});
    let requests = [
        given("code", json!({"type": "string"})),
        given("verified", json!({"const": true})),
        given("cancel", json!({"const": true})),
    ];
    schema.insert("oneOf".into(), json!(requests));
}

impl CheckRequest {
    /// Parses an invoke event. A refusal names the field, never its value (a code is a secret).
    pub fn from_event(event: Value) -> Result<Self, CheckError> {
        let invalid = |message: &str| CheckError::InvalidRequest(message.to_owned());
        let event: CheckEvent = serde_json::from_value(event).map_err(|_| {
            invalid("the event must be an object of verificationId and one of code, verified: true, cancel: true")
        })?;
        let id = event.verification_id.ok_or_else(|| invalid("verificationId is required"))?;
        let id = VerificationId::parse(id).map_err(|e| CheckError::InvalidRequest(e.to_string()))?;
        match (event.code, event.verified, event.cancel) {
            (Some(code), None, None) => {
                let code = VerificationCode::parse(code).map_err(|e| CheckError::InvalidRequest(e.to_string()))?;
                Ok(Self::Code { id, code })
            }
            (None, Some(true), None) => Ok(Self::Verified { id }),
            (None, None, Some(true)) => Ok(Self::Cancel { id }),
            _ => Err(invalid("give exactly one of code, verified: true or cancel: true")),
        }
    }

    pub fn id(&self) -> &VerificationId {
        match self {
            Self::Code { id, .. } | Self::Verified { id } | Self::Cancel { id } => id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_of_three_requests_and_nothing_else() {
        let code = CheckRequest::from_event(json!({"verificationId": "v-1", "code": "482913"})).unwrap();
        assert!(matches!(code, CheckRequest::Code { ref code, .. } if code.expose() == "482913"));
        let verified = CheckRequest::from_event(json!({"verificationId": "v-1", "verified": true})).unwrap();
        assert!(matches!(verified, CheckRequest::Verified { .. }));
        let cancel = CheckRequest::from_event(json!({"verificationId": "v-1", "cancel": true})).unwrap();
        assert!(matches!(cancel, CheckRequest::Cancel { .. }));
        for bad in [
            json!({"verificationId": "v-1"}),
            json!({"verificationId": "v-1", "code": "482913", "cancel": true}),
            json!({"verificationId": "v-1", "verified": false}),
            json!({"code": "482913"}),
            json!({"verificationId": "v 1", "code": "482913"}),
            json!({"verificationId": "v-1", "code": 482913}),
            json!({"verificationId": "v-1", "code": "48a913"}),
            json!({"verificationId": "v-1", "code": "482913", "extra": 1}),
            json!(["v-1"]),
        ] {
            let error = CheckRequest::from_event(bad.clone()).unwrap_err();
            assert_eq!(error.error_type(), "InvalidRequest", "{bad}");
            assert!(!error.to_string().contains("4829") && !error.to_string().contains("48a9"), "{error}");
        }
    }
}
