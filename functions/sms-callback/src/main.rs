//! `sms-callback`: Privacy-number SMS notifications (Notify mode).

use lambda_http::{run, service_fn, Error};
use voice_core::{callbacks::Endpoint, edge::http, telemetry};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let service = http::service_from_env().await?;
    run(service_fn(|request| http::answer(&service, Endpoint::Sms, request))).await
}
