//! `UsernameToken` signatures: the X-AKSK header we send to Huawei, and the X-AKSK / X-WSSE headers Huawei may
//! put on its pushes. Which digest formula Huawei's pushes use is undocumented or contradictory
//! (docs/huawei-protocol.md, "Callback authentication"), so a push is checked against every candidate scheme and the
//! matching one is reported.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

/// The fixed `Authorization` value of Huawei's AKSK scheme.
pub const AKSK_AUTHORIZATION: &str = r#"AKSK realm="SDP",profile="UsernameToken",type="Appkey""#;

/// The four parts of a `UsernameToken …` header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsernameToken {
    pub username: String,
    pub password_digest: String,
    pub nonce: String,
    pub created: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenParseError {
    #[error("header does not start with `UsernameToken`")]
    NotUsernameToken,
    #[error("header lacks `{0}`")]
    Missing(&'static str),
    #[error("header part `{0}` is not of the form key=\"value\"")]
    Malformed(String),
}

impl UsernameToken {
    /// Parses `UsernameToken Username="…",PasswordDigest="…",Nonce="…",Created="…"` (spaces after commas and
    /// key order tolerated; unknown keys ignored).
    pub fn parse(header: &str) -> Result<Self, TokenParseError> {
        let rest = header.trim().strip_prefix("UsernameToken").ok_or(TokenParseError::NotUsernameToken)?;
        let (mut username, mut digest, mut nonce, mut created) = (None, None, None, None);
        for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part.split_once('=').ok_or_else(|| TokenParseError::Malformed(part.into()))?;
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .ok_or_else(|| TokenParseError::Malformed(key.trim().into()))?
                .to_owned();
            match key.trim() {
                "Username" => username = Some(value),
                "PasswordDigest" => digest = Some(value),
                "Nonce" => nonce = Some(value),
                "Created" => created = Some(value),
                _ => {}
            }
        }
        Ok(Self {
            username: username.ok_or(TokenParseError::Missing("Username"))?,
            password_digest: digest.ok_or(TokenParseError::Missing("PasswordDigest"))?,
            nonce: nonce.ok_or(TokenParseError::Missing("Nonce"))?,
            created: created.ok_or(TokenParseError::Missing("Created"))?,
        })
    }

    /// Renders the header value Huawei expects on our requests.
    pub fn to_header_value(&self) -> String {
        format!(
            r#"UsernameToken Username="{}",PasswordDigest="{}",Nonce="{}",Created="{}""#,
            self.username, self.password_digest, self.nonce, self.created
        )
    }
}

/// The candidate digest formulas of docs/huawei-protocol.md, "Candidate digest schemes".
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum DigestScheme {
    /// A: `b64(HMAC-SHA256(secret, nonce+created))` — our own requests; privacy-number pushes.
    HmacNonceCreated,
    /// B: `b64(HMAC-SHA256(secret, url+"\n"+nonce+"\n"+created))` — VoiceCall push pages, 2026.
    HmacUrlLines,
    /// C: `b64(HMAC-SHA256(secret, url+nonce+created))` — VoiceCall push guide copy, 2023.
    HmacUrlConcat,
    /// D: `b64(SHA256(nonce+created+secret))` — legacy WSSE; seen in real 2022 traffic.
    WsseSha256,
    /// E: `b64(hex(SHA256(nonce+created+secret)))` — legacy WSSE demo.
    WsseSha256Hex,
}

impl DigestScheme {
    pub const ALL: [DigestScheme; 5] =
        [Self::HmacNonceCreated, Self::HmacUrlLines, Self::HmacUrlConcat, Self::WsseSha256, Self::WsseSha256Hex];

    /// Computes the digest; `None` for the URL schemes when no URL is known.
    pub fn digest(self, secret: &[u8], nonce: &str, created: &str, url: Option<&str>) -> Option<String> {
        let raw = match self {
            Self::HmacNonceCreated => hmac_sha256(secret, &[nonce, created]),
            Self::HmacUrlLines => hmac_sha256(secret, &[url?, "\n", nonce, "\n", created]),
            Self::HmacUrlConcat => hmac_sha256(secret, &[url?, nonce, created]),
            Self::WsseSha256 => sha256(&[nonce.as_bytes(), created.as_bytes(), secret]).to_vec(),
            Self::WsseSha256Hex => hex::encode(sha256(&[nonce.as_bytes(), created.as_bytes(), secret])).into_bytes(),
        };
        Some(STANDARD.encode(raw))
    }
}

