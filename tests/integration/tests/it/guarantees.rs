//! The callbacks' headline guarantees, each against DynamoDB Local with the fault made visible:
//! - every CDR of a merged push is stored before Huawei hears 200 (one unstorable CDR: no 200, the others
//!   stored; the re-push completes it);
//! - each notification is stored once and never overwritten: a second delivery under the same key whose bytes
//!   differ leaves the first record as it was, field by field.

use std::sync::Mutex;
use std::time::Duration;

use aws_sdk_dynamodb::config::{Credentials, Region};
use integration_tests::events::{request, Envelope};
use integration_tests::fault_proxy::{FaultConfig, FaultProxy};
use integration_tests::{callback_config, client_at, fixture, logs_of, DynamoLocal};
use serde_json::{json, Value};
use voice_core::adapters::DynamoStore;
use voice_core::auth::SignatureMode;
use voice_core::callbacks::{CallbackService, CallbackSettings, Endpoint, HealthProbe};
use voice_core::edge::http::answer;
use voice_core::records::Record;
use voice_core::storage::{PutOutcome, RecordStore, StoreError};
use voice_core::telemetry::metrics::{self, Dimensions, Metric};

const SUCCESS_BODY: &str = r#"{"resultcode":"0","resultdesc":"Success"}"#;

/// DynamoDB Local, with the writes of one partition key failing (as a throttled or unavailable DynamoDB would)
/// until healed.
struct FailingKey {
    inner: DynamoStore,
    failing: Mutex<Option<String>>,
}

impl HealthProbe for FailingKey {
    async fn probe(&self) -> Result<(), StoreError> {
        self.inner.probe().await
    }
}

impl RecordStore for FailingKey {
    async fn put_new(&self, record: &Record) -> Result<PutOutcome, StoreError> {
        let failing = self.failing.lock().unwrap().clone();
        if failing.as_deref() == Some(record.pk.as_str()) {
            return Err(StoreError::transient("injected: this key cannot be stored"));
        }
        self.inner.put_new(record).await
    }
}

async fn post<S: RecordStore + HealthProbe>(
    service: &CallbackService<S>,
    endpoint: Endpoint,
    body: &str,
) -> (u16, String) {
    let event = request(Envelope::HttpApi, "POST", "/voice/fee", body.as_bytes(), false);
    let response = answer(service, endpoint, event).await.expect("answer never fails");
    let text = match response.body() {
        lambda_http::Body::Text(text) => text.clone(),
        _ => String::new(),
    };
    (response.status().as_u16(), text)
}

fn merged_fee_push(session_ids: &[String]) -> String {
    let cdr: Value =
        serde_json::from_str::<Value>(&fixture("huawei/fee-verification.json")).unwrap()["feeLst"][0].clone();
    let list: Vec<Value> = session_ids
        .iter()
        .map(|sid| {
            let mut cdr = cdr.clone();
            cdr["sessionId"] = sid.as_str().into();
            cdr
        })
        .collect();
    json!({"eventType": "fee", "feeLst": list}).to_string()
}

