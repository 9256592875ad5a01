//! Storage port: the callbacks need exactly one operation, "store this record unless one with its key
//! exists" — one conditional write, no read.

pub mod dynamo;
mod dynamo_trigger;
pub mod memory;
pub mod retry;
pub mod trigger;

use std::future::Future;

use serde::Serialize;
use serde_json::{Map, Value};

pub use dynamo::DynamoStore;
pub use memory::MemoryStore;
pub use trigger::TriggerStore;

/// One stored notification. `pk`/`sk` make it unique; `fields` are the typed fields flattened beside the raw
/// JSON Huawei sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub pk: String,
    pub sk: String,
    pub kind: RecordKind,
    /// When we stored it (RFC 3339, UTC).
    pub received_at: String,
    /// DynamoDB TTL, epoch seconds.
    pub expires_at: i64,
    #[serde(flatten)]
    pub fields: Map<String, Value>,
    pub raw: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// This delivery wrote the record.
    Created,
    /// A record with this key was already there; nothing changed.
    AlreadyStored,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Worth retrying: throttling, a 5xx, a timeout, a connection failure.
    #[error("storage temporarily unavailable: {0}")]
    Transient(String),
    /// Retrying will not help: a validation error, a missing table, denied access.
    #[error("storage refused the write: {0}")]
    Rejected(String),
}

impl StoreError {
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient(_))
    }
}

pub trait RecordStore: Send + Sync {
    /// Writes `record` unless a record with the same `pk`/`sk` exists (one conditional write).
    fn put_new(&self, record: &Record) -> impl Future<Output = Result<PutOutcome, StoreError>> + Send;
}
