//! Each scenario: the callVerify answer, the status events in order, and exactly one CDR.

use std::time::Duration;

use crate::common::*;
use serde_json::{json, Value};
use time::OffsetDateTime;
use voice_platform_sim::{sign, time_fmt, PushAuth};

const QUIET: Duration = Duration::from_millis(300);

/// Places one call to `callee`, waits for its CDR plus a quiet period, returns (answer, pushes).
async fn run_call(receiver: &Receiver, sim: &voice_platform_sim::RunningSim, callee: &str) -> (Value, Vec<Push>) {
    let (status, answer) = call_verify(sim, &call_body(callee, receiver)).await;
    assert_eq!(status, 200, "{answer}");
    receiver.wait_until("the CDR", |p| p.iter().any(|p| p.path == "/fee")).await;
    (answer, receiver.settle(QUIET).await)
}

fn status_events(pushes: &[Push]) -> Vec<String> {
    pushes.iter().filter(|p| p.path == "/status").map(|p| p.event_type().to_string()).collect()
}

fn the_cdr(pushes: &[Push]) -> Value {
    let fees: Vec<&Push> = pushes.iter().filter(|p| p.path == "/fee").collect();
    assert_eq!(fees.len(), 1, "exactly one CDR push: {fees:#?}");
    assert_eq!(fees[0].body["eventType"], "fee");
    let list = fees[0].body["feeLst"].as_array().expect("feeLst");
    assert_eq!(list.len(), 1);
    list[0].clone()
}

fn assert_status_infos(pushes: &[Push], session_id: &str, callee: &str) {
    for push in pushes.iter().filter(|p| p.path == "/status") {
        let info = &push.body["statusInfo"];
        assert_eq!(info["sessionId"], session_id);
        assert_eq!(info["caller"], DISPLAY_NBR);
        assert_eq!(info["called"], callee);
        assert_eq!(info["userData"], "req-7f3a9c");
        assert_notification_time(info["timestamp"].as_str().expect("timestamp"));
        let is_disconnect = push.event_type() == "disconnect";
        assert_eq!(info.get("stateCode").is_some(), is_disconnect, "stateCode only on disconnect");
        assert_eq!(info.get("stateDesc").is_some(), is_disconnect, "stateDesc only on disconnect");
        assert_signed_push(push);
    }
}

fn disconnect_state(pushes: &[Push]) -> i64 {
    let disconnect = pushes.iter().find(|p| p.event_type() == "disconnect").expect("disconnect");
    disconnect.body["statusInfo"]["stateCode"].as_i64().expect("stateCode")
}

fn assert_common_cdr(cdr: &Value, session_id: &str, callee: &str) {
    assert_eq!(cdr["direction"], 0);
    assert_eq!(cdr["spId"], "CaaS_Test_01");
    assert_eq!(cdr["appKey"], APP_KEY);
    assert!(cdr["icid"].as_str().is_some_and(|s| s.starts_with("CAE-")));
    assert_eq!(cdr["bindNum"], DISPLAY_NBR);
    assert_eq!(cdr["sessionId"], session_id);
    assert_eq!(cdr["callerNum"], DISPLAY_NBR);
    assert_eq!(cdr["calleeNum"], callee);
    assert_eq!(cdr["serviceType"], "001");
    assert_eq!(cdr["hostName"], "callenabler245.huaweicaas.com");
    assert_eq!(cdr["userData"], "req-7f3a9c");
    for field in ["callOutStartTime", "callEndTime"] {
        assert_notification_time(cdr[field].as_str().expect(field));
    }
    for field in ["ulFailReason", "sipStatusCode", "callOutUnaswRsn"] {
        assert!(cdr[field].is_i64(), "{field} is an integer");
    }
}

