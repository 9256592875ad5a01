//! Load + chaos workload: a deterministic (seeded) mix of Huawei pushes with duplicates, delivered with a fixed
//! number in flight, re-pushed the way Huawei does after a non-success answer, then checked against a full read
//! of the table.
//!
//! - [`Workload::generate`]: calls with their status events (callout, alerting, answer, disconnect, by
//!   scenario) and one CDR each, CDRs merged into fee pushes of 1–50 CDRs of different calls, privacy-number SMS
//!   (Notify); a share of the pushes delivered again (identical bodies), everything shuffled. The expected end
//!   state is computed alongside: the exact set of `(pk, sk)` keys, the raw JSON each record must hold, and each
//!   call's outcome ([`voice_core::outcome::fold`]).
//! - [`deliver`]: one round of deliveries with `in_flight` concurrent tasks, through a [`Transport`]: the
//!   handler in-process (`voice_core::edge::http::answer` on API Gateway v2 events, the same code the Lambda binaries
//!   run) or real HTTP to `cargo lambda watch` ([`crate::FunctionStack`]).
//! - [`verify`]: the table read in full and compared: nothing lost, nothing duplicated or unexpected, every
//!   record's `raw` as first delivered, every call's derived state, and every delivery answered 200 has its
//!   records in the table (never a 200 without a durable write).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::{Credentials, Region};
use futures::StreamExt;
use lambda_http::Body;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use time::macros::{datetime, format_description};
use time::OffsetDateTime;
use voice_core::adapters::DynamoStore;
use voice_core::callbacks::{CallbackService, Endpoint, HealthProbe};
use voice_core::ids::SessionId;
use voice_core::outcome::{fold, CallStatus};
use voice_core::records::Record;
use voice_core::records::StoredRecord;
use voice_core::storage::{PutOutcome, RecordStore, StoreError};

use crate::events::{request, Envelope};

/// The body of a successful answer to a fee push.
pub const FEE_SUCCESS: &str = r#"{"resultcode":"0","resultdesc":"Success"}"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PushKind {
    Status,
    Fee,
    Sms,
}

pub type Key = (String, String);

#[derive(Debug, Clone)]
pub struct Push {
    pub kind: PushKind,
    pub body: String,
    /// The records this push must produce.
    pub keys: Vec<Key>,
}

#[derive(Debug)]
pub struct Workload {
    pub seed: u64,
    /// Distinct pushes.
    pub pushes: Vec<Push>,
    /// Delivery order: indices into `pushes`; every push once, plus the duplicates, shuffled.
    pub deliveries: Vec<usize>,
    /// Every key the table must hold at the end, with the JSON its `raw` attribute must hold.
    pub expected_raw: BTreeMap<Key, Value>,
    /// Each call's expected derived state, by sessionId.
    pub expected_calls: BTreeMap<String, ExpectedOutcome>,
}

enum Scenario {
    Answered,
    NoAnswer,
    Busy,
    HungUpRinging,
    /// Answered and still running: no disconnect, no CDR yet.
    InProgress,
}

/// What the outcome fold must say of a generated call once every push of it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedOutcome {
    pub status: CallStatus,
    pub is_final: bool,
    pub answered: bool,
}

