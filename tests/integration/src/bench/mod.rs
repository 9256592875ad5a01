//! `make bench`: how close the functions are to the physical floor, as ratios taken in the same run
//! (`src/bin/bench.rs` runs the sections and writes BENCHMARKS.md).

pub mod cold_start;
pub mod latency;
pub mod pushes;
pub mod report;
mod runtime_api;
pub mod throughput;
pub mod write_cost;

use std::path::PathBuf;
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

/// The hello-world floor of the cold-start section.
pub const HELLO_RUNTIME: &str = "bench-hello-runtime";

/// The callback token the benchmarks configure.
pub const TOKEN: &str = "bench-token";

/// The environment of a callback (or trigger) function binary on DynamoDB Local: table, loopback endpoint,
/// dummy AWS credentials, the bench token, no signature checks (no Huawei app credentials); INFO logs as
/// deployed.
pub fn function_env(table: &str, dynamodb_endpoint: &str) -> Vec<(String, String)> {
    [
        ("TABLE_NAME", table),
        ("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_endpoint),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
        ("CALLBACK_TOKENS", TOKEN),
        ("SIGNATURE_MODE", "off"),
        ("CALLBACK_BASE_URL", "http://127.0.0.1:9"),
        ("RUST_LOG", "info"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect()
}

/// `a / b` of two durations (∞ when `b` is zero).
pub fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

/// A binary of the release build (`cargo build --release --workspace --bins`, which `make bench` runs), or of
/// the `BENCH_PROFILE` build (`debug`: a quick check of the bench itself, its figures mean nothing).
pub fn release_binary(name: &str) -> PathBuf {
    let profile = std::env::var("BENCH_PROFILE").unwrap_or_else(|_| "release".into());
    let path = crate::target_dir().join(&profile).join(name);
    assert!(path.is_file(), "{} is missing: run `cargo build --{profile} --workspace --bins`", path.display());
    path
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
