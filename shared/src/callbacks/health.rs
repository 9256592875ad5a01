//! `GET /health`: whether this region can take a push right now — this function, its role and its table answer
//! one cheap read within [`HEALTH_TIMEOUT`]. Route 53 health checks call it; it needs no token (the checkers
//! cannot authenticate) and its answer carries no data.

use std::future::Future;
use std::time::Duration;

use crate::storage::StoreError;
use crate::telemetry::error_chain;
use crate::telemetry::metrics::{self, Dimensions, Metric};

/// How long the read may take: a Route 53 checker wants the answer about 2 s after it connects (cold start
/// included), and a store slower than this would hardly take a push within its retry budget either.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(1);

/// The path of the health check.
pub const HEALTH_PATH: &str = "/health";

/// The one read a health check makes (DynamoDB: a GetItem of [`crate::records::HEALTH_PROBE_KEY`]).
pub trait HealthProbe: Send + Sync {
    fn probe(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Healthy,
    Unavailable,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Unavailable => "unavailable",
        }
    }
}

/// One probe under [`HEALTH_TIMEOUT`], no retry; counted in `HealthChecks` (healthy / unhealthy).
pub async fn check<P: HealthProbe>(probe: &P) -> Health {
    let health = match tokio::time::timeout(HEALTH_TIMEOUT, probe.probe()).await {
        Ok(Ok(())) => {
            tracing::info!("health check: storage answered");
            Health::Healthy
        }
        Ok(Err(error)) => {
            tracing::error!(error = %error_chain(&error), "health check: storage failed");
            Health::Unavailable
        }
        Err(_) => {
            tracing::error!(timeout_ms = HEALTH_TIMEOUT.as_millis() as u64, "health check: storage did not answer");
            Health::Unavailable
        }
    };
    let result = if health == Health::Healthy { "healthy" } else { "unhealthy" };
    metrics::count(Metric::HealthChecks, Dimensions::result(result));
    health
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Probe(Option<Result<(), StoreError>>);

    impl HealthProbe for Probe {
        async fn probe(&self) -> Result<(), StoreError> {
            match &self.0 {
                Some(result) => result.clone(),
                None => std::future::pending().await,
            }
        }
    }

    async fn checked(probe: Probe) -> (Health, f64) {
        let (health, values) = metrics::collect(check(&probe)).await;
        let result = if health == Health::Healthy { "healthy" } else { "unhealthy" };
        (health, values[&Dimensions::result(result)][&Metric::HealthChecks])
    }

    #[tokio::test]
    async fn a_store_that_answers_is_healthy() {
        assert_eq!(checked(Probe(Some(Ok(())))).await, (Health::Healthy, 1.0));
    }

    #[tokio::test]
    async fn a_store_that_fails_is_unavailable() {
        assert_eq!(checked(Probe(Some(Err(StoreError::rejected("AccessDenied"))))).await, (Health::Unavailable, 1.0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_store_that_hangs_is_unavailable_after_the_timeout() {
        let start = tokio::time::Instant::now();
        assert_eq!(checked(Probe(None)).await, (Health::Unavailable, 1.0));
        assert_eq!(start.elapsed(), HEALTH_TIMEOUT);
    }
}
