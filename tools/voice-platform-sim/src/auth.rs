//! X-AKSK request authentication (docs/huawei-protocol.md, "Signing our requests: X-AKSK"): signing for clients and
//! pushes, verification for callVerify.
//!
//! `PasswordDigest = Base64(HMAC-SHA256(key = APP_Secret, msg = Nonce + Created))` over the raw 32-byte MAC.

use std::time::Duration;

use axum::http::StatusCode;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use rand::Rng as _;
use sha2::Sha256;
use time::OffsetDateTime;

use crate::api_error::ApiError;
use crate::time_fmt;

type HmacSha256 = Hmac<Sha256>;

/// The one `Authorization` value Huawei accepts.
pub const AUTHORIZATION_VALUE: &str = r#"AKSK realm="SDP",profile="UsernameToken",type="Appkey""#;

fn mac_over(secret: &str, nonce: &str, created: &str) -> HmacSha256 {
    // HMAC accepts keys of any length, so this never fails; the fallback keeps the signature total.
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| HmacSha256::new_from_slice(b"\0").expect("one-byte HMAC key"));
    mac.update(nonce.as_bytes());
    mac.update(created.as_bytes());
    mac
}

/// `Base64(HMAC-SHA256(secret, nonce + created))`.
pub fn password_digest(secret: &str, nonce: &str, created: &str) -> String {
    STANDARD.encode(mac_over(secret, nonce, created).finalize().into_bytes())
}

/// Compares in constant time (the MAC crate's verify), so the sim never models a timing oracle.
fn digest_matches(secret: &str, nonce: &str, created: &str, presented: &str) -> bool {
    match STANDARD.decode(presented) {
        Ok(bytes) => mac_over(secret, nonce, created).verify_slice(&bytes).is_ok(),
        Err(_) => false,
    }
}

/// The two headers a signed request (or a signed push) carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub authorization: String,
    pub x_aksk: String,
}

/// Signs with an explicit nonce and `Created` (tests, reproducible examples).
pub fn sign_with(app_key: &str, secret: &str, nonce: &str, created: &str) -> SignedHeaders {
    let digest = password_digest(secret, nonce, created);
    SignedHeaders {
        authorization: AUTHORIZATION_VALUE.to_string(),
        x_aksk: format!(
            r#"UsernameToken Username="{app_key}",PasswordDigest="{digest}",Nonce="{nonce}",Created="{created}""#
        ),
    }
}

/// Signs with a fresh 32-hex-digit nonce and `Created` = `now` in UTC, as Huawei's demos do.
pub fn sign(app_key: &str, secret: &str, now: OffsetDateTime) -> SignedHeaders {
    let nonce = format!("{:032X}", rand::rng().random::<u128>());
    sign_with(app_key, secret, &nonce, &time_fmt::created(now))
}

/// Splits `k1="v1", k2="v2"` into pairs; quotes are optional, keys are matched case-sensitively.
fn parse_params(text: &str) -> Vec<(&str, &str)> {
    text.split(',')
        .filter_map(|part| {
            let (key, value) = part.split_once('=')?;
            let value = value.trim();
            let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
            Some((key.trim(), value))
        })
        .collect()
}

fn param<'a>(params: &[(&'a str, &'a str)], name: &str) -> Option<&'a str> {
    params.iter().find(|(key, _)| *key == name).map(|(_, value)| *value)
}

/// Splits `Scheme rest` at the first whitespace.
fn split_scheme(header: &str) -> (&str, &str) {
    let header = header.trim();
    match header.split_once(char::is_whitespace) {
        Some((scheme, rest)) => (scheme, rest),
        None => (header, ""),
    }
}