#[tokio::test]
async fn answered_pushes_four_events_then_one_cdr() {
    bounded(async {
        let sim = start_sim(fast_config()).await;
        let receiver = Receiver::start().await;
        let (answer, pushes) = run_call(&receiver, &sim, CALLEE_ANSWERED).await;
        let session_id = answer["sessionId"].as_str().expect("sessionId");
        assert_eq!(status_events(&pushes), ["callout", "alerting", "answer", "disconnect"]);
        assert_eq!(pushes.last().map(|p| p.path.as_str()), Some("/fee"), "CDR comes after every status event");
        assert_status_infos(&pushes, session_id, CALLEE_ANSWERED);
        assert_eq!(disconnect_state(&pushes), 0);
        let cdr = the_cdr(&pushes);
        assert_common_cdr(&cdr, session_id, CALLEE_ANSWERED);
        assert_notification_time(cdr["callOutAnswerTime"].as_str().expect("answered CDR has callOutAnswerTime"));
        assert_notification_time(cdr["callOutAlertingTime"].as_str().expect("callOutAlertingTime"));
        assert_eq!(cdr["ulFailReason"], 0);
        assert_eq!(cdr["sipStatusCode"], 0);
        assert!(cdr.get("failTime").is_none());
        assert_signed_push(pushes.last().expect("fee push"));
    })
    .await;
}

#[tokio::test]
async fn unanswered_scenarios_disconnect_with_their_state_code() {
    bounded(async {
        let cases: [(&str, &[&str], i64, bool); 3] = [
            ("+8613800008101", &["callout", "alerting", "disconnect"], 8101, true),
            ("+8613800008102", &["callout", "disconnect"], 8102, false),
            ("+8613800008004", &["callout", "alerting", "disconnect"], 8004, true),
        ];
        let sim = start_sim(fast_config()).await;
        for (callee, events, state_code, rang) in cases {
            let receiver = Receiver::start().await;
            let (answer, pushes) = run_call(&receiver, &sim, callee).await;
            let session_id = answer["sessionId"].as_str().expect("sessionId");
            assert_eq!(status_events(&pushes), events, "{callee}");
            assert_status_infos(&pushes, session_id, callee);
            assert_eq!(disconnect_state(&pushes), state_code, "{callee}");
            let cdr = the_cdr(&pushes);
            assert_common_cdr(&cdr, session_id, callee);
            assert!(cdr.get("callOutAnswerTime").is_none(), "{callee}: no answer time");
            assert_eq!(cdr.get("callOutAlertingTime").is_some(), rang, "{callee}");
            assert_ne!(cdr["ulFailReason"], 0, "{callee}");
            assert_eq!(cdr["failTime"], cdr["callEndTime"], "{callee}");
        }
        let calls = get_json(&sim, "/sim/calls").await;
        let scenarios: Vec<&str> =
            calls.as_array().expect("list").iter().filter_map(|c| c["scenario"].as_str()).collect();
        assert_eq!(scenarios, ["no-answer", "busy", "hangup-ringing"]);
    })
    .await;
}

#[tokio::test]
async fn refusing_scenarios_answer_errors_and_push_nothing() {
    bounded(async {
        let sim = start_sim(fast_config()).await;
        let receiver = Receiver::start().await;
        let cases = [
            ("+8613800000403", 403, "1010002"),
            ("+8613800001010", 200, "1010010"),
            ("+8613800000500", 500, "1010001"),
        ];
        for (callee, http, code) in cases {
            let (status, body) = call_verify(&sim, &call_body(callee, &receiver)).await;
            assert_eq!((status, body["resultcode"].as_str()), (http, Some(code)), "{callee}: {body}");
            assert!(body.get("sessionId").is_none());
        }
        assert_eq!(
            call_verify(&sim, &call_body("+8613800001010", &receiver)).await.1["resultdesc"],
            "The flow control upper limit is reached on the platform"
        );
        assert!(receiver.settle(QUIET).await.is_empty(), "refused calls push nothing");
        let stats = get_json(&sim, "/sim/stats").await;
        assert_eq!(stats["callVerify"]["received"], 4);
        assert_eq!(stats["callVerify"]["accepted"], 0);
        assert_eq!(stats["callVerify"]["rejectedByResultcode"], json!({"1010001":1,"1010002":1,"1010010":2}));
    })
    .await;
}

