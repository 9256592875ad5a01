//! Metrics in CloudWatch Embedded Metric Format (EMF): JSON lines on stdout that CloudWatch Logs turns into
//! metrics, with no API call and nothing on an answer's path but one write at the end of the invocation.
//!
//! An edge runs each invocation inside [`emit_after`]; code below it calls [`count`] or [`record`] where a fact
//! is known (a push stored, a retry, an event published). The values of one invocation are summed per metric and
//! dimensions and written as one line per set of dimension values. Outside [`emit_after`] (unit tests, tools)
//! recording does nothing. An EMF line needs `_aws` at the top level of the JSON, so it is written beside the
//! tracing subscriber's lines, not through it. The metrics and their dimensions are listed in docs/operations.md,
//! "Metrics".

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::io::Write;
use std::sync::OnceLock;

use serde_json::{json, Map, Value};

/// The one namespace of every metric of the bundle.
pub const NAMESPACE: &str = "HuaweiVoice";

/// Every metric the functions emit. Each has one fixed set of dimensions besides `function`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Metric {
    /// A push, by `kind` and `result` (stored, duplicate, refused, storage_failed).
    Pushes,
    /// A refused push, by `result` = the error code of the answer.
    PushesRefused,
    /// The number of CDRs of a fee push.
    CdrsPerPush,
    /// Storage attempts retried after a transient error.
    StorageRetries,
    /// A trigger invocation, by `result` (placed, replayed, or the errorType).
    TriggerResults,
    /// A get-call-outcome invocation, by `result` (final, in_progress, or the errorType).
    OutcomeReads,
    /// A final outcome event published, by `result` = the call's status.
    FinalOutcomes,
    /// Outcome events published.
    EventsPublished,
    /// A `GET /health`, by `result` (healthy, unhealthy).
    HealthChecks,
    /// A record written to the peer region's replica because the home table failed, by `result` (stored,
    /// duplicate, failed).
    PeerWrites,
    /// A field of a push that did not parse, dropped from the typed record (kept in its raw JSON), by `field`.
    FieldsDropped,
    /// A quarantine record created: a push element whose identity could not be a key, kept whole.
    Quarantined,
    /// A conflict record created: a second, different payload under a key already stored.
    ConflictingDuplicates,
    /// A read of a call stopped at its bound (`outcome::MAX_CALL_RECORDS`).
    CallReadsTruncated,
    /// A verification whose first call was placed, by `country`: conversion's denominator.
    VerificationsStarted,
    /// A verification approved (by a code or the app's report), by `country`: conversion's numerator.
    VerificationsApproved,
    /// A code checked, by `country` and `result` (approved, wrong, expired, max_attempts_reached, canceled).
    VerificationChecks,
    /// Seconds from a verification's first send to its approval, by `country`.
    TimeToVerify,
    /// A call the fraud guard refused, by `result` = the reason (country_not_allowed, prefix_budget, …).
    GuardRefusals,
    /// A call the fraud guard would have refused in monitor mode, placed anyway, by `result` = the reason.
    GuardMonitored,
    /// A number range blocked for its low conversion.
    PrefixesBlocked,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Self::Pushes => "Pushes",
            Self::PushesRefused => "PushesRefused",
            Self::CdrsPerPush => "CdrsPerPush",
            Self::StorageRetries => "StorageRetries",
            Self::TriggerResults => "TriggerResults",
            Self::OutcomeReads => "OutcomeReads",
            Self::FinalOutcomes => "FinalOutcomes",
            Self::EventsPublished => "EventsPublished",
            Self::HealthChecks => "HealthChecks",
            Self::PeerWrites => "PeerWrites",
            Self::FieldsDropped => "FieldsDropped",
            Self::Quarantined => "Quarantined",
            Self::ConflictingDuplicates => "ConflictingDuplicates",
            Self::CallReadsTruncated => "CallReadsTruncated",
            Self::VerificationsStarted => "VerificationsStarted",
            Self::VerificationsApproved => "VerificationsApproved",
            Self::VerificationChecks => "VerificationChecks",
            Self::TimeToVerify => "TimeToVerify",
            Self::GuardRefusals => "GuardRefusals",
            Self::GuardMonitored => "GuardMonitored",
            Self::PrefixesBlocked => "PrefixesBlocked",
        }
    }

    /// The CloudWatch unit of its values.
    pub fn unit(self) -> &'static str {
        match self {
            Self::TimeToVerify => "Seconds",
            _ => "Count",
        }
    }
}

