//! Section 10: verifications, the check and the start.
//!
//! 1. `check-verification`'s handler (validation, the code's keyed hash, one conditional `UpdateItem`, the fold of
//!    the record it returns, the answer, its log line) against a raw conditional `UpdateItem` of the same kind of
//!    record on the same client, with the same expression, condition and return values; one of each per round in
//!    a shuffled order after warm-up rounds. Each round starts two fresh verifications first (outside the clock),
//!    one per series, so that every measured check is the real conditional write on a record in the same state:
//!    a wrong code with all its attempts left, which the condition takes (`checks` 0 → 1).
//! 2. What one check costs on the wire, through the metering proxy: a wrong code and a right code, each on fresh
//!    verifications.
//! 3. What a start adds to the trigger: `trigger-verification-call`'s handler (the Huawei simulator behind it, a
//!    generated code) through the metering proxy, its requests by operation and by the kind of item they name, so
//!    that the verification's write (`UpdateItem` of `verification#…`) is told apart from the trigger's own.
//! 4. The check as a Lambda function: the release `check-verification` binary under the minimal Runtime API, warm
//!    invocations at the template's memory size (its CPU quota, as section 8 does), for the cost of a million.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde_json::json;
use time::OffsetDateTime;
use voice_core::adapters::{CallVerifyClient, DynamoStore};
use voice_core::calls::{Defaults, TriggerService, TriggerSettings, VerificationPolicy};
use voice_core::huawei::call_verify::encode_callback_url;
use voice_core::huawei::AppCredentials;
use voice_core::ids::{VerificationCode, VerificationId};
use voice_core::rate_limit::RateLimits;
use voice_core::records::item::ItemAction;
use voice_core::records::verification::{
    change_write, CodeSource, VerificationChange, VERIFICATION_PREFIX, VERIFICATION_SK,
};
use voice_core::verification::{CheckService, CheckSettings};
use voice_core::verification_state::{code_hash, Changed, VerificationStatus, VerificationStore};

use crate::cost_model::Billed;
use test_support::fault_proxy::{FaultConfig, FaultProxy, ProxyStats};
use test_support::measure::cold_start::Target;
use test_support::measure::cpu_quota::{self, CpuCgroup, FULL_VCPU_MB};
use test_support::measure::lambda_cpu::{self as sized, Plan, SizedRun};
use test_support::measure::{function_env, Samples, HELLO_RUNTIME, TEMPLATE_MEMORY_MB};
use test_support::{client_at, DynamoLocal};
use voice_platform_sim::Config as SimConfig;

const WARM_UP_ROUNDS: usize = 30;
/// Checks of each kind (wrong code, right code) whose requests are counted on the wire.
const METERED_CHECKS: usize = 50;
/// Trigger invocations of each kind (with and without an idempotencyKey) counted on the wire.
const TRIGGER_INVOKES: usize = 20;
/// The key of the codes' hashes (the app secret), in process and in the binary.
const HASH_KEY: &str = "secret";
const RIGHT_CODE: &str = "482913";
const WRONG_CODE: &str = "111111";
/// `MAX_CHECK_ATTEMPTS`, as the trigger's default policy fixes it at the first send.
const MAX_CHECKS: u32 = 5;
pub const WRITE_OPERATIONS: [&str; 5] = ["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"];
pub const READ_OPERATIONS: [&str; 5] = ["GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"];

/// The check's `UpdateItem` as `records::verification::change_write` builds it (checked against it at the start of
/// every run, so the raw request stays the handler's).
const CHECK_EXPRESSION: &str = "SET #steps = list_append(#steps, :step), #checks = #checks + :one";
const CHECK_CONDITION: &str = "attribute_exists(pk) AND #checks < #maxChecks AND #until > :now AND \
                               attribute_not_exists(#canceled) AND NOT contains(#steps, :step_text)";
const CHECK_NAMES: [(&str, &str); 5] = [
    ("#steps", "steps"),
    ("#until", "codesExpireAt"),
    ("#canceled", "canceledAt"),
    ("#checks", "checks"),
    ("#maxChecks", "maxChecks"),
];

/// Requests on the wire per invocation, by operation (or by `"<operation> <item kind>"`).
pub type PerInvocation = Vec<(String, f64)>;

