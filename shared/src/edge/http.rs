//! The HTTP edge shared by the three callback functions: a `lambda_http` request in, an [`Answer`] rendered
//! as the response Huawei expects.

use std::convert::Infallible;

use lambda_http::{Body, Request, RequestExt, Response};

use super::invocation_deadline;
use crate::adapters::DynamoStore;
use crate::callbacks::{
    check_health, Answer, CallbackService, Endpoint, Health, HealthProbe, InboundPush, NonceStore, SharedNonces,
    HEALTH_PATH,
};
use crate::config::{CallbackConfig, ConfigError, ProcessEnv};
use crate::storage::RecordStore;
use crate::telemetry::error_chain;
use crate::telemetry::metrics;

/// Builds the service once per cold start: configuration, secret, DynamoDB client. The table (and the peer
/// replica) also remembers the nonces of signed pushes, used only with `SIGNATURE_MODE=enforce`.
pub async fn service_from_env() -> Result<CallbackService<DynamoStore, DynamoStore>, ConfigError> {
    let config = CallbackConfig::load(&ProcessEnv)
        .await
        .inspect_err(|e| tracing::error!(error = %error_chain(e), "bad configuration"))?;
    let store = DynamoStore::new(DynamoStore::client_from_env(), config.table_name.clone());
    let peer = config.peer.map(|peer| {
        let client = DynamoStore::peer_client(&peer.region, peer.endpoint.as_deref());
        DynamoStore::new(client, config.table_name)
    });
    let nonces = SharedNonces::new(store.clone(), peer.clone());
    let service = CallbackService::with_nonces(store, config.settings, nonces);
    Ok(match peer {
        Some(peer) => service.with_peer(peer),
        None => service,
    })
}

/// Handles one invocation. Never fails: every outcome is an HTTP answer. `GET /health` (no token: Route 53 cannot
/// send one) is the health check; everything else is a push.
pub async fn answer<S: RecordStore + HealthProbe, N: NonceStore>(
    service: &CallbackService<S, N>,
    endpoint: Endpoint,
    request: Request,
) -> Result<Response<Body>, Infallible> {
    if request.method() == http::Method::GET && request.uri().path() == HEALTH_PATH {
        return Ok(render_health(metrics::emit_after(check_health(service.store())).await));
    }
    let headers = request.headers();
    let signature_header = ["x-aksk", "x-wsse"].into_iter().find_map(|name| headers.get(name)?.to_str().ok());
    let push = InboundPush {
        method: request.method(),
        path: request.uri().path(),
        signature_header,
        // lambda_http has already decoded a base64 body (`isBase64Encoded`) into bytes.
        body: request.body().as_ref(),
        deadline: request.lambda_context_ref().and_then(invocation_deadline),
    };
    // Boxed, as in edge::outcome: keeps the layout of each function's `main` future shallow for the compiler.
    Ok(render(metrics::emit_after(Box::pin(service.handle(endpoint, push))).await))
}

/// 200 `{"status":"healthy"}` or 503 `{"status":"unavailable"}`, never cached.
pub fn render_health(health: Health) -> Response<Body> {
    let status = if health == Health::Healthy { 200 } else { 503 };
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .body(Body::Text(format!(r#"{{"status":"{}"}}"#, health.as_str())))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

/// The response for an answer: exactly 200 on success (Huawei documents no other 2xx as success).
pub fn render(answer: Answer) -> Response<Body> {
    let json =
        |status: u16| Response::builder().status(status).header("content-type", "application/json;charset=UTF-8");
    let response = match answer {
        Answer::EventStored | Answer::SmsStored => Response::builder().status(200).body(Body::Empty),
        Answer::CdrsStored => json(200).body(Body::Text(r#"{"resultcode":"0","resultdesc":"Success"}"#.to_owned())),
        Answer::Refused(error) => {
            let body = serde_json::json!({"error": error.code(), "message": error.to_string()}).to_string();
            let builder = json(error.status());
            let builder = if error.status() == 405 { builder.header("allow", "POST") } else { builder };
            builder.body(Body::Text(body))
        }
    };
    // The builder only fails on invalid header names or statuses, and all of ours are constants.
    response.unwrap_or_else(|_| Response::new(Body::Empty))
}
