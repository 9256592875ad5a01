//! Outcome events end to end, on real parts: calls placed through trigger-verification-call against the
//! simulator, their records in DynamoDB Local, the table's own DynamoDB Local stream read by the stream pump and
//! handed to outcome-publisher under `cargo lambda watch`, the events put on moto's EventBridge and read back
//! from the SQS queue its rule targets — as an app backend would. Close-out checks are the schedules the trigger
//! created in moto's Scheduler, fired by the stand-in at the time a test says it is.

use std::collections::BTreeMap;
use std::time::Duration;

use integration_tests::contract::{self, CheckedInvoke};
use integration_tests::{MotoServer, OutcomeBus, ScheduleRunner, StreamPump, HOME_REGION};
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::trigger_e2e::{assert_logs_hold_no_callee_or_code, call, start, Loop, CODE, TOKEN};

struct Outcomes {
    call_loop: Loop,
    bus: OutcomeBus,
    schedules: ScheduleRunner,
    pump: StreamPump,
    /// The `Verification Status Changed` events read so far (`publish` answers the calls' events).
    verifications: Vec<Value>,
}

async fn start_with_events() -> Outcomes {
    let moto = MotoServer::shared();
    let (bus, schedules) = (OutcomeBus::create(moto).await, ScheduleRunner::create(moto).await);
    let moto_env = moto.function_env();
    let mut env: Vec<(&str, &str)> = moto_env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.extend([
        ("EVENT_BUS_NAME", bus.name.as_str()),
        ("CLOSE_OUT_SCHEDULE_GROUP", schedules.group.as_str()),
        ("CLOSE_OUT_TARGET_ARN", "arn:aws:lambda:us-east-1:123456789012:function:outcome-publisher"),
        ("CLOSE_OUT_ROLE_ARN", "arn:aws:iam::123456789012:role/close-out-scheduler"),
    ]);
    let call_loop = start(&env).await;
    let endpoint = integration_tests::DynamoLocal::shared().endpoint();
    let pump = StreamPump::open(&endpoint, call_loop.store.table(), HOME_REGION).await;
    Outcomes { call_loop, bus, schedules, pump, verifications: Vec::new() }
}

impl Outcomes {
    /// Hands everything new on the stream to outcome-publisher; returns the events now on the app's queue.
    async fn publish(&mut self) -> Vec<Value> {
        let stack = &self.call_loop.stack;
        let report = self
            .pump
            .pump(
                |batch| async move { stack.invoke_checked("outcome-publisher", &batch).await.expect("a batch answer") },
            )
            .await;
        assert!(report.set_aside.is_empty(), "no record left failing: {report:?}");
        let mut calls = Vec::new();
        for envelope in self.bus.drain().await {
            // The whole event against its schemas: the envelope's, the detail's and the registry's (Draft 4).
            contract::check_event(&envelope);
            match envelope["detail-type"].as_str() {
                Some("Call Outcome Changed") => calls.push(envelope["detail"].clone()),
                Some("Verification Status Changed") => self.verifications.push(envelope["detail"].clone()),
                other => panic!("an event of an unknown type {other:?}: {envelope}"),
            }
        }
        calls
    }

    async fn place(&self, callee: &str) -> String {
        let answer = self
            .call_loop
            .stack
            .invoke_checked("trigger-verification-call", &call(callee, None))
            .await
            .expect("placed");
        answer["sessionId"].as_str().expect("a sessionId").to_owned()
    }

    async fn outcome(&self, session_id: &str, wait_ms: u64) -> Value {
        let event = json!({"sessionId": session_id, "waitForFinalMs": wait_ms});
        self.call_loop.stack.invoke_checked("get-call-outcome", &event).await.expect("an outcome")
    }

    /// Fires the close-out checks due `minutes` from now through outcome-publisher, as Scheduler would.
    async fn fire_close_outs(&self, minutes: i64) -> Vec<Value> {
        let stack = &self.call_loop.stack;
        let now = OffsetDateTime::now_utc() + time::Duration::minutes(minutes);
        self.schedules
            .fire_due(now, |input| async move {
                stack.invoke_checked("outcome-publisher", &input).await.expect("the check ran");
            })
            .await
    }
}

