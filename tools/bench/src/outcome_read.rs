//! Section 6: `get-call-outcome`'s read. Its handler (validation, one consistent Query, the fold, the JSON
//! answer) over a finished call against a raw consistent Query of the same partition on the same client, one of
//! each per round in a shuffled order; the same by idempotency key against a raw GetItem + Query. And what one
//! read costs on the wire, through the metering proxy.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde_json::json;
use time::OffsetDateTime;
use voice_core::adapters::DynamoStore;
use voice_core::huawei::{FeeList, VoicePush};
use voice_core::idempotency::Completion;
use voice_core::idempotency::IdempotencyStore;
use voice_core::ids;
use voice_core::outcome::{CallStatus, OutcomeReader};
use voice_core::records::{call_record, cdr_record, event_record, request_pk, CallDetails, Record, Stamp, REQUEST_SK};
use voice_core::storage::RecordStore;

use test_support::fault_proxy::{FaultConfig, FaultProxy, ProxyStats};
use test_support::measure::Samples;
use test_support::{client_at, DynamoLocal};

const WARM_UP_ROUNDS: usize = 30;
const SERIES: usize = 4;
/// Reads whose requests are counted on the wire.
const METERED_READS: usize = 50;

/// Requests on the wire per read, by DynamoDB operation.
pub type RequestsPerRead = Vec<(String, f64)>;

#[derive(Debug, Clone)]
pub struct OutcomeRead {
    /// `get-call-outcome`'s handler by sessionId over a finished call (6 records).
    pub by_session: Samples,
    /// A raw consistent Query of the same partition, all pages, on the same client.
    pub raw_query: Samples,
    /// The handler by idempotency key (GetItem of the key, then the Query).
    pub by_key: Samples,
    /// A raw consistent GetItem of the key, then the raw Query.
    pub raw_get_and_query: Samples,
    /// Requests on the wire per read, by operation: (by sessionId, by idempotency key).
    pub requests_per_read: (RequestsPerRead, RequestsPerRead),
}

pub async fn measure(dynamodb: &DynamoLocal, rounds: usize) -> OutcomeRead {
    let store = dynamodb.fresh_store().await;
    let table = store.table().to_owned();
    let session_id =
        format!("1201_612_4294967295_20261121030424-{}@bench.example.com", test_support::unique_name("outcome"));
    let key = test_support::unique_name("bench-key");
    finished_call(&store, &session_id, &key).await;
    let client = store.client().clone();
    let reader = OutcomeReader::new(store, Duration::from_secs(3));
    let by_session = json!({"sessionId": session_id});
    let by_key = json!({"idempotencyKey": key});

    let mut samples: [Vec<Duration>; SERIES] = Default::default();
    let mut rng = StdRng::seed_from_u64(11);
    for round in 0..WARM_UP_ROUNDS + rounds {
        let mut order: Vec<usize> = (0..SERIES).collect();
        order.shuffle(&mut rng);
        let mut timings = [Duration::ZERO; SERIES];
        for series in order {
            let started = Instant::now();
            match series {
                0 => check(reader.handle(by_session.clone(), None).await),
                1 => assert_eq!(raw_query(&client, &table, &session_id).await, 6),
                2 => check(reader.handle(by_key.clone(), None).await),
                _ => {
                    raw_get(&client, &table, &key).await;
                    assert_eq!(raw_query(&client, &table, &session_id).await, 6);
                }
            }
            timings[series] = started.elapsed();
        }
        if round >= WARM_UP_ROUNDS {
            for (series, timing) in samples.iter_mut().zip(timings) {
                series.push(timing);
            }
        }
    }
    let [by_session_samples, raw_query_samples, by_key_samples, raw_get_and_query] = samples.map(Samples::new);
    let requests_per_read = metered(dynamodb, &table, &by_session, &by_key).await;
    OutcomeRead {
        by_session: by_session_samples,
        raw_query: raw_query_samples,
        by_key: by_key_samples,
        raw_get_and_query,
        requests_per_read,
    }
}

/// A read is only measured when it answered what the call is: busy, final.
fn check(result: Result<voice_core::outcome::CallOutcome, voice_core::outcome::OutcomeError>) {
    let outcome = result.expect("an outcome");
    assert_eq!((outcome.status, outcome.is_final, outcome.version), (CallStatus::Busy, true, 6), "{outcome:?}");
}

/// The records of a busy call as the functions store them: the trigger's call record and idempotency key,
/// callout, alerting, disconnect, the CDR, and an unknown event type.
pub async fn finished_call(store: &DynamoStore, session_id: &str, key: &str) {
    let (mut records, cdr) = busy_call_records(session_id, Some(key));
    records.push(cdr);
    for record in &records {
        store.put_new(record).await.expect("stored");
    }
    let now_ms = OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let stamp = Stamp::new(OffsetDateTime::now_utc(), Duration::from_secs(86_400), "eu-west-1");
    let (key, session_id) = (ids::key(key), ids::sid(session_id));
    store.claim_request(&key, "bench", now_ms + 60_000, now_ms, stamp.expires_at()).await.expect("claimed");
    store.complete_request(&key, &Completion::Requested { session_id }).await.expect("completed");
}

