//! Section 11: the fraud guard, its requests and its latency (issue 25, "Cost and speed").
//!
//! 1. On the wire: `trigger-verification-call`'s handler (`TriggerService` over `DynamoStore`, the Huawei simulator
//!    behind it, a generated code, no idempotencyKey, no per-callee windows, a number of its own each time) through
//!    the metering proxy, its requests by operation, by the kind of item they name and by the actions of its
//!    transactions, in five cases: the guard off (the number safe-listed: `GuardPolicy::admit` returns before it
//!    sends anything), the guard with no budgets (its transaction is the range's block check alone), the guard with
//!    every budget (`PREFIX_LIMIT`, `COUNTRY_LIMITS` for 86, `DAILY_CALL_CAP`, high enough never to refuse), a call
//!    refused by the country list, and a call refused by a spent budget (`PREFIX_LIMIT` of a range spent first).
//!    What the guard adds to a call is a case's requests minus the guard-off case's.
//! 2. Latency: the trigger's handler with the guard (every budget) against the same handler with the guard off
//!    (the safe list: the code's own switch, the only difference between the two being the guard's transaction and
//!    the few lines of `admit` around it), and beside them the guard's own admission (`GuardPolicy::admit` on the
//!    same `DynamoStore`, with every budget and with none) and a raw conditional `UpdateItem` of one counter (what
//!    one ordinary request costs on the same client); one of each per round on fresh numbers, in a shuffled order,
//!    after warm-up rounds. The trigger with the guard is held against its floor: the trigger without it plus the
//!    guard's admission alone.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde_json::json;
use time::OffsetDateTime;
use voice_core::adapters::{CallVerifyClient, DynamoStore};
use voice_core::calls::attempt::Attempt;
use voice_core::calls::{CallRequest, TriggerError, TriggerService, TriggerSettings, VoiceApi};
use voice_core::guard::{GuardPolicy, Reason};
use voice_core::huawei::call_verify::encode_callback_url;
use voice_core::huawei::AppCredentials;
use voice_core::ids::{CalleeNumber, VerificationCode};
use voice_core::rate_limit::RateLimits;
use voice_core::records::guard::GUARD_PREFIX;
use voice_core::records::item::EXPIRES_AT;

use crate::verification::{of, per_invocation, trigger_settings, PerInvocation, READ_OPERATIONS, WRITE_OPERATIONS};
use test_support::fault_proxy::{FaultConfig, FaultProxy, ProxyStats};
use test_support::measure::Samples;
use test_support::{client_at, DynamoLocal};
use voice_platform_sim::Config as SimConfig;

const WARM_UP_ROUNDS: usize = 30;
/// Trigger invocations per case counted on the wire.
const INVOKES: usize = 20;
/// Every budget's limit when the guard takes them all: far above the calls of a run, so none refuses.
pub const NEVER_REFUSES: u32 = 1_000_000;
/// The number the country list refuses (a UK number of Ofcom's drama range; 44 is not in the default list).
pub const ABROAD: &str = "+447700900123";
/// `PREFIX_LIMIT` of the spent-budget case, and the calls taken from its range before its invocations.
pub const SPENT_LIMIT: u32 = 1;

/// The cases on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// The number is safe-listed: `admit` sends nothing. The trigger without the guard.
    Off,
    /// No budget configured: the transaction is the range's block check alone.
    BlockCheckOnly,
    /// `PREFIX_LIMIT`, `COUNTRY_LIMITS` for 86 and `DAILY_CALL_CAP`, none of them reached.
    AllBudgets,
    /// `ABROAD`, refused by the country list (`country_not_allowed`).
    CountryRefused,
    /// A number of a range whose `PREFIX_LIMIT` is spent (`prefix_budget`), every budget configured.
    BudgetRefused,
}

impl Case {
    pub fn label(self) -> &'static str {
        match self {
            Self::Off => "guard off (the number safe-listed)",
            Self::BlockCheckOnly => "(a) guard, no budgets: the block check only",
            Self::AllBudgets => "(b) guard, every budget (range, country 86, day)",
            Self::CountryRefused => "(c) refused by the country list (+447700900123)",
            Self::BudgetRefused => "(d) refused by a spent budget (PREFIX_LIMIT)",
        }
    }

    pub fn placed(self) -> bool {
        matches!(self, Self::Off | Self::BlockCheckOnly | Self::AllBudgets)
    }
}

