//! Huawei's wire formats (the bottom layer): push notifications (voice status, CDR, privacy-number SMS), the
//! callVerify request, the app credentials and `UsernameToken` signatures. Described in docs/huawei-protocol.md.

pub mod call_verify;
pub mod credentials;
pub mod lenient;
pub mod notification;
pub mod signature;
pub mod sms;

pub use credentials::AppCredentials;
pub use notification::{
    CallEventKind, Cdr, FeeList, QuarantineSource, Quarantined, StatusEvent, StatusInfo, UnrecognisedEvent, VoicePush,
};
pub use sms::{SmsEvent, SmsNotification, SmsPush};

/// Why a push body was refused. Each variant becomes a `400` with a short JSON error.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum PayloadError {
    #[error("body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("body must be a JSON object")]
    NotAnObject,
    #[error("missing required field `{0}`")]
    MissingField(&'static str),
    #[error("field `{field}` is invalid: {reason}")]
    InvalidField { field: &'static str, reason: String },
    #[error("`feeLst` must hold 1 to {max} CDRs, got {got}")]
    FeeListSize { got: usize, max: usize },
}

impl PayloadError {
    /// Stable machine-readable code for the JSON error body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidJson(_) => "invalid_json",
            Self::NotAnObject => "not_an_object",
            Self::MissingField(_) => "missing_field",
            Self::InvalidField { .. } => "invalid_field",
            Self::FeeListSize { .. } => "fee_list_size",
        }
    }
}
