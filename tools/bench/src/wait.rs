//! Section 12: the price of waiting. A `waitForFinalMs` read holds get-call-outcome's execution environment for
//! as long as it waits, and Lambda bills that time at the function's memory size.
//!
//! 1. The release binary under the minimal Runtime API (section 8's harness), on the whole machine and in the CPU
//!    quota of each memory size: cold starts and warm reads without a wait (a finished call), then warm
//!    invocations that wait the longest wait allowed on a call that never turns final. Their billed durations.
//! 2. In process, through the metering proxy: DynamoDB requests per read without a wait and per whole wait.
//! 3. In process: calls that turn final (their CDR is written) t seconds after the wait began, t spread over ten
//!    seconds, all waiting at once: how long after the final moment the answer comes (the re-read schedule), and
//!    the reads each wait made.
//!
//! From them: the cost of a wait at each size, and the size chosen for a function that mostly waits.

use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::json;
use voice_core::adapters::DynamoStore;
use voice_core::outcome::{CallStatus, OutcomeReader, FIRST_REREAD, MAX_REREAD, MAX_WAIT};
use voice_core::storage::RecordStore;

use crate::outcome_read::{busy_call_records, finished_call};
use test_support::fault_proxy::{FaultConfig, FaultProxy};
use test_support::measure::cold_start::Target;
use test_support::measure::cpu_quota::{self, CpuCgroup, FULL_VCPU_MB};
use test_support::measure::lambda_cpu::{self as sized, Plan, SizedRun};
use test_support::measure::{function_env, Samples};
use test_support::{client_at, DynamoLocal};

/// The memory sizes measured under a quota: section 8's, and 1,024 MB above them.
pub const MEMORY_SIZES_MB: [u64; 4] = [128, 256, 512, 1024];
/// Calls that turn final while waited for (part 3), all waiting at once.
const FINAL_AFTER_CALLS: u32 = 40;
/// The spacing of their final moments: not a multiple of the re-read pauses, so that the moments fall all
/// over the schedule's phase.
pub const FINAL_AFTER_STEP_MS: u64 = 237;
const FINAL_AFTER_STEP: Duration = Duration::from_millis(FINAL_AFTER_STEP_MS);
/// Never-final waits in process whose requests are counted on the wire.
pub const METERED_WAITS: usize = 4;
/// Reads without a wait counted on the wire.
pub const METERED_READS: usize = 50;
/// How long one read retries DynamoDB (`STORE_RETRY_BUDGET_MS`'s default).
const RETRY_BUDGET: Duration = Duration::from_secs(3);

/// get-call-outcome at one CPU: reads without a wait, and waits on a call that is never final.
#[derive(Debug, Clone)]
pub struct AtCpu {
    /// The memory size the process was told; [`FULL_VCPU_MB`] on the whole machine.
    pub memory_mb: u64,
    /// Whether it ran in the quota of `memory_mb` (false: the whole machine).
    pub quota: bool,
    /// Cold rounds and warm reads without a wait (a finished call).
    pub read: SizedRun,
    /// One cold read, then warm invocations that wait [`MAX_WAIT`] on a call that is never final.
    pub wait: SizedRun,
}

impl AtCpu {
    pub fn label(&self) -> String {
        match self.quota {
            true => format!("{} MB", self.memory_mb),
            false => "whole core".into(),
        }
    }

    /// Mean billed ms of the never-final waits.
    pub fn wait_billed_mean_ms(&self) -> f64 {
        self.wait.warm_billed_mean_ms()
    }

    /// Lambda's price of a million of each (duration and requests), at this size's billed durations.
    pub fn read_usd_per_million(&self) -> f64 {
        crate::prices::lambda_invocation_usd(self.memory_mb, self.read.warm_billed_mean_ms()) * 1e6
    }

    pub fn wait_usd_per_million(&self) -> f64 {
        crate::prices::lambda_invocation_usd(self.memory_mb, self.wait_billed_mean_ms()) * 1e6
    }
}

