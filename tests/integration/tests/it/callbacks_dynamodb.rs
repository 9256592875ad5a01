//! The callback handlers, driven by API Gateway v2 / Function URL events, against a real DynamoDB Local.

use std::collections::BTreeSet;
use std::sync::Arc;

use integration_tests::events::{request, Envelope};
use integration_tests::{dynamo_callback_service, fixture};
use lambda_http::Body;
use serde_json::Value;
use voice_core::adapters::DynamoStore;
use voice_core::auth::SignatureMode;
use voice_core::callbacks::{CallbackService, Endpoint};
use voice_core::edge::http::answer;
use voice_core::ids::sid;
use voice_core::outcome::{fold, CallStatus};

type Service = CallbackService<DynamoStore>;

async fn service(tokens: &str) -> Service {
    dynamo_callback_service(tokens, SignatureMode::Log).await
}

/// Sends one push and returns (status, body text).
async fn push(service: &Service, endpoint: Endpoint, event: lambda_http::Request) -> (u16, String) {
    let response = answer(service, endpoint, event).await.expect("answer never fails");
    let body = match response.body() {
        Body::Empty => String::new(),
        Body::Text(text) => text.clone(),
        Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        _ => String::from("<other body>"),
    };
    (response.status().as_u16(), body)
}

async fn post(service: &Service, endpoint: Endpoint, path: &str, body: &str) -> (u16, String) {
    push(service, endpoint, request(Envelope::HttpApi, "POST", path, body.as_bytes(), false)).await
}

async fn keys(service: &Service) -> BTreeSet<(String, String)> {
    let records = service.store().all_records().await.expect("scan");
    records.iter().map(|r| (r["pk"].as_str().unwrap().to_owned(), r["sk"].as_str().unwrap().to_owned())).collect()
}

async fn record_count(service: &Service) -> usize {
    service.store().all_records().await.expect("scan").len()
}

const SUCCESS_BODY: &str = r#"{"resultcode":"0","resultdesc":"Success"}"#;
const SID_612: &str = "1201_612_4294967295_20190124030424@callenabler245.huaweicaas.com";

/// Each fixture: where it is pushed, and the one record it must produce.
const FIXTURES: &[(&str, Endpoint, &str, &str)] = &[
    ("huawei/status-callout.json", Endpoint::Voice, SID_612, "event#callout"),
    ("huawei/status-callout-userdata.json", Endpoint::Voice, SID_612, "event#callout"),
    ("huawei/status-disconnect.json", Endpoint::Voice, SID_612, "event#disconnect"),
    (
        "huawei/status-answer-double-space.json",
        Endpoint::Voice,
        "1200_366_0_20161228102743@callenabler.home1.com",
        "event#answer",
    ),
    (
        "huawei/privacy-number-call-disconnect.json",
        Endpoint::Voice,
        "1202_1051_4294967295_20190124070250@callenabler246.huaweicaas.com",
        "event#disconnect",
    ),
    ("huawei/fee-verification.json", Endpoint::Voice, SID_612, "cdr#CAE-20190124110424-12019775"),
    ("huawei/fee-voice-callback.json", Endpoint::Voice, SID_612, "cdr#CAE-20190124110424-12019775"),
    (
        "huawei/fee-failed-call.json",
        Endpoint::Voice,
        "1201_8658_4294967295_20181018055430@callenabler245.huaweicaas.com",
        "cdr#CAE-20181018135430-12016920",
    ),
    (
        "huawei/privacy-number-fee-axb.json",
        Endpoint::Voice,
        "+8613400007762_+8615000002131_4_627e5c1f_963036_669_1_0",
        "cdr#c08dd88381a6deaa14e1c26e89e19b16.3861408249.24986516.29",
    ),
    ("huawei/sms-notify.json", Endpoint::Sms, "sms#sms-20201223090616-000001", "mode#Notify"),
    ("huawei/sms-block.json", Endpoint::Sms, "sms#sms-20180913094616-000002", "mode#Block"),
    (
        "edge-cases/status-integers-as-strings.json",
        Endpoint::Voice,
        "1201_700_4294967295_20260101000000@callenabler245.huaweicaas.com",
        "event#disconnect",
    ),
    (
        "edge-cases/fee-integers-as-strings.json",
        Endpoint::Voice,
        "1201_700_4294967295_20260101000000@callenabler245.huaweicaas.com",
        "cdr#CAE-20260101000009-1",
    ),
    ("edge-cases/sms-ext-paras-object.json", Endpoint::Sms, "sms#sms-20260101000000-000003", "mode#Notify"),
    (
        "edge-cases/status-unknown-event-type.json",
        Endpoint::Voice,
        "1201_701_4294967295_20260101000000@callenabler245.huaweicaas.com",
        "event#recordReady",
    ),
];

