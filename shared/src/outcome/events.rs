//! Outcome events: the change one record makes to its call's outcome.
//!
//! The outcome *as of* a record is the fold of the call's records received no later than it (`receivedAt`, then
//! `sk` to break ties); the record causes an event when that outcome differs in `status` or `final` from the
//! outcome just before it. Both depend only on the stored records, never on when, how often or in which batches
//! the publisher runs, so a re-delivered record publishes the same event with the same `outcomeId`
//! (docs/app-backend.md, "Outcome events").

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{fold, CallOutcome};
use crate::guard::{PrefixBlockedEvent, PREFIX_BLOCKED_DETAIL_TYPE};
use crate::ids::SessionId;
use crate::records::StoredRecord;
use crate::verification_state::{VerificationEvent, VERIFICATION_EVENT_DETAIL_TYPE};

/// `Source` of every outcome event.
pub const EVENT_SOURCE: &str = "huawei-voice";
/// `DetailType` of every outcome event.
pub const EVENT_DETAIL_TYPE: &str = "Call Outcome Changed";

/// An event's `Detail`: the outcome, and an id stable across re-deliveries for consumers to dedupe on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(title = "Call Outcome Changed", deny_unknown_fields))]
#[serde(rename_all = "camelCase")]
pub struct OutcomeEvent {
    /// `<sessionId>#<version>`: the same for every delivery of this event; dedupe on it.
    #[cfg_attr(feature = "schema", schemars(pattern(r"^.+#[0-9]+$")))]
    pub outcome_id: String,
    #[serde(flatten)]
    pub outcome: CallOutcome,
}

impl OutcomeEvent {
    fn of(session_id: &SessionId, outcome: CallOutcome) -> Self {
        Self { outcome_id: format!("{}#{}", session_id.as_str(), outcome.version), outcome }
    }
}

/// One event for the outcome bus: a call's outcome, a verification's end, a number range blocked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum BusEvent {
    Outcome(Box<OutcomeEvent>),
    Verification(VerificationEvent),
    PrefixBlocked(PrefixBlockedEvent),
}

impl BusEvent {
    pub fn detail_type(&self) -> &'static str {
        match self {
            Self::Outcome(_) => EVENT_DETAIL_TYPE,
            Self::Verification(_) => VERIFICATION_EVENT_DETAIL_TYPE,
            Self::PrefixBlocked(_) => PREFIX_BLOCKED_DETAIL_TYPE,
        }
    }

    /// The id consumers dedupe on: `outcomeId`, else `eventId`.
    pub fn id(&self) -> &str {
        match self {
            Self::Outcome(event) => &event.outcome_id,
            Self::Verification(event) => &event.event_id,
            Self::PrefixBlocked(event) => &event.event_id,
        }
    }
}

/// What one record of a call does to the call's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `status` or `final` changed: publish this.
    Changed(Box<OutcomeEvent>),
    /// The record refines nothing that events carry (a duplicate, a later progress step, a bookkeeping record).
    Unchanged,
    /// The record is not among the call's records (expired, or read from a replica that lags).
    NotFound,
}

/// The change the record `sk` makes to the outcome of call `session_id`, given all of the call's records.
pub fn change_at(session_id: &SessionId, records: &[StoredRecord], sk: &str) -> Change {
    let Some(target) = records.iter().find(|record| record.sk == sk) else { return Change::NotFound };
    let position = arrival(target);
    let (before, after) = (
        fold(session_id, records.iter().filter(|record| arrival(record) < position)),
        fold(session_id, records.iter().filter(|record| arrival(record) <= position)),
    );
    if (before.status, before.is_final) == (after.status, after.is_final) {
        return Change::Unchanged;
    }
    Change::Changed(Box::new(OutcomeEvent::of(session_id, after)))
}

/// A record's place in time: when it was stored, then its sort key. A missing or unreadable time sorts first.
fn arrival(record: &StoredRecord) -> (OffsetDateTime, &str) {
    let received = record.received_at.as_deref().and_then(|at| OffsetDateTime::parse(at, &Rfc3339).ok());
    (received.unwrap_or(OffsetDateTime::UNIX_EPOCH), record.sk.as_str())
}

#[cfg(test)]
mod tests;
