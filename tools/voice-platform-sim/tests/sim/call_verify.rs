//! callVerify over HTTP: authentication, body validation, the success shape.

use std::time::Duration;

use crate::common::*;
use serde_json::{json, Value};
use time::OffsetDateTime;
use voice_platform_sim::{password_digest, sign_with, time_fmt, AUTHORIZATION_VALUE};

#[test]
fn digest_test_vector() {
    assert_eq!(
        password_digest("testAppSecret", "66C92B11FF8A425FB8D4CCFE0ED9ED1F", "2018-02-12T15:30:20Z"),
        "WBB1hvMeB3Jl0Ec6loHZF1S11I0U+uSzEApiinumrZk="
    );
}

#[tokio::test]
async fn signed_request_succeeds_with_huawei_session_id() {
    bounded(async {
        let sim = start_sim(fast_config()).await;
        let receiver = Receiver::start().await;
        let (status, body) = call_verify(&sim, &call_body(CALLEE_ANSWERED, &receiver)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["resultcode"], "0");
        assert_eq!(body["resultdesc"], "Success");
        assert!(body.get("idlePort").is_none(), "idlePort only when asked for");
        let first = body["sessionId"].as_str().expect("sessionId").to_string();
        assert_huawei_session_id(&first);

        let mut with_idle = call_body(CALLEE_ANSWERED, &receiver);
        with_idle["returnIdlePort"] = json!("true");
        let (status, body) = call_verify(&sim, &with_idle).await;
        assert_eq!(status, 200);
        assert_eq!(body["idlePort"], 100);
        assert_ne!(body["sessionId"].as_str(), Some(first.as_str()), "sessionIds are unique");

        // The minimal documented request (no callbacks, no optional fields) is valid too.
        let minimal = json!({"displayNbr": DISPLAY_NBR, "calleeNbr": CALLEE_ANSWERED, "languageType": 2,
                             "preTone": "welcome.wav", "verifyCode": "12"});
        assert_eq!(call_verify(&sim, &minimal).await.0, 200);
    })
    .await;
}

#[tokio::test]
async fn response_content_type_is_huawei_json() {
    bounded(async {
        let sim = start_sim(fast_config()).await;
        let response = http().post(sim.call_verify_url()).body("{}").send().await.expect("answers");
        assert_eq!(response.status().as_u16(), 400);
        assert_eq!(
            response.headers().get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/json;charset=UTF-8")
        );
    })
    .await;
}

