//! DynamoDB Local killed in the middle of a test: no push may get a 200 that is not durably stored.

use std::time::{Duration, Instant};

use integration_tests::events::{request, Envelope};
use integration_tests::{callback_config, fixture, DynamoLocal};
use voice_core::adapters::DynamoStore;
use voice_core::auth::SignatureMode;
use voice_core::callbacks::CallbackSettings;
use voice_core::callbacks::{CallbackService, Endpoint};
use voice_core::edge::http::answer;

async fn status_of(service: &CallbackService<DynamoStore>, endpoint: Endpoint, name: &str) -> (u16, String) {
    let event = request(Envelope::HttpApi, "POST", "/voice/x", fixture(name).as_bytes(), false);
    let response = answer(service, endpoint, event).await.unwrap();
    let body = match response.body() {
        lambda_http::Body::Text(text) => text.clone(),
        _ => String::new(),
    };
    (response.status().as_u16(), body)
}

#[tokio::test]
async fn dynamodb_stopped_mid_test_gives_5xx_never_200_then_recovers() {
    let mut dynamodb = DynamoLocal::start(None);
    let store = dynamodb.fresh_store().await;
    // A short retry budget, so the outage is answered quickly.
    let config =
        CallbackSettings { store_retry_budget: Duration::from_millis(800), ..callback_config("", SignatureMode::Off) };
    let service = CallbackService::new(store, config);

    assert_eq!(status_of(&service, Endpoint::Voice, "huawei/status-callout.json").await.0, 200);

    dynamodb.stop();
    for (endpoint, name) in [
        (Endpoint::Voice, "huawei/status-disconnect.json"),
        (Endpoint::Voice, "huawei/fee-verification.json"),
        (Endpoint::Sms, "huawei/sms-notify.json"),
    ] {
        let started = Instant::now();
        let (status, body) = status_of(&service, endpoint, name).await;
        assert_eq!(status, 503, "{name}: {body}");
        assert!(!body.contains(r#""resultcode":"0""#), "{name}: never a success body");
        // Retried for the budget (800 ms in tests), then answered: well inside Huawei's push timeout.
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(5), "{name}: took {took:?}");
    }

    // Storage back (in-memory: the table must be recreated): the next delivery of the same push is stored.
    dynamodb.start_again();
    service.store().create_table_if_missing().await.unwrap();
    let (status, body) = status_of(&service, Endpoint::Voice, "huawei/fee-verification.json").await;
    assert_eq!((status, body.as_str()), (200, r#"{"resultcode":"0","resultdesc":"Success"}"#));
    assert_eq!(service.store().all_records().await.unwrap().len(), 1);
}