impl Workload {
    /// At least `min_pushes` distinct pushes, plus `round(min_pushes × duplicate_share)` extra deliveries of
    /// randomly chosen pushes (with replacement: some arrive three times), all shuffled.
    pub fn generate(seed: u64, min_pushes: usize, duplicate_share: f64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let start_of_day = datetime!(2026-01-01 00:00:00 UTC);
        let mut pushes = Vec::new();
        let mut expected_raw = BTreeMap::new();
        let mut expected_calls = BTreeMap::new();
        let mut fee_batch: Vec<Value> = Vec::new();
        let mut batch_size = draw_batch_size(&mut rng);
        let mut call: u64 = 0;
        let mut sms: u64 = 0;
        while pushes.len() < min_pushes {
            call += 1;
            let started = start_of_day + time::Duration::seconds(call as i64 * 3);
            let session_id = format!("1201_{call}_4294967295_{}@callenabler245.huaweicaas.com", compact(started));
            let called = format!("+86138{:08}", call);
            let scenario = match rng.random_range(0..100) {
                0..60 => Scenario::Answered,
                60..75 => Scenario::NoAnswer,
                75..85 => Scenario::Busy,
                85..95 => Scenario::HungUpRinging,
                _ => Scenario::InProgress,
            };
            // (eventType, seconds after start), the disconnect's stateCode, whether it was answered, whether it is
            // billed with (Q.850 cause, ulFailReason, SIP status), and the status it ends with.
            type Script = (&'static [(&'static str, i64)], Option<i64>, bool, Option<(i64, i64, i64)>, CallStatus);
            let (events, hangup, answered, bill, status): Script = match scenario {
                Scenario::Answered => (
                    &[("callout", 0), ("alerting", 3), ("answer", 7), ("disconnect", 25)],
                    Some(0),
                    true,
                    Some((0, 0, 0)),
                    CallStatus::Completed,
                ),
                Scenario::NoAnswer => (
                    &[("callout", 0), ("alerting", 3), ("disconnect", 45)],
                    Some(8101),
                    false,
                    Some((19, 514, 480)),
                    CallStatus::NoAnswer,
                ),
                Scenario::Busy => {
                    (&[("callout", 0), ("disconnect", 2)], Some(8102), false, Some((17, 518, 486)), CallStatus::Busy)
                }
                Scenario::HungUpRinging => (
                    &[("callout", 0), ("alerting", 3), ("disconnect", 9)],
                    Some(8004),
                    false,
                    Some((21, 518, 603)),
                    CallStatus::Rejected,
                ),
                Scenario::InProgress => {
                    (&[("callout", 0), ("alerting", 3), ("answer", 7)], None, true, None, CallStatus::Answered)
                }
            };
            let billed = bill.is_some();
            for &(event_type, after) in events {
                let mut info = json!({
                    "sessionId": session_id,
                    "timestamp": huawei_time(started + time::Duration::seconds(after)),
                    "caller": "+8675528000088",
                    "called": called,
                });
                if event_type == "disconnect" {
                    info["stateCode"] = json!(hangup);
                    info["stateDesc"] = json!(if hangup == Some(0) { "The user releases the call." } else { "failed" });
                }
                if rng.random_bool(0.3) {
                    info["userData"] = json!(format!("req-{call}"));
                }
                let body = json!({"eventType": event_type, "statusInfo": info});
                let key = (session_id.clone(), format!("event#{event_type}"));
                expected_raw.insert(key.clone(), body.clone());
                pushes.push(Push { kind: PushKind::Status, body: body.to_string(), keys: vec![key] });
            }
            expected_calls.insert(session_id.clone(), ExpectedOutcome { status, is_final: billed, answered });
            if let Some((q850, ul_fail_reason, sip_status)) = bill {
                let end = started + time::Duration::seconds(events.last().map_or(0, |e| e.1));
                let icid = format!("CAE-{}-{call}", compact(started));
                let mut cdr = json!({
                    "direction": 0,
                    "spId": "CaaS_Test_01",
                    "appKey": "ka4kTestAppKeyYnEm2",
                    "icid": icid,
                    "bindNum": "+8675528000088",
                    "sessionId": session_id,
                    "callerNum": "+8675528000088",
                    "calleeNum": called,
                    "callOutStartTime": huawei_time(started),
                    "callEndTime": huawei_time(end),
                    "callOutUnaswRsn": q850,
                    "fwdUnaswRsn": 0,
                    "ulFailReason": ul_fail_reason,
                    "sipStatusCode": sip_status,
                    "recordFlag": 0,
                    "ttsPlayTimes": 0,
                    "ttsTransDuration": 0,
                    "serviceType": "001",
                    "hostName": "callenabler245.huaweicaas.com",
                });
                if events.iter().any(|(event_type, _)| *event_type == "alerting") {
                    cdr["callOutAlertingTime"] = json!(huawei_time(started + time::Duration::seconds(3)));
                }
                if answered {
                    cdr["callOutAnswerTime"] = json!(huawei_time(started + time::Duration::seconds(7)));
                }
                expected_raw.insert((session_id.clone(), format!("cdr#{icid}")), cdr.clone());
                fee_batch.push(cdr);
                if fee_batch.len() >= batch_size {
                    pushes.push(fee_push(std::mem::take(&mut fee_batch)));
                    batch_size = draw_batch_size(&mut rng);
                }
            }
            if rng.random_bool(0.4) {
                sms += 1;
                let identifier = format!("sms-{}-{sms:06}", compact(started));
                let body = json!({
                    "appKey": "exampleAppKey",
                    "smsEvent": {
                        "smsIdentifier": identifier,
                        "notificationMode": "Notify",
                        "calling": "+8613800000001",
                        "virtualNumber": "+8613800000000",
                        "event": "Text SMS ",
                        "timeStamp": "2026-01-01T09:06:16.450Z",
                        "extInfo": {"extParas": [{"key": "splitNum", "value": "0"}, {"key": "direction", "value": "2"}]},
                        "sendResult": 2,
                    }
                });
                let key = (format!("sms#{identifier}"), "mode#Notify".to_owned());
                expected_raw.insert(key.clone(), body.clone());
                pushes.push(Push { kind: PushKind::Sms, body: body.to_string(), keys: vec![key] });
            }
        }
        if !fee_batch.is_empty() {
            pushes.push(fee_push(fee_batch));
        }
        let duplicates = (min_pushes as f64 * duplicate_share).round() as usize;
        let mut deliveries: Vec<usize> = (0..pushes.len()).collect();
        deliveries.extend((0..duplicates).map(|_| rng.random_range(0..pushes.len())));
        deliveries.shuffle(&mut rng);
        Self { seed, pushes, deliveries, expected_raw, expected_calls }
    }

    pub fn count(&self, kind: PushKind) -> usize {
        self.pushes.iter().filter(|p| p.kind == kind).count()
    }

    /// Records written by one delivery of every delivery (what a "one request per record" design costs).
    pub fn delivered_records(&self) -> usize {
        self.deliveries.iter().map(|&p| self.pushes[p].keys.len()).sum()
    }
}

