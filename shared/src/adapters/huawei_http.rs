//! Huawei's callVerify over HTTPS (reqwest + rustls): one attempt per call, classified as the domain's
//! [`Attempt`]; retry decisions belong to `verification::attempt`.

use std::time::Duration;

use rand::Rng;
use time::OffsetDateTime;

use super::tls_roots::TrustRoots;
use crate::calls::attempt::Attempt;
use crate::calls::{CallRequest, VoiceApi};
use crate::huawei::call_verify::{x_aksk_header, CallVerifyBody, CALL_VERIFY_PATH};
use crate::huawei::signature::AKSK_AUTHORIZATION;
use crate::huawei::AppCredentials;
use crate::ids::VerificationCode;
use crate::telemetry::error_chain;

/// The HTTP client could not be built (a TLS backend that failed to load).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client")]
pub struct ClientBuildError(#[source] reqwest::Error);

pub struct CallVerifyClient {
    http: reqwest::Client,
    endpoint: String,
    credentials: AppCredentials,
    /// Base64 callback URLs sent with every call.
    status_url: String,
    fee_url: String,
}

impl CallVerifyClient {
    /// A client that trusts the process's roots ([`super::tls_roots::process_roots`]).
    pub fn new(
        base_url: &str,
        credentials: AppCredentials,
        status_url: String,
        fee_url: String,
    ) -> Result<Self, ClientBuildError> {
        Self::with_roots(base_url, credentials, status_url, fee_url, super::tls_roots::process_roots())
    }

    /// A client that trusts `roots` and nothing else: reqwest's default verifier would read the machine's CA
    /// store at every cold start (BENCHMARKS.md, "Cold start steps").
    pub fn with_roots(
        base_url: &str,
        credentials: AppCredentials,
        status_url: String,
        fee_url: String,
        roots: &TrustRoots,
    ) -> Result<Self, ClientBuildError> {
        let http = reqwest::Client::builder()
            .tls_certs_only(roots.reqwest_certificates().map_err(ClientBuildError)?)
            .connect_timeout(Duration::from_secs(3))
            .https_only(!base_url.starts_with("http://127.0.0.1") && !base_url.starts_with("http://localhost"))
            .build()
            .map_err(ClientBuildError)?;
        let endpoint = format!("{}{CALL_VERIFY_PATH}", base_url.trim_end_matches('/'));
        Ok(Self { http, endpoint, credentials, status_url, fee_url })
    }

    /// The X-AKSK header value for a request sent now: fresh random nonce, UTC `Created`.
    pub fn x_aksk(&self, now: OffsetDateTime) -> String {
        x_aksk_header(&self.credentials, hex::encode(rand::rng().random::<[u8; 16]>()), now)
    }

    fn body<'a>(&'a self, request: &'a CallRequest, code: &'a VerificationCode) -> CallVerifyBody<'a> {
        CallVerifyBody {
            callee_nbr: request.callee_nbr.expose(),
            verify_code: code.expose(),
            display_nbr: &request.display_nbr,
            language_type: request.language_type,
            pre_tone: &request.pre_tone,
            pos_tone: request.pos_tone.as_deref(),
            times: request.times,
            user_data: request.user_data.as_deref(),
            status_url: &self.status_url,
            fee_url: &self.fee_url,
            return_idle_port: "false",
        }
    }

    /// Sends one request speaking `code`; `timeout` bounds the whole exchange.
    pub async fn send(&self, request: &CallRequest, code: &VerificationCode, timeout: Duration) -> Attempt {
        let sent = self
            .http
            .post(&self.endpoint)
            .timeout(timeout)
            .header("content-type", "application/json;charset=UTF-8")
            .header("authorization", AKSK_AUTHORIZATION)
            .header("x-aksk", self.x_aksk(OffsetDateTime::now_utc()))
            .json(&self.body(request, code))
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

impl VoiceApi for CallVerifyClient {
    async fn call_verify(&self, request: &CallRequest, code: &VerificationCode, timeout: Duration) -> Attempt {
        self.send(request, code, timeout).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calls::Defaults;
    use crate::huawei::signature::{password_digest, UsernameToken};
    use time::macros::datetime;

    fn client() -> CallVerifyClient {
        let credentials = AppCredentials { app_key: "key".into(), app_secret: "testAppSecret".into() };
        CallVerifyClient::new("http://127.0.0.1:1", credentials, "c3Q=".into(), "ZmU=".into()).unwrap()
    }

    #[test]
    fn body_is_the_documented_shape_without_our_own_fields() {
        let defaults = Defaults {
            display_nbr: Some("+8675528000088".into()),
            pre_tone: Some("welcome.wav".into()),
            language_type: 2,
            allow_endless_playback: false,
            code_length: 6,
        };
        let event = serde_json::json!({"calleeNbr": "+8613800000001", "verifyCode": "482913", "idempotencyKey": "k", "times": 2, "userData": "u"});
        let request = CallRequest::from_event(event, &defaults).unwrap();
        let client = client();
        let code = request.verify_code.clone().unwrap();
        let json = serde_json::to_value(client.body(&request, &code)).unwrap();
        let expected = serde_json::json!({"calleeNbr": "+8613800000001", "verifyCode": "482913", "displayNbr": "+8675528000088",
            "languageType": 2, "preTone": "welcome.wav", "times": 2, "userData": "u", "statusUrl": "c3Q=", "feeUrl": "ZmU=",
            "returnIdlePort": "false"});
        assert_eq!(json, expected);
    }

    #[test]
    fn x_aksk_has_fresh_nonce_and_a_verifiable_digest() {
        let client = client();
        let now = datetime!(2018-02-12 23:30:20 +8);
        let first = UsernameToken::parse(&client.x_aksk(now)).unwrap();
        let second = UsernameToken::parse(&client.x_aksk(now)).unwrap();
        assert_ne!(first.nonce, second.nonce);
        assert_eq!(first.created, "2018-02-12T15:30:20Z", "true UTC with Z");
        assert_eq!(first.nonce.len(), 32);
        assert_eq!(first.password_digest, password_digest(b"testAppSecret", &first.nonce, &first.created));
    }
}
