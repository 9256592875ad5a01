//! The one DynamoDB table, owned here: every partition and sort key format, the reserved prefixes, the item
//! builders ([`write`], the trigger's [`bookkeeping`], [`nonce`], [`verification`], [`guard`]), the requests that are more than a new item
//! ([`item`]: conditions, updates, and the attribute names they use) and the typed read side ([`read`]). Nothing
//! else in the crate spells a key or an attribute name: adapters only move items.
//!
//! | record | `pk` | `sk` | `kind` |
//! |---|---|---|---|
//! | call event | sessionId | `event#<eventType>` (one per event type per call) | `event` |
//! | CDR | sessionId | `cdr#<icid>` (one bill per call; icid tells merged re-bills apart) | `cdr` |
//! | unknown eventType | sessionId | `event#<eventType>` | `unrecognised` |
//! | call placed by the trigger | sessionId | `call` | `call` |
//! | close-out of a call not final at a deadline | sessionId | `closeout#provisional`, `closeout#final` | `closeout` |
//! | a second, different payload under a key already stored | the first's `pk` | `conflict#<first's sk>#<hash of the payload>` | `conflict` |
//! | SMS | `sms#<smsIdentifier>` | `mode#<notificationMode>` | `sms` |
//! | push element whose identity cannot be a key | `quarantine#<sha256 of its bytes>` | `quarantine` | `quarantine` |
//! | idempotency key | `request#<idempotencyKey>` | `request` | `request` |
//! | rate-limit log of a callee | `ratelimit#<hmac of the number>` | `ratelimit` | `ratelimit` |
//! | nonce of a signed push ([`nonce`]) | `nonce#<sha256 of the nonce>` | `nonce` | `nonce` |
//! | verification: its codes' keyed hashes and its log ([`verification`]) | `verification#<verificationId>` | `verification` | `verification` |
//! | the fraud guard's budget counters, conversion tallies and blocks ([`guard`]) | `guard#…` | `counter`, `tally`, `block` | the same |
//!
//! A Huawei sessionId never starts with one of the reserved prefixes ([`RESERVED_PREFIXES`]), so one Query on a
//! sessionId reads exactly one call's records (a push whose sessionId does is quarantined, never stored under it).

pub mod bookkeeping;
pub mod guard;
pub mod item;
pub mod nonce;
pub mod read;
pub mod verification;
pub mod write;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::{format_description::well_known::Rfc3339, OffsetDateTime};

pub use read::{verification_of, ConflictRecord, QuarantineRecord};
pub use read::{CallRecord, CdrRecord, CloseoutRecord, EventRecord, RecordBody, RequestRecord, StoredRecord};
pub use write::{
    call_record, cdr_record, closeout_record, conflict_record, event_record, quarantine_record, same_payload,
    sms_record, unrecognised_record, CallDetails,
};

/// Partition key prefix of SMS notifications (they carry no sessionId).
pub const SMS_PREFIX: &str = "sms#";
/// Partition key prefix of the trigger's idempotency records.
pub const REQUEST_PREFIX: &str = "request#";
/// Partition key prefix of the trigger's per-callee rate-limit logs.
pub const RATE_LIMIT_PREFIX: &str = "ratelimit#";
/// Partition key prefix of the health check's key (`GET /health` reads it; nothing is ever stored there).
pub const HEALTH_PREFIX: &str = "health#";
/// The key `GET /health` reads: one cheap GetItem of an item that never exists. The template lets the status
/// callback read this key and no other.
pub const HEALTH_PROBE_KEY: (&str, &str) = ("health#probe", "probe");
/// Partition key prefix of quarantined push elements (kept whole: their identity could not be a key).
pub const QUARANTINE_PREFIX: &str = "quarantine#";
/// Prefixes no Huawei sessionId has.
pub const RESERVED_PREFIXES: [&str; 8] = [
    SMS_PREFIX,
    REQUEST_PREFIX,
    RATE_LIMIT_PREFIX,
    HEALTH_PREFIX,
    QUARANTINE_PREFIX,
    nonce::NONCE_PREFIX,
    verification::VERIFICATION_PREFIX,
    guard::GUARD_PREFIX,
];

/// Whether a sessionId would land among our own records: it starts with a reserved prefix. Such a push is
/// quarantined, never stored under that key.
pub fn is_reserved_key(session_id: &str) -> bool {
    RESERVED_PREFIXES.iter().any(|prefix| session_id.starts_with(prefix))
}

/// Sort key of the trigger's call record.
pub const CALL_SK: &str = "call";
/// Sort key of the provisional close-out of a call.
pub const CLOSEOUT_PROVISIONAL_SK: &str = "closeout#provisional";
/// Sort key of the final close-out of a call.
pub const CLOSEOUT_FINAL_SK: &str = "closeout#final";

/// The two deadlines at which a call that is not final yet is closed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CloseoutStage {
    /// A call still in progress then reads `unknown`, not final.
    Provisional,
    /// The call's last status becomes final.
    Final,
}