/// One check's cost on the wire.
#[derive(Debug, Clone)]
pub struct MeteredCheck {
    /// `wrong code`, `right code`.
    pub what: &'static str,
    /// The status every one of them answered.
    pub status: &'static str,
    pub requests: PerInvocation,
    /// Write units DynamoDB Local reported, per check.
    pub write_units: f64,
}

impl MeteredCheck {
    pub fn of(&self, operation: &str) -> f64 {
        of(&self.requests, operation)
    }
}

/// The trigger's requests on the wire, per invocation.
#[derive(Debug, Clone)]
pub struct TriggerRequests {
    /// `with an idempotencyKey`, `without an idempotencyKey`.
    pub what: &'static str,
    pub invokes: usize,
    pub per_operation: PerInvocation,
    /// By `"<operation> <item kind>"` (`fault_proxy::item_kind`).
    pub by_item: PerInvocation,
    /// Write units by `"<operation> <item kind>"`, per invocation.
    pub units_by_item: PerInvocation,
}

impl TriggerRequests {
    /// Requests on a `verification#` item (the verification's send), per invocation.
    pub fn verification_requests(&self) -> f64 {
        self.by_item.iter().filter(|(item, _)| item.ends_with(VERIFICATION_PREFIX)).map(|(_, n)| n).sum()
    }

    /// Write units of the verification's writes, per invocation.
    pub fn verification_write_units(&self) -> f64 {
        self.units_by_item.iter().filter(|(item, _)| item.ends_with(VERIFICATION_PREFIX)).map(|(_, n)| n).sum()
    }

    /// Requests of `operation` per invocation, all of them or (`without_verification`) those on other items.
    pub fn of(&self, operation: &str, without_verification: bool) -> f64 {
        let on_verification: f64 = match without_verification {
            true => of(&self.by_item, &format!("{operation} {VERIFICATION_PREFIX}")),
            false => 0.0,
        };
        of(&self.per_operation, operation) - on_verification
    }

    pub fn writes(&self, without_verification: bool) -> f64 {
        WRITE_OPERATIONS.iter().map(|op| self.of(op, without_verification)).sum()
    }

    pub fn reads(&self, without_verification: bool) -> f64 {
        READ_OPERATIONS.iter().map(|op| self.of(op, without_verification)).sum()
    }
}

/// `check-verification`'s binary at one CPU, with the hello-world's beside it.
#[derive(Debug, Clone)]
pub struct CheckLambda {
    pub cold_rounds: usize,
    pub warm: usize,
    /// On the whole machine: (check-verification, hello-world).
    pub whole_core: (SizedRun, SizedRun),
    /// At the template's memory size (its CPU quota), when a cgroup could be made.
    pub sized: Option<(SizedRun, SizedRun)>,
    /// Why the sized run is missing.
    pub skipped: Option<String>,
}

impl CheckLambda {
    /// What a warm invocation bills: at the template's size when measured, else on the whole machine.
    pub fn billed(&self) -> Billed {
        let (run, _) = self.sized.as_ref().unwrap_or(&self.whole_core);
        Billed { memory_mb: TEMPLATE_MEMORY_MB, billed_ms: run.warm_billed_mean_ms() }
    }
}

#[derive(Debug, Clone)]
pub struct Verifications {
    /// `check-verification`'s handler, a wrong code on a fresh verification.
    pub check: Samples,
    /// The raw conditional `UpdateItem` of a fresh verification, same expression, same client.
    pub raw_update: Samples,
    /// On the wire per check: wrong code, right code.
    pub metered: Vec<MeteredCheck>,
    /// The trigger on the wire: with an idempotencyKey, without one.
    pub trigger: Vec<TriggerRequests>,
    pub lambda: CheckLambda,
}

impl Verifications {
    /// The check's cost for the cost model: its billed duration and its write units (the dearer of wrong and
    /// right, which are the same write).
    pub fn check_cost(&self) -> crate::cost_model::CheckCost {
        let write_units = self.metered.iter().map(|m| m.write_units).fold(0.0, f64::max);
        crate::cost_model::CheckCost { billed: self.lambda.billed(), write_units }
    }
}

