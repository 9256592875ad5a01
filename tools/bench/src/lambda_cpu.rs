//! Section 8: the functions at a Lambda-sized CPU. Lambda gives a function of M MB the share M / 1,769 of a vCPU;
//! the other sections run on whole cores. Here every function binary and the two floors (the hello-world
//! `bench-hello-runtime` and the empty `lambda_http` handler `bench-empty-http`) run on the whole machine, then
//! inside a cgroup with the CPU quota of 128, 256 and 512 MB (`test_support::measure::cpu_quota`): cold
//! starts, warm invocations of one kept process, and their billed durations
//! (`test_support::measure::lambda_cpu`). DynamoDB Local and the platform simulator stay outside the quota:
//! they play AWS and Huawei.
//!
//! Then one metered pass per function on the whole machine, through the metering proxy, gives the DynamoDB
//! requests and capacity units of one invocation, for the cost model (section 9).

use std::path::Path;

use serde_json::{json, Value};
use test_support::events::{event_json, Envelope};
use test_support::fault_proxy::{FaultConfig, FaultProxy, ProxyStats};
use test_support::measure::cold_start::{self, Target};
use test_support::measure::cpu_quota::{self, CpuCgroup, QuotaError, FULL_VCPU_MB};
use test_support::measure::lambda_cpu::{self as sized, Plan, SizedRun};
use test_support::measure::steady::Steadiness;
use test_support::measure::{function_env, HELLO_RUNTIME, TOKEN};
use test_support::DynamoLocal;
use voice_platform_sim::Config as SimConfig;

use crate::pushes::Pushes;
use crate::release_binary;

/// The memory sizes measured under a quota.
pub const MEMORY_SIZES_MB: [u64; 3] = [128, 256, 512];
/// The empty `lambda_http` handler, the floor of an HTTP function.
pub const EMPTY_HTTP: &str = "bench-empty-http";
/// The functions whose memory size is chosen here (outcome-publisher needs a stream batch and EventBridge: not
/// measured, see the section's text).
pub const FUNCTIONS: [&str; 5] =
    ["status-callback", "fee-callback", "sms-callback", "get-call-outcome", "trigger-verification-call"];
/// A size meets the latency goal when its warm p99 is within this factor of the whole machine's.
pub const WARM_P99_FACTOR: f64 = 1.5;
/// Processes per function in the metered pass.
const METERED_ROUNDS: usize = 5;
const WRITE_OPERATIONS: [&str; 4] = ["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"];
const READ_OPERATIONS: [&str; 3] = ["GetItem", "Query", "BatchGetItem"];
/// Event indexes of the metered pass, past those of the timed runs (a million per size); callee numbers stay
/// within 8 digits.
const METERED_EVENTS: usize = 90_000_000;
/// Fee pushes carry session ids of their own, apart from the status pushes'.
const FEE_SESSIONS: usize = 200_000_000;

/// Every binary at one CPU: a memory size under its quota, or the whole machine (`quota_us: None`).
#[derive(Debug, Clone)]
pub struct AtSize {
    /// The memory size the processes were told (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`); 1,769 on the whole machine.
    pub memory_mb: u64,
    pub quota_us: Option<u64>,
    pub runs: Vec<SizedRun>,
}

impl AtSize {
    pub fn run(&self, name: &str) -> Option<&SizedRun> {
        self.runs.iter().find(|run| run.name == name)
    }

    pub fn label(&self) -> String {
        match self.quota_us {
            Some(_) => format!("{} MB", self.memory_mb),
            None => "whole core".into(),
        }
    }
}

/// DynamoDB per invocation of one function, on the wire (new work every invocation).
#[derive(Debug, Clone, Default)]
pub struct Metered {
    pub name: String,
    pub writes: f64,
    pub reads: f64,
    pub write_units: f64,
    pub read_units: f64,
}