/// Merged pushes: 40 % full (50 CDRs), the rest 1–49.
fn draw_batch_size(rng: &mut StdRng) -> usize {
    if rng.random_bool(0.4) {
        50
    } else {
        rng.random_range(1..50)
    }
}

fn fee_push(cdrs: Vec<Value>) -> Push {
    let keys = cdrs
        .iter()
        .map(|c| (c["sessionId"].as_str().unwrap().to_owned(), format!("cdr#{}", c["icid"].as_str().unwrap())))
        .collect();
    Push { kind: PushKind::Fee, body: json!({"eventType": "fee", "feeLst": cdrs}).to_string(), keys }
}

fn huawei_time(at: OffsetDateTime) -> String {
    at.format(format_description!("[year]-[month]-[day] [hour]:[minute]:[second]")).expect("formattable")
}

fn compact(at: OffsetDateTime) -> String {
    at.format(format_description!("[year][month][day][hour][minute][second]")).expect("formattable")
}

/// Counts what the handler asks of the store: each `put_new` is exactly one `PutItem` request.
pub struct CountingStore {
    pub inner: DynamoStore,
    pub puts: AtomicU64,
    pub created: AtomicU64,
    pub already_stored: AtomicU64,
    pub failed: AtomicU64,
}

impl CountingStore {
    pub fn new(inner: DynamoStore) -> Self {
        Self {
            inner,
            puts: AtomicU64::new(0),
            created: AtomicU64::new(0),
            already_stored: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        }
    }
}

