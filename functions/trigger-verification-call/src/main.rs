//! `trigger-verification-call`: invoked by app backends (Lambda Invoke API) to ring a user and speak a
//! verification code through Huawei's callVerify. Event, answer and errorTypes: see docs/app-backend.md.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use voice_core::{edge::trigger, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let service = trigger::service_from_env().await;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| trigger::invoke(&service, event))).await
}
