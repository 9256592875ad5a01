//! The publisher's batch decisions over the in-memory store and a scripted event sink: reads per call, which
//! records fail, which are skipped, and that a refused entry comes again with the same `outcomeId`.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::json;
use time::macros::datetime;

use super::*;
use crate::adapters::MemoryStore;
use crate::huawei::VoicePush;
use crate::records::write::placed_call;
use crate::records::{call_record, event_record, Record, Stamp};
use crate::storage::RecordStore;

const REGION: &str = "eu-west-1";

/// Accepts or refuses entries as scripted (one script entry per `PutEvents`, default: accept all); keeps what
/// it accepted.
#[derive(Default)]
struct ScriptedSink {
    script: Mutex<VecDeque<Result<Vec<Option<String>>, String>>>,
    requests: Mutex<Vec<usize>>,
    accepted: Mutex<Vec<BusEvent>>,
}

impl EventSink for ScriptedSink {
    async fn put_events(&self, events: &[BusEvent]) -> Result<Vec<Option<String>>, SinkError> {
        self.requests.lock().unwrap().push(events.len());
        let answer = self.script.lock().unwrap().pop_front().unwrap_or_else(|| Ok(vec![None; events.len()]));
        let answer = answer.map_err(|text| SinkError(text.into()))?;
        let mut accepted = self.accepted.lock().unwrap();
        accepted.extend(events.iter().zip(&answer).filter(|(_, refused)| refused.is_none()).map(|(e, _)| e.clone()));
        Ok(answer)
    }
}

fn stamp(second: i64, region: &str) -> Stamp {
    let at = datetime!(2026-11-21 03:04:20 UTC) + time::Duration::seconds(second);
    Stamp::new(at, Duration::from_secs(86_400), region)
}

fn call(session: &str) -> Record {
    call_record(&placed_call(session), &stamp(0, REGION))
}

fn status(session: &str, second: i64, event_type: &str, region: &str) -> Record {
    let body = json!({"eventType": event_type, "statusInfo": {"sessionId": session}}).to_string();
    let VoicePush::Status(event) = VoicePush::parse(body.as_bytes()).expect("a push") else { panic!("a status") };
    event_record(&event, &stamp(second, region))
}

/// Stores the records and returns them as the stream delivers them, numbered from 1.
async fn inserted(store: &MemoryStore, records: &[Record]) -> Vec<StreamItem> {
    let mut items = Vec::new();
    for (n, record) in records.iter().enumerate() {
        store.put_new(record).await.expect("stored");
        let image = serde_json::from_value(serde_json::to_value(record).unwrap()).unwrap();
        items.push(StreamItem::Inserted { sequence_number: format!("{:03}", n + 1), record: Box::new(image) });
    }
    items
}

fn publisher(sink: ScriptedSink) -> OutcomePublisher<MemoryStore, ScriptedSink> {
    OutcomePublisher::new(MemoryStore::default(), sink, REGION)
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(2)
}