/// The dimensions of a value besides `function`: a metric is always recorded with the same ones present.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dimensions {
    pub kind: Option<&'static str>,
    pub result: Option<String>,
    /// A field name of Huawei's payload (only known fields: an unknown one never fails to parse).
    pub field: Option<String>,
    /// The callee's E.164 country calling code (never the number), or `unknown`.
    pub country: Option<String>,
}

impl Dimensions {
    pub fn none() -> Self {
        Self::default()
    }

    pub fn result(result: impl Into<String>) -> Self {
        Self { result: Some(result.into()), ..Self::default() }
    }

    pub fn kind_result(kind: &'static str, result: impl Into<String>) -> Self {
        Self { kind: Some(kind), result: Some(result.into()), ..Self::default() }
    }

    pub fn field(field: impl Into<String>) -> Self {
        Self { field: Some(field.into()), ..Self::default() }
    }

    pub fn country(country: impl Into<String>) -> Self {
        Self { country: Some(country.into()), ..Self::default() }
    }

    pub fn country_result(country: impl Into<String>, result: impl Into<String>) -> Self {
        Self { country: Some(country.into()), result: Some(result.into()), ..Self::default() }
    }

    fn names(&self) -> Vec<&'static str> {
        let mut names = vec!["function"];
        names.extend(self.kind.map(|_| "kind"));
        names.extend(self.result.as_ref().map(|_| "result"));
        names.extend(self.field.as_ref().map(|_| "field"));
        names.extend(self.country.as_ref().map(|_| "country"));
        names
    }
}

/// One invocation's values: per dimension values, per metric, the sum.
pub type Values = BTreeMap<Dimensions, BTreeMap<Metric, f64>>;

tokio::task_local! {
    static VALUES: RefCell<Values>;
}

/// Adds `value` to `metric` with `dimensions` in the current invocation.
pub fn record(metric: Metric, dimensions: Dimensions, value: f64) {
    let _outside_an_invocation = VALUES.try_with(|values| {
        *values.borrow_mut().entry(dimensions).or_default().entry(metric).or_default() += value;
    });
}

/// Counts one of `metric` with `dimensions` in the current invocation.
pub fn count(metric: Metric, dimensions: Dimensions) {
    record(metric, dimensions, 1.0);
}

/// Runs one invocation and returns what it recorded, summed, beside its output.
pub async fn collect<F: Future>(invocation: F) -> (F::Output, Values) {
    VALUES
        .scope(RefCell::new(Values::new()), async {
            let output = invocation.await;
            (output, VALUES.with(RefCell::take))
        })
        .await
}

/// Runs one invocation, then writes its metrics to stdout as EMF lines. Inside another [`emit_after`] or
/// [`collect`] (a test of an edge), the values go to that one instead.
pub async fn emit_after<F: Future>(invocation: F) -> F::Output {
    if VALUES.try_with(|_| ()).is_ok() {
        return invocation.await;
    }
    let (output, values) = collect(invocation).await;
    let Some(function) = function_name() else { return output };
    let timestamp_ms = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    let lines = emf_lines(function, &values, timestamp_ms as i64);
    if !lines.is_empty() {
        let mut text = lines.join("\n");
        text.push('\n');
        // One write: the runtime's log capture sees whole lines. A failed stdout cannot be reported anywhere.
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
    }
    output
}

/// The EMF lines of one invocation's values: one line per set of dimension values.
pub fn emf_lines(function: &str, values: &Values, timestamp_ms: i64) -> Vec<String> {
    values
        .iter()
        .map(|(dimensions, metrics)| {
            let definitions: Vec<Value> =
                metrics.keys().map(|metric| json!({"Name": metric.name(), "Unit": metric.unit()})).collect();
            let mut line = Map::new();
            line.insert(
                "_aws".into(),
                json!({
                    "Timestamp": timestamp_ms,
                    "CloudWatchMetrics": [{
                        "Namespace": NAMESPACE,
                        "Dimensions": [dimensions.names()],
                        "Metrics": definitions,
                    }],
                }),
            );
            line.insert("function".into(), function.into());
            if let Some(kind) = dimensions.kind {
                line.insert("kind".into(), kind.into());
            }
            if let Some(result) = &dimensions.result {
                line.insert("result".into(), result.as_str().into());
            }
            if let Some(field) = &dimensions.field {
                line.insert("field".into(), field.as_str().into());
            }
            if let Some(country) = &dimensions.country {
                line.insert("country".into(), country.as_str().into());
            }
            for (metric, value) in metrics {
                line.insert(metric.name().into(), json!(value));
            }
            Value::Object(line).to_string()
        })
        .collect()
}

