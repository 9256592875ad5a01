//! `local-stack invoke-front`: the Lambda Invoke API answered as AWS answers it, in front of `cargo lambda watch`.
//!
//! The watch answers a function error with HTTP 500, which AWS SDKs take for a fault of the service and retry
//! (boto3 four times, JavaScript v3 twice), so an app's client never sees the `errorType` the way it would in AWS.
//! Lambda answers a function error with 200, the header `X-Amz-Function-Error: Unhandled` and the function's
//! `{"errorType", "errorMessage"}` payload (docs/app-backend.md, the introduction): this front forwards
//! `POST /2015-03-31/functions/{name}/invocations` to the watch and turns its 500-with-an-error-payload into that.
//! Successes and every other answer (a missing function's 404, the watch's own faults) pass through unchanged.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

type Error = Box<dyn std::error::Error>;

const FUNCTION_ERROR: &str = "x-amz-function-error";

struct Front {
    upstream: String,
    client: reqwest::Client,
}

/// Serves until the process is stopped. `listen` must be a loopback address.
pub async fn serve(listen: &str, upstream: &str) -> Result<(), Error> {
    let listen: SocketAddr = listen.parse().map_err(|_| format!("LISTEN must be IP:PORT, not {listen:?}"))?;
    if !listen.ip().is_loopback() {
        return Err(format!("the invoke front listens on loopback only, not {}", listen.ip()).into());
    }
    // No timeout of its own: the watch builds a function at its first invocation (minutes), and the SDK's own
    // read timeout is the caller's to choose, as with Lambda.
    let front = Front { upstream: upstream.trim_end_matches('/').to_owned(), client: reqwest::Client::new() };
    let app = Router::new().route("/2015-03-31/functions/{name}/invocations", post(invoke)).with_state(Arc::new(front));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    eprintln!("invoke front on http://{listen} → {upstream}");
    axum::serve(listener, app).await?;
    Ok(())
}

async fn invoke(
    State(front): State<Arc<Front>>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut url = format!("{}/2015-03-31/functions/{name}/invocations", front.upstream);
    if let Some(query) = query {
        url = format!("{url}?{query}");
    }
    let mut request = front.client.post(&url).body(body);
    for (header, value) in &headers {
        // The SDK's own headers (signature, content type, invocation type, client context) reach the watch as
        // they would reach Lambda; the connection's are hyper's to set.
        if !matches!(header.as_str(), "host" | "content-length" | "connection" | "transfer-encoding") {
            request = request.header(header, value);
        }
    }
    match request.send().await {
        Ok(answer) => {
            let status = answer.status().as_u16();
            let content_type = answer.headers().get("content-type").cloned();
            let bytes = answer.bytes().await.unwrap_or_default();
            let (status, function_error) = as_lambda_answers(status, &bytes);
            let mut response = (StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY), bytes).into_response();
            let headers = response.headers_mut();
            if let Some(content_type) = content_type {
                headers.insert("content-type", content_type);
            }
            if function_error {
                headers.insert(FUNCTION_ERROR, HeaderValue::from_static("Unhandled"));
            }
            if status == 200 {
                headers.insert("x-amz-executed-version", HeaderValue::from_static("$LATEST"));
            }
            response
        }
        Err(e) => {
            eprintln!("invoke front: {name}: the watch did not answer: {e}");
            let body = serde_json::json!({"Type": "Service", "message": "cargo lambda watch did not answer"});
            (StatusCode::BAD_GATEWAY, axum::Json(body)).into_response()
        }
    }
}

/// The status Lambda would answer for the watch's `status` and `body`, and whether it is a function error.
fn as_lambda_answers(status: u16, body: &[u8]) -> (u16, bool) {
    if status == 500 && is_error_payload(body) {
        (200, true)
    } else {
        (status, false)
    }
}

/// The runtime's error payload: a JSON object with a string `errorType`.
fn is_error_payload(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|value| value["errorType"].is_string())
}

#[cfg(test)]
mod tests {
    use super::as_lambda_answers;

    #[test]
    fn a_function_error_is_200_with_the_header_and_everything_else_passes_through() {
        let error = br#"{"errorType":"InvalidRequest","errorMessage":"calleeNbr is required"}"#;
        assert_eq!(as_lambda_answers(500, error), (200, true));
        assert_eq!(as_lambda_answers(200, br#"{"sessionId":"s"}"#), (200, false));
        // The watch's own faults and a missing function are not the function's errors.
        assert_eq!(as_lambda_answers(500, b"upstream closed"), (500, false));
        assert_eq!(as_lambda_answers(500, br#"{"errorType":7}"#), (500, false));
        assert_eq!(as_lambda_answers(404, br#"{"title":"Missing function"}"#), (404, false));
    }
}
