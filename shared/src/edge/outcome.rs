//! The Lambda edge of get-call-outcome: build the reader once per cold start; answer each invoke with the
//! `CallOutcome` or a function error whose `errorType` is `InvalidRequest`, `NotFound` or `StorageUnavailable`.

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;

use super::{diagnostic, invocation_deadline};
use crate::adapters::DynamoStore;
use crate::config::{ConfigError, OutcomeConfig, ProcessEnv};
use crate::outcome::{CallOutcome, OutcomeError, OutcomeReader};
use crate::telemetry::error_chain;

/// Reads configuration and builds the DynamoDB client. A configuration error stops the function at init.
pub fn service_from_env() -> Result<OutcomeReader<DynamoStore>, ConfigError> {
    let config = OutcomeConfig::load(&ProcessEnv)
        .inspect_err(|e| tracing::error!(error = %error_chain(e), "bad configuration"))?;
    let store = DynamoStore::new(DynamoStore::client_from_env(), config.table_name);
    Ok(OutcomeReader::new(store, config.read_retry_budget))
}

pub async fn invoke(reader: &OutcomeReader<DynamoStore>, event: LambdaEvent<Value>) -> Result<CallOutcome, Diagnostic> {
    let deadline = invocation_deadline(&event.context);
    reader.handle(event.payload, deadline).await.map_err(|e: OutcomeError| diagnostic(e.error_type(), &e))
}
