//! The health check: whether this region can take a push right now — this function, its role and its table answer
//! one cheap read within [`HEALTH_TIMEOUT`]. Route 53 health checks call it; they cannot authenticate, and its
//! answer carries no data. Deployed, the route is `GET /health/<HEALTH_CHECK_TOKEN>`: a path Route 53 knows and a
//! flood does not ([`HealthRoute`]); without a token (local runs) it is `GET /health`.

use std::future::Future;
use std::time::Duration;

use subtle::ConstantTimeEq;

use crate::storage::StoreError;
use crate::telemetry::error_chain;
use crate::telemetry::metrics::{self, Dimensions, Metric};

/// How long the read may take: a Route 53 checker wants the answer about 2 s after it connects (cold start
/// included), and a store slower than this would hardly take a push within its retry budget either.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(1);

/// The path of the health check without a token (local runs), and the prefix of the one with a token.
pub const HEALTH_PATH: &str = "/health";

/// The health route of the deployed API (infra/template.yaml): the last segment is `HEALTH_CHECK_TOKEN`.
pub const HEALTH_TOKEN_ROUTE: &str = "/health/{token}";

/// Which requests are the health check. With `HEALTH_CHECK_TOKEN` set, only `GET /health/<that token>`; without
/// it, only `GET /health`. Any other `GET /health…` is not found: it is not a push, so it never reaches the
/// push handling (and its refusal metrics).
#[derive(Clone, Default)]
pub struct HealthRoute {
    token: Option<String>,
}

/// What a request to the health route is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthRequest {
    /// The health check: probe the store.
    Check,
    /// A health path with a missing or wrong token: 404, no probe.
    NotFound,
}

impl HealthRoute {
    /// `HEALTH_CHECK_TOKEN` (`crate::config::health_route`); none or empty: the tokenless `GET /health`.
    pub fn new(token: Option<String>) -> Self {
        Self { token: token.filter(|t| !t.is_empty()) }
    }

    /// `None` for anything that is not a `GET` of `/health` or `/health/…` (a push, or a wrong method).
    pub fn classify(&self, method: &http::Method, path: &str) -> Option<HealthRequest> {
        if method != http::Method::GET {
            return None;
        }
        let segment = match path.strip_prefix(HEALTH_PATH)? {
            "" => None,
            rest => Some(rest.strip_prefix('/')?),
        };
        let matches = match (&self.token, segment) {
            (None, None) => true,
            (Some(token), Some(segment)) => bool::from(token.as_bytes().ct_eq(segment.as_bytes())),
            _ => false,
        };
        Some(if matches { HealthRequest::Check } else { HealthRequest::NotFound })
    }
}

impl std::fmt::Debug for HealthRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthRoute").field("token", &self.token.as_ref().map(|_| "<set>")).finish()
    }
}

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

    #[test]
    fn without_a_token_only_the_bare_path_is_the_health_check() {
        let route = HealthRoute::new(Some(String::new()));
        let get = http::Method::GET;
        assert_eq!(route.classify(&get, "/health"), Some(HealthRequest::Check));
        assert_eq!(route.classify(&get, "/health/anything"), Some(HealthRequest::NotFound));
        assert_eq!(route.classify(&get, "/healthz"), None);
        assert_eq!(route.classify(&http::Method::POST, "/health"), None);
        assert_eq!(route.classify(&get, "/voice/status/tok"), None);
    }

    #[test]
    fn with_a_token_only_that_token_is_the_health_check() {
        let route = HealthRoute::new(Some("r53-0123456789abcdef".into()));
        let get = http::Method::GET;
        assert_eq!(route.classify(&get, "/health/r53-0123456789abcdef"), Some(HealthRequest::Check));
        for path in [
            "/health",
            "/health/",
            "/health/r53-0123456789abcde",
            "/health/r53-0123456789abcdefX",
            "/health/r53-0123456789abcdef/",
        ] {
            assert_eq!(route.classify(&get, path), Some(HealthRequest::NotFound), "{path}");
        }
        assert_eq!(route.classify(&http::Method::POST, "/health/r53-0123456789abcdef"), None);
        assert!(!format!("{route:?}").contains("0123456789"), "the token is never printed");
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