#[tokio::test]
async fn throttle_http_status_is_configurable() {
    bounded(async {
        let mut config = fast_config();
        config.throttle_http_status = 429;
        let sim = start_sim(config).await;
        let receiver = Receiver::start().await;
        let (status, body) = call_verify(&sim, &call_body("+8613800001010", &receiver)).await;
        assert_eq!((status, body["resultcode"].as_str()), (429, Some("1010010")));
    })
    .await;
}

#[tokio::test]
async fn timeout_hangs_past_the_client_but_still_places_the_call() {
    bounded(async {
        let sim = start_sim(fast_config()).await;
        let receiver = Receiver::start().await;
        let signed = sign(APP_KEY, APP_SECRET, OffsetDateTime::now_utc());
        let client = reqwest::Client::builder().no_proxy().timeout(Duration::from_millis(500)).build().expect("client");
        let result = client
            .post(sim.call_verify_url())
            .header("Authorization", signed.authorization)
            .header("X-AKSK", signed.x_aksk)
            .body(call_body("+8613800000408", &receiver).to_string())
            .send()
            .await;
        assert!(result.as_ref().is_err_and(|e| e.is_timeout()), "client must time out: {result:?}");
        let pushes = receiver.wait_until("the CDR", |p| p.iter().any(|p| p.path == "/fee")).await;
        assert_eq!(status_events(&pushes), ["callout", "alerting", "answer", "disconnect"]);
        let stats = get_json(&sim, "/sim/stats").await;
        assert_eq!(stats["callVerify"]["received"], 1);
        assert_eq!(stats["callVerify"]["hung"], 1);
        assert_eq!(stats["callVerify"]["callsPlaced"], 1);
        let calls = get_json(&sim, "/sim/calls").await;
        assert_eq!(calls[0]["scenario"], "timeout");
    })
    .await;
}

#[tokio::test]
async fn timeout_without_placing_pushes_nothing() {
    bounded(async {
        let mut config = fast_config();
        config.timeout_places_call = false;
        config.timeout_hang = Duration::from_millis(600);
        let sim = start_sim(config).await;
        let receiver = Receiver::start().await;
        let (status, body) = call_verify(&sim, &call_body("+8613800000408", &receiver)).await;
        // A client patient enough to outlast the hang gets a platform error, not a sessionId.
        assert_eq!((status, body["resultcode"].as_str()), (500, Some("1010001")));
        assert!(receiver.settle(QUIET).await.is_empty());
        assert_eq!(get_json(&sim, "/sim/stats").await["callVerify"]["hung"], 1);
    })
    .await;
}

#[tokio::test]
async fn control_endpoint_forces_the_next_calls() {
    bounded(async {
        let sim = start_sim(fast_config()).await;
        let receiver = Receiver::start().await;
        let (status, view) = post_json(&sim, "/sim/scenario", &json!({"scenario":"busy","calls":1})).await;
        assert_eq!((status, view["scenario"].as_str(), view["remainingCalls"].as_u64()), (200, Some("busy"), Some(1)));
        let (_, pushes) = run_call(&receiver, &sim, CALLEE_ANSWERED).await;
        assert_eq!(status_events(&pushes), ["callout", "disconnect"], "forced busy");

        let receiver = Receiver::start().await;
        let (_, pushes) = run_call(&receiver, &sim, CALLEE_ANSWERED).await;
        assert_eq!(status_events(&pushes).len(), 4, "one-shot override is used up");

        // Sticky until cleared; it also wins over a callee suffix.
        post_json(&sim, "/sim/scenario", &json!({"scenario":"rejected"})).await;
        for callee in [CALLEE_ANSWERED, "+8613800008101"] {
            assert_eq!(call_verify(&sim, &call_body(callee, &receiver)).await.0, 403);
        }
        let (status, view) = post_json(&sim, "/sim/scenario", &json!({"scenario":"auto"})).await;
        assert_eq!((status, view["scenario"].clone()), (200, Value::Null));
        assert_eq!(call_verify(&sim, &call_body(CALLEE_ANSWERED, &receiver)).await.0, 200);

        let (status, body) = post_json(&sim, "/sim/scenario", &json!({"scenario":"nope"})).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(get_json(&sim, "/sim/scenario").await["calleeSuffixes"]["8102"], "busy");
    })
    .await;
}