#[tokio::test]
async fn every_fixture_delivered_three_times_is_stored_exactly_once() {
    for &(name, endpoint, pk, sk) in FIXTURES {
        let service = service("tok-1").await;
        let body = fixture(name);
        let path = match endpoint {
            Endpoint::Voice => "/voice/status/tok-1",
            Endpoint::Sms => "/privacy-number/sms/tok-1",
        };
        // Three deliveries through three envelopes: HTTP API text, HTTP API base64, Function URL.
        let deliveries = [
            request(Envelope::HttpApi, "POST", path, body.as_bytes(), false),
            request(Envelope::HttpApi, "POST", path, body.as_bytes(), true),
            request(Envelope::FunctionUrl, "POST", "/tok-1", body.as_bytes(), false),
        ];
        let mut first_received_at = None;
        for event in deliveries {
            let (status, answer_body) = push(&service, endpoint, event).await;
            assert_eq!(status, 200, "{name}: {answer_body}");
            let is_fee = serde_json::from_str::<Value>(&body).unwrap()["eventType"] == "fee";
            let expected_body = if is_fee { SUCCESS_BODY } else { "" };
            assert_eq!(answer_body, expected_body, "{name}");
            let records = service.store().records_of(pk).await.unwrap();
            assert_eq!(records.len(), 1, "{name}: exactly one record after each delivery");
            let received_at = records[0]["receivedAt"].clone();
            assert_eq!(
                *first_received_at.get_or_insert(received_at.clone()),
                received_at,
                "{name}: unchanged by duplicates"
            );
        }
        assert_eq!(keys(&service).await, BTreeSet::from([(pk.to_owned(), sk.to_owned())]), "{name}");
        let record = &service.store().records_of(pk).await.unwrap()[0];
        let raw: Value = serde_json::from_str(record["raw"].as_str().unwrap()).unwrap();
        let sent: Value = serde_json::from_str(&body).unwrap();
        let expected_raw = if sk.starts_with("cdr#") { sent["feeLst"][0].clone() } else { sent };
        assert_eq!(raw, expected_raw, "{name}: the raw JSON Huawei sent is kept");
        assert!(record["expiresAt"].as_i64().unwrap() > 0, "{name}: TTL set");
    }
}

#[tokio::test]
async fn typed_fields_are_stored_beside_the_raw_json() {
    let service = service("").await;
    post(&service, Endpoint::Voice, "/voice/fee", &fixture("edge-cases/fee-integers-as-strings.json")).await;
    let records =
        service.store().records_of("1201_700_4294967295_20260101000000@callenabler245.huaweicaas.com").await.unwrap();
    let cdr = &records[0];
    assert_eq!(cdr["kind"], "cdr");
    assert_eq!(cdr["ulFailReason"], 8101);
    assert_eq!(cdr["sipStatusCode"], 480);
    assert_eq!(cdr["answered"], false);
    assert_eq!(cdr["callEndAt"], "2026-01-01T00:00:09Z");
    assert!(cdr["raw"].as_str().unwrap().contains("brandNewField"));

    post(&service, Endpoint::Voice, "/voice/status", &fixture("huawei/status-answer-double-space.json")).await;
    let answer = &service.store().records_of("1200_366_0_20161228102743@callenabler.home1.com").await.unwrap()[0];
    assert_eq!(answer["eventAt"], "2018-04-09T10:57:42Z");
    assert_eq!(answer["timestamp"], "2018-04-09  10:57:42");
}

