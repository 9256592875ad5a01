//! Section 9: what a million pushes of each kind, and a million verification calls end to end, cost on AWS at list
//! prices (`prices.rs`), from this run's figures: the billed durations of section 8 at each function's chosen
//! memory size, the DynamoDB units per request that sections 1 and 8 meter on the wire, and the events per call.
//! Beside it, the same work done the Powertools way (three writes per notification, section 1's baseline row).
//! When section 10 ran, a verification end to end too: the call's row (whose trigger, metered in section 8, starts
//! the verification with one more `UpdateItem`) plus one check, `check-verification`'s warm billed duration at the
//! template's memory size and the write units of its one `UpdateItem` as section 10 measured them. When section 12
//! ran, the same verification with its outcome read made one whole wait (`waitForFinalMs` 20000 on a call that does
//! not turn final in it), and with the read left out for the final event delivered to the app's SQS queue.

use crate::lambda_cpu::{LambdaCpu, FUNCTIONS};
use crate::prices::{self, Price};
use crate::write_cost::WriteCost;
use test_support::measure::{OUTCOME_MEMORY_MB, TEMPLATE_MEMORY_MB};

/// The status pushes of an answered call: callout, alerting, answer, disconnect (the fixtures
/// `tests/integration/fixtures/huawei/status-*.json`, and the load workload's calls).
pub const STATUS_PUSHES_PER_CALL: f64 = 4.0;
/// One CDR push per call (Huawei may merge up to 50 CDRs into one push; a push of one is the dearest case).
pub const CDR_PUSHES_PER_CALL: f64 = 1.0;
/// Events of an answered call: calling, ringing, answered, completed (provisional), completed (final), as
/// docs/app-backend.md, "Outcome events", lists them.
pub const EVENTS_PER_CALL: f64 = 5.0;
/// Stream records of a call: the trigger's call record, the four status events, the CDR.
pub const STREAM_RECORDS_PER_CALL: f64 = 6.0;
/// The two one-time close-out checks the trigger schedules per call (docs/app-backend.md, "Outcome events").
pub const CLOSE_OUT_CHECKS_PER_CALL: f64 = 2.0;
/// The events an app backend that waits for the final outcome takes from its queue instead: the final one (a rule
/// with the `final: [true]` filter of docs/operations.md, "Subscribing an app backend").
pub const FINAL_EVENTS_PER_CALL: f64 = 1.0;
/// SQS requests per delivered event: EventBridge's `SendMessage`, the backend's `ReceiveMessage` and
/// `DeleteMessage` (one each at low traffic; batches of up to 10 lower the last two).
pub const SQS_REQUESTS_PER_EVENT: f64 = 3.0;

/// Where a line's money goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Lambda,
    ApiGateway,
    DynamoDb,
    Replication,
    Events,
    Sqs,
}

pub const SERVICES: [Service; 6] =
    [Service::Lambda, Service::ApiGateway, Service::DynamoDb, Service::Replication, Service::Events, Service::Sqs];

impl Service {
    pub fn label(self) -> &'static str {
        match self {
            Service::Lambda => "Lambda",
            Service::ApiGateway => "API Gateway",
            Service::DynamoDb => "DynamoDB",
            Service::Replication => "2nd region",
            Service::Events => "EventBridge",
            Service::Sqs => "SQS",
        }
    }
}

/// One priced quantity of one unit of work.
#[derive(Debug, Clone)]
pub struct Line {
    pub service: Service,
    pub quantity: f64,
    pub price: &'static Price,
}

impl Line {
    fn usd(&self) -> f64 {
        self.quantity * self.price.usd
    }
}

/// One unit of work, ours and the Powertools way.
#[derive(Debug, Clone)]
pub struct Work {
    pub name: &'static str,
    pub ours: Vec<Line>,
    pub powertools: Vec<Line>,
}

impl Work {
    /// US dollars per million, for one service or (None) all.
    pub fn per_million(lines: &[Line], service: Option<Service>) -> f64 {
        // An empty f64 sum is -0.0; adding 0.0 keeps "$-0.00" out of the table.
        lines.iter().filter(|l| service.is_none_or(|s| l.service == s)).map(Line::usd).sum::<f64>() * 1e6 + 0.0
    }
}