/// One call that turned final while waited for.
#[derive(Debug, Clone, Copy)]
pub struct FinalAfter {
    /// From the wait's start to the CDR's write acknowledged: the final moment.
    pub final_at: Duration,
    /// From the wait's start to its answer (final).
    pub answered_at: Duration,
    /// Queries the wait sent.
    pub reads: u32,
}

impl FinalAfter {
    /// How long after the final moment the answer came.
    pub fn lag(&self) -> Duration {
        self.answered_at.saturating_sub(self.final_at)
    }
}

#[derive(Debug, Clone)]
pub struct Waiting {
    pub cold_rounds: usize,
    pub warm: usize,
    pub waits: usize,
    /// The whole machine first, then each quota size measured.
    pub sizes: Vec<AtCpu>,
    /// Why the quota sizes are missing.
    pub skipped: Option<String>,
    /// On the wire, in process: Queries per read without a wait, per never-final wait, and read units of each.
    pub queries_per_read: f64,
    pub queries_per_wait: f64,
    pub read_units_per_read: f64,
    pub read_units_per_wait: f64,
    /// In process: the never-final waits' durations (the handler alone, no runtime).
    pub in_process_waits: Samples,
    /// Calls that turned final during their wait, by final moment.
    pub final_after: Vec<FinalAfter>,
}

impl Waiting {
    pub fn at(&self, memory_mb: u64) -> Option<&AtCpu> {
        self.sizes.iter().find(|s| s.quota && s.memory_mb == memory_mb)
    }

    /// This run's pick: the cheapest size whose cold start (answered p50) and warm read p99 stay within the first
    /// re-read pause (250 ms): below it a waiting caller cannot tell the slower CPU from the schedule. The
    /// wait's price grows with the size, so the cheapest is the smallest that passes.
    pub fn pick(&self) -> Option<&AtCpu> {
        self.sizes.iter().filter(|s| s.quota).find(|s| self.fits_the_schedule(s))
    }

    pub fn fits_the_schedule(&self, size: &AtCpu) -> bool {
        size.read.answered.p50() <= FIRST_REREAD && size.read.warm.p99() <= FIRST_REREAD
    }

    /// The waits that turned final with the longest re-read pause already reached (their final moment past
    /// 1.75 s: reads at 0, 0.25, 0.75, 1.75 s, then every second).
    pub fn steady(&self) -> Vec<&FinalAfter> {
        self.final_after.iter().filter(|f| f.final_at >= STEADY_FROM).collect()
    }
}

/// From when the re-reads are [`MAX_REREAD`] apart: after the pauses 250 ms, 500 ms and 1 s.
pub const STEADY_FROM: Duration =
    Duration::from_millis(FIRST_REREAD.as_millis() as u64 * 3 + MAX_REREAD.as_millis() as u64);

pub async fn measure(dynamodb: &DynamoLocal, cold_rounds: usize, warm: usize, waits: usize) -> Waiting {
    let run = test_support::unique_name("wait");
    eprintln!(
        "bench: waiting: get-call-outcome's binary, reads and {waits} waits of {} s per size",
        MAX_WAIT.as_secs()
    );
    let (sizes, skipped) = binaries(dynamodb, &run, cold_rounds, warm.min(sized::WARM_EVENTS_FROM - 1), waits).await;
    eprintln!("bench: waiting: requests on the wire");
    let metered = metered(dynamodb, &run).await;
    eprintln!("bench: waiting: calls that turn final during the wait");
    let final_after = final_after(dynamodb, &run).await;
    Waiting {
        cold_rounds,
        warm,
        waits,
        sizes,
        skipped,
        queries_per_read: metered.0,
        queries_per_wait: metered.1,
        read_units_per_read: metered.2,
        read_units_per_wait: metered.3,
        in_process_waits: metered.4,
        final_after,
    }
}

fn session_id(run: &str, what: &str) -> String {
    format!("1201_612_4294967295_20261121030424-{run}-{what}@bench.example.com")
}

