//! `replay-unstored` end to end: the callback functions (real binaries under `cargo lambda watch`) run against a
//! DynamoDB that is down and log their NOT STORED lines; the tool, run as an operator would with those lines,
//! stores the status events through the push path into DynamoDB Local, reports the CDR, the SMS and the
//! privacy-number event as not replayable, stores nothing a second time, reads the `aws logs filter-log-events`
//! form alike, and exits 1 while storage still fails.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use integration_tests::{debug_binary, fixture, free_port, local_env, unique_name, DynamoLocal, FunctionStack};
use serde_json::{json, Value};
use voice_core::adapters::DynamoStore;
use voice_core::callbacks::replay::{read_input, Verdict};

/// Nothing listens on port 1 of the loopback: every DynamoDB request of the functions fails to connect.
const DYNAMODB_DOWN: &str = "http://127.0.0.1:1";

const UNKNOWN_EVENT: &str =
    r#"{"eventType":"recordReady","statusInfo":{"sessionId":"replay-unknown-1","caller":"+8613800000022"}}"#;
/// A privacy-number call event: its sessionId holds both numbers, so the logged copy cannot be keyed again.
const PRIVACY_CALLIN: &str = r#"{"eventType":"callin","statusInfo":{"sessionId":"+8613400007762_+8615000002131_4_627e5c1f","caller":"+8615000002131","called":"+8613400007762"}}"#;

/// The records the replay must write: (sessionId, sk, eventType) of each status push.
fn expected_records() -> BTreeSet<(String, String, String)> {
    [
        ("1201_612_4294967295_20190124030424@callenabler245.huaweicaas.com", "event#callout", "callout"),
        ("1200_366_0_20161228102743@callenabler.home1.com", "event#answer", "answer"),
        ("1202_1051_4294967295_20190124070250@callenabler246.huaweicaas.com", "event#disconnect", "disconnect"),
        ("replay-unknown-1", "event#recordReady", "recordReady"),
    ]
    .into_iter()
    .map(|(pk, sk, event)| (pk.to_owned(), sk.to_owned(), event.to_owned()))
    .collect()
}

