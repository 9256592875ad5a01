//! The storage port every domain writes through: "store this record unless one with its key exists" — one
//! conditional write, no read — with the errors a store reports and the retry policy around them.

pub mod retry;

use std::error::Error;
use std::future::Future;
use std::sync::Arc;

use crate::records::Record;
use crate::telemetry::error_chain;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// This delivery wrote the record.
    Created,
    /// A record with this key and the same payload was already there; nothing changed.
    AlreadyStored,
    /// A record with this key holds a different payload (a correction, or a forged push that came first); nothing
    /// changed: the first stays. Known at no extra cost, from the failed conditional write.
    Conflicting,
}

/// The error a store's client reported, kept as it was (shared, so that a [`StoreError`] stays `Clone`).
pub type StoreCause = Arc<dyn Error + Send + Sync>;

/// A failed storage request, with the client's error as its source. Its text names the whole chain, so that one
/// log line says what DynamoDB said.
#[derive(Debug, Clone)]
pub enum StoreError {
    /// Worth retrying: throttling, a 5xx, a timeout.
    Transient(StoreCause),
    /// Worth retrying, and the store could not even be reached (a refused or broken connection): a peer replica
    /// is tried at once rather than after the home table's share of the budget.
    Unreachable(StoreCause),
    /// Retrying will not help: a validation error, a missing table, denied access.
    Rejected(StoreCause),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Transient(cause) => write!(f, "storage temporarily unavailable: {}", error_chain(cause.as_ref())),
            Self::Unreachable(cause) => write!(f, "storage unreachable: {}", error_chain(cause.as_ref())),
            Self::Rejected(cause) => write!(f, "storage refused the request: {}", error_chain(cause.as_ref())),
        }
    }
}

impl Error for StoreError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::Transient(cause) | Self::Unreachable(cause) | Self::Rejected(cause) => Some(cause.as_ref()),
        }
    }
}

impl StoreError {
    pub fn transient(cause: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        Self::Transient(Arc::from(cause.into()))
    }

    pub fn rejected(cause: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        Self::Rejected(Arc::from(cause.into()))
    }

    pub fn unreachable(cause: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        Self::Unreachable(Arc::from(cause.into()))
    }

    /// Worth retrying (unreachable included).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient(_) | Self::Unreachable(_))
    }

    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Unreachable(_))
    }
}

pub trait RecordStore: Send + Sync {
    /// Writes `record` unless a record with the same `pk`/`sk` exists (one conditional write).
    fn put_new(&self, record: &Record) -> impl Future<Output = Result<PutOutcome, StoreError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cause_is_kept_and_shown() {
        let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "attempt timed out");
        let error = StoreError::transient(io);
        assert!(error.is_transient());
        assert_eq!(error.to_string(), "storage temporarily unavailable: attempt timed out");
        let source = error.source().expect("the cause is the source");
        assert_eq!(source.downcast_ref::<std::io::Error>().map(|e| e.kind()), Some(std::io::ErrorKind::TimedOut));
        assert!(!StoreError::rejected("no such table").is_transient());
        let refused = StoreError::unreachable("connection refused");
        assert!(refused.is_transient() && refused.is_unreachable() && !error.is_unreachable());
        assert_eq!(refused.to_string(), "storage unreachable: connection refused");
    }
}
