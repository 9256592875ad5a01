//! [`VerificationStore`] on DynamoDB: each change is one conditional `UpdateItem` that returns the item after it
//! (`ReturnValues: ALL_NEW`) or, refused, the item as it is (`ReturnValuesOnConditionCheckFailure: ALL_OLD`), so
//! a check costs one write request and no read.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::dynamo::{classify, item_key_of, placeholders, DynamoStore};
use crate::records::item::ItemAction;
use crate::records::verification::{change_write, VerificationChange, VerificationRecord};
use crate::storage::StoreError;
use crate::verification_state::{Changed, VerificationStore};

impl VerificationStore for DynamoStore {
    async fn change(&self, change: &VerificationChange) -> Result<Changed, StoreError> {
        let write = change_write(change, self.written_region());
        let ItemAction::Update { key, expression } = &write.action else {
            return Err(StoreError::rejected("a verification change is an update"));
        };
        let (names, values) = placeholders(&write)?;
        let sent = self
            .client()
            .update_item()
            .table_name(self.table())
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
            Ok(output) => Ok(Changed::Done(record(output.attributes.unwrap_or_default())?)),
            Err(SdkError::ServiceError(failure)) if failure.err().is_conditional_check_failed_exception() => {
                let old = match failure.err() {
                    UpdateItemError::ConditionalCheckFailedException(e) => e.item().cloned(),
                    _ => None,
                };
                Ok(Changed::Refused(old.filter(|item| !item.is_empty()).map(record).transpose()?))
            }
            Err(e) => Err(classify(e)),
        }
    }
}

fn record(item: HashMap<String, AttributeValue>) -> Result<VerificationRecord, StoreError> {
    serde_dynamo::from_item(item).map_err(StoreError::rejected)
}
