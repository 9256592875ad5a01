//! The typed read side: an item read back from the table (with serde_dynamo, or from JSON) becomes a
//! [`StoredRecord`], tagged by its `kind`, so readers match on variants and typed fields instead of strings.
//! A kind this version does not know reads as [`RecordBody::Other`], never as an error.

use serde::Deserialize;

use crate::huawei::notification::{Cdr, StatusInfo};

/// One item of the table, as read back.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredRecord {
    pub pk: String,
    pub sk: String,
    /// When we stored it (RFC 3339, UTC); absent on the trigger's bookkeeping records.
    #[serde(default)]
    pub received_at: Option<String>,
    /// The region whose function wrote it; absent on records written before it was kept.
    #[serde(default)]
    pub written_region: Option<String>,
    #[serde(flatten)]
    pub body: RecordBody,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum RecordBody {
    Event(EventRecord),
    /// Boxed: a bill has many more fields than any other record.
    Cdr(Box<CdrRecord>),
    Sms(SmsRecord),
    Unrecognised(UnrecognisedRecord),
    Call(CallRecord),
    Closeout(CloseoutRecord),
    /// Never folded into a call's outcome.
    Conflict(ConflictRecord),
    Quarantine(QuarantineRecord),
    Request(RequestRecord),
    #[serde(rename = "ratelimit")]
    RateLimit(RateLimitRecord),
    Verification(super::verification::VerificationRecord),
    /// A number range the fraud guard blocked.
    Block(super::guard::BlockRecord),
    /// A kind written by a newer version of the project.
    #[serde(other)]
    Other,
}

/// A call event: the `statusInfo` fields as Huawei sent them, its type and its time in RFC 3339.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventRecord {
    pub event_type: String,
    #[serde(default)]
    pub event_at: Option<String>,
    #[serde(flatten)]
    pub info: StatusInfo,
}

/// A bill: the `feeLst` element's fields as Huawei sent them, whether the callee answered, and the end time.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CdrRecord {
    #[serde(default)]
    pub answered: bool,
    #[serde(default)]
    pub call_end_at: Option<String>,
    #[serde(flatten)]
    pub cdr: Cdr,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SmsRecord {
    pub sms_identifier: String,
    pub notification_mode: String,
    #[serde(default)]
    pub app_key: Option<String>,
    #[serde(default)]
    pub event_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnrecognisedRecord {
    pub session_id: String,
    pub event_type: String,
}

/// The call the trigger placed.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRecord {
    pub session_id: String,
    pub requested_at: String,
    pub callee_masked: String,
    #[serde(default)]
    pub display_nbr: Option<String>,
    #[serde(default)]
    pub idempotency_key: Option<String>,
    #[serde(default)]
    pub user_data: Option<String>,
    /// The verification the call sent a code of.
    #[serde(default)]
    pub verification_id: Option<String>,
}

/// A close-out (`sk = closeout#provisional` or `closeout#final`): the status the call had when its deadline
/// passed without a final outcome, frozen so that later status pushes cannot change a final answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloseoutRecord {
    #[serde(default)]
    pub status: Option<String>,
}

/// A later, different payload under a key already stored (`sk = conflict#<the first's sk>#<hash>`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConflictRecord {
    /// The sort key of the record it differs from.
    pub conflicts_with: String,
    pub raw: String,
}

/// A push element kept whole (`pk = quarantine#<sha256 of it>`): where it came from, why, and its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuarantineRecord {
    /// `status`, `fee` (one `feeLst` element) or `sms`.
    pub source: String,
    pub reason: String,
    pub raw: String,
}

/// An idempotency record (`pk = request#<key>`): in progress, or completed with an outcome.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    pub status: String,
    pub payload_hash: String,
    #[serde(default)]
    pub outcome: Option<String>,
    /// Empty or absent unless the call was placed.
    #[serde(default)]
    pub session_id: Option<String>,
}

/// A callee's rate-limit log: the epoch seconds of recent calls, and a version for optimistic writes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitRecord {
    #[serde(default)]
    pub recent: Vec<i64>,
    pub version: i64,
}