/// Every push of the test, answered 503 with DynamoDB down; returns what the functions logged.
async fn unstored_pushes_logs() -> String {
    let env = local_env::function_env(
        &unique_name("calls-down"),
        DYNAMODB_DOWN,
        &[("STORE_RETRY_BUDGET_MS", "300"), ("SIGNATURE_MODE", "off")],
    );
    let stack = FunctionStack::start(free_port(), &local_env::as_pairs(&env));
    let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
    let pushes = [
        ("/voice/status", fixture("huawei/status-callout.json")),
        ("/voice/status", fixture("huawei/status-answer-double-space.json")),
        ("/voice/status", fixture("huawei/privacy-number-call-disconnect.json")),
        ("/voice/status", UNKNOWN_EVENT.to_owned()),
        ("/voice/status", PRIVACY_CALLIN.to_owned()),
        ("/voice/fee", fixture("huawei/fee-voice-callback.json")),
        ("/privacy-number/sms", fixture("huawei/sms-notify.json")),
    ];
    for (route, body) in pushes {
        let response = http
            .post(stack.url(route))
            .header("content-type", "application/json;charset=UTF-8")
            .body(body.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{route}: {e}; logs in {}", stack.log_dir.display()));
        assert_eq!(response.status().as_u16(), 503, "{route} {body}: storage is down");
    }
    stack.function_logs()
}

/// Runs the tool with `env` and `args`, `stdin` on its standard input.
fn replay_unstored(env: &[(String, String)], args: &[&Path], stdin: &str) -> Output {
    let mut child = Command::new(debug_binary("replay-unstored"))
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start replay-unstored");
    let mut input = child.stdin.take().unwrap();
    let text = stdin.to_owned();
    let writer = std::thread::spawn(move || input.write_all(text.as_bytes()));
    let output = child.wait_with_output().expect("replay-unstored runs");
    writer.join().unwrap().expect("stdin written");
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn totals(output: &Output) -> String {
    let text = stdout(output);
    let line = text.lines().find(|line| line.starts_with("stored ")).unwrap_or_else(|| panic!("no totals:\n{text}"));
    line.to_owned()
}

async fn records_of(store: &DynamoStore) -> Vec<Value> {
    let mut records = store.all_records().await.unwrap();
    records.sort_by_key(|r| (r["pk"].as_str().unwrap_or("").to_owned(), r["sk"].as_str().unwrap_or("").to_owned()));
    records
}

fn keys_of(records: &[Value]) -> BTreeSet<(String, String, String)> {
    let text = |record: &Value, name: &str| record[name].as_str().unwrap_or_default().to_owned();
    records.iter().map(|r| (text(r, "pk"), text(r, "sk"), text(r, "eventType"))).collect()
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(unique_name(name));
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn the_unstored_status_pushes_are_replayed_once_and_the_rest_is_reported() {
    let logs = unstored_pushes_logs().await;
    assert_eq!(logs.matches("NOT STORED").count(), 7, "one NOT STORED line per record:\n{logs}");
    let log_file = temp_file("not-stored.log", &logs);
    let dynamodb = DynamoLocal::shared();

    // The function logs as they are (JSON lines) into a fresh table.
    let store = dynamodb.fresh_store().await;
    let env = local_env::function_env(store.table(), &dynamodb.endpoint(), &[]);
    let first = replay_unstored(&env, &[&log_file], "");
    let report = stdout(&first);
    assert_eq!(first.status.code(), Some(0), "{report}\n{}", String::from_utf8_lossy(&first.stderr));
    assert_eq!(totals(&first), "stored 4, already there 0, not replayable 3, failed 0", "{report}");
    assert!(report.contains("not replayable by reason: cdr 1, masked_session_id 1, sms 1"), "{report}");
    let outcome_of = |report: &str, key: &str| {
        let line = report.lines().find(|line| line.contains(key)).unwrap_or_else(|| panic!("{key}:\n{report}"));
        line.to_owned()
    };
    assert!(outcome_of(&report, "/event#callout: ").ends_with(": stored"), "{report}");
    assert!(outcome_of(&report, "/cdr#CAE-20190124110424-12019775: ").contains("not replayable: a CDR"), "{report}");
    assert!(outcome_of(&report, "sms#sms-20201223090616-000001/").contains("not replayable: an SMS"), "{report}");
    assert!(outcome_of(&report, "+86134****7762_").contains("masked number"), "{report}");
    for number in ["13800000022", "13800000021", "13400007762", "15000002131", "13800000001"] {
        assert!(!report.contains(number), "a full number in the report:\n{report}");
    }
    let records = records_of(&store).await;
    assert_eq!(keys_of(&records), expected_records(), "exactly the status events, under their own sessionIds");
    // What was logged is what is stored: the payload with its numbers masked (the documented limit of a replay).
    let callout = records.iter().find(|r| r["sk"] == "event#callout").unwrap();
    assert_eq!(callout["caller"], "+86138****0022");
    assert!(!callout["raw"].as_str().unwrap().contains("13800000022"));

    // Again: nothing new, nothing changed.
    let second = replay_unstored(&env, &[&log_file], "");
    assert_eq!(second.status.code(), Some(0), "{}", stdout(&second));
    assert_eq!(totals(&second), "stored 0, already there 4, not replayable 3, failed 0", "{}", stdout(&second));
    assert_eq!(records_of(&store).await, records, "the table is unchanged");

    // The same lines as `aws logs filter-log-events` prints them (one JSON document), on stdin, into another table.
    let events: Vec<Value> = logs
        .lines()
        .enumerate()
        .map(|(i, line)| {
            json!({"logStreamName": "2024/05/01/[$LATEST]0a1b2c", "timestamp": 1_714_557_600_000_i64 + i as i64,
                   "message": format!("{line}\n"), "ingestionTime": 1_714_557_600_500_i64 + i as i64,
                   "eventId": format!("{:056}", i)})
        })
        .collect();
    let filtered = serde_json::to_string_pretty(&json!({"events": events, "searchedLogStreams": []})).unwrap();
    let other = dynamodb.fresh_store().await;
    let other_env = local_env::function_env(other.table(), &dynamodb.endpoint(), &[]);
    let from_events = replay_unstored(&other_env, &[], &filtered);
    assert_eq!(from_events.status.code(), Some(0), "{}", stdout(&from_events));
    assert_eq!(
        totals(&from_events),
        "stored 4, already there 0, not replayable 3, failed 0",
        "{}",
        stdout(&from_events)
    );
    assert!(stdout(&from_events).contains("- event "), "entries named by their event:\n{}", stdout(&from_events));
    assert_eq!(keys_of(&records_of(&other).await), expected_records());

    // Storage still down: every replayable payload fails (exit 1) and is logged NOT STORED again on stderr, in the
    // form the tool reads, so that run's stderr can be replayed later.
    let down_env =
        local_env::function_env(&unique_name("calls-down"), DYNAMODB_DOWN, &[("STORE_RETRY_BUDGET_MS", "300")]);
    let failed = replay_unstored(&down_env, &[&log_file], "");
    assert_eq!(failed.status.code(), Some(1), "{}", stdout(&failed));
    assert_eq!(totals(&failed), "stored 0, already there 0, not replayable 3, failed 4", "{}", stdout(&failed));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    let again = read_input(&stderr);
    assert_eq!(again.entries.iter().filter(|(_, e)| matches!(e.verdict, Verdict::Replay(_))).count(), 4, "{stderr}");

    std::fs::remove_file(log_file).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_input_stops_the_run_before_anything_is_stored() {
    let dynamodb = DynamoLocal::shared();
    let store = dynamodb.fresh_store().await;
    let env = local_env::function_env(store.table(), &dynamodb.endpoint(), &[]);
    let line = r#"{"level":"ERROR","fields":{"message":"NOT STORED: replay this payload once storage is back","error":"x","kind":"Event","payload":"{\"eventType\":\"answer\",\"statusInfo\":{\"sessionId\":\"s-unread-1\"}}"},"spans":[{"name":"store","sessionId":"s-unread-1","sk":"event#answer"}]}"#;
    let readable = temp_file("not-stored.log", line);
    let missing = std::env::temp_dir().join(unique_name("no-such-file"));
    let output = replay_unstored(&env, &[&readable, &missing], "");
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read"), "{output:?}");
    assert_eq!(stdout(&output), "", "no report: nothing was replayed");
    assert!(records_of(&store).await.is_empty());

    // The readable file alone: its one status event is stored.
    let output = replay_unstored(&env, &[&readable], "");
    assert_eq!(totals(&output), "stored 1, already there 0, not replayable 0, failed 0", "{output:?}");
    assert_eq!(records_of(&store).await.len(), 1);
    std::fs::remove_file(readable).unwrap();
}
