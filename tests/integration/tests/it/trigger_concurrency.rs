//! The trigger's atomic decisions under real concurrency, with the real DynamoDB adapter (DynamoDB Local) and
//! the real Huawei client against the simulator: one key in flight twice, one number called ten times at once.

use std::time::Duration;

use integration_tests::fault_proxy::{FaultConfig, FaultProxy};
use integration_tests::{client_at, DynamoLocal};
use serde_json::json;
use voice_core::adapters::CallVerifyClient;
use voice_core::adapters::DynamoStore;
use voice_core::calls::{Defaults, TriggerError, TriggerService, TriggerSettings, VerificationPolicy};
use voice_core::guard::GuardPolicy;
use voice_core::huawei::call_verify::encode_callback_url;
use voice_core::huawei::AppCredentials;
use voice_core::rate_limit::{RateLimitStore, RateLimits};
use voice_platform_sim::{Config as SimConfig, RunningSim};

async fn trigger(limits: RateLimits, hang: Duration) -> (TriggerService<DynamoStore, CallVerifyClient>, RunningSim) {
    trigger_with(limits, hang, GuardPolicy { prefix_limit: 0, ..GuardPolicy::default() }).await
}

/// A trigger over a fresh table and a simulator of its own, with the fraud guard's `guard` settings.
pub(crate) async fn trigger_with(
    limits: RateLimits,
    hang: Duration,
    guard: GuardPolicy,
) -> (TriggerService<DynamoStore, CallVerifyClient>, RunningSim) {
    let sim = voice_platform_sim::start(SimConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        timeout_hang: hang,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let credentials = AppCredentials { app_key: "local-app-key".into(), app_secret: "local-app-secret".into() };
    // The pushes of these calls go nowhere (port 9 is discard); only the trigger's decisions are under test.
    let url = encode_callback_url("http://127.0.0.1:9/voice/status").unwrap();
    let api = CallVerifyClient::new(&sim.base_url(), credentials.clone(), url.clone(), url).unwrap();
    let defaults = Defaults {
        display_nbr: Some("+8675528000088".into()),
        pre_tone: Some("welcome.wav".into()),
        language_type: 2,
        allow_endless_playback: false,
        code_length: 6,
    };
    let store = DynamoLocal::shared().fresh_store().await.stamping_region("us-east-1");
    let settings = TriggerSettings {
        defaults,
        limits,
        record_ttl: Duration::from_secs(86_400),
        region: "us-east-1".into(),
        api_timeout: Duration::from_secs(8),
        hash_key: credentials.app_secret,
        verifications: VerificationPolicy::default(),
        guard,
    };
    let service = TriggerService::new(store, api, settings);
    (service, sim)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_concurrent_duplicate_gets_idempotency_conflict_and_huawei_one_request() {
    // Callee …0408: the simulator holds the request 2 s, then answers success.
    let (service, sim) = trigger(RateLimits::new(0, 0), Duration::from_secs(2)).await;
    let event = json!({"calleeNbr": "+8613800000408", "verifyCode": "1234", "idempotencyKey": "dup-1"});
    // The simulator holds each request 2 s, so the two invokes overlap whichever claims the key first.
    let (a, b) = tokio::join!(service.handle(event.clone(), None), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        service.handle(event.clone(), None).await
    });
    let (placed, refused) = match (a, b) {
        (Ok(answer), Err(refusal)) | (Err(refusal), Ok(answer)) => (answer, refusal),
        other => panic!("expected one success and one conflict, got {other:?}"),
    };
    assert!(matches!(refused, TriggerError::IdempotencyConflict(_)), "{refused:?}");
    let session_id = placed.session_id;
    let replay = service.handle(event, None).await.unwrap();
    assert_eq!((replay.session_id, replay.replayed), (session_id, true));
    assert_eq!(sim.stats().call_verify.received, 1);
    let key_record = service.store().records_of("request#dup-1").await.unwrap();
    assert_eq!(key_record[0]["writtenRegion"], "us-east-1", "{key_record:?}");
}

/// The idempotency record in the table: its `payloadHash` is keyed by the app secret, so the code it covers cannot
/// be found by hashing the 10^8 possible requests; a replay of the same request still matches it.
#[tokio::test(flavor = "multi_thread")]
async fn the_stored_payload_hash_is_keyed_by_the_secret_and_a_replay_still_matches() {
    use sha2::Digest;
    use voice_core::calls::request::payload_hash;
    use voice_core::calls::CallRequest;
    let (service, sim) = trigger(RateLimits::new(0, 0), Duration::from_secs(1)).await;
    let event = json!({"calleeNbr": "+8613800000051", "verifyCode": "482913", "idempotencyKey": "hash-1"});
    let placed = service.handle(event.clone(), None).await.unwrap();
    let stored = service.store().records_of("request#hash-1").await.unwrap()[0]["payloadHash"].clone();
    let stored = stored.as_str().expect("a payloadHash");

    let defaults = Defaults {
        display_nbr: Some("+8675528000088".into()),
        pre_tone: Some("welcome.wav".into()),
        language_type: 2,
        allow_endless_playback: false,
        code_length: 6,
    };
    let request = CallRequest::from_event(event.clone(), &defaults).unwrap();
    let plain = hex::encode(sha2::Sha256::digest(serde_json::to_string(&request).unwrap().as_bytes()));
    assert_ne!(stored, plain, "an unsalted SHA-256 of the request gives the code away");
    assert_ne!(stored, payload_hash(b"another-secret", &request), "keyed by the app secret");
    assert_eq!(stored, payload_hash(b"local-app-secret", &request));
    assert!(!stored.contains("482913"));

    let replay = service.handle(event, None).await.unwrap();
    assert_eq!((replay.session_id, replay.replayed), (placed.session_id, true), "the same request still matches");
    let other_code = json!({"calleeNbr": "+8613800000051", "verifyCode": "482914", "idempotencyKey": "hash-1"});
    assert!(matches!(service.handle(other_code, None).await, Err(TriggerError::InvalidRequest(_))));
    assert_eq!(sim.stats().call_verify.received, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_simultaneous_calls_to_one_number_place_exactly_one() {
    let (service, sim) = trigger(RateLimits::new(1, 5), Duration::from_secs(1)).await;
    let invokes = (0..10)
        .map(|i| service.handle(json!({"calleeNbr": "+8613800000031", "verifyCode": format!("{:04}", i)}), None));
    let results = futures::future::join_all(invokes).await;
    let placed = results.iter().filter(|r| r.is_ok()).count();
    let limited = results.iter().filter(|r| matches!(r, Err(TriggerError::RateLimited { .. }))).count();
    assert_eq!((placed, limited), (1, 9), "{results:?}");
    assert_eq!(sim.stats().call_verify.received, 1);
    let rate_records: Vec<_> =
        service.store().all_records().await.unwrap().into_iter().filter(|r| r["kind"] == "ratelimit").collect();
    assert_eq!(rate_records.len(), 1);
    assert_eq!(rate_records[0]["writtenRegion"], "us-east-1", "the trigger's bookkeeping records carry it too");
    let key = rate_records[0]["pk"].as_str().unwrap();
    assert!(key.starts_with("ratelimit#") && !key.contains("13800000031"), "keyed by a hash: {key}");
}

/// A rate-limit write DynamoDB fails is reported at once, as the storage error it is: only a conditional-check
/// failure (another call took the slot meanwhile) is a race worth reading again.
#[tokio::test]
async fn a_failed_rate_limit_write_is_a_storage_error_not_a_race() {
    let dynamodb = DynamoLocal::shared();
    let table = dynamodb.fresh_store().await.table().to_owned();
    let faults = FaultConfig { reject: 1.0, only_operation: Some("PutItem"), ..FaultConfig::pass_through() };
    let proxy = FaultProxy::start(&dynamodb.endpoint(), faults);
    let store = DynamoStore::new(client_at(&proxy.endpoint()).await, table);
    let result = store.take_rate_slot("callee-key-1", &RateLimits::new(1, 5), 1_800_000_000).await;
    let error = result.expect_err("the write failed");
    assert!(error.is_transient() && error.to_string().contains("InternalServerError"), "{error}");
    assert_eq!(proxy.stats().requests_of("PutItem"), 1, "one write, not read-and-retry as for a race");
}