/// One case's requests on the wire, per invocation.
#[derive(Debug, Clone)]
pub struct WireCase {
    pub case: Case,
    /// What every invocation answered: `requested`, or `Blocked (<reason>)`.
    pub answered: String,
    pub invokes: usize,
    pub per_operation: PerInvocation,
    /// By `"<operation> <item kind>"` (`fault_proxy::item_kind`; a transaction by the kinds of its items).
    pub by_item: PerInvocation,
    /// The actions of its transactions by `"<action> <item kind>"` (`ConditionCheck guard#`).
    pub actions: PerInvocation,
    /// Write units DynamoDB Local reported, by `"<operation> <item kind>"`.
    pub units_by_item: PerInvocation,
    /// Calls taken from the budgets' counters by all of its invocations (read from the table before and after).
    pub counters_taken: u64,
}

impl WireCase {
    pub fn requests(&self) -> f64 {
        self.per_operation.iter().map(|(_, n)| n).sum::<f64>() + 0.0
    }

    pub fn of(&self, operation: &str) -> f64 {
        of(&self.per_operation, operation)
    }

    pub fn writes(&self) -> f64 {
        WRITE_OPERATIONS.iter().map(|op| self.of(op)).sum::<f64>() + 0.0
    }

    pub fn reads(&self) -> f64 {
        READ_OPERATIONS.iter().map(|op| self.of(op)).sum::<f64>() + 0.0
    }

    /// Requests on the guard's records (`guard#…`), per invocation.
    pub fn guard_requests(&self) -> f64 {
        self.by_item.iter().filter(|(item, _)| item.contains(GUARD_PREFIX)).map(|(_, n)| n).sum::<f64>() + 0.0
    }

    /// Write units of the guard's requests, per invocation, as DynamoDB Local reported them.
    pub fn guard_write_units(&self) -> f64 {
        self.units_by_item.iter().filter(|(item, _)| item.contains(GUARD_PREFIX)).map(|(_, n)| n).sum::<f64>() + 0.0
    }
}

#[derive(Debug, Clone)]
pub struct FraudGuard {
    /// In the order of [`Case`].
    pub wire: Vec<WireCase>,
    /// The trigger's handler with the guard, every budget.
    pub on: Samples,
    /// The same handler with the guard off (the number safe-listed).
    pub off: Samples,
    /// `GuardPolicy::admit` with every budget, alone, on the same store.
    pub admit: Samples,
    /// `GuardPolicy::admit` with no budget (the block check alone), on the same store.
    pub admit_block_check: Samples,
    /// A raw conditional `UpdateItem` of a counter, alone: one ordinary request on the same client.
    pub raw_update: Samples,
}

impl FraudGuard {
    pub fn case(&self, case: Case) -> Option<&WireCase> {
        self.wire.iter().find(|w| w.case == case)
    }

    /// Requests a case adds to the trigger without the guard, per invocation.
    pub fn added(&self, case: Case) -> f64 {
        match (self.case(case), self.case(Case::Off)) {
            (Some(with), Some(without)) => with.requests() - without.requests() + 0.0,
            _ => f64::NAN,
        }
    }
}

pub async fn measure(dynamodb: &DynamoLocal, rounds: usize) -> FraudGuard {
    let run = Run::start().await;
    eprintln!("bench: fraud guard: the trigger on the wire");
    let wire = run.wire(dynamodb).await;
    eprintln!("bench: fraud guard: the trigger with and without the guard, {rounds} rounds");
    let Latency { on, off, admit, admit_block_check, raw_update } = run.latency(dynamodb, rounds).await;
    FraudGuard { wire, on, off, admit, admit_block_check, raw_update }
}

/// The Huawei simulator and its client, shared by every trigger of the run.
struct Run {
    sim: voice_platform_sim::RunningSim,
    api: Arc<CallVerifyClient>,
    hash_key: String,
}