/// A finished call for the reads, a never-final one for the waits, both in `store`.
async fn calls(store: &DynamoStore, run: &str) -> (String, String) {
    let finished = session_id(run, "finished");
    finished_call(store, &finished, &format!("{run}-key")).await;
    let pending = session_id(run, "pending");
    let (records, _cdr) = busy_call_records(&pending, None);
    for record in &records {
        store.put_new(record).await.expect("stored");
    }
    (finished, pending)
}

async fn binaries(
    dynamodb: &DynamoLocal,
    run: &str,
    cold_rounds: usize,
    warm: usize,
    waits: usize,
) -> (Vec<AtCpu>, Option<String>) {
    let store = dynamodb.fresh_store().await;
    let (finished, pending) = calls(&store, run).await;
    let env = function_env(store.table(), &dynamodb.endpoint());
    let binary = crate::release_binary("get-call-outcome");
    let read = Target {
        name: "get-call-outcome".into(),
        binary: binary.clone(),
        env: env.clone(),
        event: Box::new(move |_| json!({"sessionId": finished})),
    };
    // The cold invocation reads (a process starts as for any read); every warm one waits the whole wait.
    let finished = session_id(run, "finished");
    let wait = Target {
        name: "get-call-outcome-wait".into(),
        binary,
        env,
        event: Box::new(move |i| match i < sized::WARM_EVENTS_FROM {
            true => json!({"sessionId": finished}),
            false => json!({"sessionId": pending, "waitForFinalMs": MAX_WAIT.as_millis() as u64}),
        }),
    };
    let plan = |memory_mb, cgroup, cold_rounds, warm| Plan { memory_mb, cgroup, cold_rounds, warm, first_event: 0 };
    let mut groups = Vec::new();
    let mut skipped = None;
    for memory_mb in MEMORY_SIZES_MB {
        match CpuCgroup::create(
            std::path::Path::new(cpu_quota::CGROUP_V1_CPU),
            &format!("{run}-{memory_mb}"),
            memory_mb,
        ) {
            Ok(group) => groups.push((memory_mb, group)),
            Err(error) => {
                let why = format!(
                    "no CPU quota could be set ({error}); the sized runs need a writable cgroup v1 CPU controller (root)"
                );
                eprintln!("bench: waiting: {why}");
                skipped = Some(why);
                groups.clear();
                break;
            }
        }
    }
    let cpus: Vec<(u64, Option<&CpuCgroup>)> =
        std::iter::once((FULL_VCPU_MB, None)).chain(groups.iter().map(|(mb, g)| (*mb, Some(g)))).collect();
    // Reads one size after another (their times are the measure); the waits of every size at once, since a
    // wait is asleep but for a read a second and its billed time is the wait's.
    let mut reads = Vec::new();
    for (memory_mb, cgroup) in &cpus {
        let runs = sized::measure(std::slice::from_ref(&read), &plan(*memory_mb, *cgroup, cold_rounds, warm)).await;
        reads.push(checked(runs, "busy", true));
    }
    let wait_plans: Vec<Plan<'_>> = cpus.iter().map(|(mb, cgroup)| plan(*mb, *cgroup, 1, waits)).collect();
    let waited = join_all(wait_plans.iter().map(|p| sized::measure(std::slice::from_ref(&wait), p))).await;
    let sizes = cpus
        .iter()
        .zip(reads)
        .zip(waited)
        .map(|(((memory_mb, cgroup), read), waited)| AtCpu {
            memory_mb: *memory_mb,
            quota: cgroup.is_some(),
            read,
            wait: checked_wait(waited),
        })
        .collect();
    (sizes, skipped)
}

/// The one run of `runs`, every answer the finished call's (busy, final).
fn checked(mut runs: Vec<SizedRun>, status: &str, is_final: bool) -> SizedRun {
    let run = runs.pop().expect("one target's run");
    assert!(run.failures.is_empty(), "{} at {} MB failed: {:#?}", run.name, run.memory_mb, run.failures);
    for answer in &run.answers {
        assert!(
            answer["status"] == status && answer["final"] == is_final,
            "{} answered {answer}: not a time of real work",
            run.name
        );
    }
    run
}