#[tokio::test]
async fn fifty_concurrent_deliveries_of_one_notification_make_one_record() {
    let service = Arc::new(service("").await);
    let body = fixture("huawei/status-disconnect.json");
    let deliveries = (0..50).map(|_| {
        let (service, body) = (service.clone(), body.clone());
        tokio::spawn(async move { post(&service, Endpoint::Voice, "/voice/status", &body).await.0 })
    });
    let statuses: Vec<u16> = futures::future::join_all(deliveries).await.into_iter().map(|r| r.unwrap()).collect();
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    assert_eq!(keys(&service).await, BTreeSet::from([(SID_612.to_owned(), "event#disconnect".to_owned())]));
}

fn fee_push(session_ids: impl IntoIterator<Item = String>) -> String {
    let cdrs: Vec<Value> = session_ids
        .into_iter()
        .map(|sid| {
            serde_json::json!({"direction": 0, "spId": "CaaS_Test_01", "appKey": "k", "icid": format!("icid-{sid}"),
                "bindNum": "+8675528000088", "sessionId": sid, "callerNum": "+8675528000088",
                "calleeNum": "+8613800000021", "callEndTime": "2026-11-21 12:00:00", "serviceType": "001"})
        })
        .collect();
    serde_json::json!({"eventType": "fee", "feeLst": cdrs}).to_string()
}

#[tokio::test]
async fn a_merged_push_of_fifty_cdrs_stores_each_under_its_own_session() {
    let service = service("").await;
    let sids: Vec<String> =
        (0..50).map(|i| format!("1201_{i}_4294967295_20261121120000@callenabler245.huaweicaas.com")).collect();
    let (status, body) = post(&service, Endpoint::Voice, "/voice/fee", &fee_push(sids.clone())).await;
    assert_eq!((status, body.as_str()), (200, SUCCESS_BODY));
    let expected: BTreeSet<_> = sids.iter().map(|sid| (sid.clone(), format!("cdr#icid-{sid}"))).collect();
    assert_eq!(keys(&service).await, expected);
}

#[tokio::test]
async fn a_push_in_which_some_cdrs_already_exist_completes_the_rest_without_touching_them() {
    let service = service("").await;
    let sids: Vec<String> = (0..50).map(|i| format!("s{i}@callenabler245.huaweicaas.com")).collect();
    // An earlier push got 20 of them stored.
    assert_eq!(post(&service, Endpoint::Voice, "/voice/fee", &fee_push(sids[..20].to_vec())).await.0, 200);
    let before = service.store().all_records().await.unwrap();
    let (status, body) = post(&service, Endpoint::Voice, "/voice/fee", &fee_push(sids.clone())).await;
    assert_eq!((status, body.as_str()), (200, SUCCESS_BODY));
    let after = service.store().all_records().await.unwrap();
    assert_eq!(after.len(), 50);
    for old in before {
        let same_key = after.iter().find(|r| r["pk"] == old["pk"] && r["sk"] == old["sk"]).expect("still there");
        assert_eq!(*same_key, old, "an existing CDR is not rewritten");
    }
}

