//! The Lambda edge of get-call-outcome: build the reader once per cold start; answer each invoke with the
//! `CallOutcome` or a function error whose `errorType` is `InvalidRequest`, `NotFound` or `StorageUnavailable`.

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;

use super::{diagnostic, invocation_deadline};
use crate::adapters::DynamoStore;
use crate::config::{ConfigError, OutcomeConfig, ProcessEnv};
use crate::outcome::{CallOutcome, OutcomeError, OutcomeReader};
use crate::telemetry::error_chain;
use crate::telemetry::metrics::{self, Dimensions, Metric};

/// Reads configuration and builds the DynamoDB client. A configuration error stops the function at init.
pub fn service_from_env() -> Result<OutcomeReader<DynamoStore>, ConfigError> {
    let config = OutcomeConfig::load(&ProcessEnv)
        .inspect_err(|e| tracing::error!(error = %error_chain(e), "bad configuration"))?;
    let store = DynamoStore::new(DynamoStore::client_from_env(), config.table_name);
    Ok(OutcomeReader::new(store, config.read_retry_budget))
}

/// Answers one read and counts it (metric `OutcomeReads`: final, in_progress or the errorType).
pub async fn invoke(reader: &OutcomeReader<DynamoStore>, event: LambdaEvent<Value>) -> Result<CallOutcome, Diagnostic> {
    metrics::emit_after(async {
        // Boxed: the read's future is deep enough that, nested in the metrics scope, its layout would overflow
        // the compiler's query depth in the function's `main`.
        let result = Box::pin(reader.handle(event.payload, invocation_deadline(&event.context))).await;
        let counted = match &result {
            Ok(outcome) if outcome.is_final => "final",
            Ok(_) => "in_progress",
            Err(e) => e.error_type(),
        };
        metrics::count(Metric::OutcomeReads, Dimensions::result(counted));
        result.map_err(|e: OutcomeError| diagnostic(e.error_type(), &e))
    })
    .await
}