#[derive(Debug, Clone)]
pub struct LambdaCpu {
    pub cold_rounds: usize,
    pub warm: usize,
    pub whole_core: AtSize,
    /// The quota sizes, empty when skipped.
    pub sized: Vec<AtSize>,
    /// Why the quota sizes were not measured.
    pub skipped: Option<String>,
    pub metered: Vec<Metered>,
}

/// A function's memory size, chosen from the measured figures.
#[derive(Debug, Clone)]
pub struct Choice {
    pub function: String,
    pub memory_mb: u64,
    /// Cost per million warm invocations (Lambda only) at each quota size, with whether it meets the latency goal.
    pub per_size: Vec<(u64, f64, bool)>,
    pub cheapest_mb: u64,
}

impl LambdaCpu {
    /// Per function: the cheapest size whose warm p99 is within [`WARM_P99_FACTOR`] of the whole machine's; when
    /// none is, the size with the lowest warm p99. `None` when the quota sizes were skipped.
    pub fn choices(&self) -> Vec<Choice> {
        FUNCTIONS.iter().filter_map(|function| self.choose(function)).collect()
    }

    fn choose(&self, function: &str) -> Option<Choice> {
        let whole = self.whole_core.run(function)?;
        let goal = whole.warm.p99().as_secs_f64() * WARM_P99_FACTOR;
        let per_size: Vec<(u64, f64, bool, f64)> = self
            .sized
            .iter()
            .filter_map(|size| {
                let run = size.run(function).filter(|run| !run.warm.is_empty())?;
                let cost = crate::prices::lambda_invocation_usd(size.memory_mb, run.warm_billed_mean_ms()) * 1e6;
                let p99 = run.warm.p99().as_secs_f64();
                Some((size.memory_mb, cost, p99 <= goal, p99))
            })
            .collect();
        let by_cost = |a: &&(u64, f64, bool, f64), b: &&(u64, f64, bool, f64)| a.1.total_cmp(&b.1);
        let cheapest = per_size.iter().min_by(by_cost)?;
        let chosen = per_size
            .iter()
            .filter(|size| size.2)
            .min_by(by_cost)
            .or_else(|| per_size.iter().min_by(|a, b| a.3.total_cmp(&b.3)))?;
        Some(Choice {
            function: function.to_owned(),
            memory_mb: chosen.0,
            per_size: per_size.iter().map(|s| (s.0, s.1, s.2)).collect(),
            cheapest_mb: cheapest.0,
        })
    }

    pub fn metered(&self, function: &str) -> Option<&Metered> {
        self.metered.iter().find(|m| m.name == function)
    }
}

pub async fn measure(dynamodb: &DynamoLocal, steady: Steadiness, warm: usize) -> LambdaCpu {
    let warm = warm.min(sized::WARM_EVENTS_FROM - 1);
    let fixture = Fixture::start(dynamodb).await;
    let targets = fixture.targets(&dynamodb.endpoint(), 0);
    let run = test_support::unique_name("bench-cpu");
    let mut groups = Vec::new();
    let mut skipped = None;
    for memory_mb in MEMORY_SIZES_MB {
        match CpuCgroup::create(Path::new(cpu_quota::CGROUP_V1_CPU), &format!("{run}-{memory_mb}"), memory_mb) {
            Ok(group) => groups.push(group),
            Err(error) => {
                eprintln!("bench: lambda-sized CPU skipped: {}", skip_message(&error));
                skipped = Some(skip_message(&error));
                groups.clear();
                break;
            }
        }
    }
    // The whole machine and every size in each round (interleaved), every size with events of its own (a million
    // indexes apart), so no run repeats another's work.
    fn plan(size: usize, memory_mb: u64, cgroup: Option<&CpuCgroup>, cold_rounds: usize, warm: usize) -> Plan<'_> {
        Plan { memory_mb, cgroup, cold_rounds, warm, first_event: size * 1_000_000 }
    }
    let mut plans = vec![plan(0, FULL_VCPU_MB, None, steady.min_rounds, warm)];
    plans.extend(
        (1..).zip(&groups).map(|(size, group)| plan(size, group.memory_mb(), Some(group), steady.min_rounds, warm)),
    );
    for group in &groups {
        eprintln!(
            "bench: lambda-sized CPU: {} MB (quota {} µs of {} µs)",
            group.memory_mb(),
            group.quota_us(),
            cpu_quota::PERIOD_US
        );
    }
    eprintln!(
        "bench: lambda-sized CPU: whole core and {} sizes interleaved, {}–{} rounds until the halves agree within {:.0} %",
        groups.len(),
        steady.min_rounds,
        steady.max_rounds,
        steady.tolerance * 100.0
    );
    let mut measured = sized::measure_sizes(&targets, &plans, steady).await.into_iter().map(checked);
    let whole_core = AtSize { memory_mb: FULL_VCPU_MB, quota_us: None, runs: measured.next().unwrap_or_default() };
    let sized_runs = groups
        .iter()
        .zip(measured)
        .map(|(group, runs)| AtSize { memory_mb: group.memory_mb(), quota_us: Some(group.quota_us()), runs })
        .collect();
    eprintln!("bench: lambda-sized CPU: metered pass");
    let metered = fixture.metered(dynamodb).await;
    let cold_rounds = whole_core.runs.first().map_or(0, |run| run.rounds);
    LambdaCpu { cold_rounds, warm, whole_core, sized: sized_runs, skipped, metered }
}

