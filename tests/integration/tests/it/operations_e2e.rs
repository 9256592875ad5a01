//! Running the callbacks like production, end to end (`cargo lambda watch`, the real binaries, DynamoDB Local
//! behind the metering proxy): the EMF metric lines of a push of each kind and answer, the X-Ray trace id in
//! every log line of an invocation and on every DynamoDB request it makes, and `GET /health` answering from one
//! read of the table: healthy, then 503 when DynamoDB fails.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use integration_tests::fault_proxy::{FaultConfig, FaultProxy};
use integration_tests::{fixture, free_port, local_env, DynamoLocal, FunctionStack};
use serde_json::Value;

const TOKEN: &str = "ops-token-5d1e";

/// (function, metric, kind, result) → sum of the values of every EMF line of the logs. Each line is checked as
/// CloudWatch reads it: the namespace, every dimension a top-level string, every metric a top-level number.
fn emf_values(logs: &str) -> BTreeMap<(String, String, String, String), f64> {
    let mut values = BTreeMap::new();
    for line in logs.lines().filter(|line| line.contains("\"_aws\"")) {
        let line: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("EMF line is not JSON ({e}): {line}"));
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "HuaweiVoice", "{line}");
        assert!(line["_aws"]["Timestamp"].as_i64().is_some_and(|t| t > 1_600_000_000_000), "{line}");
        let dimensions = directive["Dimensions"][0].as_array().expect("one dimension set");
        let text = |name: &str| line.get(name).and_then(Value::as_str).map(str::to_owned);
        for name in dimensions {
            assert!(text(name.as_str().unwrap()).is_some(), "dimension {name} is not a top-level string: {line}");
        }
        for metric in directive["Metrics"].as_array().expect("metrics") {
            let name = metric["Name"].as_str().expect("metric name");
            assert_eq!(metric["Unit"], "Count", "{line}");
            let value = line[name].as_f64().unwrap_or_else(|| panic!("{name} is not a top-level number: {line}"));
            let key = (
                text("function").unwrap(),
                name.to_owned(),
                text("kind").unwrap_or_default(),
                text("result").unwrap_or_default(),
            );
            *values.entry(key).or_default() += value;
        }
    }
    values
}

