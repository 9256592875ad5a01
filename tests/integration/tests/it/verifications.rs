//! Verifications on DynamoDB Local: the check's conditional write holds under concurrency, does what the
//! in-memory rule (`records::verification::apply`) says it does, costs one request, and keeps no code in clear.

use std::sync::Arc;
use std::time::Duration;

use integration_tests::fault_proxy::{FaultConfig, FaultProxy};
use integration_tests::{client_at, DynamoLocal};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use time::OffsetDateTime;
use voice_core::adapters::{DynamoStore, MemoryStore};
use voice_core::ids::{VerificationCode, VerificationId};
use voice_core::records::verification::{CodeSource, VerificationChange, VerificationRecord};
use voice_core::verification::{CheckService, CheckSettings};
use voice_core::verification_state::{code_hash, Changed, VerificationStore};

const KEY: &str = "local-app-secret";
const MAX_CHECKS: u32 = 5;

fn id(text: &str) -> VerificationId {
    VerificationId::parse(text).expect("an id")
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

fn send(verification: &VerificationId, code: &str, at: i64, codes_expire_at: i64) -> VerificationChange {
    VerificationChange::Send {
        id: verification.clone(),
        hash: code_hash(KEY.as_bytes(), verification, &VerificationCode::parse(code).expect("a code")),
        source: CodeSource::Generated,
        country_code: "86".into(),
        prefix: "8613800".into(),
        now: at,
        codes_expire_at,
        max_sends: 3,
        max_checks: MAX_CHECKS,
        record_expires_at: at + 86_400,
    }
}

fn checker(store: DynamoStore) -> CheckService<DynamoStore> {
    CheckService::new(store, CheckSettings { hash_key: KEY.into(), retry_budget: Duration::from_secs(2) })
}

async fn check(service: &CheckService<DynamoStore>, verification: &str, code: &str) -> Value {
    let answer = service.handle(json!({"verificationId": verification, "code": code}), None).await.expect("an answer");
    let answer = serde_json::to_value(answer).expect("JSON");
    integration_tests::contract::check_answer("check-verification", &answer);
    answer
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_concurrent_wrong_checks_take_exactly_the_allowed_attempts_and_the_right_code_comes_too_late() {
    let store = DynamoLocal::shared().fresh_store().await;
    let verification = id("concurrent-1");
    store.change(&send(&verification, "482913", now(), now() + 600)).await.expect("started");
    let service = Arc::new(checker(store));
    let checks = (0..20).map(|n| {
        let service = service.clone();
        tokio::spawn(async move { check(&service, "concurrent-1", &format!("{:06}", 100_000 + n)).await })
    });
    let answers: Vec<Value> = futures::future::join_all(checks).await.into_iter().map(|a| a.expect("ran")).collect();
    let record = service.store().verification_record(&verification).await.expect("read").expect("a record");
    assert_eq!(record.checks, MAX_CHECKS, "exactly the allowed attempts were taken");
    assert_eq!(record.steps.len() as u32, 1 + MAX_CHECKS);
    let pending = answers.iter().filter(|a| a["status"] == "pending").count();
    assert_eq!(pending as u32, MAX_CHECKS - 1, "the first four wrong codes leave attempts: {answers:?}");
    assert!(answers.iter().all(|a| a["valid"] == false));
    let late = check(&service, "concurrent-1", "482913").await;
    assert_eq!((late["status"].as_str(), late["valid"].as_bool()), (Some("max_attempts_reached"), Some(false)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_check_is_one_conditional_write_and_no_read_right_or_wrong() {
    let dynamodb = DynamoLocal::shared();
    let table = dynamodb.fresh_store().await.table().to_owned();
    let proxy = FaultProxy::start(&dynamodb.endpoint(), FaultConfig::pass_through());
    let store = DynamoStore::new(client_at(&proxy.endpoint()).await, table);
    store.change(&send(&id("wire-1"), "482913", now(), now() + 600)).await.expect("started");
    let service = checker(store);
    let before = proxy.stats();
    assert_eq!(check(&service, "wire-1", "111111").await["status"], "pending");
    assert_eq!(check(&service, "wire-1", "482913").await["status"], "approved");
    let after = proxy.stats();
    for operation in ["UpdateItem", "GetItem", "Query", "PutItem"] {
        let expected = if operation == "UpdateItem" { 2 } else { 0 };
        assert_eq!(after.requests_of(operation) - before.requests_of(operation), expected, "{operation}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn codes_live_as_long_as_the_first_send_says_and_an_approval_is_safe_to_retry() {
    let store = DynamoLocal::shared().fresh_store().await;
    let (old, recent) = (id("resent-1"), id("expired-1"));
    store.change(&send(&old, "111111", now() - 30, now() + 600)).await.expect("started");
    store.change(&send(&old, "222222", now(), now() + 900)).await.expect("resent");
    store.change(&send(&recent, "333333", now() - 700, now() - 100)).await.expect("started long ago");
    let service = checker(store);
    let answer = check(&service, "resent-1", "111111").await;
    assert_eq!((answer["status"].as_str(), answer["valid"].as_bool()), (Some("approved"), Some(true)), "the old code");
    assert_eq!(answer["sends"], 2);
    let again = check(&service, "resent-1", "111111").await;
    assert_eq!(
        (again["status"].as_str(), again["approvedAt"].clone()),
        (Some("approved"), answer["approvedAt"].clone())
    );
    let expired = check(&service, "expired-1", "333333").await;
    assert_eq!((expired["status"].as_str(), expired["valid"].as_bool()), (Some("expired"), Some(false)));
    let record = service.store().verification_record(&recent).await.expect("read").expect("a record");
    assert_eq!(record.checks, 0, "a check past expiry is not taken");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_code_is_stored_in_clear() {
    let store = DynamoLocal::shared().fresh_store().await;
    let verification = id("clear-1");
    store.change(&send(&verification, "482913", now(), now() + 600)).await.expect("started");
    let service = checker(store);
    check(&service, "clear-1", "731594").await;
    check(&service, "clear-1", "482913").await;
    let text = serde_json::to_string(&service.store().all_records().await.expect("scanned")).expect("JSON");
    assert!(text.contains("verification#clear-1"), "the record is there: {text}");
    for code in ["482913", "731594"] {
        assert!(!text.contains(code), "{code} stored in clear: {text}");
    }
}

/// Random changes to a few verifications, applied both by DynamoDB (the conditional update of `change_write`) and
/// by `apply` in memory: the same changes are taken and refused, and the records end the same.
#[tokio::test(flavor = "multi_thread")]
async fn dynamodb_applies_every_change_as_the_in_memory_rule_does() {
    let dynamodb = DynamoLocal::shared().fresh_store().await;
    let memory = MemoryStore::default();
    let mut random = rand::rngs::StdRng::seed_from_u64(24);
    let ids = [id("same-1"), id("same-2"), id("same-3"), id("same-4"), id("same-5"), id("same-6")];
    let start = now();
    let codes = ["111111", "222222", "333333"];
    let mut taken = 0;
    for step in 0..240 {
        let verification = ids[random.random_range(0..ids.len())].clone();
        let at = start + step;
        let code = VerificationCode::parse(codes[random.random_range(0..codes.len())]).expect("a code");
        let hash = code_hash(KEY.as_bytes(), &verification, &code);
        let change = match random.random_range(0..40) {
            0..=9 => send(&verification, code.expose(), at, start + 180),
            10..=35 => {
                VerificationChange::Check { id: verification, hash, request: format!("r{}", step % 50), now: at }
            }
            36 => VerificationChange::Report { id: verification, now: at },
            37 => VerificationChange::Cancel { id: verification, now: at },
            _ => VerificationChange::Expire { id: verification, now: at },
        };
        let (in_dynamodb, in_memory) =
            (dynamodb.change(&change).await.expect("written"), memory.change(&change).await.unwrap());
        assert_eq!(in_dynamodb, in_memory, "step {step}: {change:?}");
        taken += usize::from(matches!(in_dynamodb, Changed::Done(_)));
    }
    assert!((40..200).contains(&taken), "the sequence took some changes and refused others: {taken}");
    for verification in &ids {
        let stored: Option<VerificationRecord> = dynamodb.verification_record(verification).await.expect("read");
        assert!(stored.is_some());
        assert_eq!(stored, memory.verification(&format!("verification#{}", verification.as_str())));
    }
}
