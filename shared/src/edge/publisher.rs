//! The Lambda edge of outcome-publisher. Two kinds of event reach it:
//! - a DynamoDB stream batch: its INSERTs become outcome events, its writes of verification records their
//!   `Verification Status Changed` events; the answer lists the records to re-deliver
//!   (`batchItemFailures`, for the event source mapping's `ReportBatchItemFailures`);
//! - a close-out check (`{"closeOut": …, "sessionId": …}`) from a one-time schedule: the call is closed out if it
//!   is not final, and that INSERT comes back here through the stream like any record.

use aws_lambda_events::event::dynamodb::{Event as StreamEvent, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::{diagnostic, invocation_deadline};
use crate::adapters::{DynamoStore, EventBridgeSink};
use crate::config::{ConfigError, ProcessEnv, PublisherConfig};
use crate::ids::VerificationId;
use crate::outcome::{close_out, CloseOutCheck, OutcomePublisher, StreamItem};
use crate::records::verification::VERIFICATION_PREFIX;
use crate::records::{RecordBody, Stamp, StoredRecord};
use crate::storage::retry;
use crate::telemetry::error_chain;
use crate::telemetry::metrics;

pub struct Publisher {
    publisher: OutcomePublisher<DynamoStore, EventBridgeSink>,
    config: PublisherConfig,
}

/// Reads configuration and builds the DynamoDB and EventBridge clients. A configuration error stops the
/// function at init.
pub fn service_from_env() -> Result<Publisher, ConfigError> {
    let config = PublisherConfig::load(&ProcessEnv)
        .inspect_err(|e| tracing::error!(error = %error_chain(e), "bad configuration"))?;
    let store = DynamoStore::new(DynamoStore::client_from_env(), config.table_name.clone());
    let sink = EventBridgeSink::new(EventBridgeSink::client_from_env(), config.event_bus_name.clone());
    let publisher = OutcomePublisher::new(store, sink, config.region.clone()).with_guard(config.guard.clone());
    Ok(Publisher { publisher, config })
}

/// Handles one event; its metrics (`EventsPublished`, `FinalOutcomes`) are written when it is done.
pub async fn invoke(publisher: &Publisher, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    // Boxed, as in edge::outcome: keeps the layout of the function's `main` future shallow for the compiler.
    metrics::emit_after(Box::pin(handle(publisher, event))).await
}

async fn handle(publisher: &Publisher, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let deadline = retry::deadline_within(publisher.config.store_retry_budget, invocation_deadline(&event.context));
    if let Some(check) = CloseOutCheck::from_event(&event.payload) {
        let stamp = Stamp::new(OffsetDateTime::now_utc(), publisher.config.record_ttl, &publisher.config.region);
        let result = close_out(publisher.publisher.store(), &check, &stamp, deadline)
            .await
            .map_err(|e| diagnostic("StorageUnavailable", &e))?;
        return Ok(json!({"closeOut": check.close_out.as_str(), "result": format!("{result:?}")}));
    }
    let batch: StreamEvent = serde_json::from_value(event.payload).map_err(|e| {
        tracing::error!(error = %e, "neither a stream batch nor a close-out check");
        diagnostic("InvalidRequest", &e)
    })?;
    let items = batch.records.into_iter().map(stream_item).collect();
    let report = publisher.publisher.publish(items, deadline).await;
    tracing::info!(
        published = report.published,
        unchanged = report.unchanged,
        skipped = report.skipped,
        failed = report.failed.len(),
        "stream batch"
    );
    let mut response = DynamoDbEventResponse::default();
    for sequence_number in report.failed {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(sequence_number);
        response.batch_item_failures.push(failure);
    }
    Ok(serde_json::to_value(response).unwrap_or_default())
}

/// A stream record as the domain reads it: an INSERT's new image as a record of the table, a write of a
/// verification record as its two images, or why it is neither.
pub fn stream_item(record: EventRecord) -> StreamItem {
    let sequence_number = record.change.sequence_number.clone().unwrap_or_else(|| record.event_id.clone());
    let unpublishable = |reason: String| StreamItem::Unpublishable { sequence_number: sequence_number.clone(), reason };
    let inserted = record.event_name == "INSERT";
    if !inserted && record.event_name != "MODIFY" {
        return unpublishable(format!("{} is neither an insert nor a modify", record.event_name));
    }
    let stored: StoredRecord = match serde_dynamo::from_item(record.change.new_image) {
        Ok(stored) => stored,
        Err(e) => return unpublishable(format!("not a record of the table: {e}")),
    };
    if let RecordBody::Block(block) = stored.body {
        return StreamItem::Block { sequence_number, record: Box::new(block), written_region: stored.written_region };
    }
    let StoredRecord { pk, written_region, body: RecordBody::Verification(after), .. } = stored else {
        return match inserted {
            true => StreamItem::Inserted { sequence_number, record: Box::new(stored) },
            false => unpublishable("a modify of a record that is neither a verification's nor a block".into()),
        };
    };
    let Some(id) = pk.strip_prefix(VERIFICATION_PREFIX).and_then(|id| VerificationId::parse(id).ok()) else {
        return unpublishable("a verification record under another key".into());
    };
    let before = match serde_dynamo::from_item::<_, StoredRecord>(record.change.old_image) {
        Ok(StoredRecord { body: RecordBody::Verification(before), .. }) => Some(Box::new(before)),
        // An INSERT has no old image.
        _ if inserted => None,
        _ => return unpublishable("a verification's old image is not one".into()),
    };
    StreamItem::Verification { sequence_number, id, before, after: Box::new(after), written_region }
}
