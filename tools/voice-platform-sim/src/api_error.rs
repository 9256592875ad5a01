//! Huawei-shaped error answers: `{"resultcode":"…","resultdesc":"…"}` with the paired HTTP status.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Huawei documents `application/json;charset=UTF-8` for every body it sends.
pub const JSON_UTF8: &str = "application/json;charset=UTF-8";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub http: StatusCode,
    pub resultcode: &'static str,
    pub resultdesc: String,
}

impl ApiError {
    pub fn new(http: StatusCode, resultcode: &'static str, resultdesc: impl Into<String>) -> Self {
        Self { http, resultcode, resultdesc: resultdesc.into() }
    }

    /// 403 1010002; Huawei appends the detail directly after `Invalid request.`
    /// (`Invalid request.lastMinVoice.wav does not exist`).
    pub fn invalid_request(detail: impl AsRef<str>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "1010002", format!("Invalid request.{}", detail.as_ref()))
    }

    /// 400 10230xx: a malformed `Authorization` / `X-AKSK` header.
    pub fn bad_auth_header(resultcode: &'static str, resultdesc: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, resultcode, resultdesc)
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    resultcode: &'a str,
    resultdesc: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.http, &ErrorBody { resultcode: self.resultcode, resultdesc: &self.resultdesc })
    }
}

/// A JSON response with Huawei's exact content type (axum's `Json` would say `application/json`).
pub fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    (status, [(header::CONTENT_TYPE, JSON_UTF8)], bytes).into_response()
}
