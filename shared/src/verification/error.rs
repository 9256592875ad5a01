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
    /// Every `errorType` of check-verification, as [`CheckError::error_type`] names them (the schema's enum).
    pub const ALL: [&'static str; 3] = ["InvalidRequest", "NotFound", "StorageUnavailable"];

    pub fn error_type(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "InvalidRequest",
            Self::NotFound => "NotFound",
            Self::StorageUnavailable(_) => "StorageUnavailable",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::CheckError;
    use crate::storage::StoreError;

    #[test]
    fn all_lists_the_error_type_of_every_variant_once() {
        let all = [
            CheckError::InvalidRequest(String::new()),
            CheckError::NotFound,
            CheckError::StorageUnavailable(StoreError::Transient(std::sync::Arc::new(std::io::Error::other("down")))),
        ];
        // Does not compile once a variant is added: add it above and to `ALL`.
        for error in &all {
            match error {
                CheckError::InvalidRequest(_) | CheckError::NotFound | CheckError::StorageUnavailable(_) => {}
            }
        }
        let named: Vec<&str> = all.iter().map(CheckError::error_type).collect();
        assert_eq!(named, CheckError::ALL);
    }
}
