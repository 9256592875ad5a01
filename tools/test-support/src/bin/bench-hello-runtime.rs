//! `make bench`: the cold-start floor. A hello-world `lambda_runtime` function (no SDK client, no configuration,
//! no tracing), like aws-lambda-rust-runtime's basic-lambda example, so what the callbacks add shows as a ratio.

use lambda_http::lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(hello)).await
}

async fn hello(event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(json!({ "message": "hello", "requestId": event.context.request_id }))
}