fn assert_error(answer: (u16, Value), http: u16, resultcode: &str) -> String {
    let (status, body) = answer;
    assert_eq!((status, body["resultcode"].as_str()), (http, Some(resultcode)), "{body}");
    body["resultdesc"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn wrong_digest_is_401_invalid_digest() {
    bounded(async {
        let sim = start_sim(fast_config()).await;
        let receiver = Receiver::start().await;
        let created = time_fmt::created(OffsetDateTime::now_utc());
        let signed = sign_with(APP_KEY, "not-the-secret", "0123456789ABCDEF", &created);
        let answer = call_verify_raw(
            &sim,
            &call_body(CALLEE_ANSWERED, &receiver),
            Some(&signed.authorization),
            Some(&signed.x_aksk),
        )
        .await;
        assert_eq!(assert_error(answer, 401, "1010010"), "Invalid digest");
        // A digest that is not even Base64 is the same failure.
        let x_aksk =
            format!(r#"UsernameToken Username="{APP_KEY}",PasswordDigest="%%%",Nonce="abc",Created="{created}""#);
        let answer =
            call_verify_raw(&sim, &call_body(CALLEE_ANSWERED, &receiver), Some(AUTHORIZATION_VALUE), Some(&x_aksk))
                .await;
        assert_error(answer, 401, "1010010");
    })
    .await;
}

#[tokio::test]
async fn stale_or_future_created_is_time_out_limit() {
    bounded(async {
        let mut config = fast_config();
        config.max_clock_skew = Duration::from_secs(60);
        let sim = start_sim(config).await;
        let receiver = Receiver::start().await;
        let body = call_body(CALLEE_ANSWERED, &receiver);
        let now = OffsetDateTime::now_utc();
        for offset in [time::Duration::minutes(-2), time::Duration::hours(8)] {
            let signed = sign_with(APP_KEY, APP_SECRET, "ABC123", &time_fmt::created(now + offset));
            let answer = call_verify_raw(&sim, &body, Some(&signed.authorization), Some(&signed.x_aksk)).await;
            assert_eq!(assert_error(answer, 401, "1010013"), "Time out limit", "offset {offset}");
        }
        // Inside the window is fine.
        let signed = sign_with(APP_KEY, APP_SECRET, "ABC123", &time_fmt::created(now - time::Duration::seconds(30)));
        let (status, _) = call_verify_raw(&sim, &body, Some(&signed.authorization), Some(&signed.x_aksk)).await;
        assert_eq!(status, 200);
    })
    .await;
}

#[tokio::test]
async fn malformed_auth_headers_get_their_codes() {
    bounded(async {
        let sim = start_sim(fast_config()).await;
        let receiver = Receiver::start().await;
        let body = call_body(CALLEE_ANSWERED, &receiver);
        let created = time_fmt::created(OffsetDateTime::now_utc());
        let good = sign_with(APP_KEY, APP_SECRET, "N0nce", &created);
        let digest = password_digest(APP_SECRET, "N0nce", &created);

        let auth_cases: [(Option<&str>, &str); 4] = [
            (None, "1023006"),
            (Some(r#"AKSK realm="CN",profile="UsernameToken",type="Appkey""#), "1023009"),
            (Some(r#"AKSK realm="SDP",profile="Digest",type="Appkey""#), "1023010"),
            (Some(r#"AKSK realm="SDP",profile="UsernameToken",type="Secret""#), "1023011"),
        ];
        for (authorization, code) in auth_cases {
            assert_error(call_verify_raw(&sim, &body, authorization, Some(&good.x_aksk)).await, 400, code);
        }

        let x_aksk_cases = [
            (None, "1023033"),
            (Some(format!(r#"UsernameToken PasswordDigest="{digest}",Nonce="N0nce",Created="{created}""#)), "1023034"),
            (Some(format!(r#"UsernameToken Username="{APP_KEY}",PasswordDigest="{digest}",Created="{created}""#)), "1023035"),
            (Some(format!(r#"UsernameToken Username="{APP_KEY}",PasswordDigest="{digest}",Nonce="N0nce""#)), "1023036"),
            (Some(format!(r#"UsernameToken Username="{APP_KEY}",Nonce="N0nce",Created="{created}""#)), "1023037"),
        ];
        for (x_aksk, code) in x_aksk_cases {
            assert_error(call_verify_raw(&sim, &body, Some(AUTHORIZATION_VALUE), x_aksk.as_deref()).await, 400, code);
        }

        let other_key = sign_with("someone-else", APP_SECRET, "N0nce", &created);
        let answer = call_verify_raw(&sim, &body, Some(AUTHORIZATION_VALUE), Some(&other_key.x_aksk)).await;
        assert_eq!(assert_error(answer, 401, "1010003"), "Invalid app_key");

        // Beijing-time Created written with an offset instead of `Z` is not the documented shape.
        let x_aksk = format!(r#"UsernameToken Username="{APP_KEY}",PasswordDigest="{digest}",Nonce="N0nce",Created="2018-02-12T23:30:20+08:00""#);
        assert_error(call_verify_raw(&sim, &body, Some(AUTHORIZATION_VALUE), Some(&x_aksk)).await, 400, "1023036");

        let stats = get_json(&sim, "/sim/stats").await;
        assert_eq!(stats["callVerify"]["received"], 11);
        assert_eq!(stats["callVerify"]["accepted"], 0);
        assert_eq!(stats["callVerify"]["rejected"], 11);
        assert_eq!(stats["callVerify"]["callsPlaced"], 0);
    })
    .await;
}

#[tokio::test]
async fn invalid_bodies_are_403_invalid_request_naming_the_parameter() {
    bounded(async {
        let sim = start_sim(fast_config()).await;
        let receiver = Receiver::start().await;
        let cases: Vec<(&str, Value, &str)> = vec![
            ("verifyCode", Value::Null, "Invalid request.verifyCode is missing"),
            ("verifyCode", json!("1234567890"), "Invalid request.verifyCode length must be 2-8"),
            ("verifyCode", json!("12ab"), "Invalid request.verifyCode must contain digits only"),
            ("calleeNbr", json!("+86"), "Invalid request.calleeNbr length must be 4-31"),
            ("languageType", json!("2"), "Invalid request.languageType must be an integer"),
            ("preTone", json!("lastMinVoice.wav"), "Invalid request.lastMinVoice.wav does not exist"),
            ("times", json!(10), "Invalid request.times must be 0-9"),
            (
                "statusUrl",
                json!("aHR0cDovL2V4YW1wbGU=="),
                "Invalid request.statusUrl is not a Base64-encoded http(s) URL",
            ),
            (
                "feeUrl",
                json!("aHR0cHM6Ly9jYi5leGFtcGxlLmNvbS9mZWU/dG9rZW49MQ=="),
                "Invalid request.feeUrl contains characters a callback URL may not have",
            ),
            ("returnIdlePort", json!(false), "Invalid request.returnIdlePort must be \"true\" or \"false\""),
            ("userData", json!("x".repeat(257)), "Invalid request.userData length must be 1-256"),
        ];
        for (field, value, expected) in cases {
            let mut body = call_body(CALLEE_ANSWERED, &receiver);
            if value.is_null() {
                if let Some(fields) = body.as_object_mut() {
                    fields.remove(field);
                }
            } else {
                body[field] = value;
            }
            let desc = assert_error(call_verify(&sim, &body).await, 403, "1010002");
            assert_eq!(desc, expected, "{field}");
        }
        let stats = get_json(&sim, "/sim/stats").await;
        assert_eq!(stats["callVerify"]["rejectedByResultcode"]["1010002"], 11);
        // Nothing invalid was placed, so nothing is pushed.
        assert!(receiver.settle(Duration::from_millis(200)).await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn wrong_method_and_unknown_path_are_invalid_rest_api() {
    bounded(async {
        let sim = start_sim(fast_config()).await;
        let response = http().get(sim.call_verify_url()).send().await.expect("answers");
        assert_eq!(response.status().as_u16(), 405);
        assert_eq!(response.json::<Value>().await.expect("json")["resultcode"], "1010006");
        let response =
            http().post(format!("{}/rest/httpsessions/callVerify/v2.0", sim.base_url())).send().await.expect("answers");
        assert_eq!(response.status().as_u16(), 404);
    })
    .await;
}
