//! The fold on the call shapes of docs/huawei-protocol.md, "How a call ended": one test per outcome category and rule.

use crate::ids::sid;
use serde_json::{json, Value};

use super::fold;
use crate::outcome::{CallOutcome, CallStatus, DecidedBy};
use crate::records::StoredRecord;

const SESSION: &str = "1201_612_4294967295_20261121030424@callenabler245.huaweicaas.com";

fn stored(value: Value) -> StoredRecord {
    serde_json::from_value(value).expect("a stored record")
}

fn call_record() -> StoredRecord {
    stored(
        json!({"pk": SESSION, "sk": "call", "kind": "call", "sessionId": SESSION, "receivedAt": "2026-11-21T03:04:23Z",
        "requestedAt": "2026-11-21T03:04:23Z", "calleeMasked": "+86138****0001", "idempotencyKey": "signup-42-try-1",
        "userData": "user-42"}),
    )
}

fn event(event_type: &str, at: &str, extra: Value) -> StoredRecord {
    let mut record = json!({"pk": SESSION, "sk": format!("event#{event_type}"), "kind": "event",
        "eventType": event_type, "sessionId": SESSION, "eventAt": at, "receivedAt": at});
    if let (Some(record), Some(extra)) = (record.as_object_mut(), extra.as_object()) {
        record.extend(extra.clone());
    }
    stored(record)
}

fn disconnect(state_code: i64) -> StoredRecord {
    event("disconnect", "2026-11-21T03:04:33Z", json!({"stateCode": state_code, "stateDesc": "desc"}))
}

/// A bill with the given Q.850 cause, ulFailReason and SIP status; `rang`/`answered` set the alerting and answer
/// times.
fn cdr(q850: i64, ul: i64, sip: i64, rang: bool, answered: bool) -> StoredRecord {
    let mut record = json!({"pk": SESSION, "sk": "cdr#icid-1", "kind": "cdr", "sessionId": SESSION,
        "receivedAt": "2026-11-21T03:05:00Z", "callOutStartTime": "2026-11-21 03:04:24",
        "callEndTime": "2026-11-21 03:04:33", "callOutUnaswRsn": q850, "ulFailReason": ul, "sipStatusCode": sip,
        "answered": answered});
    if rang {
        record["callOutAlertingTime"] = "2026-11-21 03:04:27".into();
    }
    record["callOutAnswerTime"] = if answered { "2026-11-21 03:04:29".into() } else { "".into() };
    stored(record)
}

fn closeout(stage: &str, status: &str) -> StoredRecord {
    stored(json!({"pk": SESSION, "sk": format!("closeout#{stage}"), "kind": "closeout", "status": status}))
}

fn progress() -> Vec<StoredRecord> {
    vec![
        call_record(),
        event("callout", "2026-11-21T03:04:24Z", json!({})),
        event("alerting", "2026-11-21T03:04:27Z", json!({})),
    ]
}

fn outcome(records: &[StoredRecord]) -> CallOutcome {
    fold(&sid(SESSION), records)
}

fn with(mut records: Vec<StoredRecord>, more: impl IntoIterator<Item = StoredRecord>) -> Vec<StoredRecord> {
    records.extend(more);
    records
}

#[test]
fn the_design_example_busy_call() {
    let records = with(progress(), [disconnect(8102), cdr(17, 518, 486, true, false)]);
    let answer = serde_json::to_value(outcome(&records)).unwrap();
    let expected = json!({"sessionId": SESSION, "idempotencyKey": "signup-42-try-1", "userData": "user-42",
        "status": "busy", "final": true, "answered": false, "version": 5, "decidedBy": "cdr",
        "cause": {"field": "callOutUnaswRsn", "code": 17, "text": "用户忙 (user busy)"},
        "requestedAt": "2026-11-21T03:04:23Z", "callingAt": "2026-11-21T03:04:24Z", "ringingAt": "2026-11-21T03:04:27Z",
        "endedAt": "2026-11-21T03:04:33Z", "ringSeconds": 6,
        "provider": {"stateCode": 8102, "stateDesc": "desc", "callOutUnaswRsn": 17, "ulFailReason": 518,
                     "sipStatusCode": 486}});
    assert_eq!(answer, expected);
}