/// Events by call, in version order, as (status, final, version).
fn by_call(events: &[Value]) -> BTreeMap<String, Vec<(String, bool, u64)>> {
    let mut calls: BTreeMap<String, Vec<(String, bool, u64)>> = BTreeMap::new();
    for event in events {
        let session = event["sessionId"].as_str().expect("sessionId").to_owned();
        let version = event["version"].as_u64().expect("version");
        assert_eq!(event["outcomeId"], format!("{session}#{version}").as_str(), "{event}");
        let entry = (event["status"].as_str().unwrap().to_owned(), event["final"].as_bool().unwrap(), version);
        calls.entry(session).or_default().push(entry);
    }
    for events in calls.values_mut() {
        events.sort_by_key(|e| e.2);
    }
    calls
}

fn steps(events: &[(String, bool, u64)]) -> Vec<String> {
    events
        .iter()
        .map(|(status, is_final, _)| if *is_final { format!("{status} final") } else { status.clone() })
        .collect()
}

/// Callee suffix → the events its call publishes (the disconnect's stateCode decides provisionally, the CDR
/// finally: docs/huawei-protocol.md, "How a call ended").
const SCENARIOS: [(&str, &[&str]); 11] = [
    ("+8613800000001", &["calling", "ringing", "answered", "completed", "completed final"]),
    ("+8613800008101", &["calling", "ringing", "no_answer", "no_answer final"]),
    ("+8613800008102", &["calling", "busy", "busy final"]),
    ("+8613800008004", &["calling", "ringing", "rejected", "rejected final"]),
    ("+8613800008104", &["calling", "unreachable", "unreachable final"]),
    ("+8613800008100", &["calling", "invalid_number", "invalid_number final"]),
    ("+8613800007001", &["calling", "blocked", "blocked final"]),
    ("+8613800008000", &["calling", "failed", "failed final"]),
    // stateCode 8001 says failed; the bill's only cause, SIP 486, says busy.
    ("+8613800000486", &["calling", "failed", "busy final"]),
    // Every status push lost: only the bill speaks.
    ("+8613800000404", &["completed final"]),
    ("+8613800000777", &["calling", "ringing", "answered", "completed", "completed final"]),
];

#[tokio::test(flavor = "multi_thread")]
async fn every_scenario_publishes_its_changes_and_exactly_one_final_event() {
    let mut outcomes = start_with_events().await;
    let mut sessions = Vec::new();
    for (callee, _) in SCENARIOS {
        let session_id = outcomes.place(callee).await;
        let outcome = outcomes.outcome(&session_id, 15_000).await;
        assert_eq!(outcome["final"], true, "{callee}: {outcome}");
        sessions.push((session_id, outcome));
    }
    let events = outcomes.publish().await;
    let calls = by_call(&events);
    assert_eq!(calls.len(), SCENARIOS.len(), "one event stream per call: {calls:?}");
    for ((callee, expected), (session_id, outcome)) in SCENARIOS.iter().zip(&sessions) {
        let published = calls.get(session_id).unwrap_or_else(|| panic!("{callee}: no event"));
        assert_eq!(steps(published), *expected, "{callee}");
        let finals: Vec<_> = published.iter().filter(|e| e.1).collect();
        assert_eq!(finals.len(), 1, "{callee}: exactly one final event");
        let last = published.last().unwrap();
        assert_eq!(
            (last.0.as_str(), last.2),
            (outcome["status"].as_str().unwrap(), outcome["version"].as_u64().unwrap()),
            "{callee}: the final event is what get-call-outcome answers"
        );
    }

    // Nothing new stored: nothing published.
    assert!(outcomes.publish().await.is_empty());
    // The same records delivered again from the stream's start (a replay, a re-delivered batch): the same
    // events, with the same ids, for consumers to dedupe.
    let stack_table = outcomes.call_loop.store.table().to_owned();
    let endpoint = integration_tests::DynamoLocal::shared().endpoint();
    outcomes.pump = StreamPump::open(&endpoint, &stack_table, HOME_REGION).await;
    let again = outcomes.publish().await;
    let ids = |events: &[Value]| {
        let mut ids: Vec<String> = events.iter().map(|e| e["outcomeId"].as_str().unwrap().to_owned()).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&again), ids(&events));

    // Each placed call has its two close-out checks scheduled; they find the calls final and publish nothing.
    let schedules = outcomes.schedules.schedules().await;
    assert_eq!(schedules.len(), 2 * SCENARIOS.len(), "{schedules:?}");
    let fired = outcomes.fire_close_outs(7 * 60 + 1).await;
    assert_eq!(fired.len(), 2 * SCENARIOS.len());
    assert!(outcomes.publish().await.is_empty(), "a final call is not closed out");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_never_heard_of_again_ends_unknown_and_final_and_a_late_bill_corrects_it() {
    let mut outcomes = start_with_events().await;
    let session_id = outcomes.place("+8613800000204").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(outcomes.publish().await.is_empty(), "requested is no change");

    // The provisional deadline (10 min) only: in progress becomes unknown, not final.
    let fired = outcomes.fire_close_outs(11).await;
    assert_eq!(fired, vec![json!({"closeOut": "provisional", "sessionId": session_id})]);
    assert_eq!(steps(&by_call(&outcomes.publish().await)[&session_id]), ["unknown"]);
    // The final deadline (420 min): unknown, final.
    assert_eq!(outcomes.fire_close_outs(7 * 60 + 1).await.len(), 1);
    let final_events = by_call(&outcomes.publish().await);
    assert_eq!(steps(&final_events[&session_id]), ["unknown final"]);
    let outcome = outcomes.outcome(&session_id, 0).await;
    assert_eq!(
        (outcome["status"].as_str(), outcome["final"].as_bool(), outcome["decidedBy"].as_str()),
        (Some("unknown"), Some(true), Some("closeout"))
    );

    // Huawei's sixth re-push of the bill, hours later: the correction, with a greater version.
    let bill = json!({"eventType": "fee", "feeLst": [{"sessionId": session_id, "icid": "i-late", "callOutUnaswRsn": 17,
        "ulFailReason": 518, "sipStatusCode": 486}]});
    let url = outcomes.call_loop.stack.url(&format!("/lambda-url/fee-callback/{TOKEN}"));
    let answer = reqwest::Client::new().post(url).json(&bill).send().await.expect("pushed");
    assert_eq!(answer.status(), 200);
    let correction = by_call(&outcomes.publish().await);
    let correction = &correction[&session_id];
    assert_eq!(steps(correction), ["busy final"]);
    assert!(correction[0].2 > final_events[&session_id][0].2, "the correction's version is greater");
}