#[tokio::test]
async fn out_of_order_statuses_never_move_a_call_backwards() {
    let service = service("").await;
    let event = |event_type: &str, extra: &str| {
        format!(
            r#"{{"eventType":"{event_type}","statusInfo":{{"sessionId":"ooo-1","timestamp":"2026-11-21 12:00:0{}"{extra}}}}}"#,
            event_type.len() % 10
        )
    };
    let mut statuses = Vec::new();
    // The records in the order they were delivered (a Query returns them in sort-key order, where `disconnect`
    // would always come last), repetition included: what a consumer folding as pushes arrive would see.
    let mut delivered = Vec::new();
    for (event_type, extra) in
        [("disconnect", r#","stateCode":8004"#), ("alerting", ""), ("callout", ""), ("alerting", "")]
    {
        assert_eq!(post(&service, Endpoint::Voice, "/voice/status", &event(event_type, extra)).await.0, 200);
        let stored = service.store().records_under("ooo-1").await.unwrap();
        let this = stored.iter().find(|r| r.sk == format!("event#{event_type}")).expect("the delivered record");
        delivered.push(this.clone());
        for outcome in [fold(&sid("ooo-1"), &delivered), fold(&sid("ooo-1"), &stored)] {
            statuses.push((outcome.status, outcome.is_final, outcome.cause.map(|c| c.code)));
        }
    }
    let rejected_provisionally = (CallStatus::Rejected, false, Some(8004));
    assert!(statuses.iter().all(|s| *s == rejected_provisionally), "{statuses:?}");
    assert_eq!(record_count(&service).await, 3, "disconnect, alerting, callout: once each");
}

#[tokio::test]
async fn bad_input_gets_a_clear_answer_and_writes_nothing() {
    let service = service("tok-1").await;
    let callout = fixture("huawei/status-callout.json");
    let fifty_one = fee_push((0..51).map(|i| format!("s{i}")));
    let huge =
        format!(r#"{{"eventType":"callout","statusInfo":{{"sessionId":"s","pad":"{}"}}}}"#, "x".repeat(300 * 1024));
    // (method, endpoint, path, what, body, base64-encoded, expected status)
    type Case = (&'static str, Endpoint, &'static str, &'static str, Vec<u8>, bool, u16);
    let cases: Vec<Case> = vec![
        ("GET", Endpoint::Voice, "/voice/status/tok-1", "method", callout.clone().into_bytes(), false, 405),
        (
            "PUT",
            Endpoint::Sms,
            "/privacy-number/sms/tok-1",
            "method",
            fixture("huawei/sms-notify.json").into_bytes(),
            false,
            405,
        ),
        ("POST", Endpoint::Voice, "/voice/status/wrong", "forged token", callout.clone().into_bytes(), false, 401),
        ("POST", Endpoint::Voice, "/voice/status", "missing token", callout.clone().into_bytes(), false, 401),
        ("POST", Endpoint::Voice, "/voice/status/tok-1", "oversized", huge.into_bytes(), false, 413),
        ("POST", Endpoint::Voice, "/voice/status/tok-1", "invalid JSON", b"{\"eventType\":".to_vec(), false, 400),
        ("POST", Endpoint::Voice, "/voice/status/tok-1", "invalid UTF-8", vec![b'"', 0xff, 0xfe, b'"'], true, 400),
        ("POST", Endpoint::Voice, "/voice/status/tok-1", "empty body", Vec::new(), false, 400),
        (
            "POST",
            Endpoint::Voice,
            "/voice/fee/tok-1",
            "empty feeLst",
            br#"{"eventType":"fee","feeLst":[]}"#.to_vec(),
            false,
            400,
        ),
        ("POST", Endpoint::Voice, "/voice/fee/tok-1", "51 CDRs", fifty_one.into_bytes(), false, 400),
        (
            "POST",
            Endpoint::Voice,
            "/voice/status/tok-1",
            "unknown event without session",
            br#"{"eventType":"hold"}"#.to_vec(),
            false,
            400,
        ),
        (
            "POST",
            Endpoint::Sms,
            "/privacy-number/sms/tok-1",
            "status body on sms url",
            callout.clone().into_bytes(),
            false,
            400,
        ),
    ];
    for (method, endpoint, path, what, body, base64, expected) in cases {
        let (status, answer_body) =
            push(&service, endpoint, request(Envelope::HttpApi, method, path, &body, base64)).await;
        assert_eq!(status, expected, "{what}: {answer_body}");
        let error: Value = serde_json::from_str(&answer_body).unwrap_or_else(|_| panic!("{what}: JSON error body"));
        assert!(error["error"].is_string() && error["message"].is_string(), "{what}: {answer_body}");
        assert_eq!(record_count(&service).await, 0, "{what} wrote something");
    }
    assert_eq!(
        post(&service, Endpoint::Voice, "/voice/status/tok-1", &callout).await.0,
        200,
        "the same table still works"
    );
}

/// What used to be refused as a whole but holds something to keep: answered 200 (or `resultcode 0`) and kept,
/// salvaged or in quarantine (docs/operations.md, "Hostile input").
#[tokio::test]
async fn salvageable_input_is_kept_not_refused() {
    let service = service("tok-1").await;
    // (endpoint, path, what, body, the kind of the one record it must make)
    let cases: [(Endpoint, &str, &str, &str, &str); 5] = [
        (
            Endpoint::Voice,
            "/voice/status/tok-1",
            "missing sessionId",
            r#"{"eventType":"answer","statusInfo":{}}"#,
            "quarantine",
        ),
        (
            Endpoint::Voice,
            "/voice/status/tok-1",
            "sessionId not a string",
            r#"{"eventType":"answer","statusInfo":{"sessionId":7}}"#,
            "quarantine",
        ),
        (
            Endpoint::Voice,
            "/voice/status/tok-1",
            "bad stateCode",
            r#"{"eventType":"disconnect","statusInfo":{"sessionId":"s-bad","stateCode":"x"}}"#,
            "event",
        ),
        (Endpoint::Voice, "/voice/fee/tok-1", "feeLst not a list", r#"{"eventType":"fee","feeLst":"x"}"#, "quarantine"),
        (
            Endpoint::Sms,
            "/privacy-number/sms/tok-1",
            "sms without identifier",
            r#"{"smsEvent":{"notificationMode":"Notify"}}"#,
            "quarantine",
        ),
    ];
    for (endpoint, path, what, body, kind) in cases {
        let before = record_count(&service).await;
        let (status, answer_body) = post(&service, endpoint, path, body).await;
        assert_eq!(status, 200, "{what}: {answer_body}");
        let records = service.store().all_records().await.unwrap();
        assert_eq!(records.len(), before + 1, "{what}: one record");
        assert!(records.iter().any(|r| r["kind"] == kind && r["raw"] == body), "{what}: kept as {kind}");
    }
    let bad_code = service.store().records_of("s-bad").await.unwrap();
    assert_eq!((bad_code[0].get("stateCode"), bad_code[0]["eventType"].as_str()), (None, Some("disconnect")));
}

/// Issue 22's bill-loss path, against DynamoDB: one merged push of 50 with malformed CDRs is acknowledged with
/// every element kept.
#[tokio::test]
async fn a_merged_push_with_malformed_cdrs_keeps_every_bill() {
    let service = service("").await;
    let mut cdrs: Vec<String> =
        (0..47).map(|i| format!(r#"{{"sessionId":"m{i}","icid":"i{i}","callOutUnaswRsn":17}}"#)).collect();
    cdrs.push(r#"{"sessionId":"m-na","icid":"na","callOutUnaswRsn":"N/A","callOutAnswerTime":""}"#.into());
    cdrs.push(r#"{"sessionId":"m-obj","icid":"obj","ulFailReason":{"code":518}}"#.into());
    cdrs.push(r#"{"icid":"orphan","callOutUnaswRsn":17}"#.into());
    let body = format!(r#"{{"eventType":"fee","feeLst":[{}]}}"#, cdrs.join(","));
    for delivery in 1..=2 {
        assert_eq!(
            post(&service, Endpoint::Voice, "/voice/fee", &body).await,
            (200, SUCCESS_BODY.into()),
            "delivery {delivery}"
        );
    }
    let records = service.store().all_records().await.unwrap();
    assert_eq!(records.len(), 50, "every element in a record of its own, once");
    assert_eq!(records.iter().filter(|r| r["kind"] == "cdr").count(), 49);
    let quarantined: Vec<&Value> = records.iter().filter(|r| r["kind"] == "quarantine").collect();
    assert_eq!(
        (quarantined.len(), quarantined[0]["raw"].as_str()),
        (1, Some(r#"{"callOutUnaswRsn":17,"icid":"orphan"}"#))
    );
    assert_eq!(quarantined[0]["source"], "fee");
    // The malformed bill is typed as far as it parses, and its outcome reads the dropped code as absent.
    let na = service.store().records_under("m-na").await.unwrap();
    let outcome = fold(&sid("m-na"), &na);
    assert!(outcome.is_final, "a bill is final even with a code that does not parse");
    assert_eq!(outcome.provider.call_out_unasw_rsn, None);
}

#[tokio::test]
async fn a_conflicting_payload_is_kept_beside_the_first() {
    let service = service("").await;
    let sid = "conflict-1";
    let forged =
        format!(r#"{{"eventType":"fee","feeLst":[{{"sessionId":"{sid}","icid":"c1","callOutUnaswRsn":17}}]}}"#);
    let real = format!(
        r#"{{"eventType":"fee","feeLst":[{{"sessionId":"{sid}","icid":"c1","callOutAnswerTime":"2019-01-24 03:04:31","callEndTime":"2019-01-24 03:04:41"}}]}}"#
    );
    assert_eq!(post(&service, Endpoint::Voice, "/voice/fee", &forged).await.0, 200);
    for delivery in 1..=2 {
        assert_eq!(
            post(&service, Endpoint::Voice, "/voice/fee", &real).await,
            (200, SUCCESS_BODY.into()),
            "delivery {delivery}"
        );
    }
    let records = service.store().records_of(sid).await.unwrap();
    let sks: Vec<&str> = records.iter().map(|r| r["sk"].as_str().unwrap()).collect();
    assert_eq!(sks.len(), 2, "the first, and one conflict record: {sks:?}");
    assert_eq!(sks[0], "cdr#c1");
    assert!(sks[1].starts_with("conflict#cdr#c1#"), "{sks:?}");
    assert_eq!((records[1]["kind"].as_str(), records[1]["conflictsWith"].as_str()), (Some("conflict"), Some("cdr#c1")));
    // First-writer-wins stays for the outcome: the forged busy bill decides, counted once.
    let outcome = fold(&voice_core::ids::sid(sid), &service.store().records_under(sid).await.unwrap());
    assert_eq!((outcome.status, outcome.version), (CallStatus::Busy, 1));
}

/// An endless stream of unknown event types under one sessionId cannot make a read of the call unbounded: it stops
/// at `MAX_CALL_RECORDS`, and the records that decide the outcome (they sort first) are in it.
#[tokio::test]
async fn a_call_read_is_bounded_and_keeps_what_decides() {
    use voice_core::outcome::MAX_CALL_RECORDS;
    use voice_core::telemetry::metrics::{self, Dimensions, Metric};
    let service = service("").await;
    let sid = "flooded-1";
    let bill = format!(r#"{{"eventType":"fee","feeLst":[{{"sessionId":"{sid}","icid":"f1","callOutUnaswRsn":17}}]}}"#);
    assert_eq!(post(&service, Endpoint::Voice, "/voice/fee", &bill).await.0, 200);
    let flood: Vec<_> = (0..MAX_CALL_RECORDS + 20)
        .map(|i| format!(r#"{{"eventType":"junk{i:04}","statusInfo":{{"sessionId":"{sid}"}}}}"#))
        .collect();
    for chunk in flood.chunks(50) {
        let answers =
            futures::future::join_all(chunk.iter().map(|body| post(&service, Endpoint::Voice, "/voice/status", body)))
                .await;
        assert!(answers.iter().all(|(status, _)| *status == 200));
    }
    let (records, values) = metrics::collect(service.store().records_under(sid)).await;
    let records = records.unwrap();
    assert_eq!(records.len(), MAX_CALL_RECORDS, "bounded");
    assert_eq!(values[&Dimensions::none()][&Metric::CallReadsTruncated], 1.0);
    let outcome = fold(&voice_core::ids::sid(sid), &records);
    assert_eq!((outcome.status, outcome.is_final), (CallStatus::Busy, true), "the bill was read");
}

#[tokio::test]
async fn either_of_two_rotation_tokens_is_accepted() {
    let service = service("old-token,new-token").await;
    let callout = fixture("huawei/status-callout.json");
    assert_eq!(post(&service, Endpoint::Voice, "/voice/status/old-token", &callout).await.0, 200);
    assert_eq!(
        post(&service, Endpoint::Voice, "/voice/status/new-token", &fixture("huawei/status-disconnect.json")).await.0,
        200
    );
    assert_eq!(record_count(&service).await, 2);
}