impl HealthProbe for CountingStore {
    async fn probe(&self) -> Result<(), StoreError> {
        self.inner.probe().await
    }
}

impl RecordStore for CountingStore {
    async fn put_new(&self, record: &Record) -> Result<PutOutcome, StoreError> {
        self.puts.fetch_add(1, Ordering::Relaxed);
        let result = self.inner.put_new(record).await;
        let counter = match &result {
            Ok(PutOutcome::Created) => &self.created,
            Ok(PutOutcome::AlreadyStored | PutOutcome::Conflicting) => &self.already_stored,
            Err(_) => &self.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        result
    }
}

/// Where deliveries go.
pub enum Transport {
    /// The handler in-process, on API Gateway v2 events.
    InProcess(Box<CallbackService<CountingStore>>),
    /// Real HTTP to `cargo lambda watch` at `base` (`http://127.0.0.1:<port>`), routes of docs/operations.md, "HTTP
    /// routes and answers".
    Http { client: reqwest::Client, base: String },
}

impl Transport {
    pub fn http(base: String) -> Self {
        assert!(base.starts_with("http://127.0.0.1:"), "loopback only: {base}");
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(128)
            .build()
            .expect("HTTP client");
        Self::Http { client, base }
    }

    /// Delivers one push: (HTTP status, answer body); status 0 when no answer came.
    pub async fn push(&self, push: &Push) -> (u16, String) {
        let (endpoint, path) = route(push.kind);
        match self {
            Self::InProcess(service) => {
                answer_in_process(
                    service,
                    endpoint,
                    request(Envelope::HttpApi, "POST", path, push.body.as_bytes(), false),
                )
                .await
            }
            Self::Http { client, base } => {
                let sent = client
                    .post(format!("{base}{path}"))
                    .header("content-type", "application/json;charset=UTF-8")
                    .body(push.body.clone())
                    .send()
                    .await;
                match sent {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        (status, response.text().await.unwrap_or_default())
                    }
                    Err(_) => (0, String::new()),
                }
            }
        }
    }
}

/// Where a push of `kind` goes: the handler's endpoint and the route of docs/operations.md, "HTTP routes and answers"
/// (without the token).
pub fn route(kind: PushKind) -> (Endpoint, &'static str) {
    match kind {
        PushKind::Status => (Endpoint::Voice, "/voice/status"),
        PushKind::Fee => (Endpoint::Voice, "/voice/fee"),
        PushKind::Sms => (Endpoint::Sms, "/privacy-number/sms"),
    }
}

/// The callback handler's answer to one event, in process: (HTTP status, body text).
pub async fn answer_in_process<S: RecordStore + HealthProbe>(
    service: &CallbackService<S>,
    endpoint: Endpoint,
    event: lambda_http::Request,
) -> (u16, String) {
    let response = voice_core::edge::http::answer(service, endpoint, event).await.expect("answer never fails");
    let body = match response.body() {
        Body::Text(text) => text.clone(),
        Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        _ => String::new(),
    };
    (response.status().as_u16(), body)
}

/// Success as Huawei sees it: 200, and for a fee push the success body.
pub fn is_success(kind: PushKind, status: u16, body: &str) -> bool {
    status == 200 && (kind != PushKind::Fee || body == FEE_SUCCESS)
}

/// Every attempt of every delivery: `attempts[delivery]` = (round, HTTP status, success), and when the latest
/// attempt was sent and answered (to place a failure before or after a fault the run injected).
#[derive(Debug, Default)]
pub struct DeliveryLog {
    pub attempts: Vec<Vec<(usize, u16, bool)>>,
    pub latest_timing: Vec<Option<(Instant, Instant)>>,
}

impl DeliveryLog {
    pub fn new(deliveries: usize) -> Self {
        Self { attempts: vec![Vec::new(); deliveries], latest_timing: vec![None; deliveries] }
    }

