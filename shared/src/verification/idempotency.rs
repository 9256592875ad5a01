//! Caller idempotency, the protocol AWS Lambda Powertools proved: claim the key with an in-progress record whose
//! expiry is the invocation's deadline, do the work, then complete the record with the answer. One conditional
//! put claims it, and a failed claim returns the existing record for free (no separate read).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::CallRequest;
use crate::records::{RequestRecord, REQUEST_COMPLETED as COMPLETED, REQUEST_OUTCOME_REQUESTED as OUTCOME_REQUESTED};

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
        session_id: String,
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
            (COMPLETED, Some(OUTCOME_REQUESTED), Some(session_id)) => {
                Self::Completed(Completion::Requested { session_id: session_id.clone() })
            }
            (COMPLETED, _, _) => Self::Completed(Completion::OutcomeUnknown),
            _ => Self::InProgress,
        }
    }
}

/// Fingerprint of what is being asked (everything but the key itself), to refuse a reused key. Keyed
/// (HMAC-SHA-256 with `secret`, the key of the callee's rate-limit record): the request holds the code and the
/// number, and a plain hash of it stored in the table would give the code away to 10^8 guesses.
pub fn payload_hash(secret: &[u8], request: &CallRequest) -> String {
    let canonical = serde_json::to_string(request).unwrap_or_default();
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(canonical.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{REQUEST_IN_PROGRESS as IN_PROGRESS, REQUEST_OUTCOME_UNKNOWN as OUTCOME_UNKNOWN};
    use crate::verification::request::Defaults;
    use serde_json::json;

    #[test]
    fn existing_records_are_interpreted() {
        let existing = |status: &str, outcome: Option<&str>| RequestRecord {
            status: status.into(),
            payload_hash: "h".into(),
            outcome: outcome.map(Into::into),
            session_id: Some("sid".into()),
        };
        let requested = Completion::Requested { session_id: "sid".into() };
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
    fn hash_covers_the_payload_but_not_the_key() {
        let defaults = Defaults {
            display_nbr: Some("+8675528000088".into()),
            pre_tone: Some("w.wav".into()),
            language_type: 2,
            allow_endless_playback: false,
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
        use sha2::Digest;
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
