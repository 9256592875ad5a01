//! `get-call-outcome`'s decisions over the in-memory store, on tokio's paused clock: validation, the two ways
//! in, NotFound, the wait that returns once the outcome is final, the re-read bound and the deadline.

use crate::ids::{key, sid};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use time::macros::datetime;
use tokio::time::Instant;

use super::*;
use crate::adapters::MemoryStore;
use crate::huawei::VoicePush;
use crate::idempotency::IdempotencyStore;
use crate::idempotency::{Claim, Completion};
use crate::records::{call_record, cdr_record, event_record, CallDetails, Stamp};
use crate::storage::RecordStore;

const SESSION: &str = "1201_612_4294967295_20261121030424@callenabler245.huaweicaas.com";

fn stamp() -> Stamp {
    Stamp::new(datetime!(2026-11-21 03:04:23 UTC), Duration::from_secs(86_400), "eu-west-1")
}

fn reader() -> OutcomeReader<MemoryStore> {
    OutcomeReader::new(MemoryStore::default(), Duration::from_millis(800))
}

async fn store_push(store: &MemoryStore, body: &str) {
    match VoicePush::parse(body.as_bytes()).expect("a valid push") {
        VoicePush::Status(event) => store.put_new(&event_record(&event, &stamp())).await.map(|_| ()),
        VoicePush::Fee(crate::huawei::FeeList { cdrs, .. }) => {
            store.put_new(&cdr_record(&cdrs[0], &stamp())).await.map(|_| ())
        }
        VoicePush::Unrecognised(_) | VoicePush::Quarantined(_) => panic!("a known push"),
    }
    .expect("stored");
}

async fn placed_call(store: &MemoryStore) {
    let details = CallDetails {
        session_id: &sid(SESSION),
        callee_masked: "+86138****0001",
        display_nbr: "+8675528000088",
        idempotency_key: Some("signup-42"),
        user_data: None,
        verification_id: None,
        raw: "{}",
    };
    store.put_new(&call_record(&details, &stamp())).await.expect("stored");
    let status = |event_type: &str, extra: &str| {
        format!(r#"{{"eventType":"{event_type}","statusInfo":{{"sessionId":"{SESSION}"{extra}}}}}"#)
    };
    store_push(store, &status("callout", "")).await;
    store_push(store, &status("disconnect", r#","stateCode":8102"#)).await;
}

async fn bill(store: &MemoryStore) {
    let body = format!(
        r#"{{"eventType":"fee","feeLst":[{{"sessionId":"{SESSION}","icid":"i1","callOutUnaswRsn":17,"ulFailReason":518,"sipStatusCode":486}}]}}"#
    );
    store_push(store, &body).await;
}

#[test]
fn events_are_validated() {
    let ok = |event: serde_json::Value| OutcomeRequest::parse(event).map(|(query, wait)| (query, wait.as_millis()));
    assert_eq!(ok(json!({"sessionId": "s"})), Ok((OutcomeQuery::Session(sid("s")), 0)));
    assert_eq!(
        ok(json!({"idempotencyKey": "k", "waitForFinalMs": 20000})),
        Ok((OutcomeQuery::IdempotencyKey(key("k")), 20000))
    );
    for bad in [
        json!({}),
        json!({"sessionId": "s", "idempotencyKey": "k"}),
        json!({"sessionId": "s", "waitForFinalMs": 20001}),
        json!({"sessionId": "s", "waitForFinalMs": -1}),
        json!({"sessionId": "s", "waitFinalMs": 10}),
        json!({"sessionId": ""}),
        json!({"idempotencyKey": "k".repeat(129)}),
        json!({"sessionId": 42}),
        json!("s"),
    ] {
        assert!(matches!(OutcomeRequest::parse(bad.clone()), Err(OutcomeError::InvalidRequest(_))), "{bad}");
    }
}

#[tokio::test(start_paused = true)]
async fn by_session_id_with_one_query_and_not_found_when_nothing_is_there() {
    let reader = reader();
    placed_call(reader.store()).await;
    bill(reader.store()).await;
    let outcome = reader.handle(json!({"sessionId": SESSION}), None).await.expect("an outcome");
    assert_eq!((outcome.status, outcome.is_final, outcome.version), (CallStatus::Busy, true, 4));
    assert_eq!(outcome.idempotency_key.as_deref(), Some("signup-42"));
    assert_eq!(reader.store().read_requests(), 1, "one Query");
    let missing = reader.handle(json!({"sessionId": "nobody@x"}), None).await;
    assert!(matches!(missing, Err(OutcomeError::NotFound(_))), "{missing:?}");
}

/// The log lines written while `f` runs on this thread.
async fn logs_of<F: std::future::Future>(f: F) -> (F::Output, String) {
    let buffer = crate::telemetry::CapturedLogs::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt().json().with_writer(move || writer.clone()).finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let output = f.await;
    (output, buffer.text())
}

#[tokio::test(start_paused = true)]
async fn a_number_asked_for_is_neither_logged_nor_echoed_when_not_found() {
    let reader = reader();
    for event in [
        json!({"sessionId": "+8613400007762_+8615000002131_4_627e5c1f"}),
        json!({"sessionId": "8613800000001"}),
        json!({"idempotencyKey": "+8613800000408"}),
        json!({"sessionId": 8613800000001u64}),
        json!({"idempotencyKey": "k", "waitForFinalMs": "13800000001"}),
    ] {
        let (result, logs) = logs_of(reader.handle(event.clone(), None)).await;
        let error = result.expect_err("nothing there");
        assert!(logs.contains("read failed") || logs.contains("read refused"), "{event}: {logs}");
        for number in ["13400007762", "15000002131", "13800000001", "13800000408"] {
            assert!(!logs.contains(number) && !error.to_string().contains(number), "{event}: {error}\n{logs}");
        }
    }
    let (_, logs) = logs_of(reader.handle(json!({"sessionId": "nobody@x"}), None)).await;
    assert!(logs.contains("nobody@x"), "an identifier without a number is logged as it is: {logs}");
}

#[tokio::test(start_paused = true)]
async fn by_idempotency_key_requested_unknown_and_not_found() {
    let reader = reader();
    let store = reader.store();
    placed_call(store).await;
    assert_eq!(store.claim_request(&key("signup-42"), "h", i64::MAX, 0, 0).await.unwrap(), Claim::Claimed);
    // Being placed right now: requested, no sessionId yet.
    let outcome = reader.handle(json!({"idempotencyKey": "signup-42"}), None).await.unwrap();
    assert_eq!((outcome.status, outcome.session_id.as_deref()), (CallStatus::Requested, None));
    store.complete_request(&key("signup-42"), &Completion::Requested { session_id: sid(SESSION) }).await.unwrap();
    let before = store.read_requests();
    let outcome = reader.handle(json!({"idempotencyKey": "signup-42"}), None).await.unwrap();
    assert_eq!((outcome.status, outcome.session_id.as_deref()), (CallStatus::Busy, Some(SESSION)));
    assert_eq!(store.read_requests() - before, 2, "one GetItem, one Query");

    store.claim_request(&key("maybe"), "h", i64::MAX, 0, 0).await.unwrap();
    store.complete_request(&key("maybe"), &Completion::OutcomeUnknown).await.unwrap();
    let outcome = reader.handle(json!({"idempotencyKey": "maybe", "waitForFinalMs": 5000}), None).await.unwrap();
    let expected = (CallStatus::Unknown, false, None, Some("maybe"));
    assert_eq!(
        (outcome.status, outcome.is_final, outcome.session_id.as_deref(), outcome.idempotency_key.as_deref()),
        expected
    );
    let missing = reader.handle(json!({"idempotencyKey": "never"}), None).await;
    assert!(matches!(missing, Err(OutcomeError::NotFound(_))), "{missing:?}");
}

#[tokio::test(start_paused = true)]
async fn a_wait_returns_once_the_bill_lands_with_reads_at_least_250_ms_apart() {
    let reader = Arc::new(reader());
    placed_call(reader.store()).await;
    let started = Instant::now();
    let billing = {
        let reader = Arc::clone(&reader);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1_600)).await;
            bill(reader.store()).await;
        })
    };
    let outcome = reader.handle(json!({"sessionId": SESSION, "waitForFinalMs": 10_000}), None).await.unwrap();
    billing.await.unwrap();
    let waited = started.elapsed();
    assert_eq!((outcome.status, outcome.is_final), (CallStatus::Busy, true));
    // Reads at 0, 250, 750, 1750 ms: the bill (at 1600 ms) is seen at the next read, well before the wait ends.
    assert_eq!(waited, Duration::from_millis(1_750));
    assert_eq!(reader.store().read_requests(), 4);
}