#[tokio::test]
async fn fixed_call_time_gives_deterministic_timestamps() {
    bounded(async {
        let mut config = fast_config();
        config.fixed_call_time = time_fmt::parse_created("2019-01-24T03:04:24Z");
        config.event_delay = Duration::from_millis(400);
        let sim = start_sim(config).await;
        let receiver = Receiver::start().await;
        let (answer, pushes) = run_call(&receiver, &sim, CALLEE_ANSWERED).await;
        assert!(answer["sessionId"].as_str().is_some_and(|s| s.contains("_20190124030424@")));
        let stamps: Vec<&str> = pushes.iter().filter_map(|p| p.body["statusInfo"]["timestamp"].as_str()).collect();
        // Simulated clock: start + 0.4 s per event.
        assert_eq!(
            stamps,
            ["2019-01-24 03:04:24", "2019-01-24 03:04:24", "2019-01-24 03:04:25", "2019-01-24 03:04:25"]
        );
        let cdr = the_cdr(&pushes);
        assert_eq!(cdr["callOutStartTime"], "2019-01-24 03:04:24");
        assert_eq!(cdr["callEndTime"], "2019-01-24 03:04:25");
        assert!(cdr["icid"].as_str().is_some_and(|s| s.starts_with("CAE-20190124110424-")));
    })
    .await;
}

#[tokio::test]
async fn unsigned_pushes_and_console_urls() {
    bounded(async {
        let receiver = Receiver::start().await;
        let mut config = fast_config();
        config.push_auth = PushAuth::None;
        config.default_status_url = Some(receiver.url("/status/console-token"));
        config.default_fee_url = Some(receiver.url("/fee/console-token"));
        let sim = start_sim(config).await;
        let mut body = call_body(CALLEE_ANSWERED, &receiver);
        if let Some(fields) = body.as_object_mut() {
            fields.remove("statusUrl");
            fields.remove("feeUrl");
        }
        assert_eq!(call_verify(&sim, &body).await.0, 200);
        let pushes = receiver.wait_until("the CDR", |p| p.iter().any(|p| p.path.starts_with("/fee"))).await;
        assert!(pushes.iter().all(|p| p.path.ends_with("/console-token")));
        assert!(pushes.iter().all(|p| p.headers.get("authorization").is_none() && p.headers.get("x-aksk").is_none()));
    })
    .await;
}

fn disconnect_desc(pushes: &[Push]) -> String {
    let disconnect = pushes.iter().find(|p| p.event_type() == "disconnect").expect("disconnect");
    disconnect.body["statusInfo"]["stateDesc"].as_str().expect("stateDesc").to_string()
}

/// `(callOutUnaswRsn, ulFailReason, sipStatusCode)` of a CDR.
fn cdr_causes(cdr: &Value) -> (i64, i64, i64) {
    let code = |field: &str| cdr[field].as_i64().unwrap_or_else(|| panic!("{field} is an integer: {cdr}"));
    (code("callOutUnaswRsn"), code("ulFailReason"), code("sipStatusCode"))
}

async fn scenario_of_first_call(sim: &voice_platform_sim::RunningSim) -> String {
    let calls = get_json(sim, "/sim/calls").await;
    calls[0]["scenario"].as_str().expect("scenario").to_string()
}