#[test]
fn an_answered_call_completes_with_its_times() {
    let answered = with(progress(), [event("answer", "2026-11-21T03:04:29Z", json!({}))]);
    let o = outcome(&answered);
    assert_eq!(
        (o.status, o.is_final, o.answered, o.decided_by),
        (CallStatus::Answered, false, true, DecidedBy::Progress)
    );
    let hung_up = with(answered.clone(), [disconnect(0)]);
    let o = outcome(&hung_up);
    assert_eq!((o.status, o.is_final, o.decided_by), (CallStatus::Completed, false, DecidedBy::Disconnect));
    let billed = with(hung_up, [cdr(0, 0, 0, true, true)]);
    let o = outcome(&billed);
    assert_eq!((o.status, o.is_final, o.answered, o.decided_by), (CallStatus::Completed, true, true, DecidedBy::Cdr));
    assert_eq!((o.ring_seconds, o.talk_seconds), (Some(2), Some(4)));
    assert_eq!(o.answered_at.as_deref(), Some("2026-11-21T03:04:29Z"));
    assert_eq!(o.cause, None);
}

#[test]
fn every_category_from_a_bill() {
    let cases = [
        (cdr(19, 514, 480, true, false), CallStatus::NoAnswer, "callOutUnaswRsn", 19),
        (cdr(17, 518, 486, false, false), CallStatus::Busy, "callOutUnaswRsn", 17),
        (cdr(21, 518, 603, true, false), CallStatus::Rejected, "callOutUnaswRsn", 21),
        (cdr(20, 518, 480, false, false), CallStatus::Unreachable, "callOutUnaswRsn", 20),
        (cdr(1, 518, 404, false, false), CallStatus::InvalidNumber, "callOutUnaswRsn", 1),
        (cdr(0, 7001, 0, false, false), CallStatus::Blocked, "ulFailReason", 7001),
        (cdr(0, 517, 0, false, false), CallStatus::Failed, "ulFailReason", 517),
        (cdr(0, 0, 486, false, false), CallStatus::Busy, "sipStatusCode", 486),
        (cdr(0, 518, 603, false, false), CallStatus::Rejected, "sipStatusCode", 603),
        (cdr(0, 480, 0, true, false), CallStatus::NoAnswer, "ulFailReason", 480),
        (cdr(0, 480, 0, false, false), CallStatus::Unreachable, "ulFailReason", 480),
        (cdr(0, 528, 0, false, false), CallStatus::Blocked, "ulFailReason", 528),
        (cdr(16, 0, 0, true, false), CallStatus::NoAnswer, "callOutUnaswRsn", 16),
        (cdr(0, 8001, 0, false, false), CallStatus::Failed, "ulFailReason", 8001),
    ];
    for (bill, status, field, code) in cases {
        let o = outcome(&with(progress(), [bill]));
        let cause = o.cause.clone().expect("a cause");
        assert_eq!((o.status, o.is_final, cause.field.as_str(), cause.code), (status, true, field, code), "{o:?}");
        assert!(cause.text.is_some(), "Huawei's text for {field} {code}");
    }
}

#[test]
fn every_category_from_a_disconnect_alone_and_it_is_provisional() {
    let cases = [
        (0, CallStatus::Completed),
        (8101, CallStatus::NoAnswer),
        (8102, CallStatus::Busy),
        (8004, CallStatus::Rejected),
        (8104, CallStatus::Unreachable),
        (8100, CallStatus::InvalidNumber),
        (7001, CallStatus::Blocked),
        (8000, CallStatus::Failed),
        (8059, CallStatus::Blocked),
        (8110, CallStatus::Unreachable),
    ];
    for (code, status) in cases {
        let o = outcome(&with(progress(), [disconnect(code)]));
        assert_eq!((o.status, o.is_final, o.decided_by), (status, false, DecidedBy::Disconnect), "stateCode {code}");
        assert_eq!(o.cause.map(|c| (c.field, c.code)), Some(("stateCode".to_owned(), code)));
    }
    // 8105: hung up (after an answer) or suspended.
    let o = outcome(&with(progress(), [disconnect(8105)]));
    assert_eq!(o.status, CallStatus::Unreachable);
    let o = outcome(&with(progress(), [event("answer", "2026-11-21T03:04:29Z", json!({})), disconnect(8105)]));
    assert_eq!(o.status, CallStatus::Completed);
}