#[tokio::test]
async fn a_merged_push_is_acknowledged_only_once_every_cdr_is_stored() {
    let inner = DynamoLocal::shared().fresh_store().await;
    let settings =
        CallbackSettings { store_retry_budget: Duration::from_millis(300), ..callback_config("", SignatureMode::Off) };
    let session_ids: Vec<String> = (0..5).map(|i| format!("merged-{i}@callenabler245.huaweicaas.com")).collect();
    let store = FailingKey { inner, failing: Mutex::new(Some(session_ids[3].clone())) };
    let service = CallbackService::new(store, settings);
    let push = merged_fee_push(&session_ids);

    let (status, body) = post(&service, Endpoint::Voice, &push).await;
    assert_eq!(status, 503, "one CDR could not be stored: no success for the push ({body})");
    assert!(!body.contains(r#""resultcode":"0""#), "never Huawei's success body: {body}");
    for (i, sid) in session_ids.iter().enumerate() {
        let stored = service.store().inner.records_of(sid).await.unwrap().len();
        assert_eq!(stored, usize::from(i != 3), "{sid}: the others are stored, the failing one is not");
    }

    // Huawei re-pushes the same body; storage is back: the missing CDR is stored, the others are left alone.
    *service.store().failing.lock().unwrap() = None;
    let (status, body) = post(&service, Endpoint::Voice, &push).await;
    assert_eq!((status, body.as_str()), (200, SUCCESS_BODY));
    for sid in &session_ids {
        assert_eq!(service.store().inner.records_of(sid).await.unwrap().len(), 1, "{sid}: stored exactly once");
    }
}

#[tokio::test]
async fn a_second_delivery_with_different_bytes_never_overwrites_the_first() {
    let service =
        CallbackService::new(DynamoLocal::shared().fresh_store().await, callback_config("", SignatureMode::Off));
    let sid = "overwrite-1@callenabler245.huaweicaas.com";
    let status = |timestamp: &str, user_data: &str| {
        json!({"eventType": "callout", "statusInfo": {"sessionId": sid, "timestamp": timestamp, "userData": user_data}})
            .to_string()
    };
    let first = status("2026-11-21 03:04:24", "first");
    let second = status("2026-11-21 09:09:09", "second");
    assert_eq!(post(&service, Endpoint::Voice, &first).await.0, 200);
    let stored = service.store().records_of(sid).await.unwrap();
    const DIFFERENT: &str = "CONFLICTING DUPLICATE";
    let ((status, _), logs) = logs_of(post(&service, Endpoint::Voice, &first)).await;
    assert_eq!(status, 200);
    assert!(!logs.contains(DIFFERENT), "an identical re-delivery is a plain duplicate:\n{logs}");
    let ((status, _), logs) = logs_of(post(&service, Endpoint::Voice, &second)).await;
    assert_eq!(status, 200, "a duplicate key is acknowledged");
    assert!(logs.contains(DIFFERENT), "the operator is told that a second payload arrived:\n{logs}");
    let after = service.store().records_of(sid).await.unwrap();
    let (firsts, conflicts): (Vec<Value>, Vec<Value>) = after.into_iter().partition(|r| r["kind"] != "conflict");
    assert_eq!(firsts, stored, "every field of the first delivery kept");
    assert_eq!((firsts[0]["userData"].as_str(), firsts[0]["raw"].as_str()), (Some("first"), Some(first.as_str())));
    assert_eq!(conflicts.len(), 1, "the second payload is kept beside the first");
    assert_eq!(conflicts[0]["raw"].as_str(), Some(second.as_str()));

    // The same for a bill: a re-push under the same sessionId and icid whose content changed.
    let bill = |end: &str| {
        json!({"eventType": "fee", "feeLst": [{"sessionId": sid, "icid": "icid-1", "callEndTime": end}]}).to_string()
    };
    assert_eq!(post(&service, Endpoint::Voice, &bill("2026-11-21 03:04:40")).await.0, 200);
    assert_eq!(post(&service, Endpoint::Voice, &bill("2026-11-21 23:59:59")).await.0, 200);
    let cdrs: Vec<Value> =
        service.store().records_of(sid).await.unwrap().into_iter().filter(|r| r["kind"] == "cdr").collect();
    assert_eq!(cdrs.len(), 1);
    assert_eq!(cdrs[0]["callEndTime"], "2026-11-21 03:04:40", "the first bill kept: {}", cdrs[0]);
}

/// A push is acknowledged only after a durable write: an error DynamoDB answers is never taken for "already
/// stored", and an error retrying cannot mend (a missing table) is not retried. (The handler futures are boxed:
/// three of them inline overflow a test thread's stack in a debug build.)
#[tokio::test]
async fn a_storage_error_is_never_taken_for_a_duplicate() {
    let settings =
        CallbackSettings { store_retry_budget: Duration::from_millis(300), ..callback_config("", SignatureMode::Off) };
    let dynamodb = DynamoLocal::shared();
    let store = dynamodb.fresh_store().await;
    let table = store.table().to_owned();
    let proxy = FaultProxy::start(&dynamodb.endpoint(), FaultConfig { reject: 1.0, ..FaultConfig::pass_through() });
    let failing = CallbackService::new(DynamoStore::new(client_at(&proxy.endpoint()).await, &table), settings.clone());
    let body = fixture("huawei/status-callout.json");
    let ((status, _), metrics) = metrics::collect(Box::pin(post(&failing, Endpoint::Voice, &body))).await;
    assert_eq!(status, 503, "DynamoDB answered 500 InternalServerError to every write");
    assert!(retries(&metrics) >= 1.0, "an InternalServerError is worth retrying");
    assert!(store.all_records().await.unwrap().is_empty(), "nothing was acknowledged, nothing is stored");

    let missing = CallbackService::new(DynamoStore::new(dynamodb.client().await, "no-such-table"), settings.clone());
    let ((status, _), metrics) = metrics::collect(Box::pin(post(&missing, Endpoint::Voice, &body))).await;
    assert_eq!(status, 503, "ResourceNotFoundException: nothing stored");
    assert_eq!(retries(&metrics), 0.0, "a missing table is not retried");

    // A request the SDK cannot even build (AWS_REGION that is no region: no endpoint to send it to).
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version_latest()
        .region(Region::new("not a region"))
        .credentials_provider(Credentials::new("local", "local", None, None, "test"))
        .build();
    let unbuildable =
        CallbackService::new(DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), &table), settings);
    let ((status, _), metrics) = metrics::collect(Box::pin(post(&unbuildable, Endpoint::Voice, &body))).await;
    assert_eq!(status, 503);
    assert_eq!(retries(&metrics), 0.0, "a request that cannot be built is not retried");
}

fn retries(values: &metrics::Values) -> f64 {
    values.get(&Dimensions::none()).and_then(|m| m.get(&Metric::StorageRetries)).copied().unwrap_or(0.0)
}