/// Checks the fixed `Authorization` header; each deviation gets the 10230xx code of Huawei's table.
pub fn check_authorization(header: Option<&str>) -> Result<(), ApiError> {
    let header =
        header.ok_or_else(|| ApiError::bad_auth_header("1023006", "Authorization not contained in the HTTP header"))?;
    let (scheme, rest) = split_scheme(header);
    if scheme != "AKSK" {
        // No code was recovered for a wrong scheme; 1023006 is the generic "no usable Authorization".
        return Err(ApiError::bad_auth_header("1023006", "AKSK not contained in Authorization"));
    }
    let params = parse_params(rest);
    match param(&params, "realm") {
        None => return Err(ApiError::bad_auth_header("1023007", "realm not contained in Authorization")),
        Some("SDP") => {}
        Some(_) => return Err(ApiError::bad_auth_header("1023009", "realm must be SDP")),
    }
    match param(&params, "profile") {
        None => return Err(ApiError::bad_auth_header("1023008", "profile not contained in Authorization")),
        Some("UsernameToken") => {}
        Some(_) => return Err(ApiError::bad_auth_header("1023010", "profile must be UsernameToken")),
    }
    match param(&params, "type") {
        None => Err(ApiError::bad_auth_header("1023012", "type not contained in Authorization")),
        Some("Appkey") => Ok(()),
        Some(_) => Err(ApiError::bad_auth_header("1023011", "type must be Appkey")),
    }
}

/// The parts of an `X-AKSK` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsernameToken<'a> {
    pub username: &'a str,
    pub password_digest: &'a str,
    pub nonce: &'a str,
    pub created: &'a str,
}

/// Parses `UsernameToken Username="…",PasswordDigest="…",Nonce="…",Created="…"`.
pub fn parse_x_aksk(header: Option<&str>) -> Result<UsernameToken<'_>, ApiError> {
    let header = header.ok_or_else(|| ApiError::bad_auth_header("1023033", "HTTP header not found X-AKSK field"))?;
    let (scheme, rest) = split_scheme(header);
    if scheme != "UsernameToken" {
        return Err(ApiError::bad_auth_header("1023033", "X-AKSK must start with UsernameToken"));
    }
    let params = parse_params(rest);
    let need = |name: &str, code: &'static str, desc: &str| {
        param(&params, name).filter(|value| !value.is_empty()).ok_or_else(|| ApiError::bad_auth_header(code, desc))
    };
    Ok(UsernameToken {
        username: need("Username", "1023034", "UserName not contained in X-AKSK")?,
        nonce: need("Nonce", "1023035", "Nonce not contained in X-AKSK")?,
        created: need("Created", "1023036", "Created not contained in X-AKSK")?,
        password_digest: need("PasswordDigest", "1023037", "PasswordDigest not contained in X-AKSK")?,
    })
}

/// What a request must match to be accepted.
#[derive(Debug, Clone, Copy)]
pub struct Credentials<'a> {
    pub app_key: &'a str,
    pub app_secret: &'a str,
    pub max_clock_skew: Duration,
}