/// The `function` dimension: the deployed function's name (Lambda sets `AWS_LAMBDA_FUNCTION_NAME`), so that two
/// stacks in one account keep their metrics apart. Outside Lambda (a test calling an edge in process) there is
/// no function, and nothing is written.
fn function_name() -> Option<&'static str> {
    static NAME: OnceLock<Option<String>> = OnceLock::new();
    NAME.get_or_init(|| std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok()).as_deref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_invocation_sums_its_values_per_metric_and_dimensions() {
        let ((), values) = collect(async {
            count(Metric::Pushes, Dimensions::kind_result("fee", "stored"));
            record(Metric::CdrsPerPush, Dimensions::none(), 3.0);
            count(Metric::StorageRetries, Dimensions::none());
            count(Metric::StorageRetries, Dimensions::none());
        })
        .await;
        let none = &values[&Dimensions::none()];
        assert_eq!((none[&Metric::CdrsPerPush], none[&Metric::StorageRetries]), (3.0, 2.0));
        assert_eq!(values[&Dimensions::kind_result("fee", "stored")][&Metric::Pushes], 1.0);
        assert_eq!(values.len(), 2);
    }

    #[tokio::test]
    async fn an_edge_inside_a_collect_hands_its_values_to_it() {
        let ((), values) = collect(emit_after(async { count(Metric::EventsPublished, Dimensions::none()) })).await;
        assert_eq!(values[&Dimensions::none()][&Metric::EventsPublished], 1.0);
    }

    #[test]
    fn recording_outside_an_invocation_does_nothing() {
        count(Metric::Pushes, Dimensions::kind_result("status", "stored"));
    }

    #[tokio::test]
    async fn a_line_is_emf_with_its_dimensions_at_the_top_level() {
        let ((), values) = collect(async {
            count(Metric::PushesRefused, Dimensions::result("unauthorized"));
            count(Metric::Pushes, Dimensions::kind_result("voice", "refused"));
        })
        .await;
        let lines = emf_lines("status-callback", &values, 1_700_000_000_000);
        let parsed: Vec<Value> = lines.iter().map(|line| serde_json::from_str(line).unwrap()).collect();
        let pushes = parsed.iter().find(|line| line.get("Pushes").is_some()).unwrap();
        assert_eq!(
            pushes,
            &json!({
                "_aws": {"Timestamp": 1_700_000_000_000_i64, "CloudWatchMetrics": [{
                    "Namespace": "HuaweiVoice",
                    "Dimensions": [["function", "kind", "result"]],
                    "Metrics": [{"Name": "Pushes", "Unit": "Count"}]}]},
                "function": "status-callback", "kind": "voice", "result": "refused", "Pushes": 1.0
            })
        );
        let refused = parsed.iter().find(|line| line.get("PushesRefused").is_some()).unwrap();
        let ((), values) = collect(async {
            record(Metric::TimeToVerify, Dimensions::country("86"), 42.0);
            count(Metric::VerificationChecks, Dimensions::country_result("86", "wrong"));
        })
        .await;
        let lines: Vec<Value> =
            emf_lines("check-verification", &values, 0).iter().map(|l| serde_json::from_str(l).unwrap()).collect();
        let time = lines.iter().find(|line| line.get("TimeToVerify").is_some()).unwrap();
        assert_eq!(
            time["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([{"Name": "TimeToVerify", "Unit": "Seconds"}])
        );
        assert_eq!((time["country"].as_str(), time["TimeToVerify"].as_f64()), (Some("86"), Some(42.0)));
        let checks = lines.iter().find(|line| line.get("VerificationChecks").is_some()).unwrap();
        assert_eq!(checks["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["function", "result", "country"]]));
        assert_eq!(refused["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([["function", "result"]]));
        assert_eq!((refused["result"].as_str(), refused.get("kind")), (Some("unauthorized"), None));
    }
}
