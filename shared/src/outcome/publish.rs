//! `outcome-publisher`'s decisions: a batch of inserted records (from the table's stream) becomes the outcome
//! events they cause, sent through the [`EventSink`] port, and the records that must come again. A write of a
//! verification record that ended it becomes its `Verification Status Changed` event; a call's changed outcome is
//! also mirrored into its verification's record (the `calls` that check-verification answers with).
//!
//! One consistent Query per call in the batch, whatever the number of its records; events go out in entries of
//! at most [`MAX_ENTRIES_PER_PUT`]. A record is reported back as failed (and re-delivered by Lambda, with the
//! ones after it) when its call could not be read or its event was refused; a record that can never be
//! published (not a call's, unreadable, another region's) is skipped with a warning so it never blocks the ones
//! after it.

use std::collections::BTreeMap;
use std::future::Future;

use futures::StreamExt;

use tokio::time::Instant;

use super::events::{change_at, BusEvent, Change, OutcomeEvent};
use super::OutcomeStore;
use crate::ids::{SessionId, VerificationId};
use crate::records::verification::{CallState, VerificationChange, VerificationRecord};
use crate::records::{is_reserved_key, verification_of, StoredRecord};
use crate::storage::{retry, StoreError};
use crate::telemetry::mask_numbers;
use crate::telemetry::metrics::{self, Dimensions, Metric};
use crate::verification_state::{status_change, VerificationStore};

/// EventBridge's limit of entries per `PutEvents`.
pub const MAX_ENTRIES_PER_PUT: usize = 10;
/// Calls of one batch read at the same time.
const QUERIES_IN_FLIGHT: usize = 8;

/// One record of a stream batch, as the edge read it.
#[derive(Debug, Clone)]
pub enum StreamItem {
    /// An INSERT whose new image is a record of the table.
    Inserted { sequence_number: String, record: Box<StoredRecord> },
    /// An INSERT or MODIFY of a verification record: its image before (none when it was created) and after.
    Verification {
        sequence_number: String,
        id: VerificationId,
        before: Option<Box<VerificationRecord>>,
        after: Box<VerificationRecord>,
        written_region: Option<String>,
    },
    /// Anything else (a MODIFY or REMOVE, an image that is not a record): never publishable.
    Unpublishable { sequence_number: String, reason: String },
}

/// Where outcome events go (EventBridge). The answer has one entry per event, in order: `None` when it was
/// accepted, else the error code of its refusal.
pub trait EventSink: Send + Sync {
    fn put_events(&self, events: &[BusEvent]) -> impl Future<Output = Result<Vec<Option<String>>, SinkError>> + Send;
}

/// The whole `PutEvents` request failed (no entry was accepted).
#[derive(Debug, thiserror::Error)]
#[error("the event bus did not take the events: {0}")]
pub struct SinkError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// What one batch did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchReport {
    /// Sequence numbers of the records to re-deliver.
    pub failed: Vec<String>,
    pub published: usize,
    /// Records that changed nothing an event carries.
    pub unchanged: usize,
    /// Records skipped for good (another region's, not a call's, unreadable, no longer stored).
    pub skipped: usize,
}

pub struct OutcomePublisher<S, E> {
    store: S,
    sink: E,
    region: String,
}