    /// Deliveries whose latest attempt did not succeed (what Huawei would push again).
    pub fn unsuccessful(&self) -> Vec<usize> {
        (0..self.attempts.len()).filter(|&d| !self.attempts[d].last().is_some_and(|a| a.2)).collect()
    }

    /// Attempts by HTTP status (0 = no answer).
    pub fn statuses(&self) -> BTreeMap<u16, usize> {
        let mut by_status = BTreeMap::new();
        for (_, status, _) in self.attempts.iter().flatten() {
            *by_status.entry(*status).or_default() += 1;
        }
        by_status
    }

    /// Failed attempts in round 0 (the first pass), 1, 2, …
    pub fn failures_by_round(&self) -> Vec<usize> {
        let mut failures = Vec::new();
        for &(round, _, success) in self.attempts.iter().flatten() {
            if failures.len() <= round {
                failures.resize(round + 1, 0);
            }
            failures[round] += usize::from(!success);
        }
        failures
    }

    pub fn total_attempts(&self) -> usize {
        self.attempts.iter().map(Vec::len).sum()
    }

    /// Successful attempts.
    pub fn successes(&self) -> usize {
        self.attempts.iter().flatten().filter(|a| a.2).count()
    }
}

/// One round: delivers `deliveries` (indices into `workload.deliveries`) with `in_flight` concurrent tasks and
/// appends each outcome to `log`. `progress` counts finished deliveries (for a test that acts mid-run).
pub async fn deliver(
    transport: &Arc<Transport>,
    workload: &Arc<Workload>,
    deliveries: &[usize],
    in_flight: usize,
    round: usize,
    progress: &Arc<AtomicUsize>,
    log: &mut DeliveryLog,
) {
    let outcomes: Vec<(usize, u16, bool, (Instant, Instant))> = futures::stream::iter(deliveries.iter().copied())
        .map(|delivery| {
            let (transport, workload, progress) = (Arc::clone(transport), Arc::clone(workload), Arc::clone(progress));
            tokio::spawn(async move {
                let push = &workload.pushes[workload.deliveries[delivery]];
                let sent = Instant::now();
                let (status, body) = transport.push(push).await;
                let answered = Instant::now();
                progress.fetch_add(1, Ordering::SeqCst);
                (delivery, status, is_success(push.kind, status, &body), (sent, answered))
            })
        })
        .buffer_unordered(in_flight)
        .map(|joined| joined.expect("delivery task panicked"))
        .collect()
        .await;
    for (delivery, status, success, timing) in outcomes {
        log.attempts[delivery].push((round, status, success));
        log.latest_timing[delivery] = Some(timing);
    }
}

/// Re-pushes every delivery whose latest attempt failed, as Huawei re-pushes CDRs (hourly, up to 6 times):
/// one round per number in `rounds` (e.g. `1..=6`), `pause` before each, until none fails. Returns the number
/// of the last round run (`rounds.start() - 1` if nothing needed re-pushing).
pub async fn repush(
    transport: &Arc<Transport>,
    workload: &Arc<Workload>,
    in_flight: usize,
    rounds: std::ops::RangeInclusive<usize>,
    pause: Duration,
    log: &mut DeliveryLog,
) -> usize {
    let progress = Arc::new(AtomicUsize::new(0));
    let mut last = rounds.start().saturating_sub(1);
    for round in rounds {
        let failed = log.unsuccessful();
        if failed.is_empty() {
            break;
        }
        tokio::time::sleep(pause).await;
        deliver(transport, workload, &failed, in_flight, round, &progress, log).await;
        last = round;
    }
    last
}

/// Every record of `table`, read with a client of its own (SDK retries on, no attempt timeout) straight from
/// DynamoDB at `endpoint`, bypassing any proxy: the ground truth.
pub async fn scan_all(endpoint: &str, table: &str) -> Vec<Value> {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "chaos"))
        .load()
        .await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let items: Vec<_> = client
        .scan()
        .table_name(table)
        .consistent_read(true)
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("full scan of the table");
    items.into_iter().map(|item| serde_dynamo::from_item(item).expect("record as JSON")).collect()
}

