//! Load + chaos suite: a seeded mix of status events, merged CDR pushes (1–50 CDRs) and SMS, 30 %
//! duplicate deliveries, shuffled, 64 in flight; then a full read of the table must show 0 lost, 0 duplicated,
//! every record's raw JSON as pushed and every call's derived state right. Four runs:
//!
//! - `normal`: DynamoDB Local untouched (through the proxy without faults, which counts requests): only
//!   PutItem requests, and on a clean run (no attempt timed out on an overloaded machine) exactly one per record
//!   per delivery and one "created" per record;
//! - `dynamodb_killed_and_restarted`: its own DynamoDB Local (`-dbPath` on tmpfs) killed with SIGKILL once 40 %
//!   of the deliveries are answered, restarted 1 s later on the same port (the callbacks' retry budget is 500 ms,
//!   so the outage gives 503s); every non-success delivery is then re-pushed (up to 6 rounds), as Huawei
//!   re-pushes; every 200 must have its records in the table, i.e. DynamoDB Local loses nothing it acknowledged;
//! - `fault_proxy`: DynamoDB reached through [`FaultProxy`]: 0–20 ms latency, 3 % 500s without forwarding, 2 %
//!   500s and 1 % dropped connections after the write happened, 0.2 % answers stalled 1.7 s (past the SDK's
//!   1.5 s attempt timeout), retry budget 1.5 s; faults stay on for the first 3 re-push rounds;
//! - `outcome_events_under_load`: `CHAOS_CALLS` calls of the same workload stored, the table's stream pumped into
//!   outcome-publisher, close-out checks fired, every event read back from moto's SQS: exactly one final event
//!   per call, one event per change.
//!
//! Size: `CHAOS_PUSHES` distinct pushes (default 1,500: the shortened run `make test` runs; `make test-chaos`
//! runs 20,000), plus 30 % duplicate deliveries. The four tests take turns (one lock) so their figures do not
//! disturb each other; `normal` and `fault_proxy` share the binary's warm in-memory DynamoDB Local (own
//! tables). Each prints one `chaos[...]` summary line (run with `--nocapture` to see it).
//!
//! Transport: by default pushes go through the handler in-process (`voice_core::edge::http::answer` on API Gateway v2
//! events — the code the Lambda binaries run, minus the runtime API hop), 64 concurrent tokio tasks, each task
//! a delivery: 64 handlers write to DynamoDB at once, which is where the races are. Over real HTTP
//! (`CHAOS_TRANSPORT=http`: `cargo lambda watch` + the debug function binaries) the emulator runs one instance
//! per function at a time, so the 64 in flight queue in front of 3 handlers: measured at about a third
//! of the in-process rate (69 vs 189 deliveries/s, 1,500 pushes, same loaded 2-core machine), too slow for 20,000
//! pushes in a few minutes, and with only 3 concurrent writers it exercises fewer races. Either way the debug
//! build (SDK, SigV4, serde) and DynamoDB Local's JVM share the 2 cores: the rate is CPU-bound, not I/O-bound.
//!
//! A binary of its own (TESTING.md): `make test-chaos` runs it alone at full size (`--test chaos`), it kills and
//! restarts DynamoDB Local instances of its own, and its load must not share the cores with `it`'s
//! timing-sensitive tests.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use integration_tests::fault_proxy::{FaultConfig, FaultProxy, ProxyStats};
use integration_tests::load::{
    deliver, repush, scan_all, verify, verify_raw_with, CountingStore, DeliveryLog, PushKind, Transport, Verification,
    Workload,
};
use integration_tests::measure::Samples;
use integration_tests::{
    callback_config, client_at, free_port, local_env, peer_client_at, unique_name, DynamoLocal, FunctionStack,
    MotoServer, OutcomeBus, StreamPump, HOME_REGION,
};
use voice_core::adapters::DynamoStore;
use voice_core::auth::SignatureMode;
use voice_core::callbacks::CallbackService;
use voice_core::huawei::{FeeList, SmsNotification, SmsPush, VoicePush};
use voice_core::records::{cdr_record, event_record, sms_record, Stamp};
use voice_core::telemetry::mask_numbers;

const SEED: u64 = 0x00c4_a05e_ed20_2611;
const IN_FLIGHT: usize = 64;
/// Pushes in flight in the double-outage run's re-push rounds (Huawei re-pushes a failed push an hour later).
const REPUSH_IN_FLIGHT: usize = 4;
const DUPLICATE_SHARE: f64 = 0.30;
const MAX_REPUSH_ROUNDS: usize = 6;
const DEFAULT_PUSHES: usize = 1_500;
const DEFAULT_CALLS: usize = 200;
/// Distinct pushes per call in the generated workload (status pushes, a share of a merged CDR push, some SMS).
const PUSHES_PER_CALL: usize = 4;

/// One run at a time: the machine has 2 cores, and the figures are per run.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn pushes() -> usize {
    match std::env::var("CHAOS_PUSHES") {
        Ok(value) => value.parse().expect("CHAOS_PUSHES is a number of pushes"),
        Err(_) => DEFAULT_PUSHES,
    }
}

/// Calls of the outcome-events run (`CHAOS_CALLS`; default 200, `make test-chaos` runs 2,000): its cost is moto's
/// PutEvents (about 0.5 s per 10 events on this machine), not ours.
fn outcome_calls() -> usize {
    std::env::var("CHAOS_CALLS").map_or(DEFAULT_CALLS, |value| value.parse().expect("CHAOS_CALLS is a number of calls"))
}

fn over_http() -> bool {
    match std::env::var("CHAOS_TRANSPORT").as_deref() {
        Ok("http") => true,
        Ok("inproc") | Err(_) => false,
        Ok(other) => panic!("CHAOS_TRANSPORT must be inproc or http, not {other}"),
    }
}