impl CloseoutStage {
    pub fn sk(self) -> &'static str {
        match self {
            Self::Provisional => CLOSEOUT_PROVISIONAL_SK,
            Self::Final => CLOSEOUT_FINAL_SK,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Provisional => "provisional",
            Self::Final => "final",
        }
    }
}

/// Sort key of a quarantine record.
pub const QUARANTINE_SK: &str = "quarantine";
/// Prefix of the sort key of a conflict record.
pub const CONFLICT_SK_PREFIX: &str = "conflict#";

/// Sort key of an idempotency record.
pub const REQUEST_SK: &str = "request";
/// Sort key of a rate-limit log.
pub const RATE_LIMIT_SK: &str = "ratelimit";

/// Sort key of a call event (and of an event type we do not know yet).
pub fn event_sk(event_type: &str) -> String {
    format!("event#{event_type}")
}

/// Sort key of a CDR; an absent `icid` gives `cdr#`.
pub fn cdr_sk(icid: Option<&str>) -> String {
    format!("cdr#{}", icid.unwrap_or(""))
}

pub fn sms_pk(sms_identifier: &str) -> String {
    format!("{SMS_PREFIX}{sms_identifier}")
}

pub fn sms_sk(notification_mode: &str) -> String {
    format!("mode#{notification_mode}")
}

pub fn request_pk(idempotency_key: &str) -> String {
    format!("{REQUEST_PREFIX}{idempotency_key}")
}

pub fn rate_limit_pk(callee_key: &str) -> String {
    format!("{RATE_LIMIT_PREFIX}{callee_key}")
}

/// `kind` of an idempotency record.
pub const REQUEST_KIND: &str = "request";
/// `kind` of a rate-limit log.
pub const RATE_LIMIT_KIND: &str = "ratelimit";

/// `status` of an idempotency record while its invocation runs.
pub const REQUEST_IN_PROGRESS: &str = "inProgress";
/// `status` of an idempotency record once its invocation finished.
pub const REQUEST_COMPLETED: &str = "completed";
/// `outcome` of a completed idempotency record: the call was placed (its `sessionId` is kept).
pub const REQUEST_OUTCOME_REQUESTED: &str = "requested";
/// `outcome` of a completed idempotency record: the call may or may not have been placed.
pub const REQUEST_OUTCOME_UNKNOWN: &str = "unknown";

/// One stored item as written. `pk`/`sk` make it unique; `fields` are the typed fields flattened beside the raw
/// JSON Huawei sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub pk: String,
    pub sk: String,
    pub kind: RecordKind,
    /// When we stored it (RFC 3339, UTC).
    pub received_at: String,
    /// The `AWS_REGION` of the function that wrote it: a region publishes outcome events only for its own writes.
    pub written_region: String,
    /// DynamoDB TTL, epoch seconds.
    pub expires_at: i64,
    #[serde(flatten)]
    pub fields: Map<String, Value>,
    pub raw: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RecordKind {
    /// A call event (callout, alerting, answer, disconnect, callin, collectInfo).
    Event,
    /// A bill (one `feeLst` element).
    Cdr,
    /// A privacy-number SMS notification.
    Sms,
    /// An event type we do not know yet, kept raw.
    Unrecognised,
    /// A call the trigger placed (`sk = call`), stored beside its callbacks.
    Call,
    /// The close-out of a call still not final at one of its deadlines.
    Closeout,
    /// A second, different payload that arrived under the key of a record already stored (which stays as it
    /// is): kept beside it, never folded into the call's outcome.
    Conflict,
    /// A push element whose identity could not be a key, kept whole under `quarantine#<sha256 of it>`.
    Quarantine,
}

/// When a record was received, in which region, and when DynamoDB may expire it.
#[derive(Debug, Clone)]
pub struct Stamp {
    /// Epoch seconds.
    at: i64,
    received_at: String,
    written_region: String,
    expires_at: i64,
}

impl Stamp {
    pub fn new(now: OffsetDateTime, ttl: Duration, written_region: &str) -> Self {
        Self {
            at: now.unix_timestamp(),
            received_at: now.format(&Rfc3339).unwrap_or_default(),
            written_region: written_region.to_owned(),
            expires_at: now.unix_timestamp() + ttl.as_secs() as i64,
        }
    }

    /// When, in epoch seconds.
    pub fn at(&self) -> i64 {
        self.at
    }

    pub fn received_at(&self) -> &str {
        &self.received_at
    }

    pub fn written_region(&self) -> &str {
        &self.written_region
    }

    pub fn expires_at(&self) -> i64 {
        self.expires_at
    }

    fn record(&self, pk: &str, sk: String, kind: RecordKind, fields: Map<String, Value>, raw: &str) -> Record {
        Record {
            pk: pk.to_owned(),
            sk,
            kind,
            received_at: self.received_at.clone(),
            written_region: self.written_region.clone(),
            expires_at: self.expires_at,
            fields,
            raw: raw.to_owned(),
        }
    }
}