fn statuses(sink: &ScriptedSink) -> Vec<(String, &'static str, bool)> {
    let accepted = sink.accepted.lock().unwrap();
    accepted
        .iter()
        .filter_map(|e| match e {
            BusEvent::Outcome(e) => Some((e.outcome_id.clone(), e.outcome.status.as_str(), e.outcome.is_final)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn one_query_per_call_and_one_event_per_change() {
    let publisher = publisher(ScriptedSink::default());
    let mut records = Vec::new();
    for session in ["a", "b"] {
        records.extend([call(session), status(session, 1, "callout", REGION), status(session, 3, "alerting", REGION)]);
    }
    let items = inserted(publisher.store(), &records).await;
    let reads_before = publisher.store().read_requests();
    let report = publisher.publish(items, soon()).await;
    assert_eq!(publisher.store().read_requests() - reads_before, 2, "one Query per call, not per record");
    assert_eq!(report, BatchReport { failed: vec![], published: 4, unchanged: 2, skipped: 0 });
    let expected = [("a#2", "calling"), ("a#3", "ringing"), ("b#2", "calling"), ("b#3", "ringing")];
    let expected: Vec<_> = expected.iter().map(|(id, status)| (id.to_string(), *status, false)).collect();
    assert_eq!(statuses(&publisher.sink), expected);
}

#[tokio::test]
async fn events_go_out_ten_at_a_time() {
    let publisher = publisher(ScriptedSink::default());
    let mut records = Vec::new();
    for n in 0..23 {
        records.push(status(&format!("call-{n:02}"), 1, "callout", REGION));
    }
    let report = publisher.publish(inserted(publisher.store(), &records).await, soon()).await;
    assert_eq!(report.published, 23);
    assert_eq!(*publisher.sink.requests.lock().unwrap(), vec![10, 10, 3]);
}

#[tokio::test]
async fn a_refused_entry_fails_only_its_record_and_comes_back_with_the_same_id() {
    let sink = ScriptedSink::default();
    sink.script.lock().unwrap().push_back(Ok(vec![None, Some("ThrottlingException".into()), None]));
    let publisher = publisher(sink);
    let records =
        [status("a", 1, "callout", REGION), status("b", 1, "callout", REGION), status("c", 1, "callout", REGION)];
    let items = inserted(publisher.store(), &records).await;
    let report = publisher.publish(items.clone(), soon()).await;
    assert_eq!(report.failed, vec!["002".to_string()]);
    assert_eq!(report.published, 2);
    // Lambda re-delivers from the failed record on: b and c again.
    let again = publisher.publish(items[1..].to_vec(), soon()).await;
    assert!(again.failed.is_empty());
    let ids: Vec<String> = statuses(&publisher.sink).into_iter().map(|(id, _, _)| id).collect();
    assert_eq!(ids, vec!["a#1", "c#1", "b#1", "c#1"], "the same outcomeId each time");
}

#[tokio::test]
async fn a_failed_put_fails_the_whole_chunk() {
    let sink = ScriptedSink::default();
    sink.script.lock().unwrap().push_back(Err("connection reset".into()));
    let publisher = publisher(sink);
    let records = [status("a", 1, "callout", REGION), status("b", 1, "callout", REGION)];
    let report = publisher.publish(inserted(publisher.store(), &records).await, soon()).await;
    assert_eq!(report.failed, vec!["001".to_string(), "002".to_string()]);
    assert_eq!(report.published, 0);
}

#[tokio::test]
async fn a_short_answer_counts_the_missing_entries_as_refused() {
    let sink = ScriptedSink::default();
    sink.script.lock().unwrap().push_back(Ok(vec![None]));
    let publisher = publisher(sink);
    let records = [status("a", 1, "callout", REGION), status("b", 1, "callout", REGION)];
    let report = publisher.publish(inserted(publisher.store(), &records).await, soon()).await;
    assert_eq!((report.published, report.failed), (1, vec!["002".to_string()]));
}

#[tokio::test]
async fn an_unreadable_call_fails_its_records_only() {
    let publisher = publisher(ScriptedSink::default());
    let items = inserted(publisher.store(), &[status("a", 1, "callout", REGION)]).await;
    publisher.store().set_unavailable(true);
    let report = publisher.publish(items, Instant::now() + Duration::from_millis(50)).await;
    assert_eq!(report.failed, vec!["001".to_string()]);
    assert!(publisher.sink.accepted.lock().unwrap().is_empty());
}

#[tokio::test]
async fn records_that_can_never_be_published_are_skipped_not_retried() {
    let publisher = publisher(ScriptedSink::default());
    let mut items =
        inserted(publisher.store(), &[status("a", 1, "callout", "ap-southeast-1"), status("b", 1, "callout", REGION)])
            .await;
    items.insert(0, StreamItem::Unpublishable { sequence_number: "000".into(), reason: "MODIFY".into() });
    let mut bookkeeping = call("request#key-1");
    bookkeeping.sk = "request".into();
    items.extend(inserted(publisher.store(), &[bookkeeping]).await);
    let report = publisher.publish(items, soon()).await;
    assert_eq!(report, BatchReport { failed: vec![], published: 1, unchanged: 0, skipped: 3 });
    assert_eq!(statuses(&publisher.sink), vec![("b#1".to_string(), "calling", false)]);
}

#[tokio::test]
async fn a_record_missing_from_its_call_is_skipped() {
    let publisher = publisher(ScriptedSink::default());
    let record = status("a", 1, "callout", REGION);
    let image = serde_json::from_value(serde_json::to_value(&record).unwrap()).unwrap();
    let items = vec![StreamItem::Inserted { sequence_number: "001".into(), record: Box::new(image) }];
    let report = publisher.publish(items, soon()).await;
    assert_eq!((report.skipped, report.failed.len()), (1, 0));
}

/// A verification's writes as the stream delivers them: each with the image before it.
fn verification_writes(changes: &[VerificationChange], region: &str) -> Vec<StreamItem> {
    let mut before: Option<VerificationRecord> = None;
    let mut items = Vec::new();
    for (n, change) in changes.iter().enumerate() {
        let after = crate::records::verification::apply(before.as_ref(), change).expect("applied");
        items.push(StreamItem::Verification {
            sequence_number: format!("v{:03}", n + 1),
            id: change.id().clone(),
            before: before.clone().map(Box::new),
            after: Box::new(after.clone()),
            written_region: Some(region.into()),
        });
        before = Some(after);
    }
    items
}

fn verification_events(sink: &ScriptedSink) -> Vec<(String, &'static str)> {
    let accepted = sink.accepted.lock().unwrap();
    accepted
        .iter()
        .filter_map(|e| match e {
            BusEvent::Verification(e) => Some((e.event_id.clone(), e.verification.status.as_str())),
            _ => None,
        })
        .collect()
}

fn send(id: &VerificationId, hash: &str, now: i64) -> VerificationChange {
    VerificationChange::Send {
        id: id.clone(),
        hash: hash.into(),
        source: crate::records::verification::CodeSource::App,
        country_code: "86".into(),
        prefix: "8613800".into(),
        now,
        codes_expire_at: 700,
        max_sends: 5,
        max_checks: 5,
        record_expires_at: 86_400,
    }
}

#[tokio::test]
async fn a_verification_announces_its_end_once_and_only_from_its_region() {
    let id = crate::ids::vid("signup-42");
    let check = |hash: &str, now| VerificationChange::Check {
        id: id.clone(),
        hash: hash.into(),
        request: format!("r{now}"),
        now,
    };
    let changes = [send(&id, "h1", 100), check("h0", 110), check("h1", 120), check("h0", 130)];
    let publisher = publisher(ScriptedSink::default());
    let report = publisher.publish(verification_writes(&changes, REGION), soon()).await;
    assert_eq!((report.published, report.unchanged), (1, 3), "the start, a wrong code and a late check end nothing");
    assert_eq!(verification_events(&publisher.sink), vec![("signup-42#3".to_string(), "approved")]);
    // Re-delivered, it is the same event; replicated into another region, that region's publisher is silent.
    publisher.publish(verification_writes(&changes[..3], REGION)[2..].to_vec(), soon()).await;
    let elsewhere = publisher.publish(verification_writes(&changes, "us-east-1"), soon()).await;
    assert_eq!((elsewhere.published, elsewhere.skipped), (0, 4));
    assert_eq!(verification_events(&publisher.sink), vec![("signup-42#3".to_string(), "approved"); 2]);
}

#[tokio::test]
async fn a_calls_changed_outcome_is_mirrored_into_its_verification_only_forward() {
    use crate::verification_state::VerificationStore;
    let publisher = publisher(ScriptedSink::default());
    let id = crate::ids::vid("signup-42");
    publisher.store().change(&send(&id, "h1", 100)).await.expect("started");
    let details = crate::records::write::CallDetails { verification_id: Some("signup-42"), ..placed_call("a") };
    let records = [
        call_record(&details, &stamp(0, REGION)),
        status("a", 1, "callout", REGION),
        status("a", 3, "alerting", REGION),
    ];
    let items = inserted(publisher.store(), &records).await;
    publisher.publish(items[2..].to_vec(), soon()).await;
    let mirrored = publisher.store().verification("verification#signup-42").expect("the record");
    assert_eq!(mirrored.calls()["a"], CallState { status: "ringing".into(), is_final: false, version: 3 });
    // An older state whose record comes late does not go back.
    publisher.publish(items[1..2].to_vec(), soon()).await;
    let again = publisher.store().verification("verification#signup-42").expect("the record");
    assert_eq!(again.calls()["a"], mirrored.calls()["a"]);
    assert_eq!(statuses(&publisher.sink).len(), 2, "the call's events still go out");
}