/// Where the killed DynamoDB Local keeps its files: tmpfs (`/dev/shm`) when there is one. A SIGKILL of the
/// process loses nothing SQLite committed either way (the page cache outlives the process); on tmpfs the
/// commits' fsyncs cost nothing, which makes the on-disk instance about as fast as `-inMemory` instead of ~2.5×
/// slower, so the run measures our code rather than the disk.
fn db_dir() -> PathBuf {
    let shm = PathBuf::from("/dev/shm");
    if shm.is_dir() {
        shm
    } else {
        std::env::temp_dir()
    }
}

struct Stage {
    /// The run's own instance, if it has one (the kill/restart run).
    dynamodb: Option<DynamoLocal>,
    /// DynamoDB Local itself (the ground truth is read here, never through the proxy).
    dynamodb_endpoint: String,
    table: String,
    proxy: Option<FaultProxy>,
    /// The peer region's replica (a second DynamoDB Local), when the callbacks have one (`PEER_REGION`).
    peer_endpoint: Option<String>,
    transport: Arc<Transport>,
    _stack: Option<FunctionStack>,
}

impl Stage {
    /// `own` DynamoDB Local (else the binary's shared in-memory one, already warm), a new table, optionally the
    /// fault proxy in front, and the callbacks with a storage retry budget of `budget`.
    async fn start(own: Option<DynamoLocal>, faults: Option<FaultConfig>, budget: Duration) -> Self {
        Self::start_with_peer(own, faults, budget, None).await
    }

    /// [`Self::start`], with the callbacks writing to the replica at `peer` what the home table fails to store.
    async fn start_with_peer(
        own: Option<DynamoLocal>,
        faults: Option<FaultConfig>,
        budget: Duration,
        peer: Option<&DynamoLocal>,
    ) -> Self {
        let dynamodb = own.as_ref().unwrap_or_else(|| DynamoLocal::shared());
        let table = unique_name("chaos");
        DynamoStore::new(dynamodb.client().await, &table).create_table_if_missing().await.expect("create table");
        if let Some(peer) = peer {
            DynamoStore::new(peer.client().await, &table).create_table_if_missing().await.expect("peer table");
        }
        let peer_endpoint = peer.map(DynamoLocal::endpoint);
        let proxy = faults.map(|config| FaultProxy::start(&dynamodb.endpoint(), config));
        let store_endpoint = proxy.as_ref().map_or_else(|| dynamodb.endpoint(), FaultProxy::endpoint);
        let (transport, stack) = if over_http() {
            let budget_ms = budget.as_millis().to_string();
            let mut settings =
                vec![("SIGNATURE_MODE", "off"), ("STORE_RETRY_BUDGET_MS", budget_ms.as_str()), ("RUST_LOG", "warn")];
            if let Some(endpoint) = &peer_endpoint {
                settings.extend([("PEER_REGION", PEER_REGION), ("PEER_DYNAMODB_ENDPOINT", endpoint.as_str())]);
            }
            let env = local_env::function_env(&table, &store_endpoint, &settings);
            let stack = FunctionStack::start(free_port(), &local_env::as_pairs(&env));
            (Transport::http(stack.url("")), Some(stack))
        } else {
            let store = CountingStore::new(DynamoStore::new(client_at(&store_endpoint).await, &table));
            let mut config = callback_config("", SignatureMode::Off);
            config.store_retry_budget = budget;
            let service = CallbackService::new(store, config);
            let service = match &peer_endpoint {
                Some(endpoint) => service.with_peer(CountingStore::new(DynamoStore::new(
                    peer_client_at(endpoint, PEER_REGION).await,
                    &table,
                ))),
                None => service,
            };
            (Transport::InProcess(Box::new(service)), None)
        };
        Self {
            dynamodb_endpoint: dynamodb.endpoint(),
            dynamodb: own,
            table,
            proxy,
            peer_endpoint,
            transport: Arc::new(transport),
            _stack: stack,
        }
    }

    fn store(&self) -> Option<&CountingStore> {
        match &*self.transport {
            Transport::InProcess(service) => Some(service.store()),
            Transport::Http { .. } => None,
        }
    }

    fn peer_store(&self) -> Option<&CountingStore> {
        match &*self.transport {
            Transport::InProcess(service) => service.peer(),
            Transport::Http { .. } => None,
        }
    }

    async fn verify(&self, workload: &Workload, log: &DeliveryLog) -> Verification {
        verify(workload, log, &scan_all(&self.dynamodb_endpoint, &self.table).await)
    }

    /// [`Self::verify`] over both replicas: every record in at least one, and a record in both identical in both
    /// (the same bytes pushed, the same `writtenRegion`: the home region's, wherever it was written).
    async fn verify_both(&self, workload: &Workload, log: &DeliveryLog) -> (Verification, usize, usize) {
        self.verify_both_with(workload, log, |stored, pushed| stored == pushed).await
    }

    async fn verify_both_with(
        &self,
        workload: &Workload,
        log: &DeliveryLog,
        same_raw: impl Fn(&serde_json::Value, &serde_json::Value) -> bool,
    ) -> (Verification, usize, usize) {
        let home = scan_all(&self.dynamodb_endpoint, &self.table).await;
        let peer = scan_all(self.peer_endpoint.as_deref().expect("a peer"), &self.table).await;
        let key = |r: &serde_json::Value| (r["pk"].to_string(), r["sk"].to_string());
        let mut union: std::collections::BTreeMap<_, _> = home.iter().map(|r| (key(r), r.clone())).collect();
        let mut in_both_differing = Vec::new();
        for record in &peer {
            match union.get(&key(record)) {
                Some(at_home)
                    if (&at_home["raw"], &at_home["writtenRegion"]) != (&record["raw"], &record["writtenRegion"]) =>
                {
                    in_both_differing.push(format!("differs between the replicas: {:?}", key(record)))
                }
                Some(_) => {}
                None => {
                    union.insert(key(record), record.clone());
                }
            }
            if record["writtenRegion"] != HOME_REGION {
                in_both_differing.push(format!("peer record not stamped with the home region: {:?}", key(record)));
            }
        }
        let records: Vec<_> = union.into_values().collect();
        let mut verification = verify_raw_with(workload, log, &records, same_raw);
        verification.problems.extend(in_both_differing);
        (verification, home.len(), peer.len())
    }
}