pub async fn measure(dynamodb: &DynamoLocal, rounds: usize, cold_rounds: usize, warm: usize) -> Verifications {
    let run = test_support::unique_name("verify");
    eprintln!("bench: verifications: the check against a raw UpdateItem");
    let (check, raw_update) = latency(dynamodb, &run, rounds).await;
    eprintln!("bench: verifications: checks on the wire");
    let metered = metered_checks(dynamodb, &run).await;
    eprintln!("bench: verifications: the trigger on the wire");
    let trigger = trigger_requests(dynamodb, &run).await;
    eprintln!("bench: verifications: check-verification's binary, warm");
    let lambda = check_lambda(dynamodb, &run, cold_rounds.max(1), warm).await;
    Verifications { check, raw_update, metered, trigger, lambda }
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

fn verification_id(text: String) -> VerificationId {
    VerificationId::parse(text).expect("a verification id")
}

fn settings() -> CheckSettings {
    CheckSettings { hash_key: HASH_KEY.into(), retry_budget: Duration::from_secs(3) }
}

/// Starts a verification as the trigger does (its first send, a generated code, the default policy).
async fn start(store: &DynamoStore, id: &VerificationId) {
    let now = now();
    let code = VerificationCode::parse(RIGHT_CODE).expect("a code");
    let change = VerificationChange::Send {
        id: id.clone(),
        hash: code_hash(HASH_KEY.as_bytes(), id, &code),
        source: CodeSource::Generated,
        country_code: "86".into(),
        prefix: "8613800".into(),
        now,
        codes_expire_at: now + 600,
        max_sends: 5,
        max_checks: MAX_CHECKS,
        record_expires_at: now + 86_400,
    };
    let changed = store.change(&change).await.expect("started");
    assert!(matches!(changed, Changed::Done(_)), "a new verification: {changed:?}");
}

/// The handler's and the raw write's samples.
async fn latency(dynamodb: &DynamoLocal, run: &str, rounds: usize) -> (Samples, Samples) {
    same_request_as_the_handler();
    let store = dynamodb.fresh_store().await.stamping_region("us-east-1");
    let (client, table) = (store.client().clone(), store.table().to_owned());
    let checker = CheckService::new(store, settings());
    let mut samples: [Vec<Duration>; 2] = Default::default();
    let mut rng = StdRng::seed_from_u64(24);
    for round in 0..WARM_UP_ROUNDS + rounds {
        let handled = verification_id(format!("{run}-h-{round}"));
        let raw = verification_id(format!("{run}-r-{round}"));
        start(checker.store(), &handled).await;
        start(checker.store(), &raw).await;
        let event = json!({"verificationId": handled.as_str(), "code": WRONG_CODE});
        let raw_check = RawCheck::new(&raw);
        let mut order = [0, 1];
        order.shuffle(&mut rng);
        let mut timings = [Duration::ZERO; 2];
        for series in order {
            let started = Instant::now();
            match series {
                0 => {
                    let answer = checker.handle(event.clone(), None).await.expect("an answer");
                    assert_eq!(
                        (answer.status, answer.attempts_left, answer.valid),
                        (VerificationStatus::Pending, MAX_CHECKS - 1, Some(false)),
                        "a wrong code takes an attempt: {answer:?}"
                    );
                }
                _ => raw_check.send(&client, &table).await,
            }
            timings[series] = started.elapsed();
        }
        if round >= WARM_UP_ROUNDS {
            for (series, timing) in samples.iter_mut().zip(timings) {
                series.push(timing);
            }
        }
    }
    let [check, raw] = samples.map(Samples::new);
    (check, raw)
}

/// The raw requests' expression, condition and names are those of the handler's `UpdateItem`.
fn same_request_as_the_handler() {
    let change = VerificationChange::Check {
        id: verification_id("bench".into()),
        hash: "h".into(),
        request: "r".into(),
        now: 0,
    };
    let write = change_write(&change, Some("us-east-1"));
    let ItemAction::Update { expression, .. } = &write.action else { panic!("a check is an UpdateItem") };
    assert_eq!((*expression, write.condition), (CHECK_EXPRESSION, CHECK_CONDITION), "the raw check is the handler's");
    let mut names: Vec<(&str, &str)> = write.names.iter().map(|(p, n)| (*p, n.as_ref())).collect();
    let mut raw_names = CHECK_NAMES.to_vec();
    names.sort_unstable();
    raw_names.sort_unstable();
    assert_eq!(names, raw_names, "the raw check's attribute names are the handler's");
    let mut values: Vec<&str> = write.values.iter().map(|(p, _)| *p).collect();
    values.sort_unstable();
    assert_eq!(values, [":now", ":one", ":step", ":step_text"], "the raw check's values are the handler's");
}

/// One raw check, built before the clock starts: a step as long as the handler's (`checked:<now>:<64 hex digits of
/// the hash>:<16 hex digits of the request id>`).
struct RawCheck {
    key: String,
    now: i64,
    step: String,
}

impl RawCheck {
    fn new(id: &VerificationId) -> Self {
        let now = now();
        let hex = |words: usize| (0..words).map(|_| format!("{:016x}", rand::random::<u64>())).collect::<String>();
        Self {
            key: format!("{VERIFICATION_PREFIX}{}", id.as_str()),
            now,
            step: format!("checked:{now}:{}:{}", hex(4), hex(1)),
        }
    }

    async fn send(&self, client: &aws_sdk_dynamodb::Client, table: &str) {
        let mut request = client
            .update_item()
            .table_name(table)
            .key("pk", AttributeValue::S(self.key.clone()))
            .key("sk", AttributeValue::S(VERIFICATION_SK.to_owned()))
            .update_expression(CHECK_EXPRESSION)
            .condition_expression(CHECK_CONDITION)
            .expression_attribute_values(":step", AttributeValue::L(vec![AttributeValue::S(self.step.clone())]))
            .expression_attribute_values(":step_text", AttributeValue::S(self.step.clone()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .expression_attribute_values(":now", AttributeValue::N(self.now.to_string()))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (placeholder, name) in CHECK_NAMES {
            request = request.expression_attribute_names(placeholder, name);
        }
        let answer = request.send().await.expect("raw UpdateItem");
        let checks = answer.attributes().and_then(|item| item.get("checks")).and_then(|n| n.as_n().ok());
        assert_eq!(checks.map(String::as_str), Some("1"), "the raw check was taken");
    }
}

/// Requests per check on the wire: wrong codes, then right codes, each on fresh verifications started directly.
async fn metered_checks(dynamodb: &DynamoLocal, run: &str) -> Vec<MeteredCheck> {
    let direct = dynamodb.fresh_store().await.stamping_region("us-east-1");
    let proxy = FaultProxy::start(
        &dynamodb.endpoint(),
        FaultConfig { meter_capacity: true, count_items: true, ..FaultConfig::pass_through() },
    );
    let proxied = DynamoStore::new(client_at(&proxy.endpoint()).await, direct.table()).stamping_region("us-east-1");
    let checker = CheckService::new(proxied, settings());
    let mut metered = Vec::new();
    for (what, code, status) in [
        ("wrong code", WRONG_CODE, VerificationStatus::Pending),
        ("right code", RIGHT_CODE, VerificationStatus::Approved),
    ] {
        let ids: Vec<VerificationId> =
            (0..METERED_CHECKS).map(|n| verification_id(format!("{run}-m-{}-{n}", &what[..1]))).collect();
        for id in &ids {
            start(&direct, id).await;
        }
        let before = proxy.stats();
        for id in &ids {
            let answer = checker.handle(json!({"verificationId": id.as_str(), "code": code}), None).await;
            let answer = answer.expect("an answer");
            assert_eq!((answer.status, answer.valid), (status, Some(code == RIGHT_CODE)), "{what}: {answer:?}");
        }
        let after = proxy.stats();
        metered.push(MeteredCheck {
            what,
            status: status.as_str(),
            requests: per_invocation(&before.requests, &after.requests, METERED_CHECKS),
            write_units: milli_units(&before, &after) as f64 / 1000.0 / METERED_CHECKS as f64,
        });
    }
    metered
}

/// The trigger's settings of the bench's sections 10 and 11: the local demo's defaults, a generated code of 6
/// digits, the given per-callee windows and guard.
pub fn trigger_settings(limits: RateLimits, guard: voice_core::guard::GuardPolicy, hash_key: &str) -> TriggerSettings {
    TriggerSettings {
        defaults: Defaults {
            display_nbr: Some("+8675528000088".into()),
            pre_tone: Some("welcome.wav".into()),
            language_type: 2,
            allow_endless_playback: false,
            code_length: 6,
        },
        limits,
        record_ttl: Duration::from_secs(86_400),
        region: "us-east-1".into(),
        api_timeout: Duration::from_secs(8),
        hash_key: hash_key.to_owned().into(),
        verifications: VerificationPolicy::default(),
        guard,
    }
}

/// The trigger's requests on the wire, with and without an idempotencyKey, each with a generated code.
async fn trigger_requests(dynamodb: &DynamoLocal, run: &str) -> Vec<TriggerRequests> {
    let table = dynamodb.fresh_store().await.table().to_owned();
    let proxy = FaultProxy::start(
        &dynamodb.endpoint(),
        FaultConfig { meter_capacity: true, count_items: true, ..FaultConfig::pass_through() },
    );
    let sim_config = SimConfig { listen: "127.0.0.1:0".parse().expect("address"), ..SimConfig::default() };
    let sim = voice_platform_sim::start(sim_config.clone()).await.expect("simulator starts");
    let credentials =
        AppCredentials { app_key: sim_config.app_key.clone(), app_secret: sim_config.app_secret.clone().into() };
    // The calls' pushes go nowhere (port 9 is discard): only the trigger's requests are measured.
    let url = encode_callback_url("http://127.0.0.1:9/voice/status").expect("a callback URL");
    let api = CallVerifyClient::new(&sim.base_url(), credentials.clone(), url.clone(), url).expect("a Huawei client");
    let store = DynamoStore::new(client_at(&proxy.endpoint()).await, table).stamping_region("us-east-1");
    let guard = voice_core::guard::GuardPolicy { prefix_limit: 0, ..Default::default() };
    let settings = trigger_settings(RateLimits::new(1, 5), guard, &sim_config.app_secret);
    let trigger = TriggerService::new(store, api, settings);
    let mut measured = Vec::new();
    for (kind, what) in [(0, "with an idempotencyKey"), (1, "without an idempotencyKey")] {
        let before = proxy.stats();
        for n in 0..TRIGGER_INVOKES {
            // A number of its own per invoke (none of the simulator's scenario suffixes): every one is placed.
            let callee = format!("+86139{:08}", kind * 100 + n);
            let event = match kind {
                0 => json!({"calleeNbr": callee, "idempotencyKey": format!("{run}-t-{n}")}),
                _ => json!({"calleeNbr": callee}),
            };
            let answer = trigger.handle(event, None).await.expect("the call is placed");
            assert_eq!((answer.status, answer.replayed), ("requested", false), "{what}: {answer:?}");
        }
        let after = proxy.stats();
        measured.push(TriggerRequests {
            what,
            invokes: TRIGGER_INVOKES,
            per_operation: per_invocation(&before.requests, &after.requests, TRIGGER_INVOKES),
            by_item: per_invocation(&before.requests_by_item, &after.requests_by_item, TRIGGER_INVOKES),
            units_by_item: per_invocation(
                &before.capacity_milli_units_by_item,
                &after.capacity_milli_units_by_item,
                TRIGGER_INVOKES,
            )
            .into_iter()
            .map(|(item, milli)| (item, milli / 1000.0))
            .collect(),
        });
    }
    assert!(sim.stats().call_verify.received as usize >= 2 * TRIGGER_INVOKES, "every invoke called the simulator");
    measured
}

/// The release `check-verification` binary (and the hello-world) on the whole machine, then at the template's
/// memory size: `cold_rounds` new processes each, the first kept for `warm` invocations. Every event checks a
/// wrong code on a verification of its own, started beforehand.
async fn check_lambda(dynamodb: &DynamoLocal, run: &str, cold_rounds: usize, warm: usize) -> CheckLambda {
    let warm = warm.min(sized::WARM_EVENTS_FROM - 1);
    let store = dynamodb.fresh_store().await.stamping_region("us-east-1");
    let mut env = function_env(store.table(), &dynamodb.endpoint());
    env.extend(
        [("VOICE_APP_KEY", "bench-app-key"), ("VOICE_APP_SECRET", HASH_KEY)].map(|(n, v)| (n.to_owned(), v.to_owned())),
    );
    let prefix = format!("{run}-cpu");
    let event_prefix = prefix.clone();
    let targets = vec![
        Target {
            name: "check-verification".into(),
            binary: crate::release_binary("check-verification"),
            env,
            event: Box::new(move |i| json!({"verificationId": format!("{event_prefix}-{i}"), "code": WRONG_CODE})),
        },
        Target {
            name: HELLO_RUNTIME.into(),
            binary: crate::release_binary(HELLO_RUNTIME),
            env: vec![],
            event: Box::new(|i| json!({"round": i})),
        },
    ];
    fn plan(memory_mb: u64, cgroup: Option<&CpuCgroup>, cold_rounds: usize, warm: usize, first: usize) -> Plan<'_> {
        Plan { memory_mb, cgroup, cold_rounds, warm, first_event: first }
    }
    // The events each plan hands out: cold rounds from `first_event`, warm ones from `first_event + WARM_EVENTS_FROM`.
    let events = |first_event: usize| {
        (first_event..first_event + cold_rounds)
            .chain(first_event + sized::WARM_EVENTS_FROM..first_event + sized::WARM_EVENTS_FROM + warm)
    };
    for i in events(0) {
        start(&store, &verification_id(format!("{prefix}-{i}"))).await;
    }
    let whole_core = pair(checked(sized::measure(&targets, &plan(FULL_VCPU_MB, None, cold_rounds, warm, 0)).await));
    let group = CpuCgroup::create(
        std::path::Path::new(cpu_quota::CGROUP_V1_CPU),
        &format!("{run}-{TEMPLATE_MEMORY_MB}"),
        TEMPLATE_MEMORY_MB,
    );
    let (sized_runs, skipped) = match group {
        Ok(group) => {
            const SIZED_EVENTS: usize = 1_000_000;
            for i in events(SIZED_EVENTS) {
                start(&store, &verification_id(format!("{prefix}-{i}"))).await;
            }
            let runs =
                sized::measure(&targets, &plan(TEMPLATE_MEMORY_MB, Some(&group), cold_rounds, warm, SIZED_EVENTS))
                    .await;
            (Some(pair(checked(runs))), None)
        }
        Err(error) => {
            let why = format!(
                "no CPU quota could be set ({error}); the sized run needs a writable cgroup v1 CPU controller (root)"
            );
            eprintln!("bench: verifications: {why}");
            (None, Some(why))
        }
    };
    CheckLambda { cold_rounds, warm, whole_core, sized: sized_runs, skipped }
}

fn pair(mut runs: Vec<SizedRun>) -> (SizedRun, SizedRun) {
    let hello = runs.pop().expect("the hello-world's run");
    let check = runs.pop().expect("check-verification's run");
    (check, hello)
}

/// Every round and invocation answered, each with a wrong code's answer (or the hello-world's).
fn checked(runs: Vec<SizedRun>) -> Vec<SizedRun> {
    for run in &runs {
        assert!(run.failures.is_empty(), "{} at {} MB failed: {:#?}", run.name, run.memory_mb, run.failures);
        for answer in &run.answers {
            let right = match run.name.as_str() {
                HELLO_RUNTIME => answer["message"] == "hello",
                _ => {
                    answer["status"] == "pending"
                        && answer["valid"] == false
                        && answer["attemptsLeft"] == MAX_CHECKS - 1
                }
            };
            assert!(right, "{} answered {answer}: not a time of real work", run.name);
        }
    }
    runs
}

/// The count of `name` in `per_invocation` (0 when absent).
pub fn of(per_invocation: &[(String, f64)], name: &str) -> f64 {
    per_invocation.iter().find(|(n, _)| n == name).map(|(_, v)| *v).unwrap_or(0.0)
}

/// The counts that grew from `before` to `after`, per invocation.
pub fn per_invocation(
    before: &std::collections::BTreeMap<String, u64>,
    after: &std::collections::BTreeMap<String, u64>,
    invocations: usize,
) -> PerInvocation {
    after
        .iter()
        .map(|(name, count)| {
            (name.clone(), (count - before.get(name).copied().unwrap_or(0)) as f64 / invocations as f64)
        })
        .filter(|(_, n)| *n > 0.0)
        .collect()
}

fn milli_units(before: &ProxyStats, after: &ProxyStats) -> u64 {
    let sum = |stats: &ProxyStats| -> u64 {
        WRITE_OPERATIONS.iter().map(|op| stats.capacity_milli_units.get(*op).copied().unwrap_or(0)).sum()
    };
    sum(after) - sum(before)
}
