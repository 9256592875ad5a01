//! On-demand SMS notification pushes, and the stats / calls endpoints.

use std::time::Duration;

use crate::common::*;
use serde_json::json;

fn is_iso_millis(text: &str) -> bool {
    // 2020-12-23T09:06:16.450Z
    text.len() == 24
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b'T',
            13 | 16 => b == b':',
            19 => b == b'.',
            23 => b == b'Z',
            _ => b.is_ascii_digit(),
        })
}

#[tokio::test]
async fn sms_notify_push_has_the_documented_shape() {
    bounded(async {
        let sim = start_sim(fast_config()).await;
        let receiver = Receiver::start().await;
        let (status, answer) =
            post_json(&sim, "/sim/sms", &json!({"url": receiver.url("/sms/tok"), "smsIdentifier": "sms-1"})).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["delivered"], true);
        let pushes = receiver.wait_until("the SMS push", |p| !p.is_empty()).await;
        assert_eq!(pushes.len(), 1);
        let push = &pushes[0];
        assert_eq!(push.path, "/sms/tok");
        assert_signed_push(push);
        let body = &push.body;
        assert_eq!(body["appKey"], APP_KEY);
        let event = &body["smsEvent"];
        assert_eq!(event["smsIdentifier"], "sms-1");
        assert_eq!(event["notificationMode"], "Notify");
        assert_eq!(event["calling"], "+8613800000001");
        assert_eq!(event["virtualNumber"], "+8613800000000");
        assert_eq!(event["event"], "Text SMS ");
        assert!(is_iso_millis(event["timeStamp"].as_str().expect("timeStamp")), "{}", event["timeStamp"]);
        assert_eq!(
            event["extInfo"],
            json!({"extParas":[{"key":"splitNum","value":"0"},{"key":"direction","value":"2"}]})
        );
        assert_eq!(event["sendResult"], 2);
        assert!(body.get("sessionId").is_none() && event.get("sessionId").is_none(), "SMS has no sessionId");
        assert_eq!(answer["notification"], *body, "the answer shows what was pushed");
    })
    .await;
}

#[tokio::test]
async fn sms_fields_can_be_overridden_and_identifiers_are_generated() {
    bounded(async {
        let sim = start_sim(fast_config()).await;
        let receiver = Receiver::start().await;
        let request = json!({"url": receiver.url("/sms"), "calling": "+8613900000002", "called": "+8613900000003",
                             "smsContent": "hi", "direction": "1", "splitNum": "2"});
        post_json(&sim, "/sim/sms", &request).await;
        post_json(&sim, "/sim/sms", &request).await;
        let pushes = receiver.wait_until("two SMS pushes", |p| p.len() == 2).await;
        let event = &pushes[0].body["smsEvent"];
        assert_eq!(event["calling"], "+8613900000002");
        assert_eq!(event["called"], "+8613900000003");
        assert_eq!(event["smsContent"], "hi");
        assert_eq!(event["extInfo"]["extParas"][0]["value"], "2");
        assert_eq!(event["extInfo"]["extParas"][1]["value"], "1");
        assert_ne!(event["smsIdentifier"], pushes[1].body["smsEvent"]["smsIdentifier"]);

        let (status, _) = post_json(&sim, "/sim/sms", &json!({"smsIdentifier": "x"})).await;
        assert_eq!(status, 400, "url is required");
    })
    .await;
}

#[tokio::test]
async fn sms_push_to_a_failing_receiver_is_repushed() {
    bounded(async {
        let sim = start_sim(fast_config()).await;
        // Nothing listens on a freshly closed port: connection refused.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/sms", closed.local_addr().expect("addr"));
        drop(closed);
        let (status, answer) = post_json(&sim, "/sim/sms", &json!({"url": url})).await;
        assert_eq!((status, answer["delivered"].as_bool()), (200, Some(false)));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let stats = get_json(&sim, "/sim/stats").await;
            if stats["pushes"]["sms"]["abandoned"] == 1 {
                assert_eq!(stats["pushes"]["sms"]["sent"], 7);
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "SMS never abandoned: {stats}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn non_loopback_push_targets_are_refused_by_default() {
    bounded(async {
        let sim = start_sim(fast_config()).await;
        let (_, answer) = post_json(&sim, "/sim/sms", &json!({"url": "https://cb.example.com/sms"})).await;
        assert_eq!(answer["delivered"], false);
        // At least the first attempt failed (a re-push may have failed too by the time the stats are read: the
        // fast configuration re-pushes within milliseconds, and a loaded machine reads them late).
        let failed = get_json(&sim, "/sim/stats").await["pushes"]["sms"]["failed"].as_u64().unwrap_or(0);
        assert!(failed >= 1, "the refused push counts as failed: {failed}");
    })
    .await;
}

#[tokio::test]
async fn stats_and_calls_report_what_happened() {
    bounded(async {
        let sim = start_sim(fast_config()).await;
        let receiver = Receiver::start().await;
        assert_eq!(call_verify(&sim, &call_body(CALLEE_ANSWERED, &receiver)).await.0, 200);
        assert_eq!(call_verify(&sim, &call_body("+8613800008102", &receiver)).await.0, 200);
        assert_eq!(call_verify(&sim, &call_body("+8613800001010", &receiver)).await.1["resultcode"], "1010010");
        let unsigned = call_verify_raw(&sim, &call_body(CALLEE_ANSWERED, &receiver), None, None).await;
        assert_eq!(unsigned.1["resultcode"], "1023006");
        post_json(&sim, "/sim/sms", &json!({"url": receiver.url("/sms")})).await;

        receiver
            .wait_until("both CDRs", |p| {
                p.iter().map(|p| p.body["feeLst"].as_array().map_or(0, Vec::len)).sum::<usize>() == 2
            })
            .await;
        receiver.settle(Duration::from_millis(200)).await;
        let stats = get_json(&sim, "/sim/stats").await;
        assert_eq!(
            stats["callVerify"],
            json!({"received": 4, "accepted": 2, "rejected": 2, "hung": 0, "callsPlaced": 2,
                   "rejectedByResultcode": {"1010010": 1, "1023006": 1}})
        );
        let status = &stats["pushes"]["status"];
        assert_eq!(
            (status["sent"].as_u64(), status["acknowledged"].as_u64(), status["failed"].as_u64()),
            (Some(6), Some(6), Some(0))
        );
        assert_eq!(stats["pushes"]["sms"]["acknowledged"], 1);
        assert_eq!(stats["cdrsDelivered"], 2);
        assert_eq!(stats["pendingRepushes"], 0);
        assert_eq!(stats["queuedCdrs"], 0);

        let calls = get_json(&sim, "/sim/calls").await;
        let calls = calls.as_array().expect("list");
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0]["callee"], "+86138****0021", "callee is masked");
        assert_eq!(calls[0]["scenario"], "answered");
        assert_eq!(calls[1]["callee"], "+86138****8102");
        assert_eq!(calls[1]["scenario"], "busy");
        assert!(calls.iter().all(|c| c["sessionId"].as_str().is_some()));
        assert!(!calls[0].to_string().contains("+8613800000021"), "no full number anywhere");
        assert_eq!(sim.stats().call_verify.received, 4, "in-process accessor agrees");
    })
    .await;
}
