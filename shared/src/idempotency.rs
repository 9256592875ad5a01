//! Caller idempotency, the protocol AWS Lambda Powertools proved: claim the key with an in-progress record whose
//! expiry is the invocation's deadline, do the work, then complete the record with the answer. One conditional
//! put claims it, and a failed claim returns the existing record for free (no separate read).
//!
//! Below the domains, so that every domain that takes an idempotency key (placing calls today) uses the same
//! claim, its record ([`crate::records`]) and its port ([`IdempotencyStore`]).

use std::future::Future;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::ids::{IdempotencyKey, SessionId};
use crate::records::{RequestRecord, REQUEST_COMPLETED as COMPLETED, REQUEST_OUTCOME_REQUESTED as OUTCOME_REQUESTED};
use crate::storage::StoreError;

/// What the caller's earlier attempt with the same key left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// No live record: this invocation owns the key.
    Claimed,
    /// Completed earlier with this outcome.
    Completed(Completion),
    /// Another invocation holds the key right now.
    InProgress,
    /// The key was used for a different request.
    DifferentPayload,
}

/// The stored result of a completed key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    Requested {
        session_id: SessionId,
    },
    /// The request may have reached Huawei; a replay must not call again.
    OutcomeUnknown,
}

impl Claim {
    /// What a live record (one the claim could not take over) means for this request.
    pub fn from_existing(existing: &RequestRecord, payload_hash: &str) -> Self {
        if existing.payload_hash != payload_hash {
            return Self::DifferentPayload;
        }
        match (existing.status.as_str(), existing.outcome.as_deref(), &existing.session_id) {
            (COMPLETED, Some(OUTCOME_REQUESTED), Some(session_id)) => match SessionId::parse(session_id.clone()) {
                Ok(session_id) => Self::Completed(Completion::Requested { session_id }),
                Err(_) => Self::Completed(Completion::OutcomeUnknown),
            },
            (COMPLETED, _, _) => Self::Completed(Completion::OutcomeUnknown),
            _ => Self::InProgress,
        }
    }
}

/// Fingerprint of what is being asked (`canonical`: everything but the key itself), to refuse a reused key.
/// Keyed (HMAC-SHA-256 with `secret`): a request may hold a code and a number, and a plain hash of it stored in
/// the table would give the code away to 10^8 guesses.
pub fn fingerprint(secret: &[u8], canonical: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(canonical);
    hex::encode(mac.finalize().into_bytes())
}

/// Where idempotency records are kept.
pub trait IdempotencyStore: Send + Sync {
    /// Claims `key` with an in-progress record unless a live one exists (one conditional put). An expired
    /// in-progress record (its invocation is gone) is taken over.
    fn claim_request(
        &self,
        key: &IdempotencyKey,
        payload_hash: &str,
        in_progress_until_ms: i64,
        now_ms: i64,
        expires_at: i64,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;

    /// Completes a claimed key with its outcome (one update).
    fn complete_request(
        &self,
        key: &IdempotencyKey,
        completion: &Completion,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Gives a claimed key back when certainly no call was placed, so the caller may retry with it.
    fn release_request(&self, key: &IdempotencyKey) -> impl Future<Output = Result<(), StoreError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::sid;
    use crate::records::{REQUEST_IN_PROGRESS as IN_PROGRESS, REQUEST_OUTCOME_UNKNOWN as OUTCOME_UNKNOWN};

    #[test]
    fn existing_records_are_interpreted() {
        let existing = |status: &str, outcome: Option<&str>| RequestRecord {
            status: status.into(),
            payload_hash: "h".into(),
            outcome: outcome.map(Into::into),
            session_id: Some("sid".into()),
        };
        let requested = Completion::Requested { session_id: sid("sid") };
        assert_eq!(
            Claim::from_existing(&existing(COMPLETED, Some(OUTCOME_REQUESTED)), "h"),
            Claim::Completed(requested)
        );
        assert_eq!(
            Claim::from_existing(&existing(COMPLETED, Some(OUTCOME_UNKNOWN)), "h"),
            Claim::Completed(Completion::OutcomeUnknown)
        );
        assert_eq!(Claim::from_existing(&existing(IN_PROGRESS, None), "h"), Claim::InProgress);
        assert_eq!(
            Claim::from_existing(&existing(COMPLETED, Some(OUTCOME_REQUESTED)), "other"),
            Claim::DifferentPayload
        );
        assert_eq!(Claim::from_existing(&existing(IN_PROGRESS, None), "other"), Claim::DifferentPayload);
    }

    #[test]
    fn a_fingerprint_is_keyed() {
        assert_eq!(fingerprint(b"k", b"payload"), fingerprint(b"k", b"payload"));
        assert_ne!(fingerprint(b"k", b"payload"), fingerprint(b"other", b"payload"));
        assert_ne!(fingerprint(b"k", b"payload"), fingerprint(b"k", b"payload2"));
    }
}
