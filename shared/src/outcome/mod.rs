//! How a call ended: the [`CallOutcome`] app backends read (`get-call-outcome`) and receive, derived by one
//! order-free fold over the call's records ([`fold`]) with Huawei's code tables ([`codes`]). There is no other
//! fold in the codebase. The derivation is docs/huawei-protocol.md, "Derivation order".

pub mod closeout;
pub mod codes;
mod derive;
pub mod events;
pub mod publish;
pub mod read;

use crate::ids::IdempotencyKey;
use serde::{Deserialize, Serialize};

pub use closeout::{close_out, CloseOutCheck, CloseOutResult};
pub use derive::fold;
pub use events::{BusEvent, OutcomeEvent, EVENT_DETAIL_TYPE, EVENT_SOURCE};
pub use publish::{BatchReport, EventSink, OutcomePublisher, SinkError, StreamItem};
pub use read::{
    OutcomeError, OutcomeQuery, OutcomeReader, OutcomeRequest, OutcomeStore, CALL_READ_PAGE_SIZE, FIRST_REREAD,
    MAX_CALL_RECORDS, MAX_REREAD, MAX_WAIT,
};

/// The outcome categories (docs/huawei-protocol.md, "Outcome categories").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    Requested,
    Calling,
    Ringing,
    Answered,
    Completed,
    NoAnswer,
    Busy,
    Rejected,
    Unreachable,
    InvalidNumber,
    Blocked,
    Failed,
    Unknown,
}

impl CallStatus {
    pub const ALL: [CallStatus; 13] = [
        Self::Requested,
        Self::Calling,
        Self::Ringing,
        Self::Answered,
        Self::Completed,
        Self::NoAnswer,
        Self::Busy,
        Self::Rejected,
        Self::Unreachable,
        Self::InvalidNumber,
        Self::Blocked,
        Self::Failed,
        Self::Unknown,
    ];

    /// How far a call in progress has come (`requested` < `calling` < `ringing` < `answered`); `None` once the
    /// call ended or is `unknown`.
    pub fn progress(self) -> Option<u8> {
        match self {
            Self::Requested => Some(0),
            Self::Calling => Some(1),
            Self::Ringing => Some(2),
            Self::Answered => Some(3),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Calling => "calling",
            Self::Ringing => "ringing",
            Self::Answered => "answered",
            Self::Completed => "completed",
            Self::NoAnswer => "no_answer",
            Self::Busy => "busy",
            Self::Rejected => "rejected",
            Self::Unreachable => "unreachable",
            Self::InvalidNumber => "invalid_number",
            Self::Blocked => "blocked",
            Self::Failed => "failed",
            Self::Unknown => "unknown",
        }
    }

    /// The status a close-out record froze; a text this version does not know reads as `unknown`.
    pub fn from_text(text: &str) -> Self {
        Self::ALL.into_iter().find(|status| status.as_str() == text).unwrap_or(Self::Unknown)
    }
}

/// Which record decided the status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum DecidedBy {
    Cdr,
    Disconnect,
    Progress,
    Request,
    Closeout,
}

/// The Huawei fields a [`Cause`] may name, in the order the fold reads them.
pub const CAUSE_FIELDS: [&str; 4] = ["stateCode", "callOutUnaswRsn", "ulFailReason", "sipStatusCode"];

/// The code that decided a terminal status, with Huawei's text when the tables have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(deny_unknown_fields))]
#[serde(rename_all = "camelCase")]
pub struct Cause {
    /// `stateCode`, `callOutUnaswRsn`, `ulFailReason` or `sipStatusCode`.
    #[cfg_attr(feature = "schema", schemars(extend("enum" = CAUSE_FIELDS)))]
    pub field: String,
    pub code: i64,
    /// Huawei's text for the code (the standard reason phrase for a SIP status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// Huawei's raw codes for the call, as they arrived.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(deny_unknown_fields))]
#[serde(rename_all = "camelCase")]
pub struct ProviderCodes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_code: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_desc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_out_unasw_rsn: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ul_fail_reason: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_status_code: Option<i64>,
}

impl ProviderCodes {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// How a call ended (or how far it has come): what `get-call-outcome` answers and what each outcome event
/// carries. Absent values are left out of the JSON, never `null`; times are RFC 3339 UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(deny_unknown_fields))]
#[serde(rename_all = "camelCase")]
pub struct CallOutcome {
    /// Huawei's sessionId of the call; absent only for an idempotency key whose call may or may not have been
    /// placed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<crate::ids::SessionId>"))]
    pub session_id: Option<String>,
    /// The idempotency key the call was requested with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(with = "Option<IdempotencyKey>"))]
    pub idempotency_key: Option<String>,
    /// The trigger's `userData`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
    /// `requested`, `calling`, `ringing` and `answered` are in progress; the others end a call.
    pub status: CallStatus,
    /// A CDR is stored, or the final close-out deadline passed. Once final, the status no longer changes, except
    /// when a CDR arrives after the final close-out.
    #[serde(rename = "final")]
    pub is_final: bool,
    /// The callee picked up: the code was played.
    pub answered: bool,
    /// The number of the call's records folded: grows as records arrive.
    pub version: u64,
    /// Which record decided the status.
    pub decided_by: DecidedBy,
    /// The code that decided a terminal status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
    /// When the trigger placed the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time")))]
    pub requested_at: Option<String>,
    /// When Huawei started calling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time")))]
    pub calling_at: Option<String>,
    /// When the callee's phone started ringing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time")))]
    pub ringing_at: Option<String>,
    /// When the callee picked up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time")))]
    pub answered_at: Option<String>,
    /// When the call ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time")))]
    pub ended_at: Option<String>,
    /// Whole seconds from ringing to the answer (or to the end, when nobody answered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring_seconds: Option<u64>,
    /// Whole seconds from the answer to the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub talk_seconds: Option<u64>,
    /// Huawei's raw codes, as they arrived.
    #[serde(default, skip_serializing_if = "ProviderCodes::is_empty")]
    pub provider: ProviderCodes,
}

impl CallOutcome {
    /// The answer for an idempotency key whose call may or may not have been placed: nothing can be known.
    pub fn unknown_for_key(idempotency_key: &IdempotencyKey) -> Self {
        Self {
            session_id: None,
            idempotency_key: Some(idempotency_key.as_str().to_owned()),
            user_data: None,
            status: CallStatus::Unknown,
            is_final: false,
            answered: false,
            version: 0,
            decided_by: DecidedBy::Request,
            cause: None,
            requested_at: None,
            calling_at: None,
            ringing_at: None,
            answered_at: None,
            ended_at: None,
            ring_seconds: None,
            talk_seconds: None,
            provider: ProviderCodes::default(),
        }
    }
}
