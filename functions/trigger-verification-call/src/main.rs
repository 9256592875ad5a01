//! `trigger-verification-call`: invoked by app backends (Lambda Invoke API) to ring a user and speak a
//! verification code through Huawei's callVerify. Event, answer and errorTypes: see README.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use voice_core::{telemetry, verification::lambda};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let trigger = lambda::trigger_from_env().await;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| lambda::invoke(&trigger, event))).await
}
