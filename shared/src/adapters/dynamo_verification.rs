//! [`VerificationStore`] on DynamoDB: each change is one conditional `UpdateItem` that returns the item after it
//! (`ReturnValues: ALL_NEW`) or, refused, the item as it is (`ReturnValuesOnConditionCheckFailure: ALL_OLD`), so
//! a check costs one write request and no read ([`DynamoStore::update_returning`]).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::dynamo::DynamoStore;
use crate::records::verification::{change_write, VerificationChange, VerificationRecord};
use crate::storage::StoreError;
use crate::verification_state::{Changed, VerificationStore};

impl VerificationStore for DynamoStore {
    async fn change(&self, change: &VerificationChange) -> Result<Changed, StoreError> {
        Ok(match self.update_returning(&change_write(change, self.written_region())).await? {
            Ok(item) => Changed::Done(record(item)?),
            Err(old) => Changed::Refused(old.map(record).transpose()?),
        })
    }
}

fn record(item: HashMap<String, AttributeValue>) -> Result<VerificationRecord, StoreError> {
    serde_dynamo::from_item(item).map_err(StoreError::rejected)
}