/// The waiting run: its cold read answered the finished call, every wait the pending call (busy, not final),
/// and none of them before its last read.
fn checked_wait(mut runs: Vec<SizedRun>) -> SizedRun {
    let run = runs.pop().expect("one target's run");
    assert!(run.failures.is_empty(), "{} at {} MB failed: {:#?}", run.name, run.memory_mb, run.failures);
    let (cold, waits) = run.answers.split_first().expect("the cold read's answer");
    assert!(cold["status"] == "busy" && cold["final"] == true, "the cold read answered {cold}");
    for answer in waits {
        assert!(answer["status"] == "busy" && answer["final"] == false, "a wait answered {answer}");
    }
    // The wait ends at its last read: the one after which no re-read fits, within FIRST_REREAD of the end.
    let shortest = run.warm.percentile(0.0);
    assert!(shortest >= MAX_WAIT - FIRST_REREAD, "a wait answered after {shortest:?}, not a whole wait");
    run
}

/// (Queries per read, per never-final wait, read units per read, per wait, the waits' in-process durations),
/// counted by the metering proxy.
async fn metered(dynamodb: &DynamoLocal, run: &str) -> (f64, f64, f64, f64, Samples) {
    let store = dynamodb.fresh_store().await;
    let table = store.table().to_owned();
    let (finished, pending) = calls(&store, &format!("{run}-m")).await;
    let proxy =
        FaultProxy::start(&dynamodb.endpoint(), FaultConfig { meter_capacity: true, ..FaultConfig::pass_through() });
    let reader = OutcomeReader::new(DynamoStore::new(client_at(&proxy.endpoint()).await, &table), RETRY_BUDGET);
    let units = |stats: &test_support::fault_proxy::ProxyStats| {
        stats.capacity_milli_units.get("Query").copied().unwrap_or(0) as f64 / 1000.0
    };
    let before = proxy.stats();
    for _ in 0..METERED_READS {
        let outcome = reader.handle(json!({"sessionId": finished}), None).await.expect("an outcome");
        assert_eq!((outcome.status, outcome.is_final), (CallStatus::Busy, true));
    }
    let middle = proxy.stats();
    let event = json!({"sessionId": pending, "waitForFinalMs": MAX_WAIT.as_millis() as u64});
    let waits = join_all((0..METERED_WAITS).map(|_| async {
        let started = Instant::now();
        let outcome = reader.handle(event.clone(), None).await.expect("an outcome");
        assert_eq!((outcome.status, outcome.is_final), (CallStatus::Busy, false));
        started.elapsed()
    }))
    .await;
    let after = proxy.stats();
    let reads = METERED_READS as f64;
    let waited = METERED_WAITS as f64;
    (
        (middle.requests_of("Query") - before.requests_of("Query")) as f64 / reads,
        (after.requests_of("Query") - middle.requests_of("Query")) as f64 / waited,
        (units(&middle) - units(&before)) / reads,
        (units(&after) - units(&middle)) / waited,
        Samples::new(waits),
    )
}

