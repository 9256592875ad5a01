//! DynamoDB adapter of [`RecordStore`]: a conditional `PutItem` (`attribute_not_exists(pk)`), so a new
//! notification costs one write request and no read, and a duplicate changes nothing.

use std::collections::HashMap;
use std::time::Duration;

use aws_config::{retry::RetryConfig, timeout::TimeoutConfig};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_dynamodb::Client;

use super::aws_env;
use crate::callbacks::HealthProbe;
use crate::ids::{IdempotencyKey, SessionId};
use crate::outcome::{OutcomeStore, CALL_READ_PAGE_SIZE, MAX_CALL_RECORDS};
use crate::records::bookkeeping::request_key;
use crate::records::item::{partition_query, ItemAction, ItemKey, ItemWrite, NEW_ITEM_CONDITION, PK, RAW};
use crate::records::{same_payload, Record, RequestRecord, StoredRecord, HEALTH_PROBE_KEY};
use crate::storage::{PutOutcome, RecordStore, StoreError};
use crate::telemetry::mask_numbers;
use crate::telemetry::metrics::{self, Dimensions, Metric};

/// Error codes DynamoDB documents as retryable.
const TRANSIENT_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "ThrottlingException",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
    "ReplicatedWriteConflictException",
];

/// How long opening a connection to DynamoDB may take.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(1000);

/// Connect and attempt timeouts of every DynamoDB request on a push's path.
pub(crate) fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(Duration::from_millis(1500))
        .build()
}

/// The peer replica's timeouts: the same connect timeout, and no attempt timeout of its own. A peer write is a
/// push's last chance and crosses regions (a new TLS connection for the first one); a retry would start that over,
/// so one attempt keeps whatever the deadline leaves and the deadline cuts it (`retry::until_deadline_cut_there`).
fn peer_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder().connect_timeout(CONNECT_TIMEOUT).disable_operation_attempt_timeout().build()
}

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    /// Stamped as `writtenRegion` on the items this adapter builds itself (the trigger's idempotency and
    /// rate-limit records); a [`Record`] carries its own.
    written_region: Option<String>,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into(), written_region: None }
    }

    /// The same store, stamping `region` on the items it builds itself.
    pub fn stamping_region(self, region: impl Into<String>) -> Self {
        Self { written_region: Some(region.into()), ..self }
    }

    pub(crate) fn written_region(&self) -> Option<&str> {
        self.written_region.as_deref()
    }

    /// The functions' client, from the Lambda environment ([`super::aws_env`]; `AWS_ENDPOINT_URL_DYNAMODB` for
    /// DynamoDB Local). The SDK's own retries are off because the handler retries within its deadline instead
    /// (see [`crate::storage::retry`]), and a slow attempt is cut so that a retry still fits.
    pub fn client_from_env() -> Client {
        let mut config = aws_sdk_dynamodb::config::Builder::from(&aws_env::sdk_config());
        config.set_endpoint_url(aws_env::endpoint_url("DYNAMODB"));
        Client::from_conf(config.retry_config(RetryConfig::disabled()).timeout_config(timeouts()).build())
    }

    /// The client of the peer region's replica (`PEER_REGION`): the functions' client, in `region`, at `endpoint`
    /// when one is given (`PEER_DYNAMODB_ENDPOINT`, a second DynamoDB Local), else at the region's own endpoint.
    pub fn peer_client(region: &str, endpoint: Option<&str>) -> Client {
        Self::peer_client_with(&aws_env::sdk_config(), region, endpoint)
    }

    /// [`Self::peer_client`] from a given configuration (its credentials and HTTP client; tests pass their own).
    pub fn peer_client_with(sdk: &aws_config::SdkConfig, region: &str, endpoint: Option<&str>) -> Client {
        let mut config = aws_sdk_dynamodb::config::Builder::from(sdk);
        config.set_endpoint_url(endpoint.map(str::to_owned));
        let config = config.region(aws_config::Region::new(region.to_owned()));
        Client::from_conf(config.retry_config(RetryConfig::disabled()).timeout_config(peer_timeouts()).build())
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The records under one partition key (one call, or one SMS), typed, in sort-key order: consistent Query
    /// pages of [`CALL_READ_PAGE_SIZE`], at most [`MAX_CALL_RECORDS`] records (see there for what is left out).
    pub async fn records_under(&self, pk: &str) -> Result<Vec<StoredRecord>, StoreError> {
        let (condition, (placeholder, value)) = partition_query(pk);
        let value: AttributeValue = serde_dynamo::to_attribute_value(value).map_err(StoreError::rejected)?;
        let mut records = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(condition)
                .expression_attribute_values(placeholder, value.clone())
                .consistent_read(true)
                .limit(CALL_READ_PAGE_SIZE)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            for item in page.items.unwrap_or_default() {
                records.push(serde_dynamo::from_item(item).map_err(StoreError::rejected)?);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(records);
            }
            if records.len() >= MAX_CALL_RECORDS {
                records.truncate(MAX_CALL_RECORDS);
                metrics::count(Metric::CallReadsTruncated, Dimensions::none());
                tracing::warn!(pk = %mask_numbers(pk), read = records.len(), "call read stopped at its bound; later records left out");
                return Ok(records);
            }
        }
    }

    /// A whole partition, raw (the test-util reads; the functions read calls through `records_under`).
    #[cfg(feature = "test-util")]
    pub(crate) async fn query_partition(&self, pk: &str) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let (condition, (placeholder, value)) = partition_query(pk);
        let value: AttributeValue = serde_dynamo::to_attribute_value(value).map_err(StoreError::rejected)?;
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression(condition)
            .expression_attribute_values(placeholder, value)
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(classify)
    }
}