/// Lambda figures of one function: memory size and mean billed ms of a warm invocation.
#[derive(Debug, Clone, Copy)]
pub struct Billed {
    pub memory_mb: u64,
    pub billed_ms: f64,
}

/// One check of a code (section 10): `check-verification`'s warm invocation and its one write.
#[derive(Debug, Clone, Copy)]
pub struct CheckCost {
    pub billed: Billed,
    /// Write units of its `UpdateItem`, as DynamoDB Local reported them.
    pub write_units: f64,
}

/// The function's name in the model's lists.
pub const CHECK_FUNCTION: &str = "check-verification";

/// `times` invocations of a function billed `b`: requests and GB-s.
fn lambda_lines(b: Billed, times: f64) -> Vec<Line> {
    vec![
        Line { service: Service::Lambda, quantity: times, price: &prices::LAMBDA_REQUEST },
        Line {
            service: Service::Lambda,
            quantity: times * b.memory_mb as f64 / 1024.0 * b.billed_ms / 1000.0,
            price: &prices::LAMBDA_ARM64_GB_SECOND,
        },
    ]
}

/// `units` write units, and as many replicated ones in the global table's second region.
fn write_lines(units: f64) -> Vec<Line> {
    vec![
        Line { service: Service::DynamoDb, quantity: units, price: &prices::DYNAMODB_WRITE_UNIT },
        Line { service: Service::Replication, quantity: units, price: &prices::DYNAMODB_REPLICATED_WRITE_UNIT },
    ]
}

/// One check: its invocation (app backends invoke it through the Lambda API: no API Gateway) and its write, at
/// least one unit (DynamoDB bills a write of up to 1 KB as one).
pub fn check_lines(check: &CheckCost) -> Vec<Line> {
    let mut lines = lambda_lines(check.billed, 1.0);
    lines.extend(write_lines(check.write_units.max(1.0)));
    lines
}

/// What starting a verification adds to the trigger: its one write of `write_units` (at least one unit).
pub fn start_lines(write_units: f64) -> Vec<Line> {
    write_lines(write_units.max(1.0))
}

#[derive(Debug, Clone)]
pub struct CostModel {
    pub works: Vec<Work>,
    /// Per function (FUNCTIONS order): what its Lambda lines use.
    pub billed: Vec<(String, Billed)>,
    /// Whether the sizes and durations are Lambda-sized (false: the quota was skipped, whole-core durations at
    /// the template's 256 MB).
    pub lambda_sized: bool,
    /// Queries of the publisher per stream record, and whether section 7 measured it in this run.
    pub publisher_queries_per_record: (f64, bool),
    /// The trigger's and the outcome read's DynamoDB per invocation, as metered in section 8.
    pub metered: Vec<crate::lambda_cpu::Metered>,
}

/// A function's memory size in infra/template.yaml: get-call-outcome its own, every other the `Globals` one.
pub fn memory_mb(function: &str) -> u64 {
    match function {
        "get-call-outcome" => OUTCOME_MEMORY_MB,
        _ => TEMPLATE_MEMORY_MB,
    }
}

/// One whole wait of get-call-outcome (section 12): its invocation at the function's size and its reads.
pub fn wait_lines(waiting: &crate::wait::Waiting) -> Vec<Line> {
    let size = waiting.at(OUTCOME_MEMORY_MB).or(waiting.sizes.first());
    let billed_ms = size.map(|s| s.wait_billed_mean_ms()).unwrap_or_default();
    let mut lines = lambda_lines(Billed { memory_mb: OUTCOME_MEMORY_MB, billed_ms }, 1.0);
    lines.push(Line {
        service: Service::DynamoDb,
        quantity: waiting.read_units_per_wait,
        price: &prices::DYNAMODB_READ_UNIT,
    });
    lines
}

/// The final event delivered to the app backend's queue and taken from it, instead of a read.
pub fn event_delivery_lines() -> Vec<Line> {
    vec![Line {
        service: Service::Sqs,
        quantity: FINAL_EVENTS_PER_CALL * SQS_REQUESTS_PER_EVENT,
        price: &prices::SQS_REQUEST,
    }]
}

