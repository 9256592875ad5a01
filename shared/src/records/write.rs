//! Item builders: a parsed notification (or the trigger's placed call) becomes the [`Record`] to store. The key
//! decides deduplication (see the table in [`super`]).

use serde::Serialize;
use serde_json::{Map, Value};

use sha2::{Digest, Sha256};

use super::{
    cdr_sk, event_sk, sms_pk, sms_sk, CloseoutStage, Record, RecordKind, Stamp, CALL_SK, CONFLICT_SK_PREFIX,
    QUARANTINE_PREFIX, QUARANTINE_SK,
};
use crate::huawei::lenient::normalised_time;
use crate::huawei::notification::{Quarantined, ReceivedCdr, StatusEvent, UnrecognisedEvent};
use crate::huawei::SmsNotification;
use crate::ids::SessionId;

pub fn event_record(event: &StatusEvent, stamp: &Stamp) -> Record {
    let event_type = event.kind.as_wire();
    let mut fields = typed_fields(&event.info);
    fields.insert("eventType".into(), event_type.into());
    insert_time(&mut fields, "eventAt", event.info.timestamp.as_deref());
    stamp.record(event.info.session_id.as_str(), event_sk(event_type), RecordKind::Event, fields, &event.raw)
}

pub fn cdr_record(received: &ReceivedCdr, stamp: &Stamp) -> Record {
    let cdr = &received.cdr;
    let mut fields = typed_fields(cdr);
    fields.insert("eventType".into(), "fee".into());
    // Huawei sends `callOutAnswerTime: ""` when the callee did not answer (docs/huawei-protocol.md,
    // "Where each code arrives").
    let answered = cdr.call_out_answer_time.as_deref().is_some_and(|t| !t.trim().is_empty());
    fields.insert("answered".into(), answered.into());
    insert_time(&mut fields, "callEndAt", cdr.call_end_time.as_deref());
    stamp.record(cdr.session_id.as_str(), cdr_sk(cdr.icid.as_deref()), RecordKind::Cdr, fields, &received.raw)
}

pub fn unrecognised_record(event: &UnrecognisedEvent, stamp: &Stamp) -> Record {
    let mut fields = Map::new();
    fields.insert("sessionId".into(), event.session_id.as_str().into());
    fields.insert("eventType".into(), event.event_type.clone().into());
    stamp.record(event.session_id.as_str(), event_sk(&event.event_type), RecordKind::Unrecognised, fields, &event.raw)
}

pub fn sms_record(sms: &SmsNotification, stamp: &Stamp) -> Record {
    let mut fields = typed_fields(&sms.event);
    if let Some(app_key) = &sms.app_key {
        fields.insert("appKey".into(), app_key.clone().into());
    }
    insert_time(&mut fields, "eventAt", sms.event.time_stamp.as_deref());
    let (pk, sk) = (sms_pk(&sms.event.sms_identifier), sms_sk(&sms.event.notification_mode));
    stamp.record(&pk, sk, RecordKind::Sms, fields, &sms.raw)
}

/// What the trigger knows of a call it placed. The callee's number is only ever stored masked.
#[derive(Debug, Clone)]
pub struct CallDetails<'a> {
    pub session_id: &'a SessionId,
    pub callee_masked: &'a str,
    pub display_nbr: &'a str,
    pub idempotency_key: Option<&'a str>,
    pub user_data: Option<&'a str>,
    pub verification_id: Option<&'a str>,
    /// The request as sent, with the callee masked and the code left out.
    pub raw: &'a str,
}

/// A placed call's details for the unit tests that need a call record (its id is leaked: tests only).
#[cfg(test)]
pub(crate) fn placed_call(session_id: &str) -> CallDetails<'static> {
    CallDetails {
        session_id: Box::leak(Box::new(crate::ids::sid(session_id))),
        callee_masked: "+86138****0001",
        display_nbr: "+8675528000088",
        idempotency_key: None,
        user_data: None,
        verification_id: None,
        raw: "{}",
    }
}

/// The call under its sessionId (`sk = call`), so its status events and CDR land beside it.
pub fn call_record(call: &CallDetails<'_>, stamp: &Stamp) -> Record {
    let mut fields = Map::new();
    fields.insert("sessionId".into(), call.session_id.as_str().into());
    fields.insert("calleeMasked".into(), call.callee_masked.into());
    fields.insert("requestedAt".into(), stamp.received_at().into());
    fields.insert("displayNbr".into(), call.display_nbr.into());
    let optional = [
        ("idempotencyKey", call.idempotency_key),
        ("userData", call.user_data),
        ("verificationId", call.verification_id),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            fields.insert(name.into(), value.into());
        }
    }
    stamp.record(call.session_id.as_str(), CALL_SK.into(), RecordKind::Call, fields, call.raw)
}