struct Figures<'a> {
    run: &'a str,
    workload: &'a Workload,
    log: &'a DeliveryLog,
    first_pass: Duration,
    rounds: usize,
    wall: Duration,
    store: Option<&'a CountingStore>,
    proxy: Option<ProxyStats>,
    verification: &'a Verification,
}

/// The one summary line of a run (copied into BENCHMARKS.md).
fn summary(f: &Figures<'_>) -> String {
    let w = f.workload;
    let first_round = f.log.attempts.iter().filter(|a| !a.is_empty()).count();
    let cdrs: usize = w.pushes.iter().filter(|p| p.kind == PushKind::Fee).map(|p| p.keys.len()).sum();
    let statuses: Vec<String> = f.log.statuses().iter().map(|(s, n)| format!("{s}:{n}")).collect();
    let mut line = format!(
        "chaos[{}]: transport={} pushes={} (status {} fee {} [{} CDRs] sms {}) deliveries={} (+{} duplicates) \
         in_flight={IN_FLIGHT} records={} first_pass={:.1}s ({:.0} deliveries/s) answers={{{}}} failed_by_round=[{}] \
         repush_rounds={} repushes={} lost={} duplicated={} calls_checked={} wall={:.1}s",
        f.run,
        if over_http() { "http" } else { "inproc" },
        w.pushes.len(),
        w.count(PushKind::Status),
        w.count(PushKind::Fee),
        cdrs,
        w.count(PushKind::Sms),
        w.deliveries.len(),
        w.deliveries.len() - w.pushes.len(),
        f.verification.records,
        f.first_pass.as_secs_f64(),
        first_round as f64 / f.first_pass.as_secs_f64(),
        statuses.join(" "),
        f.log.failures_by_round().iter().map(usize::to_string).collect::<Vec<_>>().join(","),
        f.rounds,
        f.log.total_attempts() - w.deliveries.len(),
        f.verification.problems.iter().filter(|p| p.starts_with("lost:")).count(),
        f.verification.problems.iter().filter(|p| p.starts_with("duplicated:")).count(),
        f.verification.calls_checked,
        f.wall.as_secs_f64(),
    );
    if let Some(store) = f.store {
        let puts = store.puts.load(Ordering::SeqCst);
        line.push_str(&format!(
            " put_item={puts} (created {} already_stored {} failed {}) put_item_per_record={:.3}",
            store.created.load(Ordering::SeqCst),
            store.already_stored.load(Ordering::SeqCst),
            store.failed.load(Ordering::SeqCst),
            puts as f64 / f.verification.records as f64,
        ));
    }
    if let Some(proxy) = &f.proxy {
        let requests: Vec<String> = proxy.requests.iter().map(|(op, n)| format!("{op}:{n}")).collect();
        line.push_str(&format!(
            " proxy{{requests {} forwarded {} rejected {} lost_answers {} dropped {} stalled {} upstream_errors {}}}",
            requests.join(" "),
            proxy.forwarded,
            proxy.rejected,
            proxy.lost_answers,
            proxy.dropped,
            proxy.stalled,
            proxy.upstream_errors
        ));
        if let Some(error) = &proxy.last_upstream_error {
            line.push_str(&format!(" last_upstream_error={error:?}"));
        }
    }
    line
}

/// Nothing lost, duplicated, altered or unacknowledged in the table; and, where the run counts the store's own
/// outcomes, no record was created twice: a delivery that finds its record there must be told so (its write is
/// conditional), so "created" can never exceed the records, whatever faults and re-pushes happened. A read of
/// the table alone cannot see an overwrite, since duplicate deliveries carry the same bytes.
fn assert_passed(verification: &Verification, created: Option<u64>, summary: &str) {
    let shown: Vec<&String> = verification.problems.iter().take(20).collect();
    assert!(
        verification.problems.is_empty(),
        "{} problems, first {}: {shown:#?}\n{summary}",
        verification.problems.len(),
        shown.len()
    );
    if let Some(created) = created {
        assert!(
            created <= verification.records as u64,
            "{created} created for {} records: {summary}",
            verification.records
        );
    }
}

