//! Huawei's callVerify request (docs/huawei-protocol.md, "The callVerify API"):
//! `POST {base}/rest/httpsessions/callVerify/v1.0`,
//! its JSON body, the base64 callback URLs it carries and the X-AKSK header that signs it. Sending it is the
//! HTTP adapter's job (`adapters::huawei_http`).

use base64::{engine::general_purpose::STANDARD, Engine as _};
use secrecy::ExposeSecret;
use serde::Serialize;
use time::{macros::format_description, OffsetDateTime, UtcOffset};

use super::credentials::AppCredentials;
use super::signature::{password_digest, UsernameToken};

pub const CALL_VERIFY_PATH: &str = "/rest/httpsessions/callVerify/v1.0";
/// `statusUrl` / `feeUrl` are `String(1-128)`, the base64 form.
pub const MAX_ENCODED_URL_LEN: usize = 128;

/// The body of docs/huawei-protocol.md, "callVerify request body". Optional fields are left out when unset.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallVerifyBody<'a> {
    pub callee_nbr: &'a str,
    pub verify_code: &'a str,
    pub display_nbr: &'a str,
    pub language_type: i64,
    pub pre_tone: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pos_tone: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub times: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_data: Option<&'a str>,
    pub status_url: &'a str,
    pub fee_url: &'a str,
    pub return_idle_port: &'static str,
}

/// A callback URL Huawei would refuse: longer than [`MAX_ENCODED_URL_LEN`] once in base64.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "callback URL {url:?} is {raw_len} bytes, {encoded_len} in base64: Huawei accepts at most {MAX_ENCODED_URL_LEN} (≈96 raw bytes)"
)]
pub struct CallbackUrlTooLong {
    pub url: String,
    pub raw_len: usize,
    pub encoded_len: usize,
}

/// Standard base64 of a callback URL, refused when longer than Huawei accepts.
pub fn encode_callback_url(url: &str) -> Result<String, CallbackUrlTooLong> {
    let encoded = STANDARD.encode(url);
    if encoded.len() > MAX_ENCODED_URL_LEN {
        return Err(CallbackUrlTooLong { url: url.to_owned(), raw_len: url.len(), encoded_len: encoded.len() });
    }
    Ok(encoded)
}

/// The X-AKSK header value of a request sent at `now` with a fresh random `nonce`: UTC `Created`, scheme A.
pub fn x_aksk_header(credentials: &AppCredentials, nonce: String, now: OffsetDateTime) -> String {
    let created = created_text(now);
    let password_digest = password_digest(credentials.app_secret.expose_secret().as_bytes(), &nonce, &created);
    UsernameToken { username: credentials.app_key.clone(), password_digest, nonce, created }.to_header_value()
}

/// `yyyy-MM-ddTHH:mm:ssZ` in true UTC (the recommendation of docs/huawei-protocol.md, "Signing our requests: X-AKSK").
pub fn created_text(now: OffsetDateTime) -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    now.to_offset(UtcOffset::UTC).format(format).unwrap_or_default()
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
        assert!(encode_callback_url(&url(61)).unwrap_err().to_string().contains("at most 128"));
    }

    #[test]
    fn x_aksk_uses_utc_created_and_a_verifiable_digest() {
        let credentials = AppCredentials { app_key: "key".into(), app_secret: "testAppSecret".into() };
        let now = datetime!(2018-02-12 23:30:20 +8);
        let token = UsernameToken::parse(&x_aksk_header(&credentials, "n0nce".into(), now)).unwrap();
        assert_eq!(token.username, "key");
        assert_eq!(token.nonce, "n0nce");
        assert_eq!(token.created, "2018-02-12T15:30:20Z", "true UTC with Z");
        assert_eq!(token.password_digest, password_digest(b"testAppSecret", &token.nonce, &token.created));
    }
}
