//! Outgoing pushes to the customer's callback URLs, with Huawei's success rules and re-push schedule.

use std::net::IpAddr;
use std::sync::Arc;

use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::StatusCode;
use time::OffsetDateTime;
use tracing::{info, warn};

use crate::api_error::JSON_UTF8;
use crate::auth;
use crate::config::{Config, PushAuth};
use crate::stats::{PushKind, SharedStats};

#[derive(Clone)]
pub struct Pusher {
    client: reqwest::Client,
    config: Arc<Config>,
    stats: Arc<SharedStats>,
}

/// Huawei's rule (docs/huawei-protocol.md, "What Huawei expects back from a CDR push" and "Re-push and retry
/// behaviour"): HTTP 200, and for CDRs a `resultcode` in the body, if present, must be "0".
pub fn is_success(kind: PushKind, status: StatusCode, body: &[u8]) -> bool {
    if status != StatusCode::OK {
        return false;
    }
    if kind != PushKind::Fee {
        return true;
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return true;
    };
    match value.get("resultcode") {
        None => true,
        Some(serde_json::Value::String(code)) => code == "0",
        Some(serde_json::Value::Number(code)) => code.as_i64() == Some(0),
        Some(_) => false,
    }
}

fn is_loopback_host(url: &reqwest::Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => {
            host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        None => false,
    }
}

/// Only scheme, host and port reach the logs: callback paths carry secret tokens (`/voice/status/<token>`, see the
/// docs/operations.md, "HTTP routes and answers").
fn log_target(url: &reqwest::Url) -> String {
    url.origin().ascii_serialization()
}

impl Pusher {
    pub fn new(config: Arc<Config>, stats: Arc<SharedStats>) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(config.push_timeout)
            // Huawei's pusher talks to the URL's host directly; a proxy from the environment would not.
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self { client, config, stats })
    }

    /// One POST; `true` when Huawei would count it as delivered.
    async fn post_once(&self, kind: PushKind, url: &str, body: &[u8], is_repush: bool) -> bool {
        let ok = self.try_post(kind, url, body, is_repush).await;
        self.stats.push_result(kind, is_repush, ok);
        ok
    }

    async fn try_post(&self, kind: PushKind, url: &str, body: &[u8], is_repush: bool) -> bool {
        let Ok(parsed) = reqwest::Url::parse(url) else {
            warn!(kind = kind.name(), "push target is not a URL");
            return false;
        };
        let endpoint = log_target(&parsed);
        if !self.config.allow_remote_push && !is_loopback_host(&parsed) {
            warn!(kind = kind.name(), %endpoint, "refusing push to a non-loopback host (see --allow-remote-push)");
            return false;
        }
        let mut request = self.client.post(parsed).header(CONTENT_TYPE, JSON_UTF8).body(body.to_vec());
        if self.config.push_auth == PushAuth::Aksk {
            let signed = auth::sign(&self.config.app_key, &self.config.app_secret, OffsetDateTime::now_utc());
            request = request.header(AUTHORIZATION, signed.authorization).header("X-AKSK", signed.x_aksk);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                let answer = response.bytes().await.unwrap_or_default();
                let ok = is_success(kind, status, &answer);
                info!(kind = kind.name(), %endpoint, status = status.as_u16(), ok, is_repush, "push answered");
                ok
            }
            Err(error) => {
                warn!(kind = kind.name(), %endpoint, is_repush, error = %error.without_url(), "push failed");
                false
            }
        }
    }

    /// Sends the configured number of copies; delivered if any copy was acknowledged.
    pub async fn send(&self, kind: PushKind, url: &str, body: &[u8], is_repush: bool) -> bool {
        let mut delivered = false;
        for _ in 0..self.config.duplicates.max(1) {
            delivered |= self.post_once(kind, url, body, is_repush).await;
        }
        delivered
    }

    /// Re-pushes after a failed first push: up to `max_repushes` times, `repush_interval` apart.
    pub async fn repush_until_delivered(&self, kind: PushKind, url: &str, body: &[u8]) -> bool {
        for _ in 0..self.config.max_repushes {
            self.stats.lock().pending_repushes += 1;
            tokio::time::sleep(self.config.repush_interval).await;
            self.stats.lock().pending_repushes -= 1;
            if self.send(kind, url, body, true).await {
                return true;
            }
        }
        self.stats.lock().pushes.kind_mut(kind).abandoned += 1;
        warn!(kind = kind.name(), "giving up after the last re-push (Huawei would now write a CDR file)");
        false
    }

    /// First push plus re-pushes (CDRs; SMS).
    pub async fn deliver_with_repush(&self, kind: PushKind, url: &str, body: &[u8]) -> bool {
        self.send(kind, url, body, false).await || self.repush_until_delivered(kind, url, body).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_rules() {
        assert!(is_success(PushKind::Status, StatusCode::OK, b""));
        assert!(!is_success(PushKind::Status, StatusCode::NO_CONTENT, b""));
        assert!(is_success(PushKind::Fee, StatusCode::OK, br#"{"resultcode":"0","resultdesc":"Success"}"#));
        assert!(is_success(PushKind::Fee, StatusCode::OK, b""));
        assert!(!is_success(PushKind::Fee, StatusCode::OK, br#"{"resultcode":"1"}"#));
        // Status pushes ignore the body's resultcode; only CDRs are judged by it.
        assert!(is_success(PushKind::Status, StatusCode::OK, br#"{"resultcode":"1"}"#));
    }

    #[test]
    fn loopback_detection() {
        let loopback = ["http://127.0.0.1:9000/x", "http://localhost/x", "http://[::1]:80/x"];
        for url in loopback {
            assert!(is_loopback_host(&reqwest::Url::parse(url).unwrap()), "{url}");
        }
        assert!(!is_loopback_host(&reqwest::Url::parse("https://cb.example.com/x").unwrap()));
    }
}