/// PasswordDigest of our own requests to Huawei (scheme A).
pub fn password_digest(secret: &[u8], nonce: &str, created: &str) -> String {
    STANDARD.encode(hmac_sha256(secret, &[nonce, created]))
}

/// The first scheme whose digest equals the token's, compared in constant time.
pub fn matching_scheme(token: &UsernameToken, secret: &[u8], url: Option<&str>) -> Option<DigestScheme> {
    DigestScheme::ALL.into_iter().find(|scheme| {
        scheme
            .digest(secret, &token.nonce, &token.created, url)
            .is_some_and(|expected| bool::from(expected.as_bytes().ct_eq(token.password_digest.as_bytes())))
    })
}

fn hmac_sha256(secret: &[u8], parts: &[&str]) -> Vec<u8> {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
    parts.iter().for_each(|part| mac.update(part.as_bytes()));
    mac.finalize().into_bytes().to_vec()
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    parts.iter().for_each(|part| hasher.update(part));
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"testAppSecret";
    const NONCE: &str = "66C92B11FF8A425FB8D4CCFE0ED9ED1F";
    const CREATED: &str = "2018-02-12T15:30:20Z";
    const URL: &str = "https://cb.example.com/huawei/status";

    #[test]
    fn test_vectors_of_spec_7_2() {
        let d = |s: DigestScheme| s.digest(SECRET, NONCE, CREATED, Some(URL)).unwrap();
        assert_eq!(d(DigestScheme::HmacNonceCreated), "WBB1hvMeB3Jl0Ec6loHZF1S11I0U+uSzEApiinumrZk=");
        assert_eq!(d(DigestScheme::HmacUrlLines), "5btfbp6I/L7/THiQxbeiK7s3Hb7HOCD2ryr3KSRYLSI=");
        assert_eq!(d(DigestScheme::HmacUrlConcat), "v1C3nQXox8zoTM+N0tmtNQzxj9uq5FdydkdOZTmzfjo=");
        assert_eq!(d(DigestScheme::WsseSha256), "3t2bEq0SgEXo8VLE2P1aIC7WR/awjlyr5pRazQJ/z9Q=");
        let hex_variant = d(DigestScheme::WsseSha256Hex);
        assert!(hex_variant.starts_with("ZGVkZDliMTJh") && hex_variant.len() == 88, "{hex_variant}");
        assert_eq!(password_digest(SECRET, NONCE, CREATED), d(DigestScheme::HmacNonceCreated));
    }

    #[test]
    fn url_schemes_need_a_url() {
        assert_eq!(DigestScheme::HmacUrlLines.digest(SECRET, NONCE, CREATED, None), None);
    }

    #[test]
    fn parses_the_real_2022_header_and_round_trips() {
        let header = r#"UsernameToken Username="xxx",PasswordDigest="IQPdQvFy/FIHOzDsI2ZGvc/9LDKLcfeJmHpBB3Fc7YI=",Nonce="57c7298675cf4f65b4ed42e4b9ab841e",Created="2022-05-13T05:25:06Z""#;
        let token = UsernameToken::parse(header).unwrap();
        assert_eq!(token.username, "xxx");
        assert_eq!(token.created, "2022-05-13T05:25:06Z");
        assert_eq!(UsernameToken::parse(&token.to_header_value()).unwrap(), token);
        let spaced = r#"UsernameToken Username="a", PasswordDigest="b", Nonce="c", Created="d""#;
        assert_eq!(UsernameToken::parse(spaced).unwrap().nonce, "c");
    }

    #[test]
    fn malformed_headers_are_errors_not_panics() {
        assert_eq!(UsernameToken::parse("Basic abc"), Err(TokenParseError::NotUsernameToken));
        assert_eq!(
            UsernameToken::parse(r#"UsernameToken Username="a""#),
            Err(TokenParseError::Missing("PasswordDigest"))
        );
        assert!(matches!(UsernameToken::parse("UsernameToken Username=a"), Err(TokenParseError::Malformed(_))));
        assert!(matches!(UsernameToken::parse(r#"UsernameToken Username""#), Err(TokenParseError::Malformed(_))));
    }

    #[test]
    fn matching_scheme_finds_the_scheme_used() {
        for scheme in DigestScheme::ALL {
            let token = UsernameToken {
                username: "k".into(),
                password_digest: scheme.digest(SECRET, NONCE, CREATED, Some(URL)).unwrap(),
                nonce: NONCE.into(),
                created: CREATED.into(),
            };
            assert_eq!(matching_scheme(&token, SECRET, Some(URL)), Some(scheme));
            assert_eq!(matching_scheme(&token, b"otherSecret", Some(URL)), None);
        }
    }
}