#[tokio::test(flavor = "multi_thread")]
async fn records_of_another_region_and_unreadable_records_publish_nothing_and_block_nothing() {
    let mut outcomes = start_with_events().await;
    let client = integration_tests::DynamoLocal::shared().client().await;
    let table = outcomes.call_loop.store.table().to_owned();
    let item = |pk: &str, sk: &str, region: &str, kind: &str| {
        use aws_sdk_dynamodb::types::AttributeValue::S;
        let fields =
            [("pk", pk), ("sk", sk), ("kind", kind), ("writtenRegion", region), ("receivedAt", "2026-11-21T03:04:24Z")];
        fields.into_iter().map(|(k, v)| (k.to_owned(), S(v.to_owned()))).collect::<std::collections::HashMap<_, _>>()
    };
    // The peer region's callout (its stream publishes it there), then a poison record (an event without its
    // type), then a callout of ours.
    for (pk, region, kind) in [("peer-call", "eu-west-1", "event"), ("poison", HOME_REGION, "event")] {
        client
            .put_item()
            .table_name(&table)
            .set_item(Some(item(pk, "event#callout", region, kind)))
            .send()
            .await
            .unwrap();
    }
    let mut ours = item("our-call", "event#callout", HOME_REGION, "event");
    ours.insert("eventType".into(), aws_sdk_dynamodb::types::AttributeValue::S("callout".into()));
    ours.insert("sessionId".into(), aws_sdk_dynamodb::types::AttributeValue::S("our-call".into()));
    client.put_item().table_name(&table).set_item(Some(ours)).send().await.unwrap();

    let events = by_call(&outcomes.publish().await);
    assert_eq!(events.keys().collect::<Vec<_>>(), ["our-call"], "{events:?}");
    assert_eq!(steps(&events["our-call"]), ["calling"]);
}

