//! [`NonceStore`] on DynamoDB: a conditional `PutItem` (on failure DynamoDB returns the holder's item, no extra
//! read) and a `DeleteItem` conditioned on the claim. The item is the records module's [`NonceRecord`].

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::dynamo::{Conditional, DynamoStore};
use crate::callbacks::{NoncePut, NonceStore};
use crate::records::nonce::{claim_id_of, nonce_forget, NonceRecord};
use crate::storage::StoreError;

impl NonceStore for DynamoStore {
    async fn put_nonce(&self, record: &NonceRecord) -> Result<NoncePut, StoreError> {
        Ok(match self.put_if_absent(record).await? {
            Conditional::Done => NoncePut::Stored,
            Conditional::Failed(holder) => NoncePut::Held { claim_id: holder.as_ref().and_then(claim_id) },
        })
    }

    async fn delete_nonce(&self, record: &NonceRecord) -> Result<(), StoreError> {
        // A failed condition: gone already, or another push's claim now; nothing of ours to forget.
        self.write_item(&nonce_forget(record)).await.map(|_| ())
    }
}

/// The claim id of the holder's item, read by the records module.
fn claim_id(item: &HashMap<String, AttributeValue>) -> Option<String> {
    let item: serde_json::Value = serde_dynamo::from_item(item.clone()).ok()?;
    claim_id_of(&item)
}
