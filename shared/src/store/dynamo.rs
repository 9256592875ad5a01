//! DynamoDB adapter of [`RecordStore`]: a conditional `PutItem` (`attribute_not_exists(pk)`), so a new
//! notification costs one write request and no read, and a duplicate changes nothing.

use std::time::Duration;

use aws_config::{retry::RetryConfig, timeout::TimeoutConfig, BehaviorVersion};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ReturnValuesOnConditionCheckFailure,
    ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;
use serde_json::Value;

use super::{PutOutcome, Record, RecordStore, StoreError};
use crate::aws_env;
use crate::telemetry::mask_numbers;

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

/// Connect and attempt timeouts of every DynamoDB request on a push's path.
fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(1000))
        .operation_attempt_timeout(Duration::from_millis(1500))
        .build()
}

/// Attempt timeout of table setup (not of pushes), for a DynamoDB Local still warming up.
pub const SETUP_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    /// SDK configuration of the tests (explicit endpoint and credentials), with the functions' retry and timeout
    /// settings.
    pub fn config_loader() -> aws_config::ConfigLoader {
        aws_config::defaults(BehaviorVersion::latest()).retry_config(RetryConfig::disabled()).timeout_config(timeouts())
    }

    /// The functions' client, from the Lambda environment ([`crate::aws_env`]; `AWS_ENDPOINT_URL_DYNAMODB` for
    /// DynamoDB Local). The SDK's own retries are off because the handler retries within its deadline instead
    /// (see [`super::retry`]), and a slow attempt is cut so that a retry still fits.
    pub fn client_from_env() -> Client {
        let mut config = aws_sdk_dynamodb::config::Builder::from(&aws_env::sdk_config());
        config.set_endpoint_url(aws_env::endpoint_url("DYNAMODB"));
        Client::from_conf(config.retry_config(RetryConfig::disabled()).timeout_config(timeouts()).build())
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Every record under one partition key (one call, or one SMS), as JSON, in sort-key order.
    pub async fn records_of(&self, pk: &str) -> Result<Vec<Value>, StoreError> {
        let pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await;
        to_json(pages.map_err(|e| classify(&e))?)
    }

    /// Every record of the table (for local inspection and tests; never used by a function).
    pub async fn all_records(&self) -> Result<Vec<Value>, StoreError> {
        let pages = self.client.scan().table_name(&self.table).consistent_read(true).into_paginator().items().send();
        to_json(pages.collect::<Result<Vec<_>, _>>().await.map_err(|e| classify(&e))?)
    }

    /// Creates the table of design.md (pk/sk strings, on demand, TTL on `expiresAt`) if it is missing. For the
    /// local stack and tests; in AWS the SAM template owns the table.
    pub async fn create_table_if_missing(&self) -> Result<(), StoreError> {
        // A setup call, never on a push's path: it may wait for a cold (JIT-warming) DynamoDB Local far longer
        // than a push's 1.5 s attempt.
        let patient = || {
            aws_sdk_dynamodb::config::Builder::default()
                .timeout_config(TimeoutConfig::builder().operation_attempt_timeout(SETUP_ATTEMPT_TIMEOUT).build())
        };
        let key = |name: &str, key_type| {
            KeySchemaElement::builder().attribute_name(name).key_type(key_type).build().map_err(rejected)
        };
        let string_attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(rejected)
        };
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .attribute_definitions(string_attribute("pk")?)
            .attribute_definitions(string_attribute("sk")?)
            .customize()
            .config_override(patient())
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e) if e.code() == Some("ResourceInUseException") => return Ok(()),
            Err(e) => return Err(classify(&e)),
        }
        let ttl =
            TimeToLiveSpecification::builder().attribute_name("expiresAt").enabled(true).build().map_err(rejected)?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(ttl)
            .customize()
            .config_override(patient())
            .send()
            .await
            .map_err(|e| classify(&e))?;
        Ok(())
    }
}

impl RecordStore for DynamoStore {
    async fn put_new(&self, record: &Record) -> Result<PutOutcome, StoreError> {
        let item = serde_dynamo::to_item(record).map_err(rejected)?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            // Free with the conditional failure: lets us notice a "duplicate" whose content differs.
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(PutOutcome::Created),
            Err(SdkError::ServiceError(failure)) if failure.err().is_conditional_check_failed_exception() => {
                let stored_raw = match failure.err() {
                    PutItemError::ConditionalCheckFailedException(e) => e.item().and_then(|old| old.get("raw")),
                    _ => None,
                };
                let stored_raw = stored_raw.and_then(|raw| raw.as_s().ok());
                if stored_raw.is_some_and(|stored| stored != &record.raw) {
                    tracing::warn!(
                        pk = %mask_numbers(&record.pk),
                        sk = %record.sk,
                        "a different payload arrived under an existing key; the first one is kept"
                    );
                }
                Ok(PutOutcome::AlreadyStored)
            }
            Err(e) => Err(classify(&e)),
        }
    }
}

pub(crate) fn classify<E, R>(error: &SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let detail = || aws_sdk_dynamodb::error::DisplayErrorContext(error).to_string();
    match error {
        SdkError::ServiceError(service) => match service.err().code() {
            Some(code) if TRANSIENT_CODES.contains(&code) => StoreError::Transient(detail()),
            _ => StoreError::Rejected(detail()),
        },
        SdkError::ConstructionFailure(_) => StoreError::Rejected(detail()),
        // Timeouts, connection failures, unreadable responses: the write may or may not have happened, and a
        // conditional put is safe to repeat.
        _ => StoreError::Transient(detail()),
    }
}

fn rejected(error: impl std::fmt::Display) -> StoreError {
    StoreError::Rejected(error.to_string())
}

fn to_json(items: Vec<std::collections::HashMap<String, AttributeValue>>) -> Result<Vec<Value>, StoreError> {
    items.into_iter().map(|item| serde_dynamo::from_item(item).map_err(rejected)).collect()
}
