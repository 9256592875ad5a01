//! `get-call-outcome`: invoked by app backends (Lambda Invoke API) to learn how a call ended, by sessionId or
//! idempotencyKey, optionally waiting for the final answer. Event, answer and errorTypes: see docs/app-backend.md.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use voice_core::{edge::outcome, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let reader = outcome::service_from_env()?;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| outcome::invoke(&reader, event))).await
}