/// Builds the model from this run. `queries_per_record`: section 7's figure when it ran; `check`: section 10's;
/// `waiting`: section 12's.
pub fn model(
    cpu: &LambdaCpu,
    write_cost: &WriteCost,
    queries_per_record: Option<f64>,
    check: Option<&CheckCost>,
    waiting: Option<&crate::wait::Waiting>,
) -> CostModel {
    let lambda_sized = FUNCTIONS.iter().all(|f| cpu.sized.iter().any(|s| s.memory_mb == memory_mb(f)));
    // Each function's warm invocation at its size, or on the whole core when the size was not measured.
    let at = |function: &str, memory_mb: u64| {
        let size = cpu.sized.iter().find(|s| s.memory_mb == memory_mb).unwrap_or(&cpu.whole_core);
        let billed_ms = size.run(function).map(|r| r.warm_billed_mean_ms()).unwrap_or_default();
        Billed { memory_mb, billed_ms }
    };
    let mut billed: Vec<(String, Billed)> =
        FUNCTIONS.iter().map(|function| ((*function).to_owned(), at(function, memory_mb(function)))).collect();
    // The publisher runs at the Globals size; get-call-outcome's invocation there stands in for its own.
    let publisher = at("get-call-outcome", TEMPLATE_MEMORY_MB);
    let of = |function: &str| billed.iter().find(|(f, _)| f == function).map(|(_, b)| *b).expect("a function");
    let lambda = lambda_lines;
    let writes = write_lines;
    let reads =
        |units: f64| vec![Line { service: Service::DynamoDb, quantity: units, price: &prices::DYNAMODB_READ_UNIT }];
    let push = |function: &str, units: f64| {
        let mut lines = vec![Line { service: Service::ApiGateway, quantity: 1.0, price: &prices::HTTP_API_REQUEST }];
        lines.extend(lambda(of(function), 1.0));
        lines.extend(writes(units));
        lines
    };
    let row = |index: usize| write_cost.callbacks.get(index).map(|r| r.new.write_units).unwrap_or(1.0);
    let (status_units, cdr_units, sms_units) = (row(0), row(1), row(2));
    // The Powertools pattern adds an idempotency record's put and completion to each notification's own write.
    let powertools_extra = (write_cost.powertools.new.write_units - status_units).max(0.0);
    let status = push("status-callback", status_units);
    let cdr = push("fee-callback", cdr_units);
    let sms = push("sms-callback", sms_units);
    let trigger = cpu.metered("trigger-verification-call").cloned().unwrap_or_default();
    let outcome = cpu.metered("get-call-outcome").cloned().unwrap_or_default();
    let units_per_query = if outcome.reads > 0.0 { outcome.read_units / outcome.reads } else { 1.0 };
    let (queries_per_record, measured) = queries_per_record.map_or((1.0, false), |q| (q, true));
    let mut call = lambda(of("trigger-verification-call"), 1.0);
    call.extend(writes(trigger.write_units));
    call.extend(reads(trigger.read_units));
    for _ in 0..STATUS_PUSHES_PER_CALL as usize {
        call.extend(status.clone());
    }
    for _ in 0..CDR_PUSHES_PER_CALL as usize {
        call.extend(cdr.clone());
    }
    let mut read = lambda(of("get-call-outcome"), 1.0);
    read.extend(reads(outcome.read_units));
    // The publisher: at low traffic one invocation per stream record (batching only lowers it), plus one per
    // close-out check; get-call-outcome's billed duration stands in for its own (one Query, the fold, a
    // PutEvents), which is not measured here.
    let publisher_invocations = STREAM_RECORDS_PER_CALL + CLOSE_OUT_CHECKS_PER_CALL;
    call.extend(lambda(publisher, publisher_invocations));
    call.extend(reads((STREAM_RECORDS_PER_CALL * queries_per_record + CLOSE_OUT_CHECKS_PER_CALL) * units_per_query));
    call.push(Line { service: Service::Events, quantity: EVENTS_PER_CALL, price: &prices::EVENTBRIDGE_CUSTOM_EVENT });
    call.push(Line {
        service: Service::Events,
        quantity: CLOSE_OUT_CHECKS_PER_CALL,
        price: &prices::SCHEDULER_INVOCATION,
    });
    // `call` is without the outcome read so far: the rows with a wait and with events replace it.
    let without_read = call.clone();
    call.extend(read);
    let with_powertools = |lines: &[Line], notifications: f64| {
        let mut lines = lines.to_vec();
        lines.extend(writes(powertools_extra * notifications));
        lines
    };
    let notifications_per_call = STATUS_PUSHES_PER_CALL + CDR_PUSHES_PER_CALL;
    let mut works = vec![
        Work { name: "status push", powertools: with_powertools(&status, 1.0), ours: status },
        Work { name: "fee push (1 CDR)", powertools: with_powertools(&cdr, 1.0), ours: cdr },
        Work { name: "SMS push", powertools: with_powertools(&sms, 1.0), ours: sms },
        Work {
            name: "verification call, end to end",
            powertools: with_powertools(&call, notifications_per_call),
            ours: call.clone(),
        },
    ];
    let check_part = check.map(check_lines).unwrap_or_default();
    if let Some(check) = check {
        // The start is in the call already (the trigger's metered writes); the check adds its invocation and its
        // write, the same either way (no idempotency record: the check's own step makes its retry safe).
        let mut verification = call;
        verification.extend(check_part.clone());
        let powertools = with_powertools(&verification, notifications_per_call);
        works.push(Work { name: "verification end to end (start, call, check)", powertools, ours: verification });
        billed.push((CHECK_FUNCTION.to_owned(), check.billed));
    }
    if let Some(waiting) = waiting {
        let mut waited = without_read.clone();
        waited.extend(wait_lines(waiting));
        waited.extend(check_part.clone());
        let mut evented = without_read;
        evented.extend(event_delivery_lines());
        evented.extend(check_part);
        let powertools = with_powertools(&waited, notifications_per_call);
        works.push(Work { name: "verification with one 20 s wait", powertools, ours: waited });
        let powertools = with_powertools(&evented, notifications_per_call);
        works.push(Work { name: "verification with events instead", powertools, ours: evented });
    }
    CostModel {
        works,
        billed,
        lambda_sized,
        publisher_queries_per_record: (queries_per_record, measured),
        metered: vec![trigger, outcome],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_check_is_one_invocation_and_at_least_one_replicated_write_unit() {
        // 1e6 × 3 ms at 512 MB = 1,500 GB-s → $0.0200001, plus $0.20 of requests; one WRU and one rWRU, $0.625 each.
        let check = CheckCost { billed: Billed { memory_mb: 512, billed_ms: 3.0 }, write_units: 0.5 };
        let lines = check_lines(&check);
        let lambda = Work::per_million(&lines, Some(Service::Lambda));
        assert!((lambda - 0.220_000_1).abs() < 1e-6, "{lambda}");
        assert_eq!(Work::per_million(&lines, Some(Service::ApiGateway)), 0.0, "invoked through the Lambda API");
        assert!((Work::per_million(&lines, Some(Service::DynamoDb)) - 0.625).abs() < 1e-9, "at least one unit");
        assert!((Work::per_million(&lines, Some(Service::Replication)) - 0.625).abs() < 1e-9);
        assert!((Work::per_million(&start_lines(1.0), None) - 1.25).abs() < 1e-9);
    }

    #[test]
    fn a_whole_wait_is_its_billed_time_at_get_call_outcomes_size_and_its_reads() {
        // 19.8 s at 128 MB = 2.475 GB-s → $33.00 + $0.20 of requests per million; 22 read units, $2.75.
        let waiting = crate::wait::tests::waiting(vec![crate::wait::tests::size(OUTCOME_MEMORY_MB, 70, 70)]);
        let lines = wait_lines(&waiting);
        let lambda = Work::per_million(&lines, Some(Service::Lambda));
        assert!((lambda - 33.200_165).abs() < 1e-3, "{lambda}");
        assert!((Work::per_million(&lines, Some(Service::DynamoDb)) - 2.75).abs() < 1e-9);
    }

    #[test]
    fn the_final_event_instead_of_a_read_is_three_sqs_requests() {
        // SendMessage by EventBridge, ReceiveMessage, DeleteMessage: 3 × $0.40 per million.
        let lines = event_delivery_lines();
        assert!((Work::per_million(&lines, Some(Service::Sqs)) - 1.20).abs() < 1e-9);
        assert_eq!(Work::per_million(&lines, Some(Service::Lambda)), 0.0);
    }
}