fn key(function: &str, metric: &str, kind: &str, result: &str) -> (String, String, String, String) {
    (function.into(), metric.into(), kind.into(), result.into())
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_traces_and_health_of_the_callbacks() {
    let dynamodb = DynamoLocal::shared();
    let store = dynamodb.fresh_store().await;
    let proxy = FaultProxy::start(&dynamodb.endpoint(), FaultConfig { reject: 1.0, ..FaultConfig::pass_through() });
    proxy.set_faults(false);
    let env = local_env::function_env(
        store.table(),
        &proxy.endpoint(),
        &[("CALLBACK_TOKENS", TOKEN), ("SIGNATURE_MODE", "off"), ("STORE_RETRY_BUDGET_MS", "300")],
    );
    let stack = FunctionStack::start(free_port(), &local_env::as_pairs(&env));
    let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
    let post = |route: &str, body: String| {
        let request = http.post(stack.url(route)).header("content-type", "application/json;charset=UTF-8").body(body);
        let logs_at = stack.log_dir.display().to_string();
        async move {
            let response = request.send().await.unwrap_or_else(|e| panic!("{e}; logs in {logs_at}"));
            response.status().as_u16()
        }
    };
    let status = format!("/voice/status/{TOKEN}");
    let unknown = r#"{"eventType":"somethingNew","statusInfo":{"sessionId":"ops-unknown-1"}}"#;
    assert_eq!(post(&status, fixture("huawei/status-callout.json")).await, 200);
    assert_eq!(post(&status, fixture("huawei/status-callout.json")).await, 200);
    assert_eq!(post(&status, unknown.to_owned()).await, 200);
    assert_eq!(post("/voice/status/not-the-token", fixture("huawei/status-callout.json")).await, 401);
    assert_eq!(post(&format!("/voice/fee/{TOKEN}"), fixture("huawei/fee-verification.json")).await, 200);
    assert_eq!(post(&format!("/privacy-number/sms/{TOKEN}"), fixture("huawei/sms-notify.json")).await, 200);
    assert_eq!(post(&format!("/privacy-number/sms/{TOKEN}"), "{".to_owned()).await, 400);

    let health = http.get(stack.url("/health")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(health.text().await.unwrap(), r#"{"status":"healthy"}"#, "no token, no data");
    assert_eq!(proxy.stats().requests_of("GetItem"), 1, "one read of the table proves the path");

    // DynamoDB failing: the health check says so, and a status push is counted as a storage failure.
    proxy.set_faults(true);
    let started = std::time::Instant::now();
    let health = http.get(stack.url("/health")).send().await.unwrap();
    assert_eq!((health.status().as_u16(), health.text().await.unwrap()), (503, r#"{"status":"unavailable"}"#.into()));
    assert!(started.elapsed() < Duration::from_secs(5), "answered within its timeout: {:?}", started.elapsed());
    let lost = r#"{"eventType":"answer","statusInfo":{"sessionId":"ops-lost-1"}}"#;
    assert_eq!(post(&status, lost.to_owned()).await, 503);
    proxy.set_faults(false);

    let logs = stack.function_logs();
    let values = emf_values(&logs);
    let pushes: BTreeMap<_, _> = values.iter().filter(|(k, _)| k.1 == "Pushes").map(|(k, v)| (k.clone(), *v)).collect();
    let expected: BTreeMap<_, _> = [
        (key("status-callback", "Pushes", "status", "stored"), 1.0),
        (key("status-callback", "Pushes", "status", "duplicate"), 1.0),
        (key("status-callback", "Pushes", "unknown_event", "stored"), 1.0),
        (key("status-callback", "Pushes", "voice", "refused"), 1.0),
        (key("status-callback", "Pushes", "status", "storage_failed"), 1.0),
        (key("fee-callback", "Pushes", "fee", "stored"), 1.0),
        (key("sms-callback", "Pushes", "sms", "stored"), 1.0),
        (key("sms-callback", "Pushes", "sms", "refused"), 1.0),
    ]
    .into_iter()
    .collect();
    assert_eq!(pushes, expected, "one Pushes per push, by kind and answer (logs in {})", stack.log_dir.display());
    assert_eq!(values.get(&key("status-callback", "PushesRefused", "", "unauthorized")), Some(&1.0));
    assert_eq!(values.get(&key("sms-callback", "PushesRefused", "", "invalid_json")), Some(&1.0));
    assert_eq!(values.get(&key("fee-callback", "CdrsPerPush", "", "")), Some(&1.0));
    assert_eq!(values.get(&key("status-callback", "HealthChecks", "", "healthy")), Some(&1.0));
    assert_eq!(values.get(&key("status-callback", "HealthChecks", "", "unhealthy")), Some(&1.0));
    assert!(values.get(&key("status-callback", "StorageRetries", "", "")).is_some_and(|n| *n >= 1.0), "{values:?}");

    // Every log line of an invocation names its X-Ray trace (the runtime's span, outermost), and every DynamoDB
    // request carried one of those traces on to DynamoDB.
    let mut logged_roots = BTreeSet::new();
    let tracing_lines: Vec<Value> = logs
        .lines()
        .filter(|line| line.starts_with('{') && !line.contains("\"_aws\""))
        .map(|line| serde_json::from_str(line).expect("JSON log line"))
        .collect();
    let in_invocations: Vec<&Value> = tracing_lines.iter().filter(|line| line.get("spans").is_some()).collect();
    assert!(in_invocations.iter().any(|line| line["spans"][1]["name"] == "store"), "lines inside our own spans");
    for line in &in_invocations {
        let trace = line["spans"][0]["xrayTraceId"].as_str().unwrap_or_else(|| panic!("no trace id: {line}"));
        let root = trace.split(';').find_map(|part| part.strip_prefix("Root=")).expect("Root=");
        logged_roots.insert(root.to_owned());
    }
    let sent_roots = proxy.stats().trace_roots;
    assert!(!sent_roots.contains_key("-"), "a DynamoDB request without a trace header: {sent_roots:?}");
    for root in sent_roots.keys() {
        assert!(logged_roots.contains(root), "trace {root} on the wire but in no log line: {logged_roots:?}");
    }
}