fn skip_message(error: &QuotaError) -> String {
    format!(
        "no CPU quota could be set ({error}); the Lambda-sized rows need a writable cgroup v1 CPU controller (root)"
    )
}

/// Every round and invocation answered, each with its function's success.
fn checked(runs: Vec<SizedRun>) -> Vec<SizedRun> {
    for run in &runs {
        assert!(run.failures.is_empty(), "{} at {} MB failed: {:#?}", run.name, run.memory_mb, run.failures);
        for answer in &run.answers {
            assert!(right_answer(&run.name, answer), "{} answered {answer}: not a time of real work", run.name);
        }
    }
    runs
}

fn right_answer(name: &str, answer: &Value) -> bool {
    match name {
        HELLO_RUNTIME => answer["message"] == "hello",
        "trigger-verification-call" => answer["status"] == "requested" && answer["sessionId"].is_string(),
        "get-call-outcome" => answer["status"] == "busy" && answer["final"] == true,
        // API Gateway v2 answers of the callbacks and of the empty handler.
        _ => answer["statusCode"] == 200,
    }
}

/// The table, the finished call get-call-outcome reads, and the simulator the trigger calls.
struct Fixture {
    table: String,
    finished: String,
    sim: voice_platform_sim::RunningSim,
    sim_config: SimConfig,
    run: String,
}

impl Fixture {
    async fn start(dynamodb: &DynamoLocal) -> Self {
        let store = dynamodb.fresh_store().await;
        let finished =
            format!("1201_612_4294967295_20261121030424-{}@bench.example.com", test_support::unique_name("cpu"));
        crate::outcome_read::finished_call(&store, &finished, &test_support::unique_name("cpu-key")).await;
        let sim_config = SimConfig { listen: "127.0.0.1:0".parse().expect("address"), ..SimConfig::default() };
        let sim = voice_platform_sim::start(sim_config.clone()).await.expect("simulator starts");
        let run = test_support::unique_name("cpu");
        Self { table: store.table().to_owned(), finished, sim, sim_config, run }
    }

