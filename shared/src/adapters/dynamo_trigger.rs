//! The trigger's stores on DynamoDB: [`IdempotencyStore`] and [`RateLimitStore`].
//!
//! - claim: one conditional `PutItem`; on failure DynamoDB returns the existing record (no extra read).
//! - completion: one `UpdateItem`; release: one conditional `DeleteItem` (only when nothing was placed).
//! - rate slot: consistent `GetItem` of the callee's log, then `PutItem` conditioned on its version
//!   (optimistic concurrency: of two concurrent calls to one number, exactly one takes the last slot).

use super::dynamo::{Conditional, DynamoStore};
use crate::idempotency::{Claim, Completion, IdempotencyStore};
use crate::ids::IdempotencyKey;
use crate::rate_limit::{RateLimitStore, RateLimits};
use crate::records::bookkeeping::{rate_limit_key, rate_limit_log, request_claim, request_completion, request_release};
use crate::records::read::RateLimitRecord;
use crate::records::{
    RequestRecord, REQUEST_OUTCOME_REQUESTED as OUTCOME_REQUESTED, REQUEST_OUTCOME_UNKNOWN as OUTCOME_UNKNOWN,
};
use crate::storage::StoreError;

/// Optimistic rate-slot attempts before giving up (each loses only to a concurrent call to the same number).
const RATE_SLOT_ATTEMPTS: usize = 5;

impl IdempotencyStore for DynamoStore {
    async fn claim_request(
        &self,
        key: &IdempotencyKey,
        payload_hash: &str,
        in_progress_until_ms: i64,
        now_ms: i64,
        expires_at: i64,
    ) -> Result<Claim, StoreError> {
        let claim =
            request_claim(key.as_str(), payload_hash, in_progress_until_ms, now_ms, expires_at, self.written_region());
        match self.write_item(&claim).await? {
            Conditional::Done => Ok(Claim::Claimed),
            Conditional::Failed(Some(old)) => {
                let existing: RequestRecord = serde_dynamo::from_item(old).map_err(StoreError::rejected)?;
                Ok(Claim::from_existing(&existing, payload_hash))
            }
            // Lost a race with a delete: treat as held by someone else rather than guess.
            Conditional::Failed(None) => Ok(Claim::InProgress),
        }
    }

    async fn complete_request(&self, key: &IdempotencyKey, completion: &Completion) -> Result<(), StoreError> {
        let (outcome, session_id) = match completion {
            Completion::Requested { session_id } => (OUTCOME_REQUESTED, session_id.as_str()),
            Completion::OutcomeUnknown => (OUTCOME_UNKNOWN, ""),
        };
        match self.write_item(&request_completion(key.as_str(), outcome, session_id)).await? {
            Conditional::Done => Ok(()),
            Conditional::Failed(_) => Err(StoreError::rejected("the idempotency record to complete is gone")),
        }
    }

    async fn release_request(&self, key: &IdempotencyKey) -> Result<(), StoreError> {
        match self.write_item(&request_release(key.as_str())).await? {
            Conditional::Done => Ok(()),
            Conditional::Failed(_) => Err(StoreError::rejected("the idempotency record is no longer in progress")),
        }
    }
}

impl RateLimitStore for DynamoStore {
    async fn take_rate_slot(
        &self,
        callee_key: &str,
        limits: &RateLimits,
        now: i64,
    ) -> Result<Result<(), u64>, StoreError> {
        for _ in 0..RATE_SLOT_ATTEMPTS {
            let current = self.get_item(&rate_limit_key(callee_key)).await?;
            let stored: Option<RateLimitRecord> =
                current.map(serde_dynamo::from_item).transpose().map_err(StoreError::rejected)?;
            let version = stored.as_ref().map(|log| log.version);
            let recent = stored.map(|log| log.recent).unwrap_or_default();
            let log = match limits.admit(now, &recent) {
                Ok(log) => log,
                Err(wait) => return Ok(Err(wait)),
            };
            let expires_at = now + limits.longest_window();
            let write = rate_limit_log(callee_key, &log, version, expires_at, self.written_region());
            match self.write_item(&write).await? {
                Conditional::Done => return Ok(Ok(())),
                Conditional::Failed(_) => continue,
            }
        }
        Err(StoreError::transient("rate-limit record kept changing under concurrent calls"))
    }
}