/// Calls that turn final during their wait: each wait starts on a call without its CDR, the CDR is written
/// `FINAL_AFTER_STEP × (n + 1)` after the wait began; all at once. Each through a proxy of its own, so that its
/// reads are its own.
async fn final_after(dynamodb: &DynamoLocal, run: &str) -> Vec<FinalAfter> {
    let store = dynamodb.fresh_store().await;
    let table = store.table().to_owned();
    let mut calls = Vec::new();
    for n in 0..FINAL_AFTER_CALLS {
        let session = session_id(run, &format!("final-{n}"));
        let (records, cdr) = busy_call_records(&session, None);
        for record in &records {
            store.put_new(record).await.expect("stored");
        }
        let proxy = FaultProxy::start(&dynamodb.endpoint(), FaultConfig::pass_through());
        let reader = OutcomeReader::new(DynamoStore::new(client_at(&proxy.endpoint()).await, &table), RETRY_BUDGET);
        // One read first, off the count: the wait's first read then finds its connection open, as a warm
        // function's does.
        reader.handle(json!({"sessionId": session}), None).await.expect("an outcome");
        let warm_up = proxy.stats().requests_of("Query");
        calls.push((n, session, cdr, proxy, reader, warm_up));
    }
    let store = &store;
    let waits = calls.iter().map(|(n, session, cdr, proxy, reader, warm_up)| async move {
        let started = Instant::now();
        let write = async {
            tokio::time::sleep(FINAL_AFTER_STEP * (n + 1)).await;
            store.put_new(cdr).await.expect("the CDR stored");
            started.elapsed()
        };
        let wait = async {
            let event = json!({"sessionId": session, "waitForFinalMs": MAX_WAIT.as_millis() as u64});
            let outcome = reader.handle(event, None).await.expect("an outcome");
            assert_eq!((outcome.status, outcome.is_final), (CallStatus::Busy, true), "{outcome:?}");
            started.elapsed()
        };
        let (final_at, answered_at) = tokio::join!(write, wait);
        FinalAfter { final_at, answered_at, reads: (proxy.stats().requests_of("Query") - warm_up) as u32 }
    });
    join_all(waits).await
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn size(memory_mb: u64, cold_ms: u64, warm_p99_ms: u64) -> AtCpu {
        let read = SizedRun {
            answered: Samples::new(vec![Duration::from_millis(cold_ms)]),
            warm: Samples::new(vec![Duration::from_millis(warm_p99_ms)]),
            warm_billed_ms: vec![4],
            ..SizedRun::default()
        };
        let wait = SizedRun { warm_billed_ms: vec![19_800], ..SizedRun::default() };
        AtCpu { memory_mb, quota: true, read, wait }
    }

    pub(crate) fn waiting(sizes: Vec<AtCpu>) -> Waiting {
        Waiting {
            cold_rounds: 1,
            warm: 1,
            waits: 1,
            sizes,
            skipped: None,
            queries_per_read: 1.0,
            queries_per_wait: 22.0,
            read_units_per_read: 1.0,
            read_units_per_wait: 22.0,
            in_process_waits: Samples::default(),
            final_after: Vec::new(),
        }
    }

    #[test]
    fn the_pick_is_the_smallest_size_whose_cpu_stays_under_the_first_re_read() {
        // 128 MB starts in 260 ms: past the 250 ms a waiting caller cannot see under; 256 MB is the pick.
        let w = waiting(vec![size(128, 260, 80), size(256, 100, 60), size(512, 30, 10)]);
        assert_eq!(w.pick().map(|s| s.memory_mb), Some(256));
        let w = waiting(vec![size(128, 200, 251), size(256, 100, 60)]);
        assert_eq!(w.pick().map(|s| s.memory_mb), Some(256), "the warm p99 counts too");
        let w = waiting(vec![size(128, 200, 90), size(256, 100, 60)]);
        assert_eq!(w.pick().map(|s| s.memory_mb), Some(128));
        // A wait's price is its size's: 19.8 s at 128 MB, 2.475 GB-s, $33.00 + $0.20 of requests per million.
        let cost = size(128, 0, 0).wait_usd_per_million();
        assert!((cost - 33.200_165).abs() < 1e-3, "{cost}");
    }

    #[test]
    fn a_wait_is_late_by_its_answer_after_the_final_moment() {
        let f =
            FinalAfter { final_at: Duration::from_millis(2_000), answered_at: Duration::from_millis(2_760), reads: 5 };
        assert_eq!(f.lag(), Duration::from_millis(760));
        let early =
            FinalAfter { final_at: Duration::from_millis(500), answered_at: Duration::from_millis(499), reads: 1 };
        assert_eq!(early.lag(), Duration::ZERO);
    }
}
