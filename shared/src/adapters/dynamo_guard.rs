//! [`GuardStore`] on DynamoDB. A call's admission is one `TransactWriteItems` of the requests `records::guard`
//! describes (the range's block check, one `ADD` per budget): all or nothing, and its cancellation reasons say
//! which condition failed. A conflict with a concurrent transaction on the same counter is transient: retried.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{ConditionCheck, TransactWriteItem, Update};

use super::dynamo::{classify, item_key_of, placeholders, Conditional, DynamoStore};
use crate::guard::{GuardStore, Taken};
use crate::ids::VerificationId;
use crate::records::guard::{block_write, budget_writes, lift_writes, tally_write, BudgetTake, Tally};
use crate::records::item::{ItemAction, ItemWrite};
use crate::storage::StoreError;

impl GuardStore for DynamoStore {
    async fn take(&self, prefix: &str, takes: &[BudgetTake], now: i64) -> Result<Taken, StoreError> {
        let items = budget_writes(prefix, takes, now)
            .iter()
            .map(|write| self.transact_item(write))
            .collect::<Result<Vec<_>, _>>()?;
        let sent = self.client().transact_write_items().set_transact_items(Some(items)).send().await;
        let failure = match sent {
            Ok(_) => return Ok(Taken::Taken),
            Err(SdkError::ServiceError(failure)) if failure.err().is_transaction_canceled_exception() => failure,
            Err(e) => return Err(classify(e)),
        };
        let reasons: Vec<Option<&str>> = match failure.err() {
            aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(e) => {
                e.cancellation_reasons().iter().map(|reason| reason.code()).collect()
            }
            _ => Vec::new(),
        };
        let failed = |index: usize| reasons.get(index).copied().flatten() == Some("ConditionalCheckFailed");
        if failed(0) {
            return Ok(Taken::Blocked);
        }
        match (1..reasons.len()).find(|&index| failed(index)) {
            Some(index) => Ok(Taken::Spent(index - 1)),
            // A conflict with a concurrent transaction, or throttling: nothing was taken, try again.
            None => Err(StoreError::transient(format!("transaction canceled: {reasons:?}"))),
        }
    }

    async fn tally(
        &self,
        prefix: &str,
        verification: &VerificationId,
        approved: bool,
        now: i64,
    ) -> Result<Tally, StoreError> {
        // Refused: counted before (a re-delivery), and the tally is as it is.
        let item = match self.update_returning(&tally_write(prefix, verification, approved, now)).await? {
            Ok(item) => item,
            Err(old) => old.unwrap_or_default(),
        };
        serde_dynamo::from_item(item).map_err(StoreError::rejected)
    }

    async fn block(&self, prefix: &str, tally: &Tally, now: i64, until: i64) -> Result<bool, StoreError> {
        let write = block_write(prefix, tally, now, until, self.written_region());
        Ok(matches!(self.write_item(&write).await?, Conditional::Done))
    }

    async fn lift(&self, prefix: &str, now: i64) -> Result<bool, StoreError> {
        let [block, tally] = lift_writes(prefix, now);
        let lifted = matches!(self.write_item(&block).await?, Conditional::Done);
        self.write_item(&tally).await?;
        Ok(lifted)
    }
}

impl DynamoStore {
    /// One request of a transaction, as the records module described it.
    fn transact_item(&self, write: &ItemWrite) -> Result<TransactWriteItem, StoreError> {
        let (names, values) = placeholders(write)?;
        let item = match &write.action {
            ItemAction::Check(key) => TransactWriteItem::builder().condition_check(
                ConditionCheck::builder()
                    .table_name(self.table())
                    .set_key(Some(item_key_of(key)?))
                    .condition_expression(write.condition)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build()
                    .map_err(StoreError::rejected)?,
            ),
            ItemAction::Update { key, expression } => TransactWriteItem::builder().update(
                Update::builder()
                    .table_name(self.table())
                    .set_key(Some(item_key_of(key)?))
                    .update_expression(*expression)
                    .condition_expression(write.condition)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build()
                    .map_err(StoreError::rejected)?,
            ),
            ItemAction::Put(_) | ItemAction::Delete(_) => {
                return Err(StoreError::rejected("the guard's transaction holds checks and updates only"))
            }
        };
        Ok(item.build())
    }
}
