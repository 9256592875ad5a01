//! Lambda events for handler tests, built from the API Gateway v2 (HTTP API) and Function URL fixtures.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use serde_json::Value;

#[derive(Clone, Copy, Debug)]
pub enum Envelope {
    HttpApi,
    FunctionUrl,
}

/// An invocation event as API Gateway / a function URL would deliver a push to `path`.
pub fn request(envelope: Envelope, method: &str, path: &str, body: &[u8], base64: bool) -> lambda_http::Request {
    into_request(event_json(envelope, method, path, body, base64, &[]))
}

/// A `lambda_http` request from an event of [`event_json`].
pub fn into_request(event: Value) -> lambda_http::Request {
    lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway v2 event")
}

/// The same event as the JSON document the Lambda runtime API delivers.
pub fn event_json(
    envelope: Envelope,
    method: &str,
    path: &str,
    body: &[u8],
    base64: bool,
    headers: &[(&str, &str)],
) -> Value {
    let template = match envelope {
        Envelope::HttpApi => "events/apigw-v2-http-api.json",
        Envelope::FunctionUrl => "events/function-url.json",
    };
    let mut event: Value = serde_json::from_str(&crate::fixture(template)).expect("event fixture is JSON");
    event["rawPath"] = path.into();
    event["requestContext"]["http"]["method"] = method.into();
    event["requestContext"]["http"]["path"] = path.into();
    if event.get("pathParameters").is_some() {
        event["pathParameters"]["token"] = path.rsplit('/').next().unwrap_or_default().into();
    }
    event["headers"]["content-length"] = body.len().to_string().into();
    for (name, value) in headers {
        event["headers"][*name] = (*value).into();
    }
    event["isBase64Encoded"] = base64.into();
    event["body"] = match base64 {
        true => STANDARD.encode(body).into(),
        false => String::from_utf8(body.to_vec()).expect("text bodies are UTF-8; use base64 for bytes").into(),
    };
    event
}
