//! `fee-callback`: Huawei CDR pushes (feeUrl): answers resultcode 0 only once every CDR is stored. Status and CDR
//! payloads may share one URL, so the shared handler dispatches on eventType.

use lambda_http::{run, service_fn, Error};
use voice_core::{callbacks::Endpoint, edge::http, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let service = http::service_from_env().await?;
    run(service_fn(|request| http::answer(&service, Endpoint::Voice, request))).await
}