    /// The floors and the five functions, their DynamoDB at `endpoint`. Event `i` is new work for every `i`, and
    /// `event_base` moves the indexes (callee numbers, keys, session ids) of a pass away from another's.
    fn targets(&self, endpoint: &str, event_base: usize) -> Vec<Target> {
        let env = function_env(&self.table, endpoint);
        let mut trigger_env = env.clone();
        trigger_env.extend(
            [
                ("VOICE_API_BASE_URL", self.sim.base_url()),
                ("VOICE_APP_KEY", self.sim_config.app_key.clone()),
                ("VOICE_APP_SECRET", self.sim_config.app_secret.clone()),
                ("DISPLAY_NBR", "+8675528000088".into()),
                ("PRE_TONE", "welcome.wav".into()),
                // Every round calls a number of one range (+86139…): the guard's default PREFIX_LIMIT (20 an hour)
                // would refuse the 21st. The budget stays in the transaction, high enough never to refuse.
                ("PREFIX_LIMIT", "1000000".into()),
            ]
            .map(|(name, value)| (name.to_owned(), value)),
        );
        let pushes = Pushes::new(self.run.clone());
        let push = |route: &str, body: String| {
            event_json(Envelope::HttpApi, "POST", &format!("{route}/{TOKEN}"), body.as_bytes(), false, &[])
        };
        let (status, fee, sms) = (pushes.clone(), pushes.clone(), pushes);
        let finished = self.finished.clone();
        let keys = self.run.clone();
        vec![
            target(HELLO_RUNTIME, vec![], Box::new(|i| json!({"round": i}))),
            target(EMPTY_HTTP, vec![], Box::new(move |_| push("/", String::new()))),
            target(
                "status-callback",
                env.clone(),
                Box::new(move |i| push("/voice/status", status.status(event_base + i))),
            ),
            target(
                "fee-callback",
                env.clone(),
                // Other session ids than the status pushes': a CDR of its own per event.
                Box::new(move |i| {
                    push("/voice/fee", fee.fee(FEE_SESSIONS + event_base + i..FEE_SESSIONS + event_base + i + 1))
                }),
            ),
            target(
                "sms-callback",
                env.clone(),
                Box::new(move |i| push("/privacy-number/sms", sms.sms(event_base + i))),
            ),
            target("get-call-outcome", env, Box::new(move |_| json!({"sessionId": finished}))),
            target(
                "trigger-verification-call",
                trigger_env,
                Box::new(move |i| {
                    let i = event_base + i;
                    json!({"calleeNbr": format!("+86139{i:08}"), "verifyCode": "482913",
                           "idempotencyKey": format!("{keys}-{i}")})
                }),
            ),
        ]
    }

    /// One pass of each function on the whole machine, its DynamoDB through the metering proxy.
    async fn metered(&self, dynamodb: &DynamoLocal) -> Vec<Metered> {
        let proxy = FaultProxy::start(
            &dynamodb.endpoint(),
            FaultConfig { meter_capacity: true, ..FaultConfig::pass_through() },
        );
        let targets = self.targets(&proxy.endpoint(), METERED_EVENTS);
        let mut metered = Vec::new();
        for target in targets.into_iter().filter(|t| FUNCTIONS.contains(&t.name.as_str())) {
            let before = proxy.stats();
            let results = cold_start::measure(std::slice::from_ref(&target), METERED_ROUNDS).await;
            let after = proxy.stats();
            let answered = results.iter().map(|r| r.answers.len()).sum::<usize>().max(1) as f64;
            for result in &results {
                assert!(result.failures.is_empty(), "{} (metered) failed: {:#?}", result.name, result.failures);
            }
            let requests =
                |ops: &[&str]| ops.iter().map(|op| after.requests_of(op) - before.requests_of(op)).sum::<u64>();
            let units =
                |ops: &[&str]| ops.iter().map(|op| milli_units(&after, op) - milli_units(&before, op)).sum::<u64>();
            metered.push(Metered {
                name: target.name.clone(),
                writes: requests(&WRITE_OPERATIONS) as f64 / answered,
                reads: requests(&READ_OPERATIONS) as f64 / answered,
                write_units: units(&WRITE_OPERATIONS) as f64 / 1000.0 / answered,
                read_units: units(&READ_OPERATIONS) as f64 / 1000.0 / answered,
            });
        }
        metered
    }
}

fn milli_units(stats: &ProxyStats, operation: &str) -> u64 {
    stats.capacity_milli_units.get(operation).copied().unwrap_or(0)
}

fn target(name: &str, env: Vec<(String, String)>, event: Box<dyn Fn(usize) -> Value + Send + Sync>) -> Target {
    Target { name: name.to_owned(), binary: release_binary(name), env, event }
}