/// A call that fails before it rings: `callout`, `disconnect` with the scenario's stateCode, and a CDR without
/// alerting or answer time whose causes are exactly `causes`.
async fn assert_failed_before_ringing(
    callee: &str,
    scenario: &str,
    state_code: i64,
    state_desc: &str,
    causes: (i64, i64, i64),
) {
    let sim = start_sim(fast_config()).await;
    let receiver = Receiver::start().await;
    let (answer, pushes) = run_call(&receiver, &sim, callee).await;
    let session_id = answer["sessionId"].as_str().expect("sessionId");
    assert_huawei_session_id(session_id);
    assert_eq!(status_events(&pushes), ["callout", "disconnect"], "{scenario}: no alerting, no answer");
    assert_eq!(pushes.last().map(|p| p.path.as_str()), Some("/fee"), "{scenario}: CDR after the status events");
    assert_status_infos(&pushes, session_id, callee);
    assert_eq!(disconnect_state(&pushes), state_code, "{scenario}");
    assert_eq!(disconnect_desc(&pushes), state_desc, "{scenario}");
    let cdr = the_cdr(&pushes);
    assert_common_cdr(&cdr, session_id, callee);
    assert_eq!(cdr_causes(&cdr), causes, "{scenario}: callOutUnaswRsn / ulFailReason / sipStatusCode");
    assert!(cdr.get("callOutAlertingTime").is_none(), "{scenario}: did not ring");
    assert!(cdr.get("callOutAnswerTime").is_none(), "{scenario}: not answered");
    assert_eq!(cdr["failTime"], cdr["callEndTime"], "{scenario}");
    assert_signed_push(pushes.last().expect("fee push"));
    assert_eq!(scenario_of_first_call(&sim).await, scenario);
}

#[tokio::test]
async fn powered_off_disconnects_8104_without_ringing() {
    bounded(assert_failed_before_ringing(
        "+8613800008104",
        "powered-off",
        8104,
        "The callee is powered off.",
        (20, 518, 480),
    ))
    .await;
}

#[tokio::test]
async fn invalid_number_disconnects_8100_with_q850_1_and_sip_404() {
    bounded(assert_failed_before_ringing(
        "+8613800008100",
        "invalid-number",
        8100,
        "The callee number does not exist.",
        (1, 518, 404),
    ))
    .await;
}

#[tokio::test]
async fn blocked_disconnects_7001_with_ul_fail_reason_7001() {
    bounded(assert_failed_before_ringing(
        "+8613800007001",
        "blocked",
        7001,
        "Call frequency control (developer).",
        (0, 7001, 0),
    ))
    .await;
}

#[tokio::test]
async fn platform_failure_disconnects_8000_with_ul_fail_reason_517() {
    bounded(assert_failed_before_ringing("+8613800008000", "platform-failure", 8000, "Internal error.", (0, 517, 0)))
        .await;
}

#[tokio::test]
async fn sip_only_cdr_carries_nothing_but_the_sip_status() {
    bounded(assert_failed_before_ringing(
        "+8613800000486",
        "sip-only",
        8001,
        "The user is not connected.",
        (0, 0, 486),
    ))
    .await;
}

#[tokio::test]
async fn lost_status_pushes_no_status_event_but_an_answered_cdr() {
    bounded(async {
        let callee = "+8613800000404";
        let sim = start_sim(fast_config()).await;
        let receiver = Receiver::start().await;
        let (answer, pushes) = run_call(&receiver, &sim, callee).await;
        let session_id = answer["sessionId"].as_str().expect("sessionId");
        assert!(status_events(&pushes).is_empty(), "every status push is lost: {pushes:#?}");
        assert_eq!(pushes.len(), 1, "only the CDR arrives");
        let cdr = the_cdr(&pushes);
        assert_common_cdr(&cdr, session_id, callee);
        assert_eq!(cdr_causes(&cdr), (0, 0, 0));
        assert_notification_time(cdr["callOutAlertingTime"].as_str().expect("it rang"));
        assert_notification_time(cdr["callOutAnswerTime"].as_str().expect("answered CDR has callOutAnswerTime"));
        assert!(cdr.get("failTime").is_none());
        let stats = get_json(&sim, "/sim/stats").await;
        assert_eq!(stats["pushes"]["status"]["sent"], 0, "lost pushes are never sent");
        assert_eq!(stats["cdrsDelivered"], 1);
        assert_eq!(scenario_of_first_call(&sim).await, "lost-status");
    })
    .await;
}

