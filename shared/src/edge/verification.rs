//! The Lambda edge of check-verification: build the service once per cold start; answer each invoke with the
//! `Verification` or a function error whose `errorType` is `InvalidRequest`, `NotFound` or `StorageUnavailable`.

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;

use super::{diagnostic, invocation_deadline};
use crate::adapters::DynamoStore;
use crate::config::{CheckConfig, ConfigError, ProcessEnv};
use crate::telemetry::error_chain;
use crate::verification::{CheckError, CheckService, CheckSettings};
use crate::verification_state::Verification;

/// Reads configuration (and the credentials secret) and builds the DynamoDB client. A configuration error stops
/// the function at init.
pub async fn service_from_env() -> Result<CheckService<DynamoStore>, ConfigError> {
    let config = CheckConfig::load(&ProcessEnv)
        .await
        .inspect_err(|e| tracing::error!(error = %error_chain(e), "bad configuration"))?;
    let store = DynamoStore::new(DynamoStore::client_from_env(), config.table_name).stamping_region(&config.region);
    let settings = CheckSettings { hash_key: config.hash_key, retry_budget: config.retry_budget };
    Ok(CheckService::new(store, settings))
}

/// Answers one check; its metrics (`VerificationChecks`, `VerificationsApproved`, `TimeToVerify`) are written
/// after it.
pub async fn invoke(
    checker: &CheckService<DynamoStore>,
    event: LambdaEvent<Value>,
) -> Result<Verification, Diagnostic> {
    crate::telemetry::metrics::emit_after(async {
        let result = Box::pin(checker.handle(event.payload, invocation_deadline(&event.context))).await;
        result.map_err(|e: CheckError| diagnostic(e.error_type(), &e))
    })
    .await
}