/// Full callVerify authentication: both headers, app key, digest, then clock skew.
pub fn verify(
    authorization: Option<&str>,
    x_aksk: Option<&str>,
    expected: Credentials<'_>,
    now: OffsetDateTime,
) -> Result<(), ApiError> {
    check_authorization(authorization)?;
    let token = parse_x_aksk(x_aksk)?;
    if token.username != expected.app_key {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "1010003", "Invalid app_key"));
    }
    let nonce_ok = (1..=128).contains(&token.nonce.len()) && token.nonce.bytes().all(|b| b.is_ascii_alphanumeric());
    if !nonce_ok {
        // Huawei documents the rule (1-128 letters/digits) but no code for breaking it; reuse Nonce's.
        return Err(ApiError::bad_auth_header("1023035", "Nonce in X-AKSK is invalid"));
    }
    let created = time_fmt::parse_created(token.created)
        .ok_or_else(|| ApiError::bad_auth_header("1023036", "Created in X-AKSK is invalid"))?;
    if !digest_matches(expected.app_secret, token.nonce, token.created, token.password_digest) {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "1010010", "Invalid digest"));
    }
    let skew = (now - created).unsigned_abs();
    if skew > expected.max_clock_skew {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "1010013", "Time out limit"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const SECRET: &str = "testAppSecret";
    const NONCE: &str = "66C92B11FF8A425FB8D4CCFE0ED9ED1F";
    const CREATED: &str = "2018-02-12T15:30:20Z";

    fn creds() -> Credentials<'static> {
        Credentials { app_key: "key", app_secret: SECRET, max_clock_skew: Duration::from_secs(300) }
    }

    #[test]
    fn digest_matches_spec_test_vector() {
        assert_eq!(password_digest(SECRET, NONCE, CREATED), "WBB1hvMeB3Jl0Ec6loHZF1S11I0U+uSzEApiinumrZk=");
    }

    #[test]
    fn signed_headers_verify_within_skew() {
        let signed = sign_with("key", SECRET, NONCE, CREATED);
        let now = datetime!(2018-02-12 15:34:20 UTC);
        assert_eq!(verify(Some(&signed.authorization), Some(&signed.x_aksk), creds(), now), Ok(()));
    }

    #[test]
    fn stale_created_is_time_out_limit() {
        let signed = sign_with("key", SECRET, NONCE, CREATED);
        let now = datetime!(2018-02-12 15:35:21 UTC);
        let err = verify(Some(&signed.authorization), Some(&signed.x_aksk), creds(), now).unwrap_err();
        assert_eq!((err.http.as_u16(), err.resultcode), (401, "1010013"));
    }

    #[test]
    fn authorization_deviations_get_their_codes() {
        let cases = [
            (None, "1023006"),
            (Some(r#"WSSE realm="SDP",profile="UsernameToken",type="Appkey""#), "1023006"),
            (Some(r#"AKSK profile="UsernameToken",type="Appkey""#), "1023007"),
            (Some(r#"AKSK realm="SDP",type="Appkey""#), "1023008"),
            (Some(r#"AKSK realm="X",profile="UsernameToken",type="Appkey""#), "1023009"),
            (Some(r#"AKSK realm="SDP",profile="Token",type="Appkey""#), "1023010"),
            (Some(r#"AKSK realm="SDP",profile="UsernameToken",type="AppKey""#), "1023011"),
            (Some(r#"AKSK realm="SDP",profile="UsernameToken""#), "1023012"),
        ];
        for (header, code) in cases {
            let err = check_authorization(header).unwrap_err();
            assert_eq!((err.http.as_u16(), err.resultcode), (400, code), "{header:?}");
        }
        assert_eq!(check_authorization(Some(AUTHORIZATION_VALUE)), Ok(()));
    }

    #[test]
    fn x_aksk_missing_pieces_get_their_codes() {
        let full = r#"UsernameToken Username="k", PasswordDigest="d", Nonce="n", Created="c""#;
        assert!(parse_x_aksk(Some(full)).is_ok(), "spaces after commas are tolerated");
        let cases = [
            (None, "1023033"),
            (Some(r#"UsernameToken PasswordDigest="d",Nonce="n",Created="c""#), "1023034"),
            (Some(r#"UsernameToken Username="k",PasswordDigest="d",Created="c""#), "1023035"),
            (Some(r#"UsernameToken Username="k",PasswordDigest="d",Nonce="n""#), "1023036"),
            (Some(r#"UsernameToken Username="k",Nonce="n",Created="c""#), "1023037"),
        ];
        for (header, code) in cases {
            let err = parse_x_aksk(header).unwrap_err();
            assert_eq!(err.resultcode, code, "{header:?}");
        }
    }

    #[test]
    fn nonce_must_be_alphanumeric() {
        let signed = sign_with("key", SECRET, "abc-def", CREATED);
        let now = datetime!(2018-02-12 15:30:20 UTC);
        let err = verify(Some(&signed.authorization), Some(&signed.x_aksk), creds(), now).unwrap_err();
        assert_eq!(err.resultcode, "1023035");
    }
}