/// Time from the `disconnect` push to the CDR push, as the receiver saw them.
fn disconnect_to_cdr(pushes: &[Push]) -> Duration {
    let disconnect = pushes.iter().find(|p| p.event_type() == "disconnect").expect("disconnect");
    let fee = pushes.iter().find(|p| p.path == "/fee").expect("fee");
    fee.at.duration_since(disconnect.at)
}

#[tokio::test]
async fn late_cdr_arrives_late_cdr_delay_after_the_disconnect() {
    bounded(async {
        let late = Duration::from_millis(600);
        let mut config = fast_config();
        config.late_cdr_delay = late;
        let sim = start_sim(config).await;

        // The same sim's ordinary call keeps the short cdr_delay (20 ms + 50 ms merge window).
        let receiver = Receiver::start().await;
        let (_, pushes) = run_call(&receiver, &sim, CALLEE_ANSWERED).await;
        let ordinary = disconnect_to_cdr(&pushes);
        assert!(ordinary < late, "an answered call's CDR is not delayed: {ordinary:?}");

        let callee = "+8613800000777";
        let receiver = Receiver::start().await;
        let (answer, pushes) = run_call(&receiver, &sim, callee).await;
        let session_id = answer["sessionId"].as_str().expect("sessionId");
        assert_eq!(status_events(&pushes), ["callout", "alerting", "answer", "disconnect"]);
        assert_eq!(pushes.last().map(|p| p.path.as_str()), Some("/fee"));
        assert_status_infos(&pushes, session_id, callee);
        assert_eq!(disconnect_state(&pushes), 0);
        assert_eq!(disconnect_desc(&pushes), "The user releases the call.");
        let gap = disconnect_to_cdr(&pushes);
        assert!(gap >= late, "CDR came {gap:?} after the disconnect, expected at least {late:?}");
        let cdr = the_cdr(&pushes);
        assert_common_cdr(&cdr, session_id, callee);
        assert_eq!(cdr_causes(&cdr), (0, 0, 0));
        assert_notification_time(cdr["callOutAlertingTime"].as_str().expect("it rang"));
        assert_notification_time(cdr["callOutAnswerTime"].as_str().expect("answered CDR has callOutAnswerTime"));
        assert!(cdr.get("failTime").is_none());
        let calls = get_json(&sim, "/sim/calls").await;
        assert_eq!(calls[1]["scenario"], "late-cdr");
    })
    .await;
}

#[tokio::test]
async fn new_scenarios_can_be_forced_and_are_listed() {
    bounded(async {
        let sim = start_sim(fast_config()).await;
        let view = get_json(&sim, "/sim/scenario").await;
        let expected = [
            ("8104", "powered-off"),
            ("8100", "invalid-number"),
            ("7001", "blocked"),
            ("8000", "platform-failure"),
            ("0486", "sip-only"),
            ("0404", "lost-status"),
            ("0777", "late-cdr"),
        ];
        for (suffix, name) in expected {
            assert_eq!(view["calleeSuffixes"][suffix], name, "{view}");
        }
        let (status, _) = post_json(&sim, "/sim/scenario", &json!({"scenario":"sip-only","calls":1})).await;
        assert_eq!(status, 200);
        let receiver = Receiver::start().await;
        let (_, pushes) = run_call(&receiver, &sim, CALLEE_ANSWERED).await;
        assert_eq!(status_events(&pushes), ["callout", "disconnect"], "forced sip-only");
        assert_eq!(disconnect_state(&pushes), 8001);
        assert_eq!(cdr_causes(&the_cdr(&pushes)), (0, 0, 486));
    })
    .await;
}