/// The one Huawei client behind every trigger of a run (one connection pool for the variants compared).
struct SharedApi(Arc<CallVerifyClient>);

impl VoiceApi for SharedApi {
    fn call_verify(
        &self,
        request: &CallRequest,
        code: &VerificationCode,
        timeout: Duration,
    ) -> impl Future<Output = Attempt> + Send {
        self.0.call_verify(request, code, timeout)
    }
}

/// A China mobile number of its own: `+86 13<series> <n, 8 digits>` (series 0–9), so that each series of a run has
/// its own number ranges (`PREFIX_DIGITS` 7: `8613<series>` and the first two digits of `n`).
fn number(series: usize, n: usize) -> String {
    assert!(series < 10 && n < 100_000_000, "a number of 11 digits");
    format!("+8613{series}{n:08}")
}

/// The guard with every budget, none of which a run reaches.
fn every_budget() -> GuardPolicy {
    GuardPolicy {
        prefix_limit: NEVER_REFUSES,
        country_limits: BTreeMap::from([("86".to_owned(), NEVER_REFUSES)]),
        daily_cap: NEVER_REFUSES,
        ..GuardPolicy::default()
    }
}

/// The trigger's settings as section 10 has them, with no per-callee window (`CALLEE_LIMITS=none`) and `guard`.
fn settings(guard: GuardPolicy, hash_key: &str) -> TriggerSettings {
    trigger_settings(RateLimits(Vec::new()), guard, hash_key)
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Waits past the turn of the hour when it is less than `margin` away, so that a case's budgets stay in one hour.
async fn clear_of_the_hour(margin: i64) {
    let into_hour = now().rem_euclid(3600);
    if 3600 - into_hour < margin {
        tokio::time::sleep(Duration::from_secs((3600 - into_hour + 1) as u64)).await;
    }
}

/// What an invocation answered, in short: `requested` or `Blocked (<reason>)`.
fn answered(result: &Result<voice_core::calls::TriggerAnswer, TriggerError>) -> String {
    match result {
        Ok(answer) => answer.status.to_owned(),
        Err(TriggerError::Blocked(message)) => {
            format!("Blocked ({})", message.split(':').next().unwrap_or_default())
        }
        Err(other) => format!("{} ({other})", other.error_type()),
    }
}

impl Run {
    async fn start() -> Self {
        // No delay anywhere in the simulator: callVerify answers at once, and the call's pushes follow at once (to
        // a closed port: only the trigger's own work is measured).
        let sim_config = SimConfig {
            listen: "127.0.0.1:0".parse().expect("address"),
            event_delay: Duration::ZERO,
            cdr_delay: Duration::ZERO,
            late_cdr_delay: Duration::ZERO,
            ..SimConfig::default()
        };
        let sim = voice_platform_sim::start(sim_config.clone()).await.expect("simulator starts");
        let credentials =
            AppCredentials { app_key: sim_config.app_key.clone(), app_secret: sim_config.app_secret.clone().into() };
        let url = encode_callback_url("http://127.0.0.1:9/voice/status").expect("a callback URL");
        let api = CallVerifyClient::new(&sim.base_url(), credentials, url.clone(), url).expect("a Huawei client");
        Self { sim, api: Arc::new(api), hash_key: sim_config.app_secret }
    }

    fn trigger(&self, store: DynamoStore, guard: GuardPolicy) -> TriggerService<DynamoStore, SharedApi> {
        TriggerService::new(store, SharedApi(self.api.clone()), settings(guard, &self.hash_key))
    }

    /// Every case through the metering proxy, on a table of its own.
    async fn wire(&self, dynamodb: &DynamoLocal) -> Vec<WireCase> {
        let direct = dynamodb.fresh_store().await.stamping_region("us-east-1");
        let proxy = FaultProxy::start(
            &dynamodb.endpoint(),
            FaultConfig { meter_capacity: true, count_items: true, ..FaultConfig::pass_through() },
        );
        let proxied = DynamoStore::new(client_at(&proxy.endpoint()).await, direct.table()).stamping_region("us-east-1");
        let received_before = self.sim.stats().call_verify.received;
        let mut cases = Vec::new();
        for (series, case) in
            [Case::Off, Case::BlockCheckOnly, Case::AllBudgets, Case::CountryRefused, Case::BudgetRefused]
                .into_iter()
                .enumerate()
        {
            let numbers: Vec<String> = match case {
                Case::CountryRefused => vec![ABROAD.to_owned(); INVOKES],
                _ => (1..=INVOKES).map(|n| number(series, n)).collect(),
            };
            let guard = match case {
                Case::Off => GuardPolicy { safe_numbers: numbers.iter().cloned().collect(), ..every_budget() },
                Case::BlockCheckOnly => GuardPolicy { prefix_limit: 0, ..GuardPolicy::default() },
                Case::AllBudgets | Case::CountryRefused => every_budget(),
                Case::BudgetRefused => GuardPolicy { prefix_limit: SPENT_LIMIT, ..every_budget() },
            };
            clear_of_the_hour(30).await;
            if case == Case::BudgetRefused {
                // The range's budget spent beforehand, off the wire: SPENT_LIMIT calls to another number of it.
                let spender = CalleeNumber::parse(number(series, 0)).expect("a number");
                for _ in 0..SPENT_LIMIT {
                    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
                    let refused = guard.admit(&direct, &spender, now(), deadline).await.expect("admitted");
                    assert_eq!(refused, None, "the range's budget is taken before its invocations");
                }
            }
            let trigger = self.trigger(proxied.clone(), guard);
            let counters_before = counters(&direct).await;
            let before = proxy.stats();
            let mut answers = BTreeSet::new();
            for callee in &numbers {
                let result = trigger.handle(json!({"calleeNbr": callee}), None).await;
                let expected = match case {
                    Case::CountryRefused => Some(Reason::CountryNotAllowed),
                    Case::BudgetRefused => Some(Reason::PrefixBudget),
                    _ => None,
                };
                match (&result, expected) {
                    (Ok(answer), None) => assert_eq!((answer.status, answer.replayed), ("requested", false)),
                    (Err(TriggerError::Blocked(message)), Some(reason)) => {
                        assert!(message.starts_with(reason.as_str()), "{}: {message}", case.label())
                    }
                    _ => panic!("{}: answered {result:?}", case.label()),
                }
                answers.insert(answered(&result));
            }
            let after = proxy.stats();
            let counters_taken = counters(&direct).await - counters_before;
            cases.push(wire_case(case, answers, &before, &after, counters_taken));
        }
        let placed = cases.iter().filter(|c| c.case.placed()).count() * INVOKES;
        let received = (self.sim.stats().call_verify.received - received_before) as usize;
        assert_eq!(received, placed, "callVerify was called once per placed call, never for a refused one");
        cases
    }

    /// The trigger with the guard and without it, the guard's admission alone (every budget, and none) and a raw
    /// single-item write, interleaved on fresh numbers.
    async fn latency(&self, dynamodb: &DynamoLocal, rounds: usize) -> Latency {
        // The number series of each variant (`number`), so that each has its own ranges.
        const SERIES: [usize; 4] = [5, 6, 7, 8];
        let store = dynamodb.fresh_store().await.stamping_region("us-east-1");
        let total = WARM_UP_ROUNDS + rounds;
        let off_numbers: BTreeSet<String> = (0..total).map(|n| number(SERIES[1], n)).collect();
        let on = self.trigger(store.clone(), every_budget());
        let off = self.trigger(store.clone(), GuardPolicy { safe_numbers: off_numbers, ..every_budget() });
        let block_check_only = GuardPolicy { prefix_limit: 0, ..GuardPolicy::default() };
        let admissions = [every_budget(), block_check_only];
        let mut samples: [Vec<Duration>; 5] = Default::default();
        let mut rng = StdRng::seed_from_u64(25);
        for round in 0..total {
            let numbers = SERIES.map(|series| number(series, round));
            let mut order = [0, 1, 2, 3, 4];
            order.shuffle(&mut rng);
            let mut timings = [Duration::ZERO; 5];
            for series in order {
                let started = Instant::now();
                match series {
                    0 | 1 => {
                        let trigger = if series == 0 { &on } else { &off };
                        let answer = trigger.handle(json!({"calleeNbr": numbers[series]}), None).await;
                        let answer = answer.unwrap_or_else(|e| panic!("round {round}, series {series}: {e}"));
                        assert_eq!(answer.status, "requested");
                    }
                    2 | 3 => {
                        let callee = CalleeNumber::parse(numbers[series].clone()).expect("a number");
                        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
                        let policy = &admissions[series - 2];
                        let refused = policy.admit(&store, &callee, now(), deadline).await.expect("admitted");
                        assert_eq!(refused, None, "round {round}: the guard alone admitted the call");
                    }
                    _ => raw_update(&store, round).await,
                }
                timings[series] = started.elapsed();
            }
            if round >= WARM_UP_ROUNDS {
                for (series, timing) in samples.iter_mut().zip(timings) {
                    series.push(timing);
                }
            }
        }
        let [on, off, admit, admit_block_check, raw_update] = samples.map(Samples::new);
        Latency { on, off, admit, admit_block_check, raw_update }
    }
}

/// One request of the kind the budgets' transaction holds, alone: a conditional `ADD` to a counter of its own
/// (`UpdateItem`, the same expression and condition as a budget's).
async fn raw_update(store: &DynamoStore, round: usize) {
    store
        .client()
        .update_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(format!("bench#raw#{round}")))
        .key("sk", AttributeValue::S("counter".to_owned()))
        .update_expression("ADD #count :one SET #kind = :kind, #ttl = :ttl")
        .condition_expression("attribute_not_exists(#count) OR #count < :limit")
        .expression_attribute_names("#count", "count")
        .expression_attribute_names("#kind", "kind")
        .expression_attribute_names("#ttl", EXPIRES_AT)
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .expression_attribute_values(":limit", AttributeValue::N(NEVER_REFUSES.to_string()))
        .expression_attribute_values(":kind", AttributeValue::S("counter".into()))
        .expression_attribute_values(":ttl", AttributeValue::N((now() + 86_400).to_string()))
        .send()
        .await
        .expect("raw UpdateItem");
}

