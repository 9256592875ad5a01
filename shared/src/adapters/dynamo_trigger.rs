//! The trigger's stores on DynamoDB: [`IdempotencyStore`] and [`RateLimitStore`].
//!
//! - claim: one conditional `PutItem`; on failure DynamoDB returns the existing record (no extra read).
//! - completion: one `UpdateItem`; release: one conditional `DeleteItem` (only when nothing was placed).
//! - rate slot: consistent `GetItem` of the callee's log, then `PutItem` conditioned on its version
//!   (optimistic concurrency: of two concurrent calls to one number, exactly one takes the last slot).

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

use super::dynamo::{classify, DynamoStore};
use crate::idempotency::{Claim, Completion, IdempotencyStore};
use crate::rate_limit::{RateLimitStore, RateLimits};
use crate::records::{
    rate_limit_pk, read::RateLimitRecord, request_pk, RequestRecord, RATE_LIMIT_KIND, RATE_LIMIT_SK,
    REQUEST_COMPLETED as COMPLETED, REQUEST_IN_PROGRESS as IN_PROGRESS, REQUEST_KIND,
    REQUEST_OUTCOME_REQUESTED as OUTCOME_REQUESTED, REQUEST_OUTCOME_UNKNOWN as OUTCOME_UNKNOWN, REQUEST_SK,
};
use crate::storage::StoreError;

/// Optimistic rate-slot attempts before giving up (each loses only to a concurrent call to the same number).
const RATE_SLOT_ATTEMPTS: usize = 5;

fn s(text: impl Into<String>) -> AttributeValue {
    AttributeValue::S(text.into())
}

fn n(number: i64) -> AttributeValue {
    AttributeValue::N(number.to_string())
}

fn request_key(key: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".into(), s(request_pk(key))), ("sk".into(), s(REQUEST_SK))])
}

fn rate_key(callee_key: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".into(), s(rate_limit_pk(callee_key))), ("sk".into(), s(RATE_LIMIT_SK))])
}

fn conditional_failure_item(
    error: &SdkError<PutItemError, impl std::fmt::Debug>,
) -> Option<Option<HashMap<String, AttributeValue>>> {
    match error {
        SdkError::ServiceError(service) => match service.err() {
            PutItemError::ConditionalCheckFailedException(e) => Some(e.item().cloned()),
            _ => None,
        },
        _ => None,
    }
}

impl IdempotencyStore for DynamoStore {
    async fn claim_request(
        &self,
        key: &str,
        payload_hash: &str,
        in_progress_until_ms: i64,
        now_ms: i64,
        expires_at: i64,
    ) -> Result<Claim, StoreError> {
        let mut item = request_key(key);
        item.extend([
            ("kind".into(), s(REQUEST_KIND)),
            ("status".into(), s(IN_PROGRESS)),
            ("payloadHash".into(), s(payload_hash)),
            ("inProgressUntil".into(), n(in_progress_until_ms)),
            ("expiresAt".into(), n(expires_at)),
        ]);
        item.extend(self.written_region().map(|region| ("writtenRegion".to_owned(), s(region))));
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR (#status = :in_progress AND inProgressUntil < :now)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":in_progress", s(IN_PROGRESS))
            .expression_attribute_values(":now", n(now_ms))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Claim::Claimed),
            Err(error) => match conditional_failure_item(&error) {
                Some(Some(old)) => {
                    let existing: RequestRecord = serde_dynamo::from_item(old).map_err(StoreError::rejected)?;
                    Ok(Claim::from_existing(&existing, payload_hash))
                }
                // Lost a race with a delete: treat as held by someone else rather than guess.
                Some(None) => Ok(Claim::InProgress),
                None => Err(classify(error)),
            },
        }
    }

    async fn complete_request(&self, key: &str, completion: &Completion) -> Result<(), StoreError> {
        let (outcome, session_id) = match completion {
            Completion::Requested { session_id } => (OUTCOME_REQUESTED, session_id.as_str()),
            Completion::OutcomeUnknown => (OUTCOME_UNKNOWN, ""),
        };
        self.client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(request_key(key)))
            .update_expression(
                "SET #status = :completed, outcome = :outcome, sessionId = :session REMOVE inProgressUntil",
            )
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":completed", s(COMPLETED))
            .expression_attribute_values(":outcome", s(outcome))
            .expression_attribute_values(":session", s(session_id))
            .send()
            .await
            .map(|_| ())
            .map_err(classify)
    }

    async fn release_request(&self, key: &str) -> Result<(), StoreError> {
        self.client()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(request_key(key)))
            .condition_expression("#status = :in_progress")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":in_progress", s(IN_PROGRESS))
            .send()
            .await
            .map(|_| ())
            .map_err(classify)
    }
}

impl RateLimitStore for DynamoStore {
    async fn take_rate_slot(
        &self,
        callee_key: &str,
        limits: &RateLimits,
        now: i64,
    ) -> Result<Result<(), u64>, StoreError> {
        for _ in 0..RATE_SLOT_ATTEMPTS {
            let current = self
                .client()
                .get_item()
                .table_name(self.table())
                .set_key(Some(rate_key(callee_key)))
                .consistent_read(true)
                .send()
                .await
                .map_err(classify)?;
            let stored: Option<RateLimitRecord> =
                current.item.map(serde_dynamo::from_item).transpose().map_err(StoreError::rejected)?;
            let version = stored.as_ref().map(|log| log.version);
            let recent = stored.map(|log| log.recent).unwrap_or_default();
            let log = match limits.admit(now, &recent) {
                Ok(log) => log,
                Err(wait) => return Ok(Err(wait)),
            };
            let mut new_item = rate_key(callee_key);
            new_item.extend([
                ("kind".into(), s(RATE_LIMIT_KIND)),
                ("recent".into(), AttributeValue::L(log.into_iter().map(n).collect())),
                ("version".into(), n(version.unwrap_or(0) + 1)),
                ("expiresAt".into(), n(now + limits.longest_window())),
            ]);
            new_item.extend(self.written_region().map(|region| ("writtenRegion".to_owned(), s(region))));
            let put = self.client().put_item().table_name(self.table()).set_item(Some(new_item));
            let put = match version {
                None => put.condition_expression("attribute_not_exists(pk)"),
                Some(v) => put.condition_expression("version = :version").expression_attribute_values(":version", n(v)),
            };
            match put.send().await {
                Ok(_) => return Ok(Ok(())),
                Err(error) if conditional_failure_item(&error).is_some() => continue,
                Err(error) => return Err(classify(error)),
            }
        }
        Err(StoreError::transient("rate-limit record kept changing under concurrent calls"))
    }
}
