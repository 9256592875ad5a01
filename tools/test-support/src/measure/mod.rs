//! Measuring primitives of `make bench` (tools/bench), kept in the harness so that `make test` checks them:
//! percentiles, cold starts of real function processes behind a fake Lambda Runtime API, and the same processes
//! at a Lambda-sized CPU (a cgroup quota per memory size), cold and warm.

pub mod cold_start;
pub mod cpu_quota;
pub mod lambda_cpu;
mod runtime_api;
pub mod steady;

use std::time::Duration;

/// Durations of repeated runs of one measurement.
#[derive(Debug, Clone, Default)]
pub struct Samples(Vec<Duration>);

impl Samples {
    pub fn new(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        Self(samples)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Nearest-rank percentile (`p` in 0–100); zero when there are no samples.
    pub fn percentile(&self, p: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.0.len() as f64).ceil() as usize;
        self.0[rank.clamp(1, self.0.len()) - 1]
    }

    pub fn p50(&self) -> Duration {
        self.percentile(50.0)
    }

    pub fn p99(&self) -> Duration {
        self.percentile(99.0)
    }
}

/// `MemorySize` of every function in infra/template.yaml (`Globals`; `it::openapi` checks that they agree): the
/// size the cold starts run as and the one the cost model and the goals of `make bench` take.
pub const TEMPLATE_MEMORY_MB: u64 = 512;

/// `MemorySize` of get-call-outcome in infra/template.yaml, its own (`it::openapi` checks it): a function that
/// mostly waits is billed its size for the whole wait (BENCHMARKS.md, "The price of waiting").
pub const OUTCOME_MEMORY_MB: u64 = 128;

/// The hello-world floor of the cold-start section (a bin of this crate).
pub const HELLO_RUNTIME: &str = "bench-hello-runtime";

/// The callback token the benchmarks configure.
pub const TOKEN: &str = "bench-token";

/// The environment of a callback (or trigger) function binary on DynamoDB Local, as the bench runs it: the
/// local environment, the bench token, no signature checks (no Huawei app credentials); INFO logs as deployed.
pub fn function_env(table: &str, dynamodb_endpoint: &str) -> Vec<(String, String)> {
    let settings = [
        ("CALLBACK_TOKENS", TOKEN),
        ("SIGNATURE_MODE", "off"),
        ("CALLBACK_BASE_URL", "http://127.0.0.1:9"),
        ("RUST_LOG", "info"),
    ];
    crate::local_env::function_env(table, dynamodb_endpoint, &settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let samples = Samples::new((1..=100).rev().map(Duration::from_millis).collect());
        assert_eq!(samples.p50(), Duration::from_millis(50));
        assert_eq!(samples.p99(), Duration::from_millis(99));
        assert_eq!(samples.percentile(100.0), Duration::from_millis(100));
        assert_eq!(Samples::new(vec![Duration::from_millis(7)]).p99(), Duration::from_millis(7));
        assert_eq!(Samples::default().p50(), Duration::ZERO);
    }
}
