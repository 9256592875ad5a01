//! Huawei's callVerify API client (spec §1–2): `POST {base}/rest/httpsessions/callVerify/v1.0`, signed with
//! X-AKSK. One attempt per call; retry decisions belong to `verification::outcome`.

use std::time::Duration;

use base64::{engine::general_purpose::STANDARD, Engine as _};
use rand::Rng;
use secrecy::ExposeSecret;
use serde::Serialize;
use time::{macros::format_description, OffsetDateTime, UtcOffset};

use super::signature::{hex, password_digest, UsernameToken, AKSK_AUTHORIZATION};
use crate::config::AppCredentials;
use crate::verification::outcome::Attempt;
use crate::verification::CallRequest;

pub const CALL_VERIFY_PATH: &str = "/rest/httpsessions/callVerify/v1.0";
/// `statusUrl` / `feeUrl` are `String(1-128)`, the base64 form.
pub const MAX_ENCODED_URL_LEN: usize = 128;

/// The body of §2.1.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallVerifyBody<'a> {
    #[serde(flatten)]
    pub request: &'a CallRequest,
    pub status_url: &'a str,
    pub fee_url: &'a str,
    pub return_idle_port: &'static str,
}

/// Standard base64 of a callback URL, refused when longer than Huawei accepts.
pub fn encode_callback_url(url: &str) -> Result<String, String> {
    let encoded = STANDARD.encode(url);
    if encoded.len() > MAX_ENCODED_URL_LEN {
        return Err(format!(
            "callback URL {url:?} is {} bytes, {} in base64: Huawei accepts at most {MAX_ENCODED_URL_LEN} (≈96 raw bytes)",
            url.len(),
            encoded.len()
        ));
    }
    Ok(encoded)
}

pub struct CallVerifyClient {
    http: reqwest::Client,
    endpoint: String,
    credentials: AppCredentials,
    /// Base64 callback URLs sent with every call.
    status_url: String,
    fee_url: String,
}

impl CallVerifyClient {
    pub fn new(
        base_url: &str,
        credentials: AppCredentials,
        status_url: String,
        fee_url: String,
    ) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .https_only(!base_url.starts_with("http://127.0.0.1") && !base_url.starts_with("http://localhost"))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let endpoint = format!("{}{CALL_VERIFY_PATH}", base_url.trim_end_matches('/'));
        Ok(Self { http, endpoint, credentials, status_url, fee_url })
    }

    /// The X-AKSK header value for a request sent now: fresh random nonce, UTC `Created`.
    pub fn x_aksk(&self, now: OffsetDateTime) -> String {
        let nonce = hex(&rand::rng().random::<[u8; 16]>());
        let created = created_text(now);
        let password_digest = password_digest(self.credentials.app_secret.expose_secret().as_bytes(), &nonce, &created);
        UsernameToken { username: self.credentials.app_key.clone(), password_digest, nonce, created }.to_header_value()
    }

    /// Sends one request; `timeout` bounds the whole exchange.
    pub async fn send(&self, request: &CallRequest, timeout: Duration) -> Attempt {
        let body =
            CallVerifyBody { request, status_url: &self.status_url, fee_url: &self.fee_url, return_idle_port: "false" };
        let sent = self
            .http
            .post(&self.endpoint)
            .timeout(timeout)
            .header("content-type", "application/json;charset=UTF-8")
            .header("authorization", AKSK_AUTHORIZATION)
            .header("x-aksk", self.x_aksk(OffsetDateTime::now_utc()))
            .json(&body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            // A failure to connect means nothing left this machine; anything later might have reached Huawei.
            Err(e) if e.is_connect() => return Attempt::NotSent(error_chain(&e)),
            Err(e) if e.is_builder() => return Attempt::NotSent(error_chain(&e)),
            Err(e) => return Attempt::NoAnswer(error_chain(&e)),
        };
        let status = response.status().as_u16();
        match response.text().await {
            Ok(body) => Attempt::Answered { status, body },
            Err(e) => Attempt::NoAnswer(format!("HTTP {status}, body unreadable: {}", error_chain(&e))),
        }
    }
}

impl crate::verification::service::VoiceApi for CallVerifyClient {
    async fn call_verify(&self, request: &CallRequest, timeout: Duration) -> Attempt {
        self.send(request, timeout).await
    }
}

/// `yyyy-MM-ddTHH:mm:ssZ` in true UTC (spec §1.2 recommendation).
pub fn created_text(now: OffsetDateTime) -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    now.to_offset(UtcOffset::UTC).format(format).unwrap_or_default()
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn callback_urls_are_standard_base64_within_128_chars() {
        assert_eq!(
            encode_callback_url("https://www.huawei.com:9330/fee").unwrap(),
            "aHR0cHM6Ly93d3cuaHVhd2VpLmNvbTo5MzMwL2ZlZQ=="
        );
        // 96 raw bytes are exactly 128 base64 characters; one more byte is refused.
        let url = |token_len: usize| format!("https://cb.example.com/voice/status/{}", "t".repeat(token_len));
        assert_eq!(url(60).len(), 96);
        assert_eq!(encode_callback_url(&url(60)).unwrap().len(), 128);
        assert!(encode_callback_url(&url(61)).unwrap_err().contains("at most 128"));
    }

    #[test]
    fn body_is_the_documented_shape_without_our_own_fields() {
        let defaults = crate::verification::Defaults {
            display_nbr: Some("+8675528000088".into()),
            pre_tone: Some("welcome.wav".into()),
            language_type: 2,
            allow_endless_playback: false,
        };
        let event = serde_json::json!({"calleeNbr": "+8613800000001", "verifyCode": "482913", "idempotencyKey": "k", "times": 2, "userData": "u"});
        let request = CallRequest::from_event(event, &defaults).unwrap();
        let body = CallVerifyBody { request: &request, status_url: "c3Q=", fee_url: "ZmU=", return_idle_port: "false" };
        let json = serde_json::to_value(&body).unwrap();
        let expected = serde_json::json!({"calleeNbr": "+8613800000001", "verifyCode": "482913", "displayNbr": "+8675528000088",
            "languageType": 2, "preTone": "welcome.wav", "times": 2, "userData": "u", "statusUrl": "c3Q=", "feeUrl": "ZmU=",
            "returnIdlePort": "false"});
        assert_eq!(json, expected);
    }

    #[test]
    fn x_aksk_has_fresh_nonce_and_a_verifiable_digest() {
        let credentials = AppCredentials { app_key: "key".into(), app_secret: "testAppSecret".into() };
        let client = CallVerifyClient::new("http://127.0.0.1:1", credentials, "s".into(), "f".into()).unwrap();
        let now = datetime!(2018-02-12 23:30:20 +8);
        let first = UsernameToken::parse(&client.x_aksk(now)).unwrap();
        let second = UsernameToken::parse(&client.x_aksk(now)).unwrap();
        assert_ne!(first.nonce, second.nonce);
        assert_eq!(first.created, "2018-02-12T15:30:20Z", "true UTC with Z");
        assert_eq!(first.nonce.len(), 32);
        assert_eq!(first.password_digest, password_digest(b"testAppSecret", &first.nonce, &first.created));
    }
}
