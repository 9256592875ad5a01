//! DynamoDB Local killed in the middle of a test: no push may get a 200 that is not durably stored.

use std::time::{Duration, Instant};

use integration_tests::events::{request, Envelope};
use integration_tests::fault_proxy::{FaultConfig, FaultProxy};
use integration_tests::{callback_config, client_at, fixture, free_port, peer_client_at, DynamoLocal};
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

/// The home table unreachable (nothing listens on its port) and the peer replica answering its write only after
/// 1.7 s, longer than one attempt on the home table may take: the callback waits for the peer within its budget
/// instead of cutting the attempt and retrying into the same wait (docs/operations.md, "Peer-replica writes and replay").
#[tokio::test]
async fn a_slow_peer_replica_is_waited_for_within_the_budget() {
    let dynamodb = DynamoLocal::shared();
    let peer_table = dynamodb.fresh_store().await;
    let table = peer_table.table().to_owned();
    let slow = FaultConfig {
        stall: 1.0,
        stall_for: Duration::from_millis(1700),
        only_operation: Some("PutItem"),
        ..FaultConfig::pass_through()
    };
    let proxy = FaultProxy::start(&dynamodb.endpoint(), slow);
    let unreachable = format!("http://127.0.0.1:{}", free_port());
    let (status, body, took) = timed_push_with_peer(&unreachable, &proxy.endpoint(), &table).await;
    let budget = voice_core::config::DEFAULT_STORE_RETRY_BUDGET;
    assert_eq!(status, 200, "the peer's slow answer is a durable write: {body}");
    assert!(took >= Duration::from_millis(1700) && took < budget, "one wait for the peer, within the budget: {took:?}");
    assert_eq!(peer_table.all_records().await.expect("scan").len(), 1, "stored once, in the peer");
}

/// The home table answering every write with a 500 (reachable, but failing): the callback retries it for half of
/// its budget (at most 1.5 s), then writes to the peer with the rest. The added latency of such a fallback write.
#[tokio::test]
async fn a_failing_home_table_gives_way_to_the_peer_after_its_share() {
    let dynamodb = DynamoLocal::shared();
    let home_table = dynamodb.fresh_store().await;
    let table = home_table.table().to_owned();
    let peer_dynamodb = DynamoLocal::start(None);
    let peer_table = DynamoStore::new(peer_dynamodb.client().await, &table);
    peer_table.create_table_if_missing().await.expect("peer table");
    let failing = FaultProxy::start(&dynamodb.endpoint(), FaultConfig { reject: 1.0, ..FaultConfig::pass_through() });
    let (status, body, took) = timed_push_with_peer(&failing.endpoint(), &peer_dynamodb.endpoint(), &table).await;
    let budget = voice_core::config::DEFAULT_STORE_RETRY_BUDGET;
    println!("fallback after a failing home table: {took:?}");
    assert_eq!(status, 200, "{body}");
    let home_share = budget / 2;
    assert!(took >= home_share - Duration::from_millis(450) && took < budget, "home's share, then the peer: {took:?}");
    assert!(home_table.all_records().await.expect("scan").is_empty(), "the home table took nothing");
    assert_eq!(peer_table.all_records().await.expect("scan").len(), 1, "stored once, in the peer");
}

/// One status push to callbacks with the functions' default budget, the home table at `home` and the peer replica
/// at `peer` (the callbacks' own peer client): its status, body and time.
async fn timed_push_with_peer(home: &str, peer: &str, table: &str) -> (u16, String, Duration) {
    let home = DynamoStore::new(client_at(home).await, table);
    let peer = DynamoStore::new(peer_client_at(peer, "us-west-2").await, table);
    let budget = voice_core::config::DEFAULT_STORE_RETRY_BUDGET;
    let config = CallbackSettings { store_retry_budget: budget, ..callback_config("", SignatureMode::Off) };
    let service = CallbackService::new(home, config).with_peer(peer);
    let started = Instant::now();
    let (status, body) = status_of(&service, Endpoint::Voice, "huawei/status-callout.json").await;
    (status, body, started.elapsed())
}