impl DynamoStore {
    /// One `PutItem` of `item` unless an item with its key exists (`attribute_not_exists(pk)`), no read.
    pub(crate) async fn put_if_absent<T: serde::Serialize>(&self, item: &T) -> Result<Conditional, StoreError> {
        let item = serde_dynamo::to_item(item).map_err(StoreError::rejected)?;
        self.put_conditioned(item, NEW_ITEM_CONDITION, None, None).await
    }

    /// One conditional `PutItem`; a failed condition returns the item that was there (at no extra cost).
    async fn put_conditioned(
        &self,
        item: HashMap<String, AttributeValue>,
        condition: &str,
        names: Option<HashMap<String, String>>,
        values: Option<HashMap<String, AttributeValue>>,
    ) -> Result<Conditional, StoreError> {
        let sent = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(Conditional::Done),
            Err(SdkError::ServiceError(failure)) if failure.err().is_conditional_check_failed_exception() => {
                Ok(Conditional::Failed(match failure.err() {
                    PutItemError::ConditionalCheckFailedException(e) => e.item().cloned(),
                    _ => None,
                }))
            }
            Err(e) => Err(classify(e)),
        }
    }
}

/// What a conditional [`ItemWrite`] did.
pub(crate) enum Conditional {
    Done,
    /// Its condition did not hold; for a put, the item that was there (when DynamoDB returned it).
    Failed(Option<HashMap<String, AttributeValue>>),
}

impl DynamoStore {
    /// Sends one request the records module described ([`ItemWrite`]), as it is.
    pub(crate) async fn write_item(&self, write: &ItemWrite) -> Result<Conditional, StoreError> {
        let (names, values) = placeholders(write)?;
        match &write.action {
            ItemAction::Put(item) => {
                let item = serde_dynamo::to_item(item).map_err(StoreError::rejected)?;
                self.put_conditioned(item, write.condition, names, values).await
            }
            ItemAction::Update { key: item_key, expression } => {
                let sent = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(item_key_of(item_key)?))
                    .update_expression(*expression)
                    .condition_expression(write.condition)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .send()
                    .await;
                without_old_item(sent)
            }
            ItemAction::Check(_) => Err(StoreError::rejected("a condition check goes in a transaction")),
            ItemAction::Delete(item_key) => {
                let sent = self
                    .client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(item_key_of(item_key)?))
                    .condition_expression(write.condition)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .send()
                    .await;
                without_old_item(sent)
            }
        }
    }

    /// One conditional `UpdateItem` that answers the item after it (`ALL_NEW`), or, its condition refused, the
    /// item as it is (`ALL_OLD`; `None` when there is none): a change whose answer needs no read.
    pub(crate) async fn update_returning(
        &self,
        write: &ItemWrite,
    ) -> Result<Result<HashMap<String, AttributeValue>, Option<HashMap<String, AttributeValue>>>, StoreError> {
        let ItemAction::Update { key, expression } = &write.action else {
            return Err(StoreError::rejected("update_returning takes an update"));
        };
        let (names, values) = placeholders(write)?;
        let sent = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key_of(key)?))
            .update_expression(*expression)
            .condition_expression(write.condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match sent {
            Ok(output) => Ok(Ok(output.attributes.unwrap_or_default())),
            Err(SdkError::ServiceError(failure)) if failure.err().is_conditional_check_failed_exception() => {
                let old = match failure.err() {
                    UpdateItemError::ConditionalCheckFailedException(e) => e.item().cloned(),
                    _ => None,
                };
                Ok(Err(old.filter(|item| !item.is_empty())))
            }
            Err(e) => Err(classify(e)),
        }
    }

    /// One consistent GetItem of the item of `key`.
    pub(crate) async fn get_item(&self, key: &ItemKey) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let key = serde_dynamo::to_item(key).map_err(StoreError::rejected)?;
        let answer =
            self.client.get_item().table_name(&self.table).set_key(Some(key)).consistent_read(true).send().await;
        answer.map(|got| got.item).map_err(classify)
    }
}

