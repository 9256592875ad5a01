//! Test and local-tool helpers of [`DynamoStore`] (`test-util` feature): the tests' SDK loader, raw JSON reads
//! and table setup. Never compiled into a function.

use std::collections::HashMap;
use std::time::Duration;

use aws_config::{retry::RetryConfig, timeout::TimeoutConfig, BehaviorVersion};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use serde_json::Value;

use super::dynamo::{classify, timeouts, DynamoStore};
use crate::records::item::{EXPIRES_AT, PK, SK};
use crate::storage::StoreError;

/// Attempt timeout of table setup (not of pushes), for a DynamoDB Local still warming up.
pub const SETUP_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

impl DynamoStore {
    /// SDK configuration of the tests (explicit endpoint and credentials), with the functions' retry and timeout
    /// settings.
    pub fn config_loader() -> aws_config::ConfigLoader {
        aws_config::defaults(BehaviorVersion::latest()).retry_config(RetryConfig::disabled()).timeout_config(timeouts())
    }

    /// Every item under one partition key as JSON, in sort-key order (tests and local inspection).
    pub async fn records_of(&self, pk: &str) -> Result<Vec<Value>, StoreError> {
        to_json(self.query_partition(pk).await?)
    }

    /// The record of a verification, if any (tests and local inspection).
    pub async fn verification_record(
        &self,
        id: &crate::ids::VerificationId,
    ) -> Result<Option<crate::records::verification::VerificationRecord>, StoreError> {
        let key = crate::records::verification::verification_key(id);
        let item = self.query_partition(&key.pk).await?.into_iter().next();
        item.map(serde_dynamo::from_item).transpose().map_err(StoreError::rejected)
    }

    /// Every record of the table (tests and local inspection; never used by a function).
    pub async fn all_records(&self) -> Result<Vec<Value>, StoreError> {
        let pages = self.client().scan().table_name(self.table()).consistent_read(true).into_paginator().items().send();
        to_json(pages.collect::<Result<Vec<_>, _>>().await.map_err(classify)?)
    }

    /// Creates the table (pk/sk strings, on demand, TTL on `expiresAt`; see [`crate::records`]) if it is missing.
    /// For the local stack and tests; in AWS the SAM template owns the table.
    pub async fn create_table_if_missing(&self) -> Result<(), StoreError> {
        // A setup call, never on a push's path: it may wait for a cold (JIT-warming) DynamoDB Local far longer
        // than a push's 1.5 s attempt.
        let patient = || {
            aws_sdk_dynamodb::config::Builder::default()
                .timeout_config(TimeoutConfig::builder().operation_attempt_timeout(SETUP_ATTEMPT_TIMEOUT).build())
        };
        let key = |name: &str, key_type| {
            KeySchemaElement::builder().attribute_name(name).key_type(key_type).build().map_err(StoreError::rejected)
        };
        let string_attribute = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(StoreError::rejected)
        };
        let created = self
            .client()
            .create_table()
            .table_name(self.table())
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key(PK, KeyType::Hash)?)
            .key_schema(key(SK, KeyType::Range)?)
            .attribute_definitions(string_attribute(PK)?)
            .attribute_definitions(string_attribute(SK)?)
            // As in infra/template.yaml: the stream outcome-publisher reads.
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::NewAndOldImages)
                    .build()
                    .map_err(StoreError::rejected)?,
            )
            .customize()
            .config_override(patient())
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e) if e.code() == Some("ResourceInUseException") => return Ok(()),
            Err(e) => return Err(classify(e)),
        }
        let ttl = TimeToLiveSpecification::builder()
            .attribute_name(EXPIRES_AT)
            .enabled(true)
            .build()
            .map_err(StoreError::rejected)?;
        self.client()
            .update_time_to_live()
            .table_name(self.table())
            .time_to_live_specification(ttl)
            .customize()
            .config_override(patient())
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}

fn to_json(items: Vec<HashMap<String, AttributeValue>>) -> Result<Vec<Value>, StoreError> {
    items.into_iter().map(|item| serde_dynamo::from_item(item).map_err(StoreError::rejected)).collect()
}
