//! Cold start: a fresh process per round, as Lambda starts one for a new execution environment. Each round gets a
//! minimal fake Lambda Runtime API on 127.0.0.1 (its own listener, bound before the timer starts, so nothing a
//! killed process left behind can reach the next round) that hands out one invocation and notes when the process
//! asked for it (init done) and when it posted the answer. No container, no network: what remains is the binary's
//! own start-up (loading, the tokio runtime, configuration, SDK clients) plus one invocation, which is what the
//! hello-world `bench-hello-runtime` floor is compared against.

use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::runtime_api::{Invocation, RuntimeApi, Timing};
use super::steady::{halves_gap, Steadiness};
use super::Samples;
use crate::processes;

/// The memory size the functions report when no other is measured (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`).
pub(super) const MEMORY_SIZE_MB: u64 = super::TEMPLATE_MEMORY_MB;

/// One function to start cold.
pub struct Target {
    pub name: String,
    pub binary: PathBuf,
    /// The function's own environment (TABLE_NAME, AWS_ENDPOINT_URL_DYNAMODB, …); the `AWS_LAMBDA_*` variables
    /// are added by the harness.
    pub env: Vec<(String, String)>,
    /// The invocation event of round `i`; distinct per round, so every round does a first-time write.
    pub event: Box<dyn Fn(usize) -> Value + Send + Sync>,
}

/// The rounds of one target. Only rounds that answered count in `ready`, `answered`, `peak_rss_kib` and
/// `answers` (in round order); every other round is one line in `failures`.
#[derive(Debug, Clone, Default)]
pub struct ColdStart {
    pub name: String,
    /// Process spawn → its first `GET …/invocation/next` (init done).
    pub ready: Samples,
    /// Process spawn → its `POST …/invocation/<id>/response` received.
    pub answered: Samples,
    /// VmHWM of the process, read right after its answer.
    pub peak_rss_kib: Vec<u64>,
    /// Rounds that ended in `/error`, `/init/error`, an exit or the timeout, with what was posted and the log.
    pub failures: Vec<String>,
    /// The response bodies, for the caller to check.
    pub answers: Vec<Value>,
    /// Rounds taken (the same for every target of one measurement).
    pub rounds: usize,
    /// [`halves_gap`] of `answered`: how well two runs of these rounds agree.
    pub halves_gap: f64,
}

/// Starts every target `rounds` times, one process at a time. Rounds are interleaved (round 0 of every target,
/// then round 1, …) so that noise of the machine hits all targets alike.
pub async fn measure(targets: &[Target], rounds: usize) -> Vec<ColdStart> {
    measure_steady(targets, Steadiness::fixed(rounds)).await
}

/// As [`measure`], adding rounds until [`Steadiness`] holds for every target.
pub async fn measure_steady(targets: &[Target], steady: Steadiness) -> Vec<ColdStart> {
    let mut tallies: Vec<Tally> = targets.iter().map(|t| Tally::new(&t.name)).collect();
    let mut round = 0;
    while round < steady.max_rounds.max(1) {
        for _ in 0..steady.step.max(1) {
            for (target, tally) in targets.iter().zip(&mut tallies) {
                tally.add(round, run_round(target, round).await);
            }
            round += 1;
        }
        if steady.reached(round, tallies.iter().map(|tally| tally.answered.as_slice())) {
            break;
        }
    }
    tallies.into_iter().map(|tally| tally.finish(round)).collect()
}

/// One answered round.
struct Round {
    ready: Duration,
    answered: Duration,
    peak_rss_kib: u64,
    answer: Value,
}

struct Tally {
    result: ColdStart,
    ready: Vec<Duration>,
    answered: Vec<Duration>,
}

impl Tally {
    fn new(name: &str) -> Self {
        let result = ColdStart { name: name.to_owned(), ..ColdStart::default() };
        Self { result, ready: Vec::new(), answered: Vec::new() }
    }

    fn add(&mut self, round: usize, outcome: Result<Round, String>) {
        match outcome {
            Ok(done) => {
                self.ready.push(done.ready);
                self.answered.push(done.answered);
                self.result.peak_rss_kib.push(done.peak_rss_kib);
                self.result.answers.push(done.answer);
            }
            Err(failure) => self.result.failures.push(format!("round {round}: {failure}")),
        }
    }