impl RecordStore for DynamoStore {
    async fn put_new(&self, record: &Record) -> Result<PutOutcome, StoreError> {
        Ok(match self.put_if_absent(record).await? {
            Conditional::Done => PutOutcome::Created,
            // The stored item lets us notice a "duplicate" whose content differs.
            Conditional::Failed(old) => {
                match old.as_ref().and_then(|old| old.get(RAW)).and_then(|raw| raw.as_s().ok()) {
                    Some(stored) if !same_payload(stored, &record.raw) => PutOutcome::Conflicting,
                    _ => PutOutcome::AlreadyStored,
                }
            }
        })
    }
}

/// The attribute names and values of a request's expressions, as the SDK takes them (`None` when there are none).
pub(crate) fn placeholders(write: &ItemWrite) -> Result<(Names, Values), StoreError> {
    let mut values = HashMap::new();
    for (placeholder, v) in &write.values {
        values.insert((*placeholder).to_owned(), serde_dynamo::to_attribute_value(v).map_err(StoreError::rejected)?);
    }
    let names = write.names.iter().map(|(n, a)| ((*n).to_owned(), a.to_string())).collect::<HashMap<_, _>>();
    Ok(((!names.is_empty()).then_some(names), (!values.is_empty()).then_some(values)))
}

pub(crate) type Names = Option<HashMap<String, String>>;
pub(crate) type Values = Option<HashMap<String, AttributeValue>>;

pub(crate) fn item_key_of(key: &ItemKey) -> Result<HashMap<String, AttributeValue>, StoreError> {
    serde_dynamo::to_item(key).map_err(StoreError::rejected)
}

/// What an update or a delete did: its failed condition returns no item.
fn without_old_item<T, E, R>(sent: Result<T, SdkError<E, R>>) -> Result<Conditional, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match sent {
        Ok(_) => Ok(Conditional::Done),
        Err(SdkError::ServiceError(f)) if f.err().code() == Some("ConditionalCheckFailedException") => {
            Ok(Conditional::Failed(None))
        }
        Err(e) => Err(classify(e)),
    }
}

/// Sorts an SDK error into retryable or not, keeping it as the [`StoreError`]'s source.
pub(crate) fn classify<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let transient = match &error {
        SdkError::ServiceError(service) => service.err().code().is_some_and(|code| TRANSIENT_CODES.contains(&code)),
        SdkError::ConstructionFailure(_) => false,
        // No answer and no timeout: the connection was refused, reset or closed; DynamoDB cannot be reached
        // from here now.
        SdkError::DispatchFailure(failure) if !failure.is_timeout() && !failure.is_user() => {
            return StoreError::unreachable(error)
        }
        // Timeouts, unreadable responses: the write may or may not have happened, and a conditional put is safe
        // to repeat.
        _ => true,
    };
    match transient {
        true => StoreError::transient(error),
        false => StoreError::rejected(error),
    }
}

impl HealthProbe for DynamoStore {
    /// One eventually consistent GetItem of a key that never exists: half a read unit.
    async fn probe(&self) -> Result<(), StoreError> {
        let (pk, sk) = HEALTH_PROBE_KEY;
        let key = serde_dynamo::to_item(ItemKey::new(pk, sk)).map_err(StoreError::rejected)?;
        self.client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .projection_expression(PK)
            .send()
            .await
            .map(|_| ())
            .map_err(classify)
    }
}

impl OutcomeStore for DynamoStore {
    async fn call_records(&self, session_id: &SessionId) -> Result<Vec<StoredRecord>, StoreError> {
        self.records_under(session_id.as_str()).await
    }

    async fn request_record(&self, key: &IdempotencyKey) -> Result<Option<RequestRecord>, StoreError> {
        let item = self.get_item(&request_key(key.as_str())).await?;
        item.map(serde_dynamo::from_item).transpose().map_err(StoreError::rejected)
    }
}
