//! The cold-start harness of `make bench` (tools/test-support/src/measure/cold_start.rs) on the debug binaries: every round is a real
//! process answering through the fake Lambda Runtime API (and really writing to DynamoDB Local), and a function
//! that fails, at init or in its invocation, is reported as a failure instead of a time.

use std::collections::BTreeSet;
use std::time::Duration;

use integration_tests::events::{event_json, Envelope};
use integration_tests::measure::cold_start::{measure, ColdStart, Target};
use integration_tests::measure::{function_env, TOKEN};
use integration_tests::{debug_binary, fixture, DynamoLocal};
use serde_json::{json, Value};

const ROUNDS: usize = 2;
/// The sessionId of the fixture, replaced per round so that every round is a new notification.
const FIXTURE_SESSION: &str = "1201_612_4294967295_20190124030424@callenabler245.huaweicaas.com";

#[tokio::test(flavor = "multi_thread")]
async fn every_round_answers_and_stores_its_record() {
    let dynamodb = DynamoLocal::shared();
    let store = dynamodb.fresh_store().await;
    let env = callback_env(Some(store.table()), &dynamodb.endpoint());
    let targets = [hello_target(), status_target(env)];

    let results = measure(&targets, ROUNDS).await;

    assert_eq!(results.len(), 2);
    for result in &results {
        print_result(result);
        assert!(result.failures.is_empty(), "{}: {:#?}", result.name, result.failures);
        assert_eq!(result.ready.len(), ROUNDS, "{}", result.name);
        assert_eq!(result.answered.len(), ROUNDS, "{}", result.name);
        assert_eq!(result.answers.len(), ROUNDS, "{}", result.name);
        assert_eq!(result.peak_rss_kib.len(), ROUNDS, "{}", result.name);
        assert!(result.peak_rss_kib.iter().all(|&kib| kib > 0), "{}: {:?}", result.name, result.peak_rss_kib);
        assert!(result.ready.p50() > Duration::ZERO);
        assert!(result.ready.percentile(100.0) <= result.answered.percentile(100.0), "ready comes before the answer");
    }
    for answer in &results[0].answers {
        assert_eq!(answer["message"], "hello", "{answer}");
    }
    for answer in &results[1].answers {
        assert_eq!(answer["statusCode"], 200, "an API Gateway v2 response: {answer}");
        assert!(answer.get("headers").is_some(), "an API Gateway v2 response: {answer}");
    }

    let stored: BTreeSet<(String, String)> = store
        .all_records()
        .await
        .expect("read the table")
        .iter()
        .map(|r| (r["pk"].as_str().unwrap_or_default().to_owned(), r["sk"].as_str().unwrap_or_default().to_owned()))
        .collect();
    let expected: BTreeSet<(String, String)> =
        (0..ROUNDS).map(|round| (session_id(round), "event#callout".to_owned())).collect();
    assert_eq!(stored, expected, "one record per round, written by the cold process");
}

#[tokio::test(flavor = "multi_thread")]
async fn failing_functions_are_failures_not_times() {
    let dynamodb = DynamoLocal::shared();
    // Without TABLE_NAME, status-callback's configuration fails before the runtime starts: it exits.
    let mut no_table = status_target(callback_env(None, &dynamodb.endpoint()));
    no_table.name = "status-callback-without-table".into();
    // An event that is no API Gateway request (an array): lambda_http cannot read it, the runtime posts `/error`.
    let store = dynamodb.fresh_store().await;
    let mut not_http = status_target(callback_env(Some(store.table()), &dynamodb.endpoint()));
    not_http.name = "status-callback-not-http".into();
    not_http.event = Box::new(|round| json!(["not an HTTP request", round]));

    let results = measure(&[no_table, not_http], 1).await;

    for result in &results {
        print_result(result);
        assert!(result.ready.is_empty() && result.answered.is_empty(), "{}: a failure is no time", result.name);
        assert!(result.answers.is_empty() && result.peak_rss_kib.is_empty(), "{}", result.name);
        assert_eq!(result.failures.len(), 1, "{}: {:?}", result.name, result.failures);
        assert!(result.failures[0].contains("(log: "), "the failure names its log: {}", result.failures[0]);
    }
    let init = &results[0].failures[0];
    assert!(init.contains("exited") || init.contains("/init/error"), "{init}");
    let invocation = &results[1].failures[0];
    assert!(invocation.contains("/error") && !invocation.contains("/init/error"), "{invocation}");
    for failure in [init, invocation] {
        remove_log(failure);
    }
}

/// The harness keeps the log of a failed round for whoever reads the failure; here the failure was the point.
fn remove_log(failure: &str) {
    let path = failure.rsplit_once("(log: ").and_then(|(_, rest)| rest.strip_suffix(')')).expect("a log path");
    std::fs::remove_file(path).expect("the log of a failed round exists");
}

fn hello_target() -> Target {
    Target {
        name: "bench-hello-runtime".into(),
        binary: debug_binary("bench-hello-runtime"),
        env: Vec::new(),
        event: Box::new(|round| json!({ "round": round })),
    }
}

fn status_target(env: Vec<(String, String)>) -> Target {
    Target {
        name: "status-callback".into(),
        binary: debug_binary("status-callback"),
        env,
        event: Box::new(status_event),
    }
}

/// A callout push of its own per round, as API Gateway (HTTP API) delivers it.
fn status_event(round: usize) -> Value {
    let body = fixture("huawei/status-callout.json").replace(FIXTURE_SESSION, &session_id(round));
    let headers = [("content-type", "application/json;charset=UTF-8")];
    event_json(Envelope::HttpApi, "POST", &format!("/voice/status/{TOKEN}"), body.as_bytes(), false, &headers)
}

fn session_id(round: usize) -> String {
    format!("1201_612_{round}_20190124030424@cold-start.example.com")
}

/// The bench's callback environment, with or without `TABLE_NAME`.
fn callback_env(table: Option<&str>, endpoint: &str) -> Vec<(String, String)> {
    let mut env = function_env(table.unwrap_or_default(), endpoint);
    env.retain(|(name, _)| table.is_some() || name != "TABLE_NAME");
    env
}

fn print_result(result: &ColdStart) {
    println!(
        "{}: ready p50 {:?} max {:?}, answered p50 {:?} max {:?}, peak RSS {:?} KiB, failures {:?}",
        result.name,
        result.ready.p50(),
        result.ready.percentile(100.0),
        result.answered.p50(),
        result.answered.percentile(100.0),
        result.peak_rss_kib,
        result.failures
    );
}
