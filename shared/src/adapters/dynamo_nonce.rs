//! [`NonceStore`] on DynamoDB: a conditional `PutItem` (on failure DynamoDB returns the holder's item, no extra
//! read) and a `DeleteItem` conditioned on the claim. The item is the records module's [`NonceRecord`].

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::types::AttributeValue;

use super::dynamo::{classify, DynamoStore, PutIfAbsent};
use crate::callbacks::{NoncePut, NonceStore};
use crate::records::nonce::NonceRecord;
use crate::storage::StoreError;

impl NonceStore for DynamoStore {
    async fn put_nonce(&self, record: &NonceRecord) -> Result<NoncePut, StoreError> {
        Ok(match self.put_if_absent(record).await? {
            PutIfAbsent::Written => NoncePut::Stored,
            PutIfAbsent::Present(holder) => NoncePut::Held { claim_id: holder.as_ref().and_then(claim_id) },
        })
    }

    async fn delete_nonce(&self, record: &NonceRecord) -> Result<(), StoreError> {
        let result = self
            .client()
            .delete_item()
            .table_name(self.table())
            .key("pk", AttributeValue::S(record.pk.clone()))
            .key("sk", AttributeValue::S(record.sk.clone()))
            .condition_expression("claimId = :claim")
            .expression_attribute_values(":claim", AttributeValue::S(record.claim_id.clone()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Gone already, or another push's claim now: nothing of ours to forget.
            Err(SdkError::ServiceError(failure))
                if matches!(failure.err(), DeleteItemError::ConditionalCheckFailedException(_)) =>
            {
                Ok(())
            }
            Err(error) => Err(classify(error)),
        }
    }
}

fn claim_id(item: &HashMap<String, AttributeValue>) -> Option<String> {
    item.get("claimId").and_then(|value| value.as_s().ok()).cloned()
}
