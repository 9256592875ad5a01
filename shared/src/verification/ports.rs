//! The ports trigger-verification-call needs: its storage (idempotency records, per-callee rate-limit logs, and
//! the call record via [`RecordStore::put_new`]), Huawei's callVerify, and the scheduler of close-out checks.

use std::future::Future;
use std::time::Duration;

use super::attempt::Attempt;
use super::idempotency::{Claim, Completion};
use super::rate_limit::RateLimits;
use super::CallRequest;
use crate::records::CloseoutStage;
use crate::storage::{RecordStore, StoreError};

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

/// Huawei's side of the trigger: one callVerify attempt.
pub trait VoiceApi: Send + Sync {
    fn call_verify(&self, request: &CallRequest, timeout: Duration) -> impl Future<Output = Attempt> + Send;
}

/// Schedules the close-out check of a placed call at one of its deadlines (EventBridge Scheduler in AWS).
pub trait CloseOutScheduler: Send + Sync {
    fn schedule(
        &self,
        session_id: &str,
        stage: CloseoutStage,
        at: time::OffsetDateTime,
    ) -> impl Future<Output = Result<(), ScheduleError>> + Send;
}

/// A close-out check could not be scheduled. The call is ringing anyway: the trigger logs it and answers.
#[derive(Debug, thiserror::Error)]
#[error("close-out check not scheduled: {0}")]
pub struct ScheduleError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// No close-out checks (the trigger's unit tests, and a deployment without a scheduler group).
pub struct NoCloseOuts;

impl CloseOutScheduler for NoCloseOuts {
    async fn schedule(&self, _: &str, _: CloseoutStage, _: time::OffsetDateTime) -> Result<(), ScheduleError> {
        Ok(())
    }
}

/// A scheduler that may not be configured: `None` schedules nothing.
impl<C: CloseOutScheduler> CloseOutScheduler for Option<C> {
    async fn schedule(
        &self,
        session_id: &str,
        stage: CloseoutStage,
        at: time::OffsetDateTime,
    ) -> Result<(), ScheduleError> {
        match self {
            Some(scheduler) => scheduler.schedule(session_id, stage, at).await,
            None => Ok(()),
        }
    }
}
