//! Turning parsed notifications into [`Record`]s. The key decides deduplication:
//!
//! | notification | `pk` | `sk` |
//! |---|---|---|
//! | call event | sessionId | `event#<eventType>` (one per event type per call) |
//! | CDR | sessionId | `cdr#<icid>` (one bill per call; icid tells merged re-bills apart) |
//! | unknown eventType | sessionId | `event#<eventType>` |
//! | SMS | `sms#<smsIdentifier>` | `mode#<notificationMode>` |

use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};
use time::{format_description::well_known::Rfc3339, OffsetDateTime};

use crate::huawei::lenient::normalised_time;
use crate::huawei::notification::{ReceivedCdr, StatusEvent, UnrecognisedEvent};
use crate::huawei::SmsNotification;
use crate::store::{Record, RecordKind};

/// When a record was received and when DynamoDB may expire it.
#[derive(Debug, Clone)]
pub struct Stamp {
    received_at: String,
    expires_at: i64,
}

impl Stamp {
    pub fn new(now: OffsetDateTime, ttl: Duration) -> Self {
        Self {
            received_at: now.format(&Rfc3339).unwrap_or_default(),
            expires_at: now.unix_timestamp() + ttl.as_secs() as i64,
        }
    }

    fn record(&self, pk: &str, sk: String, kind: RecordKind, fields: Map<String, Value>, raw: &str) -> Record {
        Record {
            pk: pk.to_owned(),
            sk,
            kind,
            received_at: self.received_at.clone(),
            expires_at: self.expires_at,
            fields,
            raw: raw.to_owned(),
        }
    }
}

pub fn event_record(event: &StatusEvent, stamp: &Stamp) -> Record {
    let event_type = event.kind.as_wire();
    let mut fields = typed_fields(&event.info);
    fields.insert("eventType".into(), event_type.into());
    insert_time(&mut fields, "eventAt", event.info.timestamp.as_deref());
    stamp.record(&event.info.session_id, format!("event#{event_type}"), RecordKind::Event, fields, &event.raw)
}

pub fn cdr_record(received: &ReceivedCdr, stamp: &Stamp) -> Record {
    let cdr = &received.cdr;
    let mut fields = typed_fields(cdr);
    fields.insert("eventType".into(), "fee".into());
    fields.insert("answered".into(), cdr.call_out_answer_time.is_some().into());
    insert_time(&mut fields, "callEndAt", cdr.call_end_time.as_deref());
    let sk = format!("cdr#{}", cdr.icid.as_deref().unwrap_or(""));
    stamp.record(&cdr.session_id, sk, RecordKind::Cdr, fields, &received.raw)
}

pub fn unrecognised_record(event: &UnrecognisedEvent, stamp: &Stamp) -> Record {
    let mut fields = Map::new();
    fields.insert("sessionId".into(), event.session_id.clone().into());
    fields.insert("eventType".into(), event.event_type.clone().into());
    let sk = format!("event#{}", event.event_type);
    stamp.record(&event.session_id, sk, RecordKind::Unrecognised, fields, &event.raw)
}

pub fn sms_record(sms: &SmsNotification, stamp: &Stamp) -> Record {
    let mut fields = typed_fields(&sms.event);
    if let Some(app_key) = &sms.app_key {
        fields.insert("appKey".into(), app_key.clone().into());
    }
    insert_time(&mut fields, "eventAt", sms.event.time_stamp.as_deref());
    let pk = format!("sms#{}", sms.event.sms_identifier);
    stamp.record(&pk, format!("mode#{}", sms.event.notification_mode), RecordKind::Sms, fields, &sms.raw)
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
    use crate::huawei::VoicePush;
    use time::macros::datetime;

    fn stamp() -> Stamp {
        Stamp::new(datetime!(2026-11-21 12:00:00 UTC), Duration::from_secs(86_400))
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
        assert_eq!(record.raw.as_bytes(), body);
    }

    #[test]
    fn cdr_keys_by_session_and_icid() {
        let body = br#"{"eventType":"fee","feeLst":[{"sessionId":"a","icid":"i1","callOutAnswerTime":"2019-01-24 03:04:31"},{"sessionId":"b"}]}"#;
        let VoicePush::Fee(cdrs) = VoicePush::parse(body).unwrap() else { panic!() };
        let records: Vec<Record> = cdrs.iter().map(|c| cdr_record(c, &stamp())).collect();
        assert_eq!((records[0].pk.as_str(), records[0].sk.as_str()), ("a", "cdr#i1"));
        assert_eq!((records[1].pk.as_str(), records[1].sk.as_str()), ("b", "cdr#"));
        assert_eq!(records[0].fields["answered"], true);
        assert_eq!(records[1].fields["answered"], false);
    }

    #[test]
    fn sms_keys_by_identifier_and_mode() {
        let body = br#"{"appKey":"k","smsEvent":{"smsIdentifier":"id9","notificationMode":"Notify","timeStamp":"2020-12-23T09:06:16.450Z"}}"#;
        let record = sms_record(&SmsNotification::parse(body).unwrap(), &stamp());
        assert_eq!((record.pk.as_str(), record.sk.as_str()), ("sms#id9", "mode#Notify"));
        assert_eq!(record.fields["appKey"], "k");
    }
}
