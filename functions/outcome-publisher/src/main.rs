//! `outcome-publisher`: fed by the table's DynamoDB stream, publishes each change of a call's outcome to the
//! region's EventBridge bus (`Call Outcome Changed`); invoked by one-time schedules, closes out calls that are
//! not final at their deadlines. Events and ids: docs/app-backend.md; settings: docs/operations.md.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use voice_core::{edge::publisher, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let service = publisher::service_from_env()?;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| publisher::invoke(&service, event))).await
}