    fn finish(mut self, rounds: usize) -> ColdStart {
        self.result.rounds = rounds;
        self.result.halves_gap = halves_gap(&self.answered);
        self.result.ready = Samples::new(self.ready);
        self.result.answered = Samples::new(self.answered);
        self.result
    }
}

/// Starts the target once against a fresh runtime API and stops it again, whatever happened.
async fn run_round(target: &Target, round: usize) -> Result<Round, String> {
    let log = log_path(&target.name, round);
    let invocation = Invocation::new(&target.name, (target.event)(round).to_string());
    let mut api = RuntimeApi::start(invocation).await.map_err(|e| format!("runtime API on 127.0.0.1: {e}"))?;
    let command =
        command(target, api.addr, &log, MEMORY_SIZE_MB).map_err(|e| format!("log file {}: {e}", log.display()))?;
    let started = Instant::now();
    let mut child = processes::spawn(command).map_err(|e| format!("spawn {}: {e}", target.binary.display()))?;
    let outcome = api.await_answer(&mut child, started).await;
    // Read while the process still exists: it is parked in its next `GET …/invocation/next`.
    let peak_rss_kib = peak_rss_kib(child.id());
    processes::kill_group(&mut child);
    let round = outcome.and_then(|timing| timing.into_round(peak_rss_kib));
    if round.is_ok() {
        // Only failures keep their log; dozens of rounds would otherwise litter the temp directory.
        let _ = std::fs::remove_file(&log);
    }
    round.map_err(|failure| format!("{failure} (log: {})", log.display()))
}

/// The process sees only the Lambda variables and its own, as on Lambda: nothing of the shell (RUST_LOG, an AWS
/// profile, proxies) changes what is measured.
pub(super) fn command(target: &Target, api: SocketAddr, log: &Path, memory_mb: u64) -> io::Result<Command> {
    let stdout = File::create(log)?;
    let stderr = stdout.try_clone()?;
    let mut command = Command::new(&target.binary);
    command
        .env_clear()
        .envs(lambda_env(target, memory_mb))
        .envs(target.env.iter().map(|(name, value)| (name, value)))
        .env("AWS_LAMBDA_RUNTIME_API", api.to_string())
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
    Ok(command)
}

/// What Lambda sets for a `provided.al2023` function. lambda_runtime's `Config::from_env` requires the function
/// name, memory size and version (it panics without them); the rest is for code that looks (the AWS SDK reads
/// `AWS_EXECUTION_ENV` into its user agent). `AWS_LAMBDA_RUNTIME_API` is host:port without a scheme, as on Lambda.
fn lambda_env(target: &Target, memory_mb: u64) -> Vec<(&'static str, String)> {
    let task_root = target.binary.parent().unwrap_or(Path::new("/")).display().to_string();
    vec![
        ("AWS_LAMBDA_FUNCTION_NAME", target.name.clone()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb.to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", target.name)),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "cold-start-bench".into()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".into()),
        ("LAMBDA_TASK_ROOT", task_root),
        ("TZ", ":UTC".into()),
    ]
}

pub(super) fn log_path(name: &str, round: usize) -> PathBuf {
    let name: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    std::env::temp_dir().join(format!("cold-start-{}-{name}-round{round}.log", std::process::id()))
}

/// Peak resident set size (VmHWM) of a live process; zero when it cannot be read (the caller reports that).
pub(super) fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let line = status.lines().find_map(|line| line.strip_prefix("VmHWM:")).unwrap_or_default();
    line.trim().trim_end_matches("kB").trim().parse().unwrap_or(0)
}

impl Timing {
    fn into_round(self, peak_rss_kib: u64) -> Result<Round, String> {
        let answer = serde_json::from_slice(&self.body)
            .map_err(|e| format!("answered with no JSON ({e}): {}", String::from_utf8_lossy(&self.body)))?;
        if peak_rss_kib == 0 {
            return Err("answered, but VmHWM of the process could not be read".into());
        }
        Ok(Round { ready: self.ready, answered: self.answered, peak_rss_kib, answer })
    }
}
