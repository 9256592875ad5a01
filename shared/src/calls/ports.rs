//! The ports trigger-verification-call needs: its storage (idempotency records, per-callee rate-limit logs, and
//! the call record via [`RecordStore::put_new`]), Huawei's callVerify, and the scheduler of close-out checks.

use std::future::Future;
use std::time::Duration;

use super::attempt::Attempt;
use super::CallRequest;
use crate::guard::GuardStore;
use crate::idempotency::IdempotencyStore;
use crate::ids::{SessionId, VerificationCode};
use crate::rate_limit::RateLimitStore;
use crate::records::CloseoutStage;
use crate::storage::RecordStore;
use crate::verification_state::VerificationStore;

/// The storage the trigger needs: its idempotency records, per-callee rate-limit logs, the verification records,
/// the fraud guard's records, and the call record via [`RecordStore::put_new`].
pub trait TriggerStore: RecordStore + IdempotencyStore + RateLimitStore + VerificationStore + GuardStore {}

impl<T: RecordStore + IdempotencyStore + RateLimitStore + VerificationStore + GuardStore> TriggerStore for T {}

/// Huawei's side of the trigger: one callVerify attempt, speaking `code`.
pub trait VoiceApi: Send + Sync {
    fn call_verify(
        &self,
        request: &CallRequest,
        code: &VerificationCode,
        timeout: Duration,
    ) -> impl Future<Output = Attempt> + Send;
}

/// Schedules the close-out check of a placed call at one of its deadlines (EventBridge Scheduler in AWS).
pub trait CloseOutScheduler: Send + Sync {
    fn schedule(
        &self,
        session_id: &SessionId,
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
    async fn schedule(&self, _: &SessionId, _: CloseoutStage, _: time::OffsetDateTime) -> Result<(), ScheduleError> {
        Ok(())
    }
}

/// A scheduler that may not be configured: `None` schedules nothing.
impl<C: CloseOutScheduler> CloseOutScheduler for Option<C> {
    async fn schedule(
        &self,
        session_id: &SessionId,
        stage: CloseoutStage,
        at: time::OffsetDateTime,
    ) -> Result<(), ScheduleError> {
        match self {
            Some(scheduler) => scheduler.schedule(session_id, stage, at).await,
            None => Ok(()),
        }
    }
}