/// A verification end to end: started with the app's code through the trigger, its call's outcome mirrored into
/// it by the publisher, a wrong and a right code checked through check-verification, and its approval announced
/// once as `Verification Status Changed` — the stream's MODIFY with both images, as DynamoDB delivers it.
#[tokio::test(flavor = "multi_thread")]
async fn a_verification_is_checked_and_its_approval_announced_once_with_its_call() {
    let mut outcomes = start_with_events().await;
    let stack = &outcomes.call_loop.stack;
    let start = json!({"calleeNbr": "+8613800000001", "verifyCode": CODE, "verificationId": "e2e-signup"});
    let placed = stack.invoke_checked("trigger-verification-call", &start).await.expect("placed");
    assert_eq!(placed["verificationId"], "e2e-signup");
    let session_id = placed["sessionId"].as_str().expect("a sessionId").to_owned();
    assert_eq!(outcomes.outcome(&session_id, 15_000).await["final"], true);
    outcomes.publish().await;
    assert!(outcomes.verifications.is_empty(), "a start ends nothing: {:?}", outcomes.verifications);

    let stack = &outcomes.call_loop.stack;
    let check = |code: &str| json!({"verificationId": "e2e-signup", "code": code});
    let wrong = stack.invoke_checked("check-verification", &check("000000")).await.expect("an answer");
    assert_eq!((wrong["status"].as_str(), wrong["attemptsLeft"].as_u64()), (Some("pending"), Some(4)), "{wrong}");
    let right = stack.invoke_checked("check-verification", &check(CODE)).await.expect("an answer");
    assert_eq!((right["status"].as_str(), right["valid"].as_bool()), (Some("approved"), Some(true)), "{right}");
    let calls = right["calls"].as_array().expect("calls");
    assert_eq!(calls.len(), 1, "{right}");
    assert_eq!((calls[0]["sessionId"].as_str(), calls[0]["final"].as_bool()), (Some(session_id.as_str()), Some(true)));
    let missing = stack.invoke_checked("check-verification", &json!({"verificationId": "nobody", "code": CODE})).await;
    assert!(format!("{missing:?}").contains("NotFound"), "{missing:?}");

    outcomes.publish().await;
    let again = outcomes.call_loop.stack.invoke_checked("check-verification", &check(CODE)).await.expect("an answer");
    assert_eq!(again["status"], "approved", "a retried check answers the same");
    outcomes.publish().await;
    let ends: Vec<_> = outcomes.verifications.iter().map(|e| (e["eventId"].clone(), e["status"].clone())).collect();
    assert_eq!(ends, vec![(json!("e2e-signup#3"), json!("approved"))], "one event for the one end");
    // The code went through the trigger, the publisher and two checks: no log line holds it.
    assert_logs_hold_no_callee_or_code(&outcomes.call_loop.stack, &["+8613800000001"]);
    // Conversion by country, from the EMF lines: one start, one approval (the retried check is not another), one
    // wrong and two right checks, and the time it took.
    let metrics = verification_metrics(&outcomes.call_loop.stack.function_logs());
    let count = |metric: &str, result: &str| metrics.get(&(metric.to_owned(), result.to_owned())).copied();
    assert_eq!(count("VerificationsStarted", ""), Some(1.0), "{metrics:?}");
    assert_eq!(count("VerificationsApproved", ""), Some(1.0), "{metrics:?}");
    assert_eq!((count("VerificationChecks", "wrong"), count("VerificationChecks", "approved")), (Some(1.0), Some(2.0)));
    assert!(count("TimeToVerify", "").is_some_and(|seconds| seconds >= 0.0), "{metrics:?}");
}

/// (metric, result) → the sum of the verification metrics' values in the EMF lines, each line checked to carry
/// the country calling code `86` as its `country` dimension and never the number.
fn verification_metrics(logs: &str) -> BTreeMap<(String, String), f64> {
    let mut values = BTreeMap::new();
    for line in logs.lines().filter(|line| line.contains("\"_aws\"") && line.contains("Verification")) {
        let line: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("EMF line is not JSON ({e}): {line}"));
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        let dimensions: Vec<&str> =
            directive["Dimensions"][0].as_array().expect("dimensions").iter().filter_map(Value::as_str).collect();
        for metric in directive["Metrics"].as_array().expect("metrics") {
            let name = metric["Name"].as_str().expect("a name");
            if !(name.starts_with("Verification") || name == "TimeToVerify") {
                continue;
            }
            assert!(dimensions.contains(&"country") && line["country"] == "86", "{line}");
            assert_eq!(metric["Unit"], if name == "TimeToVerify" { "Seconds" } else { "Count" }, "{line}");
            let result = line["result"].as_str().unwrap_or_default().to_owned();
            *values.entry((name.to_owned(), result)).or_default() += line[name].as_f64().expect("a number");
        }
    }
    values
}
