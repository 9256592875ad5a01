//! Which records cause an event, built with the production record builders and stored times.

use crate::ids::sid;
use std::time::Duration;

use time::macros::datetime;

use super::*;
use crate::huawei::VoicePush;
use crate::outcome::{CallStatus, DecidedBy};
use crate::records::write::placed_call;
use crate::records::{call_record, cdr_record, closeout_record, event_record, CloseoutStage, Record, Stamp};

const SESSION: &str = "1201_612_4294967295_20261121030424@callenabler245.huaweicaas.com";

/// A record as read back, stored `second` seconds after 03:04:20.
fn stored(record: Record) -> StoredRecord {
    serde_json::from_value(serde_json::to_value(record).expect("json")).expect("a stored record")
}

fn stamp(second: i64) -> Stamp {
    let at = datetime!(2026-11-21 03:04:20 UTC) + time::Duration::seconds(second);
    Stamp::new(at, Duration::from_secs(86_400), "eu-west-1")
}

fn call(second: i64) -> StoredRecord {
    stored(call_record(&placed_call(SESSION), &stamp(second)))
}

fn push(second: i64, body: String) -> StoredRecord {
    match VoicePush::parse(body.as_bytes()).expect("a valid push") {
        VoicePush::Status(event) => stored(event_record(&event, &stamp(second))),
        VoicePush::Fee(crate::huawei::FeeList { cdrs, .. }) => stored(cdr_record(&cdrs[0], &stamp(second))),
        VoicePush::Unrecognised(_) | VoicePush::Quarantined(_) => panic!("a known push"),
    }
}

