//! `check-verification`: invoked by app backends (Lambda Invoke API) with the code a user typed, a report that
//! the app checked its own code, or a cancel; answers the `Verification`. Event, answer and errorTypes: see
//! docs/app-backend.md, "check-verification".

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use voice_core::{edge::verification, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let checker = verification::service_from_env().await?;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| verification::invoke(&checker, event))).await
}