impl<S: OutcomeStore + VerificationStore, E: EventSink> OutcomePublisher<S, E> {
    /// `region`: this function's `AWS_REGION`; records another region wrote are that region's to publish.
    pub fn new(store: S, sink: E, region: impl Into<String>) -> Self {
        Self { store, sink, region: region.into() }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub async fn publish(&self, items: Vec<StreamItem>, deadline: Instant) -> BatchReport {
        let mut report = BatchReport::default();
        // The events ready to go, and the stream record each comes from.
        let (mut events, mut sources) = (Vec::new(), Vec::new());
        let mut by_call: BTreeMap<SessionId, Vec<(String, String)>> = BTreeMap::new();
        for item in items {
            if let StreamItem::Verification { sequence_number, id, before, after, written_region } = item {
                if written_region.as_deref() != Some(self.region.as_str()) {
                    // Another region's write (replicated here): that region's publisher announces it.
                    report.skipped += 1;
                } else if let Some(event) = status_change(&id, before.as_deref(), &after) {
                    events.push(BusEvent::Verification(event));
                    sources.push(sequence_number);
                } else {
                    report.unchanged += 1;
                }
                continue;
            }
            match self.publishable(item) {
                Ok((sequence_number, session_id, sk)) => {
                    by_call.entry(session_id).or_default().push((sequence_number, sk))
                }
                Err((sequence_number, reason)) => {
                    tracing::warn!(sequenceNumber = %sequence_number, reason = %reason, "stream record skipped");
                    report.skipped += 1;
                }
            }
        }
        // The calls' Queries run side by side (a few at a time), in a stable order.
        let reads = futures::stream::iter(by_call)
            .map(|(session_id, inserted)| async move {
                let records = retry::until_deadline(deadline, || self.store.call_records(&session_id)).await;
                (session_id, inserted, records)
            })
            .buffered(QUERIES_IN_FLIGHT)
            .collect::<Vec<_>>()
            .await;
        for (session_id, inserted, records) in reads {
            let span = tracing::info_span!("call", sessionId = %session_id);
            let _entered = span.enter();
            let records = match records {
                Ok(records) => records,
                Err(error) => {
                    tracing::error!(error = %error, records = inserted.len(), "call not readable; its records come again");
                    report.failed.extend(inserted.into_iter().map(|(sequence_number, _)| sequence_number));
                    continue;
                }
            };
            for (sequence_number, sk) in inserted {
                match change_at(&session_id, &records, &sk) {
                    Change::Changed(event) => {
                        if let Err(error) = self.mirror(&session_id, &records, &event, deadline).await {
                            tracing::error!(error = %error, "call not mirrored into its verification; its record comes again");
                            report.failed.push(sequence_number);
                            continue;
                        }
                        events.push(BusEvent::Outcome(event));
                        sources.push(sequence_number);
                    }
                    Change::Unchanged => report.unchanged += 1,
                    Change::NotFound => {
                        tracing::warn!(sk = %sk, "inserted record not found in its call; skipped");
                        report.skipped += 1;
                    }
                }
            }
        }
        for (chunk, chunk_sources) in events.chunks(MAX_ENTRIES_PER_PUT).zip(sources.chunks(MAX_ENTRIES_PER_PUT)) {
            self.send(chunk, chunk_sources, &mut report).await;
        }
        report
    }

    /// Mirrors a call's changed outcome into the record of the verification it sent a code of, if any: a
    /// conditional write that only moves forward, so a re-delivery or a late batch changes nothing.
    async fn mirror(
        &self,
        session_id: &SessionId,
        records: &[StoredRecord],
        event: &OutcomeEvent,
        deadline: Instant,
    ) -> Result<(), StoreError> {
        let Some(id) = verification_of(records) else { return Ok(()) };
        let outcome = &event.outcome;
        let change = VerificationChange::Call {
            id,
            session_id: session_id.clone(),
            state: CallState {
                status: outcome.status.as_str().to_owned(),
                is_final: outcome.is_final,
                version: outcome.version,
            },
        };
        // Refused: a newer state is there already, or the verification's record has expired.
        retry::until_deadline(deadline, || self.store.change(&change)).await.map(|_| ())
    }

    /// The record's sequence number, call and sort key, or why it can never be published.
    fn publishable(&self, item: StreamItem) -> Result<(String, SessionId, String), (String, String)> {
        let (sequence_number, record) = match item {
            StreamItem::Inserted { sequence_number, record } => (sequence_number, record),
            StreamItem::Unpublishable { sequence_number, reason } => return Err((sequence_number, reason)),
            StreamItem::Verification { sequence_number, .. } => {
                return Err((sequence_number, "a verification's record".into()))
            }
        };
        if is_reserved_key(&record.pk) {
            return Err((sequence_number, "not a call's record".into()));
        }
        match record.written_region.as_deref() {
            Some(region) if region == self.region => match SessionId::parse(record.pk) {
                Ok(session_id) => Ok((sequence_number, session_id, record.sk)),
                Err(not_one) => Err((sequence_number, not_one.to_string())),
            },
            Some(other) => Err((sequence_number, format!("written in {other}; published there"))),
            None => Err((sequence_number, "no writtenRegion".into())),
        }
    }

    /// One `PutEvents` of `events`, each from the stream record of the same index in `sources`.
    async fn send(&self, events: &[BusEvent], sources: &[String], report: &mut BatchReport) {
        match self.sink.put_events(events).await {
            Ok(entries) => {
                for (index, (event, source)) in events.iter().zip(sources).enumerate() {
                    // An answer shorter than the request is treated as a refusal of the missing entries.
                    match entries.get(index) {
                        Some(None) => {
                            report.published += 1;
                            metrics::count(Metric::EventsPublished, Dimensions::none());
                            match event {
                                BusEvent::Outcome(event) => {
                                    let outcome = &event.outcome;
                                    if outcome.is_final {
                                        // The answer rate's numerator and denominator (docs/operations.md, "Metrics").
                                        metrics::count(
                                            Metric::FinalOutcomes,
                                            Dimensions::result(outcome.status.as_str()),
                                        );
                                    }
                                    tracing::info!(outcomeId = %mask_numbers(&event.outcome_id), status = outcome.status.as_str(), r#final = outcome.is_final, "outcome event published");
                                }
                                BusEvent::Verification(event) => {
                                    let status = event.verification.status.as_str();
                                    let id = &event.verification.verification_id;
                                    tracing::info!(verificationId = %id, status, "verification event published");
                                }
                            }
                        }
                        refused => {
                            let code = refused.cloned().flatten().unwrap_or_else(|| "missing entry".into());
                            tracing::warn!(eventId = %mask_numbers(event.id()), errorCode = %code, "event refused; its record comes again");
                            report.failed.push(source.clone());
                        }
                    }
                }
            }
            Err(error) => {
                tracing::error!(error = %crate::telemetry::error_chain(&error), events = events.len(), "PutEvents failed; the records come again");
                report.failed.extend(sources.iter().cloned());
            }
        }
    }
}

#[cfg(test)]
mod tests;
