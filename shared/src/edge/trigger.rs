//! The Lambda edge of trigger-verification-call: build the service once per cold start; answer each invoke
//! with the success JSON or a function error whose `errorType` is one of the contract's.

use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::Value;

use super::{diagnostic, invocation_deadline};
use crate::adapters::{CallVerifyClient, DynamoStore, SchedulerCloseOuts};
use crate::calls::service::lift_block_prefix;
use crate::calls::{TriggerAnswer, TriggerError, TriggerService, TriggerSettings};
use crate::config::{ProcessEnv, TriggerConfig};
use crate::telemetry::error_chain;
use crate::telemetry::metrics::{self, Dimensions, Metric};

pub type LiveTrigger = TriggerService<DynamoStore, CallVerifyClient, Option<SchedulerCloseOuts>>;

/// Reads configuration, the credentials secret and builds the clients. A configuration error is kept and
/// returned as `ConfigurationError` by every invoke, so callers see why nothing happens.
pub async fn service_from_env() -> Result<LiveTrigger, TriggerError> {
    let config = TriggerConfig::load(&ProcessEnv).await.map_err(|e| TriggerError::ConfigurationError(error_chain(&e)));
    let config = config.inspect_err(|e| tracing::error!(error = %e, "bad configuration: every invoke will fail"))?;
    let api = CallVerifyClient::new(
        &config.voice_api_base_url,
        config.credentials.clone(),
        config.status_url,
        config.fee_url,
    )
    .map_err(|e| TriggerError::ConfigurationError(error_chain(&e)))?;
    let store = DynamoStore::new(DynamoStore::client_from_env(), config.table_name).stamping_region(&config.region);
    let settings = TriggerSettings {
        defaults: config.defaults,
        limits: config.rate_limits,
        record_ttl: config.record_ttl,
        region: config.region,
        api_timeout: config.voice_api_timeout,
        hash_key: config.credentials.app_secret,
        verifications: config.verifications,
        guard: config.guard,
    };
    let close_outs = match config.close_out_schedules {
        Some(s) => {
            Some(SchedulerCloseOuts::new(SchedulerCloseOuts::client_from_env(), s.group, s.target_arn, s.role_arn))
        }
        None => {
            tracing::warn!("CLOSE_OUT_SCHEDULE_GROUP is not set: no close-out checks are scheduled");
            None
        }
    };
    Ok(TriggerService::new(store, api, settings).with_close_outs(close_outs, config.close_out_delays))
}

/// What an invoke answers: a call's answer, or the operator's lift of a block.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub enum Answer {
    Call(TriggerAnswer),
    Lifted(Value),
}

/// Answers one invoke and counts it (metric `TriggerResults`: placed, replayed or the errorType).
pub async fn invoke(
    trigger: &Result<LiveTrigger, TriggerError>,
    event: LambdaEvent<Value>,
) -> Result<Answer, Diagnostic> {
    metrics::emit_after(async {
        let result = match (trigger, lift_block_prefix(&event.payload)) {
            // The operator's command (docs/operations.md, "Fraud guard"): its answer is not a call's.
            (Ok(trigger), Some(prefix)) => {
                let lifted = match prefix {
                    Ok(prefix) => trigger.lift_block(&prefix).await,
                    Err(e) => Err(e),
                };
                return lifted.map(Answer::Lifted).map_err(|e| diagnostic(e.error_type(), &e));
            }
            // Boxed, as in edge::outcome: keeps the layout of the function's `main` future shallow.
            (Ok(trigger), None) => Box::pin(trigger.handle(event.payload, invocation_deadline(&event.context))).await,
            (Err(e), _) => Err(e.clone()),
        };
        let counted = match &result {
            Ok(answer) if answer.replayed => "replayed",
            Ok(_) => "placed",
            Err(e) => e.error_type(),
        };
        metrics::count(Metric::TriggerResults, Dimensions::result(counted));
        result.map(Answer::Call).map_err(|e| diagnostic(e.error_type(), &e))
    })
    .await
}
