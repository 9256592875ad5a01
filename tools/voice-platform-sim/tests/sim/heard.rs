//! `GET /sim/heard`: the code the callee's phone heard, for answered calls only.

use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::{json, Value};

async fn get(sim: &voice_platform_sim::RunningSim, path: &str) -> (u16, Value) {
    let response = http().get(format!("{}{path}", sim.base_url())).send().await.expect("sim answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON"))
}

/// Polls `path` until it answers 200 (the callee answers one `event_delay` after ringing).
async fn heard(sim: &voice_platform_sim::RunningSim, path: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body) = get(sim, path).await;
        if status == 200 {
            return body;
        }
        assert_eq!((status, &body), (404, &json!({"error": "nothing heard"})), "{path}");
        assert!(Instant::now() < deadline, "{path}: nothing heard after 15 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Places a call to `callee` speaking `code`; returns its sessionId.
async fn place(sim: &voice_platform_sim::RunningSim, receiver: &Receiver, callee: &str, code: &str) -> String {
    let mut body = call_body(callee, receiver);
    body["verifyCode"] = json!(code);
    let (status, answer) = call_verify(sim, &body).await;
    assert_eq!(status, 200, "{answer}");
    answer["sessionId"].as_str().expect("sessionId").to_owned()
}

#[tokio::test]
async fn an_answered_call_is_heard_by_session_and_by_callee() {
    bounded(async {
        let sim = start_sim(fast_config()).await;
        let receiver = Receiver::start().await;
        let first = place(&sim, &receiver, CALLEE_ANSWERED, "482913").await;
        let by_session = heard(&sim, &format!("/sim/heard/{first}")).await;
        assert_eq!(by_session["sessionId"], first.as_str());
        assert_eq!(by_session["verifyCode"], "482913");
        assert_eq!(by_session["calleeNbr"], "+86138****0021", "the number is masked");
        assert_notification_time(by_session["heardAt"].as_str().expect("heardAt"));
        assert_eq!(sim.heard(&first).expect("the library's view").verify_code.expose(), "482913");

        // A second call to the same phone: the lookup by number answers the latest, the first stays by session.
        let second = place(&sim, &receiver, CALLEE_ANSWERED, "7301").await;
        heard(&sim, &format!("/sim/heard/{second}")).await;
        for query in ["calleeNbr=%2B8613800000021", "calleeNbr=+8613800000021", "calleeNbr=8613800000021"] {
            let latest = heard(&sim, &format!("/sim/heard?{query}")).await;
            assert_eq!((latest["sessionId"].as_str(), latest["verifyCode"].as_str()), (Some(&*second), Some("7301")));
        }
        assert_eq!(heard(&sim, &format!("/sim/heard/{first}")).await["verifyCode"], "482913");

        // The phone hears the code even when every status push is lost.
        let lost = place(&sim, &receiver, "+8613800000404", "55").await;
        assert_eq!(heard(&sim, &format!("/sim/heard/{lost}")).await["verifyCode"], "55");
    })
    .await;
}

#[tokio::test]
async fn an_unanswered_call_is_not_heard() {
    bounded(async {
        let sim = start_sim(fast_config()).await;
        let receiver = Receiver::start().await;
        let mut sessions = Vec::new();
        for callee in ["+8613800008101", "+8613800008102", "+8613800008004"] {
            sessions.push((callee, place(&sim, &receiver, callee, "482913").await));
        }
        // Every call has ended (its disconnect pushed): nothing more will be heard.
        receiver
            .wait_until("three disconnects", |p| p.iter().filter(|p| p.event_type() == "disconnect").count() == 3)
            .await;
        let nothing = json!({"error": "nothing heard"});
        for (callee, session_id) in &sessions {
            assert_eq!(get(&sim, &format!("/sim/heard/{session_id}")).await, (404, nothing.clone()), "{callee}");
            let by_number = format!("/sim/heard?calleeNbr={}", callee.replace('+', "%2B"));
            assert_eq!(get(&sim, &by_number).await, (404, nothing.clone()), "{callee}");
            assert!(sim.heard(session_id).is_none(), "{callee}");
        }

        // A refused call is never placed, so never heard either.
        let (status, _) = call_verify(&sim, &call_body("+8613800000403", &receiver)).await;
        assert_eq!(status, 403);
        assert_eq!(get(&sim, "/sim/heard?calleeNbr=%2B8613800000403").await, (404, nothing.clone()));
        assert_eq!(get(&sim, "/sim/heard/1201_1_4294967295_20190124030424@x").await, (404, nothing.clone()));
        let (status, body) = get(&sim, "/sim/heard").await;
        assert_eq!(status, 400, "the number is required: {body}");
    })
    .await;
}