/// The latency series.
struct Latency {
    on: Samples,
    off: Samples,
    admit: Samples,
    admit_block_check: Samples,
    raw_update: Samples,
}

fn wire_case(case: Case, answers: BTreeSet<String>, before: &ProxyStats, after: &ProxyStats, taken: u64) -> WireCase {
    WireCase {
        case,
        answered: answers.into_iter().collect::<Vec<_>>().join(", "),
        invokes: INVOKES,
        per_operation: per_invocation(&before.requests, &after.requests, INVOKES),
        by_item: per_invocation(&before.requests_by_item, &after.requests_by_item, INVOKES),
        actions: per_invocation(&before.transact_actions, &after.transact_actions, INVOKES),
        units_by_item: per_invocation(
            &before.capacity_milli_units_by_item,
            &after.capacity_milli_units_by_item,
            INVOKES,
        )
        .into_iter()
        .map(|(item, milli)| (item, milli / 1000.0))
        .collect(),
        counters_taken: taken,
    }
}

/// The calls counted by every budget counter of the table (`guard#…` records of kind `counter`), read directly.
async fn counters(store: &DynamoStore) -> u64 {
    let items: Vec<_> = store
        .client()
        .scan()
        .table_name(store.table())
        .filter_expression("begins_with(pk, :guard) AND #kind = :counter")
        .expression_attribute_names("#kind", "kind")
        .expression_attribute_values(":guard", AttributeValue::S(GUARD_PREFIX.to_owned()))
        .expression_attribute_values(":counter", AttributeValue::S("counter".to_owned()))
        .consistent_read(true)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("scan the counters");
    items
        .iter()
        .filter_map(|item| item.get("count").and_then(|n| n.as_n().ok()).and_then(|n| n.parse::<u64>().ok()))
        .sum()
}