/// A busy call's records but its CDR (call record, callout, alerting, disconnect, an unknown event type: the
/// outcome is `busy`, not final), and the CDR that makes it final.
pub fn busy_call_records(session_id: &str, key: Option<&str>) -> (Vec<Record>, Record) {
    let stamp = Stamp::new(OffsetDateTime::now_utc(), Duration::from_secs(86_400), "eu-west-1");
    let details = CallDetails {
        session_id: &voice_core::ids::sid(session_id),
        callee_masked: "+86138****8102",
        display_nbr: "+8675528000088",
        idempotency_key: key,
        user_data: Some("bench"),
        verification_id: None,
        raw: "{}",
    };
    let mut records = vec![call_record(&details, &stamp)];
    let mut cdrs = Vec::new();
    let status = |event_type: &str, extra: &str| {
        format!(
            r#"{{"eventType":"{event_type}","statusInfo":{{"sessionId":"{session_id}","timestamp":"2026-11-21 03:04:24"{extra}}}}}"#
        )
    };
    let bodies = [
        status("callout", ""),
        status("alerting", ""),
        status("disconnect", r#","stateCode":8102,"stateDesc":"The callee is busy.""#),
        format!(
            r#"{{"eventType":"fee","feeLst":[{{"sessionId":"{session_id}","icid":"bench-1","callOutStartTime":"2026-11-21 03:04:24","callEndTime":"2026-11-21 03:04:33","callOutUnaswRsn":17,"ulFailReason":518,"sipStatusCode":486}}]}}"#
        ),
    ];
    for body in bodies {
        match VoicePush::parse(body.as_bytes()).expect("a valid push") {
            VoicePush::Status(event) => records.push(event_record(&event, &stamp)),
            VoicePush::Fee(FeeList { cdrs: list, .. }) => cdrs.extend(list.iter().map(|cdr| cdr_record(cdr, &stamp))),
            VoicePush::Unrecognised(event) => records.push(voice_core::records::unrecognised_record(&event, &stamp)),
            VoicePush::Quarantined(element) => panic!("a bench push was quarantined: {:?}", element.reason),
        }
    }
    let unknown = format!(r#"{{"eventType":"recordReady","statusInfo":{{"sessionId":"{session_id}"}}}}"#);
    if let Ok(VoicePush::Unrecognised(event)) = VoicePush::parse(unknown.as_bytes()) {
        records.push(voice_core::records::unrecognised_record(&event, &stamp));
    }
    let cdr = cdrs.pop().expect("the fee push's CDR");
    (records, cdr)
}

async fn raw_query(client: &aws_sdk_dynamodb::Client, table: &str, pk: &str) -> usize {
    let items: Vec<_> = client
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
        .consistent_read(true)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("raw Query");
    items.len()
}

async fn raw_get(client: &aws_sdk_dynamodb::Client, table: &str, key: &str) {
    let item = client
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(request_pk(key)))
        .key("sk", AttributeValue::S(REQUEST_SK.to_owned()))
        .consistent_read(true)
        .send()
        .await
        .expect("raw GetItem");
    assert!(item.item.is_some(), "the key's record");
}

/// Requests per read on the wire, by operation, for reads by sessionId and by idempotency key.
async fn metered(
    dynamodb: &DynamoLocal,
    table: &str,
    by_session: &serde_json::Value,
    by_key: &serde_json::Value,
) -> (RequestsPerRead, RequestsPerRead) {
    let proxy = FaultProxy::start(&dynamodb.endpoint(), FaultConfig::pass_through());
    let reader =
        OutcomeReader::new(DynamoStore::new(client_at(&proxy.endpoint()).await, table), Duration::from_secs(3));
    let mut per_read = Vec::new();
    for event in [by_session, by_key] {
        let before = proxy.stats();
        for _ in 0..METERED_READS {
            check(reader.handle(event.clone(), None).await);
        }
        per_read.push(per_operation(&before, &proxy.stats()));
    }
    let by_key = per_read.pop().unwrap_or_default();
    (per_read.pop().unwrap_or_default(), by_key)
}

fn per_operation(before: &ProxyStats, after: &ProxyStats) -> RequestsPerRead {
    after
        .requests
        .iter()
        .map(|(operation, count)| {
            (operation.clone(), (count - before.requests_of(operation)) as f64 / METERED_READS as f64)
        })
        .filter(|(_, per_read)| *per_read > 0.0)
        .collect()
}
