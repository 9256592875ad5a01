//! The refusals of a push and their one mapping to HTTP statuses, with the size limits they name. Below the
//! service and the nonce store, which both answer with them.

use crate::auth::SignatureRejection;
use crate::huawei::PayloadError;

/// Largest body accepted: a full 50-CDR push is ~50 KB, so 256 KiB leaves room for Huawei adding fields, and
/// keeps most records under DynamoDB's 400 KB item limit (see [`MAX_RECORD_BYTES`] for the others).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// DynamoDB's item size limit. A record holds the raw JSON beside its typed fields, so a body under
/// [`MAX_BODY_BYTES`] with one huge field can still make a record too large for one item.
pub const MAX_RECORD_BYTES: usize = 400 * 1024;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    #[error("only POST is accepted")]
    MethodNotAllowed,
    #[error("body exceeds {MAX_BODY_BYTES} bytes")]
    PayloadTooLarge,
    #[error("a record of this push would exceed the {MAX_RECORD_BYTES}-byte storage item limit")]
    RecordTooLarge,
    #[error("missing or unknown callback token")]
    UnknownToken,
    #[error("signature rejected: {0}")]
    BadSignature(SignatureRejection),
    #[error(transparent)]
    InvalidPayload(#[from] PayloadError),
    #[error("{failed} of {total} records could not be stored")]
    StorageFailed { failed: usize, total: usize },
}

impl CallbackError {
    /// The one mapping from errors to HTTP statuses.
    pub fn status(&self) -> u16 {
        match self {
            Self::MethodNotAllowed => 405,
            Self::PayloadTooLarge | Self::RecordTooLarge => 413,
            Self::UnknownToken | Self::BadSignature(_) => 401,
            Self::InvalidPayload(_) => 400,
            // Not 200: Huawei re-pushes CDRs (and privacy-number events/SMS) that did not get a success.
            Self::StorageFailed { .. } => 503,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge | Self::RecordTooLarge => "payload_too_large",
            Self::UnknownToken => "unauthorized",
            Self::BadSignature(_) => "bad_signature",
            Self::InvalidPayload(e) => e.code(),
            Self::StorageFailed { .. } => "storage_unavailable",
        }
    }
}