#[tokio::test(start_paused = true)]
async fn a_wait_ends_with_the_latest_outcome_and_never_past_the_deadline() {
    let reader = reader();
    placed_call(reader.store()).await;
    let started = Instant::now();
    let outcome = reader.handle(json!({"sessionId": SESSION, "waitForFinalMs": 3_000}), None).await.unwrap();
    assert_eq!((outcome.status, outcome.is_final), (CallStatus::Busy, false), "the provisional outcome");
    assert_eq!(started.elapsed(), Duration::from_millis(3_000));
    // Reads at 0, 250, 750, 1750, 2750 and the last at 3000 would be 250 ms after the one before: 6 reads.
    assert_eq!(reader.store().read_requests(), 6);

    // A Lambda deadline 5 s away cuts a 20 s wait, keeping time for the answer.
    let started = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(5);
    reader.handle(json!({"sessionId": SESSION, "waitForFinalMs": 20_000}), Some(deadline)).await.unwrap();
    assert!(started.elapsed() <= Duration::from_secs(5) - READ_RESERVE, "{:?}", started.elapsed());
}

#[tokio::test(start_paused = true)]
async fn a_read_while_storage_fails_is_storage_unavailable_after_the_retry_budget() {
    let reader = reader();
    placed_call(reader.store()).await;
    reader.store().set_unavailable(true);
    let started = Instant::now();
    let result = reader.handle(json!({"sessionId": SESSION}), None).await;
    assert!(matches!(result, Err(OutcomeError::StorageUnavailable(_))), "{result:?}");
    assert!(started.elapsed() <= Duration::from_millis(800), "within the retry budget: {:?}", started.elapsed());
    assert!(reader.store().read_requests() > 1, "retried");
}

#[test]
fn all_lists_the_error_type_of_every_variant_once() {
    let all = [
        OutcomeError::InvalidRequest(String::new()),
        OutcomeError::NotFound(String::new()),
        OutcomeError::StorageUnavailable(String::new()),
    ];
    // Does not compile once a variant is added: add it above and to `ALL`.
    for error in &all {
        match error {
            OutcomeError::InvalidRequest(_) | OutcomeError::NotFound(_) | OutcomeError::StorageUnavailable(_) => {}
        }
    }
    let named: Vec<&str> = all.iter().map(OutcomeError::error_type).collect();
    assert_eq!(named, OutcomeError::ALL);
}
