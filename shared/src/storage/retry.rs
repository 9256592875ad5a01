//! Retrying transient storage errors within a deadline. Huawei never re-pushes a failed status push, so a
//! handler keeps trying until shortly before its own deadline rather than answering 5xx at the first error.

use std::future::Future;
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

use super::StoreError;
use crate::telemetry::metrics::{self, Dimensions, Metric};

/// Time kept before the Lambda deadline to send the answer after the last storage attempt.
pub const ANSWER_MARGIN: Duration = Duration::from_millis(300);

const FIRST_BACKOFF: Duration = Duration::from_millis(25);
const MAX_BACKOFF: Duration = Duration::from_millis(400);

/// How long storage may be retried from now: the retry `budget`, cut to [`ANSWER_MARGIN`] before the Lambda
/// deadline when there is one.
pub fn deadline_within(budget: Duration, lambda_deadline: Option<Instant>) -> Instant {
    let budget = Instant::now() + budget;
    match lambda_deadline.and_then(|d| d.checked_sub(ANSWER_MARGIN)) {
        Some(lambda) => budget.min(lambda),
        None => budget,
    }
}

/// Runs `attempt` until it succeeds, fails permanently, or the next try could not finish before `deadline`.
/// Backoff doubles from 25 ms to 400 ms with full jitter, so concurrent writers do not retry in lock-step. An
/// attempt started before `deadline` may end after it, within the client's attempt timeout.
pub async fn until_deadline<T, F, Fut>(deadline: Instant, attempt: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    retrying(deadline, false, attempt).await
}

/// [`until_deadline`] for a client without an attempt timeout of its own (the peer replica's): an attempt still
/// waiting at `deadline` is cut there, a transient error.
pub async fn until_deadline_cut_there<T, F, Fut>(deadline: Instant, attempt: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    tokio::time::timeout_at(deadline, until_deadline(deadline, attempt))
        .await
        .unwrap_or_else(|_| Err(deadline_reached()))
}

/// [`until_deadline`], except that an unreachable store ends the retries at once: there is a peer to try.
pub async fn until_deadline_while_reachable<T, F, Fut>(deadline: Instant, attempt: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    retrying(deadline, true, attempt).await
}

async fn retrying<T, F, Fut>(deadline: Instant, stop_when_unreachable: bool, mut attempt: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let mut backoff = FIRST_BACKOFF;
    loop {
        let error = match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) if !error.is_transient() => return Err(error),
            Err(error) if stop_when_unreachable && error.is_unreachable() => return Err(error),
            Err(error) => error,
        };
        let pause = rand::rng().random_range(backoff / 2..=backoff);
        if Instant::now() + pause >= deadline {
            return Err(error);
        }
        tracing::warn!(error = %error, retry_in_ms = pause.as_millis() as u64, "transient storage error, retrying");
        metrics::count(Metric::StorageRetries, Dimensions::none());
        tokio::time::sleep(pause).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// The cause of an attempt cut at the deadline.
#[derive(Debug, thiserror::Error)]
#[error("no answer before the deadline")]
struct DeadlineReached;

fn deadline_reached() -> StoreError {
    StoreError::transient(DeadlineReached)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn retries_transient_errors_until_success() {
        let calls = AtomicU32::new(0);
        let (result, metrics) = metrics::collect(until_deadline(Instant::now() + Duration::from_secs(3), || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0..=2 => Err(StoreError::transient("throttled")),
                _ => Ok("stored"),
            }
        }))
        .await;
        assert!(matches!(result, Ok("stored")));
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        assert_eq!(metrics[&Dimensions::none()][&Metric::StorageRetries], 3.0, "each retry is counted");
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_at_the_deadline_with_the_last_error() {
        let start = Instant::now();
        let calls = AtomicU32::new(0);
        let budget = Duration::from_millis(600);
        let result: Result<(), _> = until_deadline(start + budget, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(StoreError::transient("down"))
        })
        .await;
        assert!(
            matches!(&result, Err(e @ StoreError::Transient(_)) if e.to_string().ends_with(": down")),
            "{result:?}"
        );
        assert!(start.elapsed() <= budget, "overran the deadline: {:?}", start.elapsed());
        // Backoff 25, 50, 100, 200, 400 ms (halved at worst by jitter): a handful of tries, never a tight loop.
        let n = calls.load(Ordering::SeqCst);
        assert!((3..=12).contains(&n), "bounded, backed-off attempts, got {n}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_unreachable_store_is_retried_unless_there_is_a_peer() {
        let calls = AtomicU32::new(0);
        let refused = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(StoreError::unreachable("connection refused"))
        };
        let deadline = Instant::now() + Duration::from_secs(1);
        assert!(until_deadline_while_reachable(deadline, refused).await.is_err_and(|e| e.is_unreachable()));
        assert_eq!(calls.swap(0, Ordering::SeqCst), 1, "given up at once: the peer is tried instead");
        assert!(until_deadline(deadline, refused).await.is_err());
        assert!(calls.load(Ordering::SeqCst) > 1, "without a peer, retried like any transient error");
    }

    #[tokio::test(start_paused = true)]
    async fn an_attempt_still_waiting_at_the_deadline_is_cut_there() {
        let start = Instant::now();
        let deadline = start + Duration::from_millis(1500);
        let slow = || async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok::<_, StoreError>("stored")
        };
        let result = until_deadline_cut_there(deadline, slow).await;
        assert!(matches!(&result, Err(e) if e.is_transient() && e.to_string().ends_with("before the deadline")));
        assert_eq!(start.elapsed(), Duration::from_millis(1500), "cut at the deadline, not after the attempt");
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = until_deadline(Instant::now() + Duration::from_secs(3), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(StoreError::rejected("no such table"))
        })
        .await;
        assert!(matches!(result, Err(StoreError::Rejected(_))));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