#[test]
fn unknown_codes_are_failed_with_the_raw_code_kept() {
    for (records, field, code) in [
        (with(progress(), [disconnect(9999)]), "stateCode", 9999),
        (with(progress(), [cdr(99, 0, 0, false, false)]), "callOutUnaswRsn", 99),
        (with(progress(), [cdr(0, 12345, 0, false, false)]), "ulFailReason", 12345),
        (with(progress(), [cdr(0, 0, 499, false, false)]), "sipStatusCode", 499),
    ] {
        let o = outcome(&records);
        assert_eq!(o.status, CallStatus::Failed);
        assert_eq!(o.cause.map(|c| (c.field, c.code)), Some((field.to_owned(), code)));
    }
    // A bill that says nothing at all.
    let o = outcome(&with(progress(), [cdr(0, 0, 0, true, false)]));
    assert_eq!((o.status, o.is_final, o.cause), (CallStatus::Failed, true, None));
}

#[test]
fn progress_request_and_close_outs() {
    let o = outcome(&[call_record()]);
    assert_eq!((o.status, o.decided_by, o.version), (CallStatus::Requested, DecidedBy::Request, 1));
    let o = outcome(&progress());
    assert_eq!((o.status, o.decided_by, o.version), (CallStatus::Ringing, DecidedBy::Progress, 3));
    // Provisional close-out: in progress becomes unknown, not final; a disconnect after it still decides.
    let late = with(progress(), [closeout("provisional", "unknown")]);
    let o = outcome(&late);
    assert_eq!((o.status, o.is_final, o.decided_by), (CallStatus::Unknown, false, DecidedBy::Closeout));
    let o = outcome(&with(late.clone(), [disconnect(8102)]));
    assert_eq!((o.status, o.is_final), (CallStatus::Busy, false));
    // Final close-out: the frozen status, final; a disconnect after it changes nothing; a CDR corrects it.
    let closed = with(late, [closeout("final", "unknown")]);
    let o = outcome(&closed);
    assert_eq!((o.status, o.is_final, o.decided_by), (CallStatus::Unknown, true, DecidedBy::Closeout));
    let o = outcome(&with(closed.clone(), [disconnect(8102)]));
    assert_eq!((o.status, o.is_final), (CallStatus::Unknown, true));
    let o = outcome(&with(closed, [cdr(17, 518, 486, false, false)]));
    assert_eq!((o.status, o.is_final, o.decided_by), (CallStatus::Busy, true, DecidedBy::Cdr));
    assert_eq!(o.version, 6);
}

#[test]
fn a_lost_status_push_still_ends_with_the_bill() {
    let o = outcome(&[call_record(), cdr(0, 0, 0, true, true)]);
    assert_eq!((o.status, o.is_final, o.answered), (CallStatus::Completed, true, true));
    assert_eq!(o.calling_at.as_deref(), Some("2026-11-21T03:04:24Z"), "times from the bill");
}

#[test]
fn repeated_and_reordered_records_fold_alike() {
    let records = with(progress(), [disconnect(8102), cdr(17, 518, 486, false, false)]);
    let expected = outcome(&records);
    let mut reversed: Vec<StoredRecord> = records.iter().rev().cloned().collect();
    reversed.extend(records.iter().cloned());
    assert_eq!(outcome(&reversed), expected);
}

#[test]
fn a_closeout_of_a_stage_this_version_does_not_know_is_ignored() {
    let records = with(progress(), [closeout("later", "busy")]);
    let outcome = outcome(&records);
    assert_eq!((outcome.status, outcome.is_final), (CallStatus::Ringing, false));
}

#[test]
fn a_disconnect_without_a_state_code_ends_as_what_was_seen_before_it() {
    let bare_disconnect = event("disconnect", "2026-11-21T03:04:33Z", json!({}));
    let answered = with(progress(), [event("answer", "2026-11-21T03:04:29Z", json!({})), bare_disconnect.clone()]);
    assert_eq!(outcome(&answered).status, CallStatus::Completed);
    let unanswered = with(progress(), [bare_disconnect]);
    assert_eq!(outcome(&unanswered).status, CallStatus::Failed);
}
