//! Section 7: outcome events. The load workload (calls with their status pushes and merged CDR pushes, 30 %
//! duplicates, shuffled) stored by the callbacks in process, then the table's DynamoDB Local stream pumped into the
//! publisher's code in process (its DynamoDB client through the metering proxy, its events counted by a sink that
//! keeps them). Measured: events published per call against the number of status changes the call's records make
//! (counted independently from a full read: each call's records in the order they were stored, folded one more
//! at a time), Queries on the wire per stream record, and a second pass over the whole stream (a re-delivery)
//! publishing the same `outcomeId`s.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::time::Instant;
use voice_core::adapters::DynamoStore;
use voice_core::auth::SignatureMode;
use voice_core::callbacks::CallbackService;
use voice_core::edge::publisher::stream_item;
use voice_core::outcome::{fold, BusEvent, EventSink, OutcomeEvent, OutcomePublisher, SinkError};
use voice_core::records::StoredRecord;

use test_support::fault_proxy::{FaultConfig, FaultProxy};
use test_support::load::{deliver, repush, scan_all, CountingStore, DeliveryLog, Transport, Workload};
use test_support::{callback_config, client_at, DynamoLocal, StreamPump, HOME_REGION};

const SEED: u64 = 0x0b5e_55ed_2611;
const PUSHES_PER_CALL: usize = 4;

#[derive(Debug, Clone)]
pub struct OutcomeEvents {
    pub calls: usize,
    pub stream_records: usize,
    pub events: usize,
    /// Status changes the calls' records make, counted from a full read.
    pub changes: usize,
    /// Calls whose events differ in number from their changes.
    pub calls_off: usize,
    pub queries: u64,
    pub invocations: usize,
    /// Distinct `outcomeId`s of the first pass; those of the re-delivery that were not among them.
    pub distinct_ids: usize,
    pub new_ids_on_redelivery: usize,
}

/// Keeps every event it is given, accepting them all.
#[derive(Default)]
struct KeepingSink(Mutex<Vec<OutcomeEvent>>);

impl EventSink for &KeepingSink {
    async fn put_events(&self, events: &[BusEvent]) -> Result<Vec<Option<String>>, SinkError> {
        let outcomes = events.iter().filter_map(|event| match event {
            BusEvent::Outcome(event) => Some(OutcomeEvent::clone(event)),
            BusEvent::Verification(_) => None,
        });
        self.0.lock().expect("sink").extend(outcomes);
        Ok(vec![None; events.len()])
    }
}

pub async fn measure(dynamodb: &DynamoLocal, calls: usize) -> OutcomeEvents {
    let store = dynamodb.fresh_store().await;
    let table = store.table().to_owned();
    let workload = Arc::new(Workload::generate(SEED, calls * PUSHES_PER_CALL, 0.30));
    let service = CallbackService::new(CountingStore::new(store), callback_config("", SignatureMode::Off));
    let transport = Arc::new(Transport::InProcess(Box::new(service)));
    let mut log = DeliveryLog::new(workload.deliveries.len());
    let all: Vec<usize> = (0..workload.deliveries.len()).collect();
    deliver(&transport, &workload, &all, 64, 0, &Arc::new(AtomicUsize::new(0)), &mut log).await;
    // As Huawei would: what a loaded machine failed to store within the budget is pushed again.
    repush(&transport, &workload, 64, 1..=6, Duration::from_millis(200), &mut log).await;
    assert!(log.unsuccessful().is_empty(), "every push stored");

    let proxy = FaultProxy::start(&dynamodb.endpoint(), FaultConfig::pass_through());
    let sink = KeepingSink::default();
    let publisher =
        OutcomePublisher::new(DynamoStore::new(client_at(&proxy.endpoint()).await, &table), &sink, HOME_REGION);
    let publish = |batch: Value| {
        let publisher = &publisher;
        async move {
            let batch: StreamEvent = serde_json::from_value(batch).expect("a stream batch");
            let items = batch.records.into_iter().map(stream_item).collect();
            let report = publisher.publish(items, Instant::now() + Duration::from_secs(10)).await;
            assert!(report.failed.is_empty(), "nothing fails against DynamoDB Local: {report:?}");
            json!({"batchItemFailures": []})
        }
    };
    let mut pump = StreamPump::open(&dynamodb.endpoint(), &table, HOME_REGION).await;
    let before = proxy.stats().requests_of("Query");
    let first = pump.pump(publish).await;
    let queries = proxy.stats().requests_of("Query") - before;
    let first_events: Vec<OutcomeEvent> = std::mem::take(&mut *sink.0.lock().expect("sink"));
    let first_ids: BTreeSet<String> = first_events.iter().map(|e| e.outcome_id.clone()).collect();
    let mut again = StreamPump::open(&dynamodb.endpoint(), &table, HOME_REGION).await;
    again.pump(publish).await;
    let again_ids: BTreeSet<String> = sink.0.lock().expect("sink").iter().map(|e| e.outcome_id.clone()).collect();

    let changes = changes_by_call(&scan_all(&dynamodb.endpoint(), &table).await);
    let mut events_by_call: BTreeMap<String, usize> = BTreeMap::new();
    for event in &first_events {
        *events_by_call.entry(event.outcome.session_id.clone().unwrap_or_default()).or_default() += 1;
    }
    let calls_off = changes.iter().filter(|(call, n)| events_by_call.get(*call).copied().unwrap_or(0) != **n).count();
    OutcomeEvents {
        calls: workload.expected_calls.len(),
        stream_records: first.read,
        events: first_events.len(),
        changes: changes.values().sum(),
        calls_off,
        queries,
        invocations: first.invocations,
        distinct_ids: first_ids.len(),
        new_ids_on_redelivery: again_ids.difference(&first_ids).count(),
    }
}

/// For each call, how many times its (status, final) changes as its records are folded in the order they were
/// stored (`receivedAt`, then `sk`), starting from the outcome of no record.
fn changes_by_call(items: &[Value]) -> BTreeMap<String, usize> {
    let mut calls: BTreeMap<String, Vec<StoredRecord>> = BTreeMap::new();
    for item in items {
        let record: StoredRecord = serde_json::from_value(item.clone()).expect("a record");
        if !voice_core::records::is_reserved_key(&record.pk) {
            calls.entry(record.pk.clone()).or_default().push(record);
        }
    }
    calls
        .into_iter()
        .map(|(call, mut records)| {
            let at = |r: &StoredRecord| r.received_at.as_deref().and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok());
            records.sort_by(|a, b| (at(a), &a.sk).cmp(&(at(b), &b.sk)));
            let id = voice_core::ids::sid(&call);
            let mut last = fold(&id, &[] as &[StoredRecord]);
            let mut changes = 0;
            for n in 1..=records.len() {
                let now = fold(&id, &records[..n]);
                changes += usize::from((now.status, now.is_final) != (last.status, last.is_final));
                last = now;
            }
            (call, changes)
        })
        .collect()
}