fn status(second: i64, event_type: &str, extra: &str) -> StoredRecord {
    push(second, format!(r#"{{"eventType":"{event_type}","statusInfo":{{"sessionId":"{SESSION}"{extra}}}}}"#))
}

fn bill(second: i64, fields: &str) -> StoredRecord {
    push(second, format!(r#"{{"eventType":"fee","feeLst":[{{"sessionId":"{SESSION}","icid":"i1"{fields}}}]}}"#))
}

fn closeout(second: i64, stage: CloseoutStage, frozen: &str) -> StoredRecord {
    stored(closeout_record(&crate::ids::sid(SESSION), stage, frozen, &stamp(second)))
}

/// An answered call, in the order it happens.
fn answered_call() -> Vec<StoredRecord> {
    vec![
        call(0),
        status(1, "callout", ""),
        status(4, "alerting", ""),
        status(6, "answer", ""),
        status(13, "disconnect", r#","stateCode":8105"#),
        bill(40, r#","callOutAnswerTime":"2026-11-21 03:04:26","callEndTime":"2026-11-21 03:04:33""#),
    ]
}

/// The events of a call's records, one record at a time in the order given, each seeing only what was stored
/// before it — as a publisher running after every write would.
fn events_as_written(records: &[StoredRecord]) -> Vec<(CallStatus, bool, u64)> {
    (1..=records.len())
        .filter_map(|n| match change_at(&sid(SESSION), &records[..n], &records[n - 1].sk) {
            Change::Changed(event) => Some((event.outcome.status, event.outcome.is_final, event.outcome.version)),
            _ => None,
        })
        .collect()
}

/// The events of the same records computed once everything is stored — as a late or repeated run would.
fn events_afterwards(records: &[StoredRecord]) -> Vec<(CallStatus, bool, u64)> {
    records
        .iter()
        .filter_map(|record| match change_at(&sid(SESSION), records, &record.sk) {
            Change::Changed(event) => Some((event.outcome.status, event.outcome.is_final, event.outcome.version)),
            _ => None,
        })
        .collect()
}

#[test]
fn an_answered_call_publishes_each_status_once_and_one_final() {
    use CallStatus::*;
    let expected = vec![
        (Calling, false, 2),
        (Ringing, false, 3),
        (Answered, false, 4),
        (Completed, false, 5),
        (Completed, true, 6),
    ];
    assert_eq!(events_as_written(&answered_call()), expected);
}

#[test]
fn a_late_or_repeated_run_publishes_the_same_events() {
    let records = answered_call();
    assert_eq!(events_afterwards(&records), events_as_written(&records));
    let mut shuffled = records.clone();
    shuffled.reverse();
    let mut from_shuffled = events_afterwards(&shuffled);
    from_shuffled.sort_by_key(|event| event.2);
    assert_eq!(from_shuffled, events_as_written(&records), "the Query's order does not matter");
}

#[test]
fn the_outcome_id_is_the_session_and_the_version() {
    let records = answered_call();
    let Change::Changed(event) = change_at(&sid(SESSION), &records, "cdr#i1") else {
        panic!("the bill changes the outcome")
    };
    assert_eq!(event.outcome_id, format!("{SESSION}#6"));
    assert_eq!(event.outcome.decided_by, DecidedBy::Cdr);
    let detail = serde_json::to_value(&event).unwrap();
    assert_eq!(detail["outcomeId"], event.outcome_id.as_str());
    assert_eq!(detail["final"], true);
    assert_eq!(detail["sessionId"], SESSION);
}

#[test]
fn a_status_push_delivered_late_publishes_nothing() {
    // alerting stored after answer: as of the alerting record the call was already answered.
    let records = vec![call(0), status(1, "callout", ""), status(6, "answer", ""), status(7, "alerting", "")];
    assert_eq!(change_at(&sid(SESSION), &records, "event#alerting"), Change::Unchanged);
    use CallStatus::*;
    assert_eq!(events_as_written(&records), vec![(Calling, false, 2), (Answered, false, 3)]);
}

#[test]
fn the_call_record_and_a_record_after_the_final_publish_nothing() {
    let mut records = answered_call();
    assert_eq!(change_at(&sid(SESSION), &records, "call"), Change::Unchanged, "requested is where every call starts");
    records.push(status(50, "collectInfo", ""));
    assert_eq!(change_at(&sid(SESSION), &records, "event#collectInfo"), Change::Unchanged);
}

#[test]
fn a_call_that_never_reports_ends_unknown_and_final_after_the_two_closeouts() {
    let records = vec![
        call(0),
        status(1, "callout", ""),
        closeout(600, CloseoutStage::Provisional, "calling"),
        closeout(25_200, CloseoutStage::Final, "unknown"),
    ];
    use CallStatus::*;
    assert_eq!(events_as_written(&records), vec![(Calling, false, 2), (Unknown, false, 3), (Unknown, true, 4)]);
}

#[test]
fn a_bill_after_the_final_closeout_publishes_the_correction() {
    let records = vec![
        call(0),
        closeout(600, CloseoutStage::Provisional, "requested"),
        closeout(25_200, CloseoutStage::Final, "unknown"),
        bill(26_000, r#","callOutUnaswRsn":17"#),
    ];
    let Change::Changed(correction) = change_at(&sid(SESSION), &records, "cdr#i1") else { panic!("a correction") };
    assert_eq!((correction.outcome.status, correction.outcome.is_final), (CallStatus::Busy, true));
    assert_eq!(correction.outcome.version, 4, "greater than the close-out's");
}

#[test]
fn records_stored_in_the_same_second_are_ordered_by_sort_key() {
    // The same second: event#alerting sorts before event#callout, yet both are folded by then.
    let records = vec![call(0), status(1, "callout", ""), status(1, "alerting", "")];
    assert_eq!(change_at(&sid(SESSION), &records, "event#callout"), Change::Unchanged);
    let Change::Changed(event) = change_at(&sid(SESSION), &records, "event#alerting") else {
        panic!("first of the two")
    };
    assert_eq!(event.outcome.status, CallStatus::Ringing);
}

#[test]
fn times_with_and_without_fractions_compare_as_times() {
    // "…:20.5Z" comes after "…:20Z" in time, before it as text.
    let mut answer = status(0, "answer", "");
    answer.received_at = Some("2026-11-21T03:04:20Z".into());
    let mut alerting = status(0, "alerting", "");
    alerting.received_at = Some("2026-11-21T03:04:20.5Z".into());
    let records = vec![call(-1), alerting, answer];
    assert!(matches!(change_at(&sid(SESSION), &records, "event#answer"), Change::Changed(_)));
    assert_eq!(change_at(&sid(SESSION), &records, "event#alerting"), Change::Unchanged, "stored after the answer");
}

#[test]
fn a_record_not_in_the_query_is_not_found() {
    assert_eq!(change_at(&sid(SESSION), &answered_call(), "event#collectInfo"), Change::NotFound);
}