/// The verification a call sent a code of, from its records (its call record's `verificationId`).
pub fn verification_of(records: &[StoredRecord]) -> Option<crate::ids::VerificationId> {
    let id = records.iter().find_map(|record| match &record.body {
        RecordBody::Call(call) => call.verification_id.as_deref(),
        _ => None,
    })?;
    crate::ids::VerificationId::parse(id).ok()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use aws_sdk_dynamodb::types::AttributeValue;
    use serde_json::json;
    use time::macros::datetime;

    use super::*;
    use crate::huawei::{FeeList, SmsNotification, SmsPush, VoicePush};
    use crate::records::{
        call_record, cdr_record, event_record, sms_record, unrecognised_record, CallDetails, Record, Stamp,
    };

    fn stamp() -> Stamp {
        Stamp::new(datetime!(2026-11-21 12:00:00 UTC), Duration::from_secs(86_400), "eu-west-1")
    }

    /// Writer → DynamoDB item (as the adapter stores it) → reader.
    fn round_trip(record: &Record) -> StoredRecord {
        let item: HashMap<String, AttributeValue> = serde_dynamo::to_item(record).expect("an item");
        serde_dynamo::from_item(item).expect("read back")
    }

    fn voice(body: &str) -> VoicePush {
        VoicePush::parse(body.as_bytes()).expect("a valid push")
    }

    #[test]
    fn an_event_reads_back_with_its_typed_fields() {
        let VoicePush::Status(event) = voice(
            r#"{"eventType":"disconnect","statusInfo":{"sessionId":"s@x","timestamp":"2018-04-09  10:57:42","stateCode":"8102","stateDesc":"busy","userData":"u"}}"#,
        ) else {
            panic!("a status event")
        };
        let stored = round_trip(&event_record(&event, &stamp()));
        assert_eq!((stored.pk.as_str(), stored.sk.as_str()), ("s@x", "event#disconnect"));
        assert_eq!(stored.received_at.as_deref(), Some("2026-11-21T12:00:00Z"));
        let RecordBody::Event(read) = stored.body else { panic!("an event: {:?}", stored.body) };
        assert_eq!(read.event_type, "disconnect");
        assert_eq!(read.event_at.as_deref(), Some("2018-04-09T10:57:42Z"));
        assert_eq!(read.info, event.info, "every statusInfo field survives the table");
        assert_eq!(read.info.state_code, Some(8102));
    }

    #[test]
    fn a_cdr_reads_back_with_every_code_family() {
        let VoicePush::Fee(FeeList { cdrs, .. }) = voice(
            r#"{"eventType":"fee","feeLst":[{"sessionId":"s@x","icid":"i1","callOutStartTime":"2019-01-24 03:04:10","callOutAlertingTime":"2019-01-24 03:04:20","callEndTime":"2019-01-24 03:04:40","ulFailReason":518,"sipStatusCode":"486","callOutUnaswRsn":17,"userData":"u"}]}"#,
        ) else {
            panic!("a fee push")
        };
        let stored = round_trip(&cdr_record(&cdrs[0], &stamp()));
        assert_eq!((stored.pk.as_str(), stored.sk.as_str()), ("s@x", "cdr#i1"));
        let RecordBody::Cdr(read) = stored.body else { panic!("a CDR: {:?}", stored.body) };
        assert!(!read.answered);
        assert_eq!(read.call_end_at.as_deref(), Some("2019-01-24T03:04:40Z"));
        assert_eq!(read.cdr, cdrs[0].cdr, "every CDR field survives the table");
        assert_eq!(
            (read.cdr.ul_fail_reason, read.cdr.sip_status_code, read.cdr.call_out_unasw_rsn),
            (Some(518), Some(486), Some(17))
        );
    }

    #[test]
    fn sms_unknown_events_and_calls_read_back() {
        let sms = SmsNotification::parse(
            br#"{"appKey":"k","smsEvent":{"smsIdentifier":"id9","notificationMode":"Notify","timeStamp":"2020-12-23T09:06:16.450Z"}}"#,
        )
        .expect("an SMS");
        let SmsPush::Notification(sms) = sms else { panic!("a notification") };
        let RecordBody::Sms(read) = round_trip(&sms_record(&sms, &stamp())).body else { panic!("an SMS") };
        assert_eq!(
            (read.sms_identifier.as_str(), read.notification_mode.as_str(), read.app_key.as_deref()),
            ("id9", "Notify", Some("k"))
        );

        let VoicePush::Unrecognised(event) = voice(r#"{"eventType":"transfer","statusInfo":{"sessionId":"s@x"}}"#)
        else {
            panic!("an unknown event type")
        };
        let stored = round_trip(&unrecognised_record(&event, &stamp()));
        assert_eq!(stored.sk, "event#transfer");
        assert_eq!(
            stored.body,
            RecordBody::Unrecognised(UnrecognisedRecord { session_id: "s@x".into(), event_type: "transfer".into() })
        );

        let details = CallDetails {
            session_id: &crate::ids::sid("s@x"),
            callee_masked: "+86138****0001",
            display_nbr: "+8675528000088",
            idempotency_key: Some("signup-42"),
            user_data: None,
            verification_id: None,
            raw: "{}",
        };
        let stored = round_trip(&call_record(&details, &stamp()));
        assert_eq!((stored.pk.as_str(), stored.sk.as_str()), ("s@x", "call"));
        assert_eq!(
            stored.body,
            RecordBody::Call(CallRecord {
                session_id: "s@x".into(),
                requested_at: "2026-11-21T12:00:00Z".into(),
                callee_masked: "+86138****0001".into(),
                display_nbr: Some("+8675528000088".into()),
                idempotency_key: Some("signup-42".into()),
                user_data: None,
                verification_id: None,
            })
        );
    }

    #[test]
    fn bookkeeping_records_and_unknown_kinds_read_back() {
        let request = json!({"pk": "request#k", "sk": "request", "kind": "request", "status": "completed",
            "payloadHash": "h", "outcome": "requested", "sessionId": "s@x", "expiresAt": 1});
        let read: StoredRecord = serde_json::from_value(request).expect("a request record");
        assert_eq!(
            read.body,
            RecordBody::Request(RequestRecord {
                status: "completed".into(),
                payload_hash: "h".into(),
                outcome: Some("requested".into()),
                session_id: Some("s@x".into()),
            })
        );
        let rate =
            json!({"pk": "ratelimit#ab", "sk": "ratelimit", "kind": "ratelimit", "recent": [5, 7], "version": 2});
        let read: StoredRecord = serde_json::from_value(rate).expect("a rate-limit record");
        assert_eq!(read.body, RecordBody::RateLimit(RateLimitRecord { recent: vec![5, 7], version: 2 }));
        let newer = json!({"pk": "s@x", "sk": "future#1", "kind": "somethingNew", "x": 1});
        let read: StoredRecord = serde_json::from_value(newer).expect("an unknown kind is not an error");
        assert_eq!(read.body, RecordBody::Other);
    }
}
