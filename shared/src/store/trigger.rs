//! Storage port of trigger-verification-call: idempotency records (`request#<key>`), per-callee rate-limit
//! logs (`ratelimit#<hmac>`), and the call record (via [`RecordStore::put_new`]).

use std::future::Future;

use super::{RecordStore, StoreError};
use crate::verification::idempotency::{Claim, Completion};
use crate::verification::rate_limit::RateLimits;

pub trait TriggerStore: RecordStore {
    /// Claims `key` with an in-progress record unless a live one exists (one conditional put). An expired
    /// in-progress record (its invocation is gone) is taken over.
    fn claim_request(
        &self,
        key: &str,
        payload_hash: &str,
        in_progress_until_ms: i64,
        now_ms: i64,
        expires_at: i64,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;

    /// Completes a claimed key with its outcome (one update).
    fn complete_request(
        &self,
        key: &str,
        completion: &Completion,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Gives a claimed key back when certainly no call was placed, so the caller may retry with it.
    fn release_request(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Atomically records a call to `callee_key` if `limits` allow it now; otherwise the seconds to wait.
    fn take_rate_slot(
        &self,
        callee_key: &str,
        limits: &RateLimits,
        now: i64,
    ) -> impl Future<Output = Result<Result<(), u64>, StoreError>> + Send;
}
