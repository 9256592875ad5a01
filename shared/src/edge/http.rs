//! The HTTP edge shared by the three callback functions: a `lambda_http` request in, an [`Answer`] rendered
//! as the response Huawei expects.

use std::convert::Infallible;
use std::sync::OnceLock;

use lambda_http::{Body, Request, RequestExt, Response};

use super::invocation_deadline;
use crate::adapters::DynamoStore;
use crate::callbacks::{
    check_health, Answer, CallbackService, Endpoint, Health, HealthProbe, HealthRequest, HealthRoute, InboundPush,
    NonceStore, SharedNonces,
};
use crate::config::{health_route as health_route_from_env, CallbackConfig, ConfigError, ProcessEnv};
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

/// The process's health route, from `HEALTH_CHECK_TOKEN` (read once).
fn health_route() -> &'static HealthRoute {
    static ROUTE: OnceLock<HealthRoute> = OnceLock::new();
    ROUTE.get_or_init(|| health_route_from_env(&ProcessEnv))
}

/// Handles one invocation. Never fails: every outcome is an HTTP answer. The health route of this process
/// (`HEALTH_CHECK_TOKEN`, see [`HealthRoute`]) is the health check; everything else is a push.
pub async fn answer<S: RecordStore + HealthProbe, N: NonceStore>(
    service: &CallbackService<S, N>,
    endpoint: Endpoint,
    request: Request,
) -> Result<Response<Body>, Infallible> {
    answer_with(service, health_route(), endpoint, request).await
}

/// [`answer`] with a given health route.
pub async fn answer_with<S: RecordStore + HealthProbe, N: NonceStore>(
    service: &CallbackService<S, N>,
    health: &HealthRoute,
    endpoint: Endpoint,
    request: Request,
) -> Result<Response<Body>, Infallible> {
    match health.classify(request.method(), request.uri().path()) {
        Some(HealthRequest::Check) => {
            return Ok(render_health(metrics::emit_after(check_health(service.store())).await));
        }
        Some(HealthRequest::NotFound) => return Ok(not_found()),
        None => {}
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

/// A health path with a missing or wrong token: 404, no body, nothing probed or counted.
fn not_found() -> Response<Body> {
    Response::builder()
        .status(404)
        .header("cache-control", "no-store")
        .body(Body::Empty)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::MemoryStore;
    use crate::auth::{CallbackTokens, SignatureMode};
    use crate::callbacks::CallbackSettings;
    use std::time::Duration;

    fn service() -> CallbackService<MemoryStore> {
        CallbackService::new(
            MemoryStore::default(),
            CallbackSettings {
                record_ttl: Duration::from_secs(86_400),
                region: "eu-west-1".into(),
                tokens: CallbackTokens::parse("tok1234567").unwrap(),
                signature_mode: SignatureMode::Off,
                store_retry_budget: Duration::from_millis(200),
                callback_base_url: None,
                credentials: None,
            },
        )
    }

    async fn status(health: &HealthRoute, path: &str) -> u16 {
        let request = http::Request::builder().method("GET").uri(path).body(Body::Empty).unwrap();
        answer_with(&service(), health, Endpoint::Voice, request).await.unwrap().status().as_u16()
    }

    #[tokio::test]
    async fn the_health_route_answers_only_at_its_token() {
        let health = HealthRoute::new(Some("r53-0123456789abcdef".into()));
        assert_eq!(status(&health, "/health/r53-0123456789abcdef").await, 200);
        assert_eq!(status(&health, "/health/guessed-token-value").await, 404);
        assert_eq!(status(&health, "/health").await, 404);
        // Not a health path: the push handling answers it (405, POST only).
        assert_eq!(status(&health, "/voice/status/tok1234567").await, 405);
    }

    /// A REST API (payload 1.0) proxy event, as the `live` stage of infra/template.yaml delivers it.
    fn rest_event(method: &str, path: &str, resource: &str, body: Option<&str>) -> Request {
        let event = serde_json::json!({
            "resource": resource,
            "path": path,
            "httpMethod": method,
            "headers": {"Content-Type": "application/json"},
            "multiValueHeaders": {"Content-Type": ["application/json"]},
            "queryStringParameters": null,
            "multiValueQueryStringParameters": null,
            "pathParameters": {"token": path.rsplit('/').next()},
            "stageVariables": null,
            "requestContext": {
                "resourcePath": resource, "httpMethod": method, "path": format!("/live{path}"), "stage": "live",
                "requestId": "r-1", "accountId": "123456789012", "resourceId": "abc123", "apiId": "api123",
                "identity": {"sourceIp": "203.0.113.7"}
            },
            "body": body,
            "isBase64Encoded": false
        });
        lambda_http::request::from_str(&event.to_string()).expect("a REST API proxy event")
    }

    #[tokio::test]
    async fn a_rest_api_request_is_answered_at_its_path_without_the_stage() {
        // As the template sets it on the callbacks: the stage is not part of the path the tokens, the signatures
        // and the health route read.
        std::env::set_var("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true");
        let health = HealthRoute::new(Some("r53-0123456789abcdef".into()));
        let check = rest_event("GET", "/health/r53-0123456789abcdef", "/health/{token}", None);
        assert_eq!(check.uri().path(), "/health/r53-0123456789abcdef");
        let answered = answer_with(&service(), &health, Endpoint::Voice, check).await.unwrap();
        assert_eq!(answered.status().as_u16(), 200);
        let push = r#"{"eventType":"callout","statusInfo":{"sessionId":"1201_612@x","caller":"+8613800000022"}}"#;
        let push = rest_event("POST", "/voice/status/tok1234567", "/voice/status/{token}", Some(push));
        assert_eq!(answer_with(&service(), &health, Endpoint::Voice, push).await.unwrap().status().as_u16(), 200);
        let wrong = rest_event("POST", "/voice/status/wrong-token", "/voice/status/{token}", Some("{}"));
        assert_eq!(answer_with(&service(), &health, Endpoint::Voice, wrong).await.unwrap().status().as_u16(), 401);
    }

    #[tokio::test]
    async fn without_a_token_the_local_health_route_is_the_bare_path() {
        let health = HealthRoute::default();
        assert_eq!(status(&health, "/health").await, 200);
        assert_eq!(status(&health, "/health/r53-0123456789abcdef").await, 404);
    }
}