/// The close-out of a call not final at `stage`'s deadline, with the status it had then (`frozen_status`).
pub fn closeout_record(session_id: &SessionId, stage: CloseoutStage, frozen_status: &str, stamp: &Stamp) -> Record {
    let mut fields = Map::new();
    fields.insert("sessionId".into(), session_id.as_str().into());
    fields.insert("stage".into(), stage.as_str().into());
    fields.insert("status".into(), frozen_status.into());
    let raw = serde_json::json!({"closeOut": stage.as_str(), "sessionId": session_id, "status": frozen_status});
    stamp.record(session_id.as_str(), stage.sk().into(), RecordKind::Closeout, fields, &raw.to_string())
}

/// A push element kept whole because its identity could not be a key: under `quarantine#<sha256 of its bytes>`,
/// so that Huawei's re-push of the same bytes lands on the same record. `source` says how to read it again.
pub fn quarantine_record(element: &Quarantined, stamp: &Stamp) -> Record {
    let pk = format!("{QUARANTINE_PREFIX}{}", hex::encode(Sha256::digest(element.raw.as_bytes())));
    let mut fields = Map::new();
    fields.insert("source".into(), element.source.as_str().into());
    fields.insert("reason".into(), element.reason.to_string().into());
    stamp.record(&pk, QUARANTINE_SK.into(), RecordKind::Quarantine, fields, &element.raw)
}

/// The later of two different payloads under one key, kept beside the first (which stays as it is): under the
/// first's `pk`, with a sort key naming the first's and the hash of this payload, so that a re-push of the same
/// payload lands on the same conflict record. Stamped as the later record was.
pub fn conflict_record(later: &Record) -> Record {
    let digest = hex::encode(&Sha256::digest(later.raw.as_bytes())[..16]);
    let mut fields = Map::new();
    fields.insert("conflictsWith".into(), later.sk.clone().into());
    fields.insert("conflictingKind".into(), serde_json::to_value(later.kind).unwrap_or(Value::Null));
    Record {
        sk: format!("{CONFLICT_SK_PREFIX}{}#{digest}", later.sk),
        kind: RecordKind::Conflict,
        fields,
        ..later.clone()
    }
}

/// Whether a payload already stored (`stored_raw`) is the one that arrived again: the same JSON value (a
/// re-delivery may differ in spacing or key order), or, when either is not JSON, the same text.
pub fn same_payload(stored_raw: &str, arrived_raw: &str) -> bool {
    if stored_raw == arrived_raw {
        return true;
    }
    match (serde_json::from_str::<Value>(stored_raw), serde_json::from_str::<Value>(arrived_raw)) {
        (Ok(stored), Ok(arrived)) => stored == arrived,
        _ => false,
    }
}