/// What a full read of the table shows.
#[derive(Debug, Default)]
pub struct Verification {
    pub records: usize,
    pub calls_checked: usize,
    /// Everything wrong, one line each (empty = the run passed).
    pub problems: Vec<String>,
}

/// Compares the table (`records`, from [`scan_all`]) with the workload's expected end state and the log.
pub fn verify(workload: &Workload, log: &DeliveryLog, records: &[Value]) -> Verification {
    verify_raw_with(workload, log, records, |stored, pushed| stored == pushed)
}

/// [`verify`], with `same_raw(stored, pushed)` deciding whether a record's `raw` is what was pushed (a record
/// restored from a masked log line holds the pushed body with its numbers masked).
pub fn verify_raw_with(
    workload: &Workload,
    log: &DeliveryLog,
    records: &[Value],
    same_raw: impl Fn(&Value, &Value) -> bool,
) -> Verification {
    let mut problems = Vec::new();
    let mut seen: BTreeMap<Key, usize> = BTreeMap::new();
    let mut by_call: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for record in records {
        let key = (
            record["pk"].as_str().unwrap_or_default().to_owned(),
            record["sk"].as_str().unwrap_or_default().to_owned(),
        );
        *seen.entry(key.clone()).or_default() += 1;
        match workload.expected_raw.get(&key) {
            None => problems.push(format!("unexpected record {key:?}")),
            Some(expected) => {
                let raw: Option<Value> = record["raw"].as_str().and_then(|r| serde_json::from_str(r).ok());
                if !raw.as_ref().is_some_and(|raw| same_raw(raw, expected)) {
                    problems.push(format!("{key:?}: raw differs from what was pushed: {:?}", record["raw"]));
                }
            }
        }
        if !key.0.starts_with("sms#") {
            by_call.entry(record["pk"].as_str().unwrap_or_default()).or_default().push(record);
        }
    }
    for (key, count) in &seen {
        if *count > 1 {
            problems.push(format!("duplicated: {key:?} read {count} times"));
        }
    }
    for key in workload.expected_raw.keys() {
        if !seen.contains_key(key) {
            problems.push(format!("lost: {key:?} is not in the table"));
        }
    }
    // Never a 200 without a durable write: each delivery answered with success must find its records.
    for (delivery, attempts) in log.attempts.iter().enumerate() {
        let push = &workload.pushes[workload.deliveries[delivery]];
        if let Some(&(round, status, _)) = attempts.iter().find(|a| a.2) {
            for key in push.keys.iter().filter(|k| !seen.contains_key(*k)) {
                problems.push(format!("delivery {delivery} got {status} (round {round}) but {key:?} is not stored"));
            }
        }
    }
    // Every push eventually got a success answer.
    let mut answered: BTreeSet<usize> = BTreeSet::new();
    for (delivery, attempts) in log.attempts.iter().enumerate() {
        if attempts.iter().any(|a| a.2) {
            answered.insert(workload.deliveries[delivery]);
        }
    }
    for push in (0..workload.pushes.len()).filter(|p| !answered.contains(p)) {
        problems.push(format!("push {push} ({:?}) never got a success answer", workload.pushes[push].kind));
    }
    for (session_id, expected) in &workload.expected_calls {
        let records: Vec<StoredRecord> = by_call
            .get(session_id.as_str())
            .into_iter()
            .flatten()
            .map(|record| serde_json::from_value((*record).clone()).expect("every stored record reads back typed"))
            .collect();
        let outcome = fold(&SessionId::parse(session_id.as_str()).expect("a generated sessionId"), &records);
        let derived =
            ExpectedOutcome { status: outcome.status, is_final: outcome.is_final, answered: outcome.answered };
        if &derived != expected {
            problems.push(format!("{session_id}: derived {derived:?}, expected {expected:?}"));
        }
    }
    Verification { records: records.len(), calls_checked: workload.expected_calls.len(), problems }
}
