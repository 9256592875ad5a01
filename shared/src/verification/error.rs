//! check-verification's failures, mapped once to the `errorType`s of its contract (docs/app-backend.md,
//! "check-verification").

use crate::storage::StoreError;

/// Every failure of a check. The variant name is the `errorType` the caller sees; no message holds a code.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The event is not one of the three requests, or asks what this verification does not allow.
    #[error("{0}")]
    InvalidRequest(String),
    /// No verification with this id (never started, or expired from the table).
    #[error("no verification with this verificationId")]
    NotFound,
    /// The table could not be reached in time; nothing was checked. Safe to retry.
    #[error("storage unavailable, nothing was checked: {0}")]
    StorageUnavailable(#[source] StoreError),
}

impl CheckError {
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "InvalidRequest",
            Self::NotFound => "NotFound",
            Self::StorageUnavailable(_) => "StorageUnavailable",
        }
    }
}