fn typed_fields(typed: &impl Serialize) -> Map<String, Value> {
    match serde_json::to_value(typed) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

fn insert_time(fields: &mut Map<String, Value>, name: &str, huawei_time: Option<&str>) {
    if let Some(normalised) = huawei_time.and_then(normalised_time) {
        fields.insert(name.into(), normalised.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::huawei::{FeeList, SmsPush, VoicePush};
    use std::time::Duration;
    use time::macros::datetime;

    fn stamp() -> Stamp {
        Stamp::new(datetime!(2026-11-21 12:00:00 UTC), Duration::from_secs(86_400), "eu-west-1")
    }

    #[test]
    fn event_keys_and_fields() {
        let body = br#"{"eventType":"answer","statusInfo":{"sessionId":"s@x","timestamp":"2018-04-09  10:57:42","userData":"u"}}"#;
        let VoicePush::Status(event) = VoicePush::parse(body).unwrap() else { panic!() };
        let record = event_record(&event, &stamp());
        assert_eq!((record.pk.as_str(), record.sk.as_str()), ("s@x", "event#answer"));
        assert_eq!(record.fields["eventAt"], "2018-04-09T10:57:42Z");
        assert_eq!(record.fields["userData"], "u");
        assert_eq!(record.expires_at, datetime!(2026-11-22 12:00:00 UTC).unix_timestamp());
        assert_eq!(record.written_region, "eu-west-1");
        assert_eq!(record.raw.as_bytes(), body);
    }

    #[test]
    fn cdr_keys_by_session_and_icid() {
        let body = br#"{"eventType":"fee","feeLst":[{"sessionId":"a","icid":"i1","callOutAnswerTime":"2019-01-24 03:04:31"},{"sessionId":"b"},{"sessionId":"c","callOutAnswerTime":""}]}"#;
        let VoicePush::Fee(FeeList { cdrs, .. }) = VoicePush::parse(body).unwrap() else { panic!() };
        let records: Vec<Record> = cdrs.iter().map(|c| cdr_record(c, &stamp())).collect();
        assert_eq!((records[0].pk.as_str(), records[0].sk.as_str()), ("a", "cdr#i1"));
        assert_eq!((records[1].pk.as_str(), records[1].sk.as_str()), ("b", "cdr#"));
        assert_eq!(records[0].fields["answered"], true);
        assert_eq!(records[1].fields["answered"], false);
        assert_eq!(records[2].fields["answered"], false, "an empty answer time is no answer");
    }

    #[test]
    fn a_quarantined_element_is_keyed_by_the_hash_of_its_bytes() {
        let body = br#"{"eventType":"fee","feeLst":[{"icid":"2"},{"sessionId":"a"}]}"#;
        let VoicePush::Fee(fee) = VoicePush::parse(body).unwrap() else { panic!() };
        let record = quarantine_record(&fee.quarantined[0], &stamp());
        // sha256 of `{"icid":"2"}`
        let expected = format!("quarantine#{}", hex::encode(Sha256::digest(br#"{"icid":"2"}"#)));
        assert_eq!(
            (record.pk.as_str(), record.sk.as_str(), record.kind),
            (expected.as_str(), "quarantine", RecordKind::Quarantine)
        );
        assert_eq!((record.fields["source"].as_str(), record.raw.as_str()), (Some("fee"), r#"{"icid":"2"}"#));
        assert_eq!(record.fields["reason"], "missing required field `sessionId`");
        let again = VoicePush::parse(body).unwrap();
        let VoicePush::Fee(again) = again else { panic!() };
        assert_eq!(quarantine_record(&again.quarantined[0], &stamp()).pk, record.pk, "a re-push lands on it");
    }

    #[test]
    fn a_conflict_sits_beside_the_first_record_keyed_by_its_payload() {
        let parse = |body: &str| {
            let VoicePush::Status(event) = VoicePush::parse(body.as_bytes()).unwrap() else { panic!() };
            event_record(&event, &stamp())
        };
        let first = parse(r#"{"eventType":"disconnect","statusInfo":{"sessionId":"s","stateCode":8101}}"#);
        let later = parse(r#"{"eventType":"disconnect","statusInfo":{"sessionId":"s","stateCode":8102}}"#);
        let conflict = conflict_record(&later);
        assert_eq!((conflict.pk.as_str(), conflict.kind), ("s", RecordKind::Conflict));
        assert!(conflict.sk.starts_with("conflict#event#disconnect#"), "{}", conflict.sk);
        assert_eq!(conflict.raw, later.raw);
        assert_ne!(conflict_record(&first).sk, conflict.sk, "one conflict record per payload");
        assert_eq!(conflict.fields["conflictsWith"], "event#disconnect");
    }

    #[test]
    fn the_same_payload_is_the_same_json_value() {
        assert!(same_payload(r#"{"a":1,"b":"x"}"#, r#"{ "b": "x", "a": 1 }"#));
        assert!(!same_payload(r#"{"a":1}"#, r#"{"a":2}"#));
        assert!(same_payload("not json", "not json"));
        assert!(!same_payload("not json", "not json "));
    }

    #[test]
    fn sms_keys_by_identifier_and_mode() {
        let body = br#"{"appKey":"k","smsEvent":{"smsIdentifier":"id9","notificationMode":"Notify","timeStamp":"2020-12-23T09:06:16.450Z"}}"#;
        let Ok(SmsPush::Notification(sms)) = SmsNotification::parse(body) else { panic!() };
        let record = sms_record(&sms, &stamp());
        assert_eq!((record.pk.as_str(), record.sk.as_str()), ("sms#id9", "mode#Notify"));
        assert_eq!(record.fields["appKey"], "k");
    }
}