fn created(store: Option<&CountingStore>) -> Option<u64> {
    store.map(|store| store.created.load(Ordering::SeqCst))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn normal() {
    let _turn = SERIAL.lock().await;
    let wall = Instant::now();
    let workload = Arc::new(Workload::generate(SEED, pushes(), DUPLICATE_SHARE));
    // Through the proxy without faults: it counts the DynamoDB requests by operation.
    let stage = Stage::start(None, Some(FaultConfig::pass_through()), Duration::from_millis(3000)).await;
    let mut log = DeliveryLog::new(workload.deliveries.len());
    let all: Vec<usize> = (0..workload.deliveries.len()).collect();
    let started = Instant::now();
    let progress = Arc::new(AtomicUsize::new(0));
    deliver(&stage.transport, &workload, &all, IN_FLIGHT, 0, &progress, &mut log).await;
    let first_pass = started.elapsed();
    // Nothing should fail here; if the machine is so loaded that an attempt times out (1.5 s), the push is
    // re-pushed like in the other runs, and the strict cost figures below are checked only on a clean run.
    let rounds =
        repush(&stage.transport, &workload, IN_FLIGHT, 1..=MAX_REPUSH_ROUNDS, Duration::from_millis(200), &mut log)
            .await;
    let verification = stage.verify(&workload, &log).await;
    let proxy = stage.proxy.as_ref().map(FaultProxy::stats).expect("proxy");
    let line = summary(&Figures {
        run: "normal",
        workload: &workload,
        log: &log,
        first_pass,
        rounds,
        wall: wall.elapsed(),
        store: stage.store(),
        proxy: Some(proxy.clone()),
        verification: &verification,
    });
    println!("{line}");
    assert_passed(&verification, created(stage.store()), &line);
    assert!(log.unsuccessful().is_empty(), "every push succeeded: {line}");
    assert_eq!(verification.records, workload.expected_raw.len(), "{line}");
    assert_eq!(proxy.requests.keys().collect::<Vec<_>>(), ["PutItem"], "only PutItem requests: {line}");
    let transient_errors = stage.store().map_or(0, |s| s.failed.load(Ordering::SeqCst));
    if log.total_attempts() == workload.deliveries.len() && transient_errors == 0 {
        // A clean run: one PutItem per record per delivery, nothing else (the write cost of exactly-once), and
        // exactly one "created" per record.
        assert_eq!(proxy.requests_of("PutItem"), workload.delivered_records() as u64, "{line}");
        if let Some(store) = stage.store() {
            assert_eq!(store.puts.load(Ordering::SeqCst), workload.delivered_records() as u64, "{line}");
            assert_eq!(store.created.load(Ordering::SeqCst), workload.expected_raw.len() as u64, "{line}");
        }
    } else {
        println!("chaos[normal]: {transient_errors} transient storage errors without faults: machine overloaded?");
    }
    if let Some(store) = stage.store() {
        assert!(proxy.requests_of("PutItem") <= store.puts.load(Ordering::SeqCst), "{line}");
    }
}

/// Kills `dynamodb` once `at` deliveries are answered (bounded: gives up waiting after 5 minutes), and starts it
/// again `restart_after` later (same port, same files) when given. Joins to (the instance, the deliveries
/// answered when it was killed, when it was killed, how long it was down when restarted).
fn kill_at_progress(
    mut dynamodb: DynamoLocal,
    progress: &Arc<AtomicUsize>,
    at: usize,
    restart_after: Option<Duration>,
) -> std::thread::JoinHandle<(DynamoLocal, usize, Instant, Duration)> {
    let watched = Arc::clone(progress);
    std::thread::spawn(move || {
        let waiting = Instant::now();
        while watched.load(Ordering::SeqCst) < at && waiting.elapsed() < Duration::from_secs(300) {
            std::thread::sleep(Duration::from_millis(5));
        }
        let killed_at = watched.load(Ordering::SeqCst);
        let kill = Instant::now();
        dynamodb.stop();
        let down = Instant::now();
        if let Some(pause) = restart_after {
            std::thread::sleep(pause);
            dynamodb.start_again();
        }
        (dynamodb, killed_at, kill, down.elapsed())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_killed_and_restarted() {
    let _turn = SERIAL.lock().await;
    let wall = Instant::now();
    let workload = Arc::new(Workload::generate(SEED ^ 1, pushes(), DUPLICATE_SHARE));
    let db_path = db_dir().join(unique_name("chaos-ddb"));
    let mut stage =
        Stage::start(Some(DynamoLocal::start(Some(db_path.clone()))), None, Duration::from_millis(500)).await;
    let mut log = DeliveryLog::new(workload.deliveries.len());
    let all: Vec<usize> = (0..workload.deliveries.len()).collect();
    let progress = Arc::new(AtomicUsize::new(0));

    // Kills DynamoDB Local once 40 % of the deliveries are answered, restarts it 1 s later.
    let dynamodb = stage.dynamodb.take().expect("running");
    let killer = kill_at_progress(dynamodb, &progress, workload.deliveries.len() * 2 / 5, Some(Duration::from_secs(1)));

    let started = Instant::now();
    deliver(&stage.transport, &workload, &all, IN_FLIGHT, 0, &progress, &mut log).await;
    let first_pass = started.elapsed();
    let (dynamodb, killed_at, _, outage) =
        tokio::task::spawn_blocking(move || killer.join().expect("killer thread")).await.expect("join");
    stage.dynamodb = Some(dynamodb);
    let failed_first = log.unsuccessful().len();
    let rounds =
        repush(&stage.transport, &workload, IN_FLIGHT, 1..=MAX_REPUSH_ROUNDS, Duration::from_millis(500), &mut log)
            .await;
    let verification = stage.verify(&workload, &log).await;
    let line = summary(&Figures {
        run: "kill-restart",
        workload: &workload,
        log: &log,
        first_pass,
        rounds,
        wall: wall.elapsed(),
        store: stage.store(),
        proxy: None,
        verification: &verification,
    }) + &format!(" killed_after={killed_at} outage={:.1}s", outage.as_secs_f64());
    println!("{line}");
    let created_once = created(stage.store());
    drop(stage);
    let _ = std::fs::remove_dir_all(&db_path);
    assert_passed(&verification, created_once, &line);
    assert!(failed_first > 0, "the outage must have been felt: {line}");
    assert!(log.unsuccessful().is_empty(), "every push succeeded after at most {MAX_REPUSH_ROUNDS} rounds: {line}");
    assert!(rounds >= 1, "{line}");
    assert_eq!(verification.records, workload.expected_raw.len(), "{line}");
}

/// The peer region of `home_killed_peer_alive` (any other region: DynamoDB Local keeps one database for all).
const PEER_REGION: &str = "us-west-2";

/// Status pushes delivered one at a time, each timed: the latency of a write as the function sees it.
async fn timed_status_pushes(transport: &Transport, workload: &Workload, count: usize) -> Samples {
    let mut times = Vec::new();
    for push in workload.pushes.iter().filter(|p| p.kind == PushKind::Status).take(count) {
        let started = Instant::now();
        let (status, _) = transport.push(push).await;
        assert_eq!(status, 200, "a timed status push");
        times.push(started.elapsed());
    }
    Samples::new(times)
}

/// Each unsuccessful delivery placed against the moment a DynamoDB was killed: its kind, answer, and when it was
/// sent and answered (seconds, negative = before the kill). Empty when every delivery succeeded.
fn refusals_around(workload: &Workload, log: &DeliveryLog, kill: Instant) -> String {
    let from_kill = |at: Instant| {
        if at >= kill {
            at.duration_since(kill).as_secs_f64()
        } else {
            -kill.duration_since(at).as_secs_f64()
        }
    };
    let placed: Vec<String> = log
        .unsuccessful()
        .into_iter()
        .map(|d| {
            let kind = workload.pushes[workload.deliveries[d]].kind;
            let status = log.attempts[d].last().map_or(0, |a| a.1);
            let (sent, answered) =
                log.latest_timing[d].map_or((f64::NAN, f64::NAN), |(s, a)| (from_kill(s), from_kill(a)));
            format!("{kind:?} {status} sent {sent:+.2}s answered {answered:+.2}s")
        })
        .collect();
    if placed.is_empty() {
        String::new()
    } else {
        format!(" unsuccessful_vs_kill=[{}]", placed.join("; "))
    }
}

/// The home region's DynamoDB killed at 40 % of the deliveries and left down; the peer region's replica alive.
/// Nothing is answered 503: what the home table can no longer take goes to the peer replica, stamped with the
/// home region (its events are published at home once it replicates back). Every acknowledged record is in at
/// least one replica, identical where it is in both, nothing lost or duplicated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_killed_peer_alive() {
    let _turn = SERIAL.lock().await;
    let wall = Instant::now();
    let workload = Arc::new(Workload::generate(SEED ^ 4, pushes(), DUPLICATE_SHARE));
    let db_path = db_dir().join(unique_name("chaos-home"));
    let peer = DynamoLocal::start(None);
    // The functions' default budget: 1.5 s for the home table, 1.5 s kept for the peer.
    let budget = voice_core::config::DEFAULT_STORE_RETRY_BUDGET;
    let home = DynamoLocal::start(Some(db_path.clone()));
    let mut stage = Stage::start_with_peer(Some(home), None, budget, Some(&peer)).await;
    let direct = timed_status_pushes(&stage.transport, &workload, 20).await;
    let mut log = DeliveryLog::new(workload.deliveries.len());
    let all: Vec<usize> = (0..workload.deliveries.len()).collect();
    let progress = Arc::new(AtomicUsize::new(0));

    let dynamodb = stage.dynamodb.take().expect("running");
    let killer = kill_at_progress(dynamodb, &progress, workload.deliveries.len() * 2 / 5, None);
    let started = Instant::now();
    deliver(&stage.transport, &workload, &all, IN_FLIGHT, 0, &progress, &mut log).await;
    let first_pass = started.elapsed();
    let (mut dynamodb, killed_at, kill, _) =
        tokio::task::spawn_blocking(move || killer.join().expect("killer thread")).await.expect("join");
    let refused = refusals_around(&workload, &log, kill);
    // Home still down: the same kind of push, timed again, now goes to the peer.
    let fallback = timed_status_pushes(&stage.transport, &workload, 20).await;
    let answers = log.statuses();
    let unsuccessful = log.unsuccessful().len();
    // Read the home replica as it was left (same files), and both replicas.
    dynamodb.start_again();
    stage.dynamodb = Some(dynamodb);
    let (verification, home_records, peer_records) = stage.verify_both(&workload, &log).await;
    let (home_store, peer_store) = (stage.store(), stage.peer_store());
    let line = summary(&Figures {
        run: "home-killed-peer-alive",
        workload: &workload,
        log: &log,
        first_pass,
        rounds: 0,
        wall: wall.elapsed(),
        store: home_store,
        proxy: None,
        verification: &verification,
    }) + &format!(
        " killed_after={killed_at} home_records={home_records} peer_records={peer_records}{} \
         status_push_p50: home_up={:.0}ms home_down={:.0}ms (budget {} ms, half kept for the peer)",
        peer_store.map_or(String::new(), |p| format!(
            " peer_put_item={} (created {} already_stored {} failed {})",
            p.puts.load(Ordering::SeqCst),
            p.created.load(Ordering::SeqCst),
            p.already_stored.load(Ordering::SeqCst),
            p.failed.load(Ordering::SeqCst)
        )),
        direct.p50().as_secs_f64() * 1000.0,
        fallback.p50().as_secs_f64() * 1000.0,
        budget.as_millis(),
    ) + &refused;
    println!("{line}");
    let created = (created(home_store), created(peer_store));
    drop(stage);
    let _ = std::fs::remove_dir_all(&db_path);
    assert_passed(&verification, None, &line);
    assert_eq!(answers.keys().copied().collect::<Vec<u16>>(), [200], "every delivery answered 200, none 503: {line}");
    assert_eq!(unsuccessful, 0, "{line}");
    assert!(peer_records > 0 && home_records > 0, "both replicas took records: {line}");
    // Each replica's conditional writes: "created" never exceeds what that replica holds.
    if let (Some(home_created), Some(peer_created)) = created {
        assert!(home_created <= home_records as u64 && peer_created <= peer_records as u64, "{line}");
    }
}

/// The totals line of a `replay-unstored` report: (stored, already there, not replayable, failed).
fn replay_totals(report: &str) -> (usize, usize, usize, usize) {
    let line = report.lines().find(|l| l.starts_with("stored ")).unwrap_or_else(|| panic!("no totals:\n{report}"));
    let numbers: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|n| !n.is_empty())
        .take(4)
        .map(|n| n.parse().unwrap())
        .collect();
    (numbers[0], numbers[1], numbers[2], numbers[3])
}

/// Both replicas down for the second half of the run: every push then gets 503, and nothing is acknowledged
/// without a durable write. Huawei re-pushes the CDRs and SMS once storage is back; the status events, which it
/// never re-pushes, come back from the functions' `NOT STORED` log lines through `replay-unstored`, each exactly
/// once, and a second replay stores nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_regions_down_then_replayed() {
    let _turn = SERIAL.lock().await;
    let wall = Instant::now();
    let workload = Arc::new(Workload::generate(SEED ^ 5, pushes(), DUPLICATE_SHARE));
    let (home_path, peer_path) = (db_dir().join(unique_name("chaos-home")), db_dir().join(unique_name("chaos-peer")));
    let peer = DynamoLocal::start(Some(peer_path.clone()));
    let stage = Stage::start_with_peer(
        Some(DynamoLocal::start(Some(home_path.clone()))),
        None,
        Duration::from_millis(500),
        Some(&peer),
    )
    .await;
    let mut peer = peer;
    // The handlers' log lines, as CloudWatch would keep them: JSON with the span list, errors only. Global (the
    // deliveries run on the runtime's worker threads); no other run of this binary installs a subscriber.
    let log_path = std::env::temp_dir().join(unique_name("chaos-not-stored")).with_extension("jsonl");
    let log_file = std::fs::File::create(&log_path).expect("log file");
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_current_span(false)
        .with_span_list(true)
        .with_max_level(tracing::Level::ERROR)
        .with_writer(std::sync::Mutex::new(log_file))
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this binary");

    let mut log = DeliveryLog::new(workload.deliveries.len());
    let half = workload.deliveries.len() / 2;
    let (first, second): (Vec<usize>, Vec<usize>) = ((0..half).collect(), (half..workload.deliveries.len()).collect());
    let progress = Arc::new(AtomicUsize::new(0));
    deliver(&stage.transport, &workload, &first, IN_FLIGHT, 0, &progress, &mut log).await;
    let mut stage = stage;
    let mut home = stage.dynamodb.take().expect("home");
    home.stop();
    peer.stop();
    deliver(&stage.transport, &workload, &second, IN_FLIGHT, 0, &progress, &mut log).await;
    let refused_while_down: usize = second.iter().filter(|&&d| !log.attempts[d][0].2).count();
    home.start_again();
    peer.start_again();
    stage.dynamodb = Some(home);

    // Huawei re-pushes what it re-pushes (CDRs and SMS, up to 6 times, an hour or more apart: a trickle, not a burst
    // of 64 fee pushes of up to 50 CDRs each, which this run's 500 ms budget could not store on one DynamoDB Local);
    // status events are never re-pushed.
    let mut rounds = 0;
    for round in 1..=6 {
        let not_status: Vec<usize> = log
            .unsuccessful()
            .into_iter()
            .filter(|&d| workload.pushes[workload.deliveries[d]].kind != PushKind::Status)
            .collect();
        if not_status.is_empty() {
            break;
        }
        deliver(&stage.transport, &workload, &not_status, REPUSH_IN_FLIGHT, round, &progress, &mut log).await;
        rounds = round;
    }
    let (before_replay, _, _) = stage.verify_both(&workload, &log).await;
    let lost_before = before_replay.problems.iter().filter(|p| p.starts_with("lost:")).count();

    let replay = || {
        let env = local_env::function_env(&stage.table, &stage.dynamodb_endpoint, &[("RUST_LOG", "error")]);
        let output = std::process::Command::new(integration_tests::debug_binary("replay-unstored"))
            .arg(&log_path)
            .envs(local_env::as_pairs(&env))
            .output()
            .expect("run replay-unstored");
        let report = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "replay-unstored failed:\n{report}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        report
    };
    let first_replay = replay_totals(&replay());
    let second_replay = replay_totals(&replay());
    // A replayed status event holds the pushed body with its numbers masked (the log line is all there was).
    let pushed_or_masked = |stored: &serde_json::Value, pushed: &serde_json::Value| {
        stored == pushed || serde_json::from_str(&mask_numbers(&pushed.to_string())).ok().as_ref() == Some(stored)
    };
    let (mut verification, home_records, peer_records) =
        stage.verify_both_with(&workload, &log, pushed_or_masked).await;
    // Huawei heard 503 for these and will never push them again: the replay, not an answer, restored them.
    let unanswered = |p: &String| p.ends_with("(Status) never got a success answer");
    let status_never_answered = verification.problems.iter().filter(|p| unanswered(p)).count();
    verification.problems.retain(|p| !unanswered(p));
    let line = summary(&Figures {
        run: "both-down-replayed",
        workload: &workload,
        log: &log,
        first_pass: Duration::ZERO,
        rounds,
        wall: wall.elapsed(),
        store: stage.store(),
        proxy: None,
        verification: &verification,
    }) + &format!(
        " refused_while_down={refused_while_down} status_pushes_never_answered={status_never_answered} \
         lost_before_replay={lost_before} \
         replay1(stored,already,not_replayable,failed)={first_replay:?} replay2={second_replay:?} \
         home_records={home_records} peer_records={peer_records}"
    );
    println!("{line}");
    drop(stage);
    drop(peer);
    for path in [&home_path, &peer_path] {
        let _ = std::fs::remove_dir_all(path);
    }
    assert_passed(&verification, None, &line);
    assert_eq!(refused_while_down, second.len(), "with both replicas down, nothing is acknowledged: {line}");
    assert!(lost_before > 0 && status_never_answered > 0, "status events were lost before the replay: {line}");
    assert_eq!(first_replay.0, lost_before, "the replay stores exactly the lost status events: {line}");
    assert_eq!((second_replay.0, second_replay.3), (0, 0), "a second replay stores nothing: {line}");
    assert_eq!(second_replay.1, first_replay.0 + first_replay.1, "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_proxy() {
    let _turn = SERIAL.lock().await;
    let wall = Instant::now();
    let workload = Arc::new(Workload::generate(SEED ^ 2, pushes(), DUPLICATE_SHARE));
    let faults = FaultConfig {
        seed: SEED,
        max_latency: Duration::from_millis(20),
        reject: 0.03,
        lose_answer: 0.02,
        drop_answer: 0.01,
        stall: 0.002,
        stall_for: Duration::from_millis(1700),
        meter_capacity: false,
        only_operation: None,
        spare_bodies_containing: None,
        count_items: false,
    };
    let stage = Stage::start(None, Some(faults), Duration::from_millis(1500)).await;
    let mut log = DeliveryLog::new(workload.deliveries.len());
    let all: Vec<usize> = (0..workload.deliveries.len()).collect();
    let progress = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    deliver(&stage.transport, &workload, &all, IN_FLIGHT, 0, &progress, &mut log).await;
    let first_pass = started.elapsed();
    // Faults stay on for the first 3 re-push rounds (a bad hour); Huawei's later re-pushes come hours apart,
    // when the storm is over: faults off, so that a 50-CDR push (about 3 faults per attempt) cannot stay unlucky
    // for all 6 rounds on a loaded machine.
    let pause = Duration::from_millis(200);
    let proxy = stage.proxy.as_ref().expect("proxy");
    let mut rounds = repush(&stage.transport, &workload, IN_FLIGHT, 1..=3, pause, &mut log).await;
    if !log.unsuccessful().is_empty() {
        proxy.set_faults(false);
        rounds = repush(&stage.transport, &workload, IN_FLIGHT, 4..=MAX_REPUSH_ROUNDS, pause, &mut log).await;
    }
    let verification = stage.verify(&workload, &log).await;
    let proxy = proxy.stats();
    let line = summary(&Figures {
        run: "fault-proxy",
        workload: &workload,
        log: &log,
        first_pass,
        rounds,
        wall: wall.elapsed(),
        store: stage.store(),
        proxy: Some(proxy.clone()),
        verification: &verification,
    });
    println!("{line}");
    assert_passed(&verification, created(stage.store()), &line);
    assert!(log.unsuccessful().is_empty(), "every push succeeded after at most {MAX_REPUSH_ROUNDS} rounds: {line}");
    assert_eq!(verification.records, workload.expected_raw.len(), "{line}");
    for (kind, count) in [
        ("rejected", proxy.rejected),
        ("lost answers", proxy.lost_answers),
        ("dropped", proxy.dropped),
        ("stalled", proxy.stalled),
    ] {
        assert!(count > 0, "the proxy injected no {kind}: {line}");
    }
    assert_eq!(proxy.upstream_errors, 0, "{line}");
    if let Some(store) = stage.store() {
        // Every write the proxy forwarded was one PutItem of the handler; the SDK does not retry on its own.
        assert!(proxy.requests_of("PutItem") <= store.puts.load(Ordering::SeqCst), "{line}");
        assert!(store.failed.load(Ordering::SeqCst) > 0, "faults reached the handler: {line}");
    }
}

/// The checker itself can fail: a table built from the expected state passes, and each kind of damage is named.
#[test]
fn verify_names_lost_duplicated_altered_and_unacknowledged_records() {
    let workload = Workload::generate(SEED, 200, DUPLICATE_SHARE);
    // The table as the callbacks would have written it: each expected payload through the real record builders.
    let stamp =
        Stamp::new(time::OffsetDateTime::now_utc(), Duration::from_secs(86_400), integration_tests::HOME_REGION);
    let record = |(pk, sk): &(String, String), raw: &serde_json::Value| {
        let written = if sk.starts_with("cdr#") {
            let push = serde_json::json!({"eventType": "fee", "feeLst": [raw]}).to_string();
            match VoicePush::parse(push.as_bytes()) {
                Ok(VoicePush::Fee(FeeList { cdrs, .. })) => cdr_record(&cdrs[0], &stamp),
                other => panic!("a CDR: {other:?}"),
            }
        } else if sk.starts_with("event#") {
            match VoicePush::parse(raw.to_string().as_bytes()) {
                Ok(VoicePush::Status(event)) => event_record(&event, &stamp),
                other => panic!("a status event: {other:?}"),
            }
        } else {
            match SmsNotification::parse(raw.to_string().as_bytes()) {
                Ok(SmsPush::Notification(sms)) => sms_record(&sms, &stamp),
                other => panic!("an SMS: {other:?}"),
            }
        };
        assert_eq!((&written.pk, &written.sk), (pk, sk), "the generator's key is the writer's");
        serde_json::to_value(written).expect("a record is JSON")
    };
    let table: Vec<serde_json::Value> = workload.expected_raw.iter().map(|(k, raw)| record(k, raw)).collect();
    let mut log = DeliveryLog::new(workload.deliveries.len());
    for attempts in &mut log.attempts {
        attempts.push((0, 200, true));
    }
    assert_eq!(verify(&workload, &log, &table).problems, Vec::<String>::new());

    let cdr = table.iter().position(|r| r["kind"] == "cdr").unwrap();
    let mut damaged = table.clone();
    let lost = damaged.remove(cdr);
    damaged.push(damaged[0].clone());
    damaged[1]["raw"] = "{}".into();
    damaged.push(serde_json::json!({"pk": "sms#nobody", "sk": "mode#Notify", "kind": "sms", "raw": "{}"}));
    let problems = verify(&workload, &log, &damaged).problems.join("\n");
    for expected in [
        format!("lost: (\"{}\"", lost["pk"].as_str().unwrap()),
        "but (".to_owned(), // a delivery answered 200 whose record is missing
        "duplicated:".to_owned(),
        "raw differs".to_owned(),
        "unexpected record".to_owned(),
        format!("{}: derived", lost["pk"].as_str().unwrap()),
    ] {
        assert!(problems.contains(&expected), "{expected:?} not in:\n{problems}");
    }
    // A push that never got a success answer is lost too.
    let mut unanswered = DeliveryLog::new(workload.deliveries.len());
    for (delivery, attempts) in unanswered.attempts.iter_mut().enumerate() {
        let failed = workload.deliveries[delivery] == 0;
        attempts.push((0, if failed { 503 } else { 200 }, !failed));
    }
    let problems = verify(&workload, &unanswered, &table).problems;
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("push 0 "), "{problems:?}");
}

/// The outcome events under load: the same seeded workload (calls with their status pushes and merged CDR
/// pushes, 30 % duplicates, shuffled, 64 in flight) stored by the callbacks, the table's DynamoDB Local stream
/// pumped into outcome-publisher (the real binary under `cargo lambda watch`) with events on moto's bus, then
/// both close-out checks of every call fired (as the trigger's schedules would at their deadlines), and every
/// event read back from the app's SQS queue: every call ends with exactly one final event, and no call without.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcome_events_under_load() {
    let _turn = SERIAL.lock().await;
    let wall = Instant::now();
    let workload = Arc::new(Workload::generate(SEED, outcome_calls() * PUSHES_PER_CALL, DUPLICATE_SHARE));
    let stage = Stage::start(None, None, Duration::from_millis(3000)).await;
    let mut log = DeliveryLog::new(workload.deliveries.len());
    let all: Vec<usize> = (0..workload.deliveries.len()).collect();
    deliver(&stage.transport, &workload, &all, IN_FLIGHT, 0, &Arc::new(AtomicUsize::new(0)), &mut log).await;
    repush(&stage.transport, &workload, IN_FLIGHT, 1..=MAX_REPUSH_ROUNDS, Duration::from_millis(200), &mut log).await;
    assert!(log.unsuccessful().is_empty(), "every push stored");
    let stored = wall.elapsed();

    let moto = MotoServer::shared();
    let bus = OutcomeBus::create(moto).await;
    let moto_env = moto.function_env();
    let mut settings: Vec<(&str, &str)> = moto_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    settings.extend([("EVENT_BUS_NAME", bus.name.as_str()), ("RUST_LOG", "warn")]);
    let env = local_env::function_env(&stage.table, &stage.dynamodb_endpoint, &settings);
    let stack = FunctionStack::start(free_port(), &local_env::as_pairs(&env));
    // The app backend consumes its queue as events come (moto's PutEvents slows down as a queue grows).
    let received = tokio::sync::Mutex::new(Vec::new());
    let publish = |event: serde_json::Value| {
        let (stack, bus, received) = (&stack, &bus, &received);
        async move {
            let answer = stack.invoke("outcome-publisher", &event).await.expect("the publisher answers");
            received.lock().await.extend(bus.drain().await);
            answer
        }
    };
    let mut pump = StreamPump::open(&stage.dynamodb_endpoint, &stage.table, HOME_REGION).await;
    let published_at = Instant::now();
    let first = pump.pump(publish).await;
    let publishing = published_at.elapsed();
    let mut events = std::mem::take(&mut *received.lock().await);

    // The close-out checks, provisional then final, as the schedules would fire them: for every call without a
    // final event, and for a sample of 20 final ones, which must publish nothing more (a check of a final call
    // writes nothing: tests/it/outcome_events.rs fires them for every call).
    let finished: std::collections::BTreeSet<&str> = events
        .iter()
        .filter(|e| e["detail"]["final"] == true)
        .filter_map(|e| e["detail"]["sessionId"].as_str())
        .collect();
    let (open, done): (Vec<&String>, Vec<&String>) =
        workload.expected_calls.keys().partition(|session_id| !finished.contains(session_id.as_str()));
    let checked: Vec<&String> = open.iter().copied().chain(done.iter().copied().take(20)).collect();
    for stage_name in ["provisional", "final"] {
        futures::stream::iter(checked.iter())
            .map(|session_id| publish(serde_json::json!({"closeOut": stage_name, "sessionId": session_id})))
            .buffer_unordered(8)
            .collect::<Vec<_>>()
            .await;
    }
    let closeouts = pump.pump(publish).await;
    events.extend(std::mem::take(&mut *received.lock().await));
    events.extend(bus.drain().await);

    let mut by_call: std::collections::BTreeMap<&str, Vec<&serde_json::Value>> = Default::default();
    for event in &events {
        by_call.entry(event["detail"]["sessionId"].as_str().expect("sessionId")).or_default().push(&event["detail"]);
    }
    let mut still_running = 0;
    for (session_id, expected) in &workload.expected_calls {
        let mut published = by_call.remove(session_id.as_str()).unwrap_or_else(|| panic!("{session_id}: no event"));
        published.sort_by_key(|e| e["version"].as_u64());
        let finals: Vec<_> = published.iter().filter(|e| e["final"] == true).collect();
        assert_eq!(finals.len(), 1, "{session_id}: exactly one final event: {published:?}");
        let last = published.last().expect("an event");
        assert_eq!(last["final"], true, "{session_id}: the final event is the last");
        let want = if expected.is_final { expected.status.as_str() } else { "unknown" };
        still_running += usize::from(!expected.is_final);
        assert_eq!(last["status"], want, "{session_id}: {published:?}");
        for pair in published.windows(2) {
            assert!(pair[0]["version"].as_u64() < pair[1]["version"].as_u64(), "{session_id}: one event per version");
            let change = (&pair[0]["status"], &pair[0]["final"]) != (&pair[1]["status"], &pair[1]["final"]);
            assert!(change, "{session_id}: an event without a change: {published:?}");
        }
    }
    assert!(by_call.is_empty(), "events of calls that were never made: {:?}", by_call.keys());
    println!(
        "chaos[outcome-events]: {} calls ({} closed out by the checks, {} checks fired), {} deliveries stored in \
         {:.1?}; {} events ({:.2} per call), 1 final per call; stream: {} records in {} publisher invocations, \
         {:.1?} ({:.0} records/s); close-outs: {} records, {} invocations; wall {:.1?}",
        workload.expected_calls.len(),
        still_running,
        2 * checked.len(),
        workload.deliveries.len(),
        stored,
        events.len(),
        events.len() as f64 / workload.expected_calls.len() as f64,
        first.read,
        first.invocations,
        publishing,
        first.read as f64 / publishing.as_secs_f64(),
        closeouts.read,
        closeouts.invocations,
        wall.elapsed()
    );
}
