//! Delivery rules: CDR re-push until success (at most 6), no status re-push, duplicates, CDR merging.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::common::*;
use serde_json::Value;
use voice_platform_sim::time_fmt;

async fn place_answered_call(
    receiver: &Receiver,
    config: voice_platform_sim::Config,
) -> voice_platform_sim::RunningSim {
    let sim = start_sim(config).await;
    let (status, body) = call_verify(&sim, &call_body(CALLEE_ANSWERED, receiver)).await;
    assert_eq!(status, 200, "{body}");
    sim
}

#[tokio::test]
async fn failing_receiver_gets_the_cdr_again_until_it_succeeds() {
    bounded(async {
        let receiver = Receiver::start().await;
        receiver.fail_first_fee(3, FeeFailure::Http500);
        let sim = place_answered_call(&receiver, fast_config()).await;
        let pushes = receiver
            .wait_until("an acknowledged CDR", |p| p.iter().any(|p| p.path == "/fee" && p.answered == 200))
            .await;
        let fees: Vec<&Push> = pushes.iter().filter(|p| p.path == "/fee").collect();
        assert_eq!(fees.iter().map(|p| p.answered).collect::<Vec<_>>(), [500, 500, 500, 200]);
        assert!(fees.windows(2).all(|w| w[0].body == w[1].body), "a re-push carries the same CDR");
        assert!(
            fees.windows(2).all(|w| w[1].at - w[0].at >= Duration::from_millis(90)),
            "re-pushes wait the configured interval"
        );
        assert_eq!(receiver.settle(Duration::from_millis(400)).await.iter().filter(|p| p.path == "/fee").count(), 4);
        let stats = get_json(&sim, "/sim/stats").await;
        let fee = &stats["pushes"]["fee"];
        assert_eq!(
            (fee["sent"].as_u64(), fee["acknowledged"].as_u64(), fee["failed"].as_u64()),
            (Some(4), Some(1), Some(3))
        );
        assert_eq!(fee["repushes"], 3);
        assert_eq!(stats["pendingRepushes"], 0);
        assert_eq!(stats["cdrsDelivered"], 1);
    })
    .await;
}

#[tokio::test]
async fn non_zero_resultcode_in_a_200_counts_as_failure() {
    bounded(async {
        let receiver = Receiver::start().await;
        receiver.fail_first_fee(1, FeeFailure::ResultCodeNotZero);
        let sim = place_answered_call(&receiver, fast_config()).await;
        receiver.wait_until("two CDR pushes", |p| p.iter().filter(|p| p.path == "/fee").count() == 2).await;
        let stats = get_json(&sim, "/sim/stats").await;
        assert_eq!(stats["pushes"]["fee"]["failed"], 1);
        assert_eq!(stats["pushes"]["fee"]["acknowledged"], 1);
    })
    .await;
}

