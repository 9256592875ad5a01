//! List prices of the cost model (section 9), region us-east-1 (N. Virginia), on-demand, first pricing tier, no
//! free tier, no Savings Plans. Checked 2026-11-30 against the pages named on each constant; change them here
//! when AWS changes its prices (the report prints them with their source).

/// The region the prices are of.
pub const REGION: &str = "us-east-1";
/// When the prices were last checked.
pub const CHECKED: &str = "2026-11-30";

/// One named price with its source.
#[derive(Debug)]
pub struct Price {
    pub what: &'static str,
    /// US dollars per `unit`.
    pub usd: f64,
    pub unit: &'static str,
    pub source: &'static str,
}

/// Lambda duration on arm64 (Graviton), first 7.5 billion GB-s a month.
pub const LAMBDA_ARM64_GB_SECOND: Price = Price {
    what: "Lambda duration, arm64",
    usd: 0.000_013_333_4,
    unit: "GB-s",
    source: "https://aws.amazon.com/lambda/pricing/",
};

/// Lambda requests, any architecture.
pub const LAMBDA_REQUEST: Price = Price {
    what: "Lambda requests",
    usd: 0.20 / 1e6,
    unit: "request",
    source: "https://aws.amazon.com/lambda/pricing/",
};

/// API Gateway HTTP API, first 300 million requests a month (metered in 512 KB increments; a push is far below).
pub const HTTP_API_REQUEST: Price = Price {
    what: "API Gateway HTTP API requests",
    usd: 1.00 / 1e6,
    unit: "request",
    source: "https://aws.amazon.com/api-gateway/pricing/",
};

/// DynamoDB on-demand write request unit (Standard table class; a write of up to 1 KB).
pub const DYNAMODB_WRITE_UNIT: Price = Price {
    what: "DynamoDB on-demand write request units",
    usd: 0.625 / 1e6,
    unit: "WRU",
    source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
};

/// DynamoDB on-demand read request unit (a strongly consistent read of up to 4 KB).
pub const DYNAMODB_READ_UNIT: Price = Price {
    what: "DynamoDB on-demand read request units",
    usd: 0.125 / 1e6,
    unit: "RRU",
    source: "https://aws.amazon.com/dynamodb/pricing/on-demand/",
};

/// A global table's replicated write unit, charged in each other replica's region for every write; priced like
/// a write request unit.
pub const DYNAMODB_REPLICATED_WRITE_UNIT: Price = Price {
    what: "DynamoDB global tables replicated write request units",
    usd: 0.625 / 1e6,
    unit: "rWRU",
    source: "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/global-tables-billing.html",
};

/// EventBridge custom events put on an event bus (each 64 KB chunk of an event is one event).
pub const EVENTBRIDGE_CUSTOM_EVENT: Price = Price {
    what: "EventBridge custom events",
    usd: 1.00 / 1e6,
    unit: "event",
    source: "https://aws.amazon.com/eventbridge/pricing/",
};

/// EventBridge Scheduler invocations (one-time schedules fire once), after the free 14 million a month.
pub const SCHEDULER_INVOCATION: Price = Price {
    what: "EventBridge Scheduler invocations",
    usd: 1.00 / 1e6,
    unit: "invocation",
    source: "https://aws.amazon.com/eventbridge/pricing/",
};

/// SQS standard queue requests, after the free million a month (each 64 KB chunk of a message is one request). An
/// event a rule delivers to a queue is one `SendMessage` (EventBridge sends it; the delivery itself costs nothing
/// more on the EventBridge side, "Amazon EventBridge pricing"), then the consumer's `ReceiveMessage` and
/// `DeleteMessage`.
pub const SQS_REQUEST: Price = Price {
    what: "SQS standard queue requests",
    usd: 0.40 / 1e6,
    unit: "request",
    source: "https://aws.amazon.com/sqs/pricing/",
};

pub const ALL: [&Price; 9] = [
    &LAMBDA_ARM64_GB_SECOND,
    &LAMBDA_REQUEST,
    &HTTP_API_REQUEST,
    &DYNAMODB_WRITE_UNIT,
    &DYNAMODB_READ_UNIT,
    &DYNAMODB_REPLICATED_WRITE_UNIT,
    &EVENTBRIDGE_CUSTOM_EVENT,
    &SCHEDULER_INVOCATION,
    &SQS_REQUEST,
];

/// Lambda's cost of one invocation of `billed_ms` at `memory_mb` (duration and request), in US dollars.
pub fn lambda_invocation_usd(memory_mb: u64, billed_ms: f64) -> f64 {
    let gb_seconds = memory_mb as f64 / 1024.0 * billed_ms / 1000.0;
    gb_seconds * LAMBDA_ARM64_GB_SECOND.usd + LAMBDA_REQUEST.usd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_million_invocations_cost_their_gb_seconds_and_requests() {
        // 1e6 × 10 ms at 128 MB = 1,250 GB-s → $0.0166668, plus $0.20 of requests.
        let million = lambda_invocation_usd(128, 10.0) * 1e6;
        assert!((million - 0.216_666_75).abs() < 1e-6, "{million}");
        assert!((lambda_invocation_usd(1024, 1000.0) - (0.000_013_333_4 + 0.000_000_2)).abs() < 1e-12);
    }
}