#[tokio::test]
async fn cdr_is_abandoned_after_six_repushes_and_pending_is_reported() {
    bounded(async {
        let receiver = Receiver::start().await;
        receiver.fail_first_fee(usize::MAX, FeeFailure::Http500);
        let mut config = fast_config();
        config.repush_interval = Duration::from_millis(150);
        let sim = place_answered_call(&receiver, config).await;
        receiver.wait_until("the first CDR push", |p| p.iter().any(|p| p.path == "/fee")).await;
        // The simulator books the re-push once it has read the failed answer: poll rather than guess how soon (a
        // loaded machine took more than 50 ms), while the six re-pushes are still to come.
        let mut pending = Value::Null;
        for _ in 0..100 {
            pending = get_json(&sim, "/sim/stats").await["pendingRepushes"].clone();
            if pending == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(pending, 1, "a re-push is pending");
        receiver.wait_until("7 CDR pushes", |p| p.iter().filter(|p| p.path == "/fee").count() == 7).await;
        let fees = receiver.settle(Duration::from_millis(500)).await.into_iter().filter(|p| p.path == "/fee").count();
        assert_eq!(fees, 7, "1 push + 6 re-pushes, then nothing");
        let stats = get_json(&sim, "/sim/stats").await;
        assert_eq!(stats["pushes"]["fee"]["abandoned"], 1);
        assert_eq!(stats["pushes"]["fee"]["repushes"], 6);
        assert_eq!(stats["pendingRepushes"], 0);
    })
    .await;
}

#[tokio::test]
async fn status_pushes_are_never_repushed() {
    bounded(async {
        let receiver = Receiver::start().await;
        receiver.fail_status(true);
        let sim = place_answered_call(&receiver, fast_config()).await;
        receiver.wait_until("the CDR", |p| p.iter().any(|p| p.path == "/fee")).await;
        let pushes = receiver.settle(Duration::from_millis(400)).await;
        let statuses: Vec<&str> = pushes.iter().filter(|p| p.path == "/status").map(|p| p.event_type()).collect();
        assert_eq!(statuses, ["callout", "alerting", "answer", "disconnect"], "each failed status event sent once");
        let stats = get_json(&sim, "/sim/stats").await;
        assert_eq!(stats["pushes"]["status"]["failed"], 4);
        assert_eq!(stats["pushes"]["status"]["repushes"], 0);
        assert_eq!(stats["pushes"]["fee"]["acknowledged"], 1);
    })
    .await;
}

#[tokio::test]
async fn duplicates_mode_sends_every_push_n_times() {
    bounded(async {
        let receiver = Receiver::start().await;
        let mut config = fast_config();
        config.duplicates = 2;
        let sim = place_answered_call(&receiver, config).await;
        receiver.wait_until("two CDR copies", |p| p.iter().filter(|p| p.path == "/fee").count() == 2).await;
        let pushes = receiver.settle(Duration::from_millis(300)).await;
        let kinds: Vec<String> = pushes.iter().map(|p| p.event_type().to_string()).collect();
        assert_eq!(
            kinds,
            [
                "callout",
                "callout",
                "alerting",
                "alerting",
                "answer",
                "answer",
                "disconnect",
                "disconnect",
                "fee",
                "fee"
            ]
        );
        assert_eq!(pushes[8].body, pushes[9].body);
        assert_ne!(
            pushes[8].headers.get("x-aksk"),
            pushes[9].headers.get("x-aksk"),
            "each copy is signed with a fresh nonce"
        );
        let stats = get_json(&sim, "/sim/stats").await;
        assert_eq!(stats["pushes"]["status"]["sent"], 8);
        assert_eq!(stats["pushes"]["fee"]["sent"], 2);
    })
    .await;
}

/// 60 answered calls and 3 busy calls start in the same (pinned) second. Answered calls end 4 events (1.2 s)
/// later, busy ones 2 events (0.6 s) later, so there are two callEndTimes; the merge window covers all 63 CDRs.
#[tokio::test]
async fn equal_call_end_times_are_merged_at_most_fifty_per_push() {
    bounded(async {
        let receiver = Receiver::start().await;
        let mut config = fast_config();
        config.fixed_call_time = time_fmt::parse_created("2019-01-24T03:04:24Z");
        config.event_delay = Duration::from_millis(300);
        config.merge_window = Duration::from_millis(1500);
        let sim = std::sync::Arc::new(start_sim(config).await);

        let client = http();
        let mut requests = tokio::task::JoinSet::new();
        for n in 0..63 {
            let callee = if n < 60 { format!("+86138{n:08}") } else { format!("+861390000{n}8102") };
            let mut body = call_body(&callee, &receiver);
            if let Some(fields) = body.as_object_mut() {
                fields.remove("statusUrl");
            }
            let (sim, client) = (sim.clone(), client.clone());
            requests.spawn(async move { call_verify_using(&client, &sim, &body).await.0 });
        }
        while let Some(status) = requests.join_next().await {
            assert_eq!(status.expect("request task"), 200);
        }

        receiver
            .wait_until("63 merged CDRs", |p| {
                p.iter().map(|p| p.body["feeLst"].as_array().map_or(0, Vec::len)).sum::<usize>() >= 63
            })
            .await;
        let pushes = receiver.settle(Duration::from_millis(300)).await;
        assert_eq!(pushes.len(), 3, "two callEndTimes → 50 + 10 answered, 3 busy");
        let mut shapes: Vec<(String, usize)> = pushes
            .iter()
            .map(|p| {
                let list = p.body["feeLst"].as_array().expect("feeLst");
                let ends: BTreeSet<&str> = list.iter().filter_map(|f| f["callEndTime"].as_str()).collect();
                assert_eq!(ends.len(), 1, "one callEndTime per push");
                (ends.into_iter().next().unwrap_or_default().to_string(), list.len())
            })
            .collect();
        shapes.sort();
        assert_eq!(
            shapes,
            [
                ("2019-01-24 03:04:24".to_string(), 3),
                ("2019-01-24 03:04:25".to_string(), 10),
                ("2019-01-24 03:04:25".to_string(), 50)
            ]
        );
        let sessions: BTreeSet<&str> = pushes
            .iter()
            .flat_map(|p| p.body["feeLst"].as_array().into_iter().flatten())
            .filter_map(|f: &Value| f["sessionId"].as_str())
            .collect();
        assert_eq!(sessions.len(), 63, "every call's CDR exactly once");
        assert_eq!(get_json(&sim, "/sim/stats").await["cdrsDelivered"], 63);
    })
    .await;
}
