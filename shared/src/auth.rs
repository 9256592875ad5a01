//! Callback authentication: the token path segment (`CALLBACK_TOKENS`) and the optional push signature check
//! (`SIGNATURE_MODE`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;
use time::{format_description::well_known::Rfc3339, OffsetDateTime};

use crate::huawei::signature::{matching_scheme, DigestScheme, UsernameToken};
use crate::huawei::AppCredentials;

/// A `CALLBACK_TOKENS` value that cannot be used. The token itself is never echoed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a token ({length} chars) has characters other than letters, digits, '-', '_', '.'")]
pub struct InvalidToken {
    pub length: usize,
}

/// Accepted callback tokens; two at once during rotation. Empty = no token required (local development).
#[derive(Debug, Clone, Default)]
pub struct CallbackTokens(Vec<SecretString>);

impl CallbackTokens {
    /// Comma-separated tokens. Huawei allows only letters, digits, `-`, `:`, `.` (and `/`, `_`) in callback
    /// URLs, so a token is restricted to letters, digits, `-`, `_`, `.`.
    pub fn parse(text: &str) -> Result<Self, InvalidToken> {
        let tokens: Vec<&str> = text.split(',').map(str::trim).filter(|t| !t.is_empty()).collect();
        if let Some(bad) = tokens.iter().find(|t| !t.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))) {
            return Err(InvalidToken { length: bad.len() });
        }
        Ok(Self(tokens.into_iter().map(|t| SecretString::from(t.to_owned())).collect()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The token the trigger puts into the URLs it sends (the first one).
    pub fn current(&self) -> Option<&str> {
        self.0.first().map(|t| t.expose_secret())
    }

    /// Compares against every token in constant time (no early exit on the first match).
    pub fn accepts(&self, candidate: &str) -> bool {
        self.0.iter().fold(false, |found, token| {
            found | bool::from(token.expose_secret().as_bytes().ct_eq(candidate.as_bytes()))
        })
    }

    /// Whether a request path carries an accepted token as its last segment.
    pub fn admits_path(&self, path: &str) -> bool {
        self.is_empty() || self.accepts(path.trim_end_matches('/').rsplit('/').next().unwrap_or(""))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureMode {
    Off,
    Log,
    Enforce,
}

/// A `SIGNATURE_MODE` value other than the three modes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected off, log or enforce, got {0:?}")]
pub struct UnknownSignatureMode(pub String);

impl std::str::FromStr for SignatureMode {
    type Err = UnknownSignatureMode;
    fn from_str(text: &str) -> Result<Self, UnknownSignatureMode> {
        match text.trim() {
            "off" => Ok(Self::Off),
            "log" => Ok(Self::Log),
            "enforce" => Ok(Self::Enforce),
            other => Err(UnknownSignatureMode(other.to_owned())),
        }
    }
}

/// How far `Created` may be from our clock. Huawei documents none; pushes are also read as UTC+8
/// (docs/huawei-protocol.md, "Signing our requests: X-AKSK").
pub const SIGNATURE_MAX_SKEW: Duration = Duration::from_secs(15 * 60);
const UTC_PLUS_8: time::Duration = time::Duration::hours(8);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureRejection {
    #[error("no X-AKSK or X-WSSE header")]
    Missing,
    #[error("malformed signature header: {0}")]
    Malformed(String),
    #[error("username is not our app key")]
    WrongUsername,
    #[error("Created is missing, unreadable or outside the allowed skew")]
    Stale,
    #[error("digest matches no known scheme")]
    NoSchemeMatched,
    #[error("nonce already seen")]
    Replayed,
}

/// Verdict on one push. In `log` mode a rejection is only logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureVerdict {
    NotChecked,
    /// The scheme that matched, and the header's nonce (to remember across instances, or to forget when the push
    /// is answered 5xx).
    Verified(DigestScheme, String),
    Rejected(SignatureRejection),
}

/// Checks X-AKSK / X-WSSE headers against the candidate schemes of docs/huawei-protocol.md, "Candidate digest schemes".
pub struct SignatureVerifier {
    mode: SignatureMode,
    credentials: Option<AppCredentials>,
    seen_nonces: Mutex<HashMap<String, Instant>>,
}

/// Bound on remembered nonces per instance (a first, cheap filter; with `enforce` the table remembers them across
/// instances: `callbacks::nonces`).
const MAX_REMEMBERED_NONCES: usize = 10_000;

/// How long a header stays acceptable, so how long its nonce must be remembered: its `Created` may be read as UTC
/// or as UTC+8, each within the skew either way.
pub const NONCE_WINDOW: Duration =
    Duration::from_secs(2 * SIGNATURE_MAX_SKEW.as_secs() + UTC_PLUS_8.whole_seconds().unsigned_abs());

impl SignatureVerifier {
    pub fn new(mode: SignatureMode, credentials: Option<AppCredentials>) -> Self {
        Self { mode, credentials, seen_nonces: Mutex::new(HashMap::new()) }
    }

    pub fn mode(&self) -> SignatureMode {
        self.mode
    }

    /// `header` is the X-AKSK or X-WSSE value if any; `url` is our public URL for this push, if known.
    pub fn check(&self, header: Option<&str>, url: Option<&str>, now: OffsetDateTime) -> SignatureVerdict {
        let Some(credentials) = self.credentials.as_ref().filter(|_| self.mode != SignatureMode::Off) else {
            return SignatureVerdict::NotChecked;
        };
        match self.verify(credentials, header, url, now) {
            Ok((scheme, nonce)) => SignatureVerdict::Verified(scheme, nonce),
            Err(rejection) => SignatureVerdict::Rejected(rejection),
        }
    }

    fn verify(
        &self,
        credentials: &AppCredentials,
        header: Option<&str>,
        url: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(DigestScheme, String), SignatureRejection> {
        let token = UsernameToken::parse(header.ok_or(SignatureRejection::Missing)?)
            .map_err(|e| SignatureRejection::Malformed(e.to_string()))?;
        if !bool::from(token.username.as_bytes().ct_eq(credentials.app_key.as_bytes())) {
            return Err(SignatureRejection::WrongUsername);
        }
        let created = OffsetDateTime::parse(&token.created, &Rfc3339).map_err(|_| SignatureRejection::Stale)?;
        let fresh = |t: OffsetDateTime| (now - t).unsigned_abs() <= SIGNATURE_MAX_SKEW;
        if !fresh(created) && !fresh(created - UTC_PLUS_8) {
            return Err(SignatureRejection::Stale);
        }
        let scheme = matching_scheme(&token, credentials.app_secret.expose_secret().as_bytes(), url)
            .ok_or(SignatureRejection::NoSchemeMatched)?;
        self.remember_nonce(&token.nonce)?;
        Ok((scheme, token.nonce))
    }

    /// Forgets a nonce this instance remembered: its push was answered 5xx, and Huawei's re-push of it carries the
    /// same header.
    pub fn forget_nonce(&self, nonce: &str) {
        self.seen_nonces.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(nonce);
    }

    fn remember_nonce(&self, nonce: &str) -> Result<(), SignatureRejection> {
        let mut seen = self.seen_nonces.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        seen.retain(|_, at| now.duration_since(*at) <= NONCE_WINDOW);
        if seen.len() >= MAX_REMEMBERED_NONCES {
            seen.clear();
        }
        match seen.insert(nonce.to_owned(), now) {
            Some(_) => Err(SignatureRejection::Replayed),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_token_listed_twice_is_still_accepted() {
        let tokens = CallbackTokens::parse("tok-12345678,tok-12345678,tok-other123").unwrap();
        assert!(tokens.accepts("tok-12345678") && tokens.accepts("tok-other123"));
        assert!(!tokens.accepts("tok-unknown1"));
    }

    fn verifier(mode: SignatureMode) -> SignatureVerifier {
        SignatureVerifier::new(mode, Some(AppCredentials { app_key: "key".into(), app_secret: "testAppSecret".into() }))
    }

    fn header(scheme: DigestScheme, nonce: &str, created: &str, url: Option<&str>) -> String {
        let digest = scheme.digest(b"testAppSecret", nonce, created, url).unwrap();
        UsernameToken { username: "key".into(), password_digest: digest, nonce: nonce.into(), created: created.into() }
            .to_header_value()
    }

    const NOW: OffsetDateTime = datetime!(2018-02-12 15:35:00 UTC);

    #[test]
    fn tokens_match_last_path_segment_only() {
        let tokens = CallbackTokens::parse("old-token, new-token").unwrap();
        assert!(tokens.admits_path("/voice/status/new-token"));
        assert!(tokens.admits_path("/lambda-url/status-callback/old-token/"));
        assert!(!tokens.admits_path("/voice/status/new-token/extra"));
        assert!(!tokens.admits_path("/voice/status"));
        assert!(!tokens.admits_path("/voice/status/new-toke"));
        assert!(CallbackTokens::default().admits_path("/anything"));
        assert_eq!(tokens.current(), Some("old-token"));
        assert!(CallbackTokens::parse("ok,bad token").is_err());
    }

    #[test]
    fn each_scheme_verifies_and_is_reported() {
        let url = "https://cb.example.com/voice/status/t";
        for (i, scheme) in DigestScheme::ALL.into_iter().enumerate() {
            let h = header(scheme, &format!("nonce{i}"), "2018-02-12T15:30:20Z", Some(url));
            assert_eq!(
                verifier(SignatureMode::Enforce).check(Some(&h), Some(url), NOW),
                SignatureVerdict::Verified(scheme, format!("nonce{i}"))
            );
        }
    }

    #[test]
    fn created_in_utc_plus_8_is_accepted_and_stale_is_not() {
        let v = verifier(SignatureMode::Enforce);
        let beijing = header(DigestScheme::HmacNonceCreated, "n1", "2018-02-12T23:30:20Z", None);
        assert!(matches!(v.check(Some(&beijing), None, NOW), SignatureVerdict::Verified(..)));
        let stale = header(DigestScheme::HmacNonceCreated, "n2", "2018-02-12T14:00:00Z", None);
        assert_eq!(v.check(Some(&stale), None, NOW), SignatureVerdict::Rejected(SignatureRejection::Stale));
    }

    #[test]
    fn replays_wrong_digests_and_missing_headers_are_rejected() {
        let v = verifier(SignatureMode::Enforce);
        let h = header(DigestScheme::HmacNonceCreated, "n3", "2018-02-12T15:30:20Z", None);
        assert!(matches!(v.check(Some(&h), None, NOW), SignatureVerdict::Verified(..)));
        assert_eq!(v.check(Some(&h), None, NOW), SignatureVerdict::Rejected(SignatureRejection::Replayed));
        v.forget_nonce("n3");
        assert!(matches!(v.check(Some(&h), None, NOW), SignatureVerdict::Verified(..)), "forgotten: accepted again");
        assert_eq!(v.check(Some(&h), None, NOW), SignatureVerdict::Rejected(SignatureRejection::Replayed));
        let forged = h.replace("n3", "n4");
        assert_eq!(v.check(Some(&forged), None, NOW), SignatureVerdict::Rejected(SignatureRejection::NoSchemeMatched));
        assert_eq!(v.check(None, None, NOW), SignatureVerdict::Rejected(SignatureRejection::Missing));
        let wrong_user = h.replace("Username=\"key\"", "Username=\"other\"");
        assert_eq!(
            v.check(Some(&wrong_user), None, NOW),
            SignatureVerdict::Rejected(SignatureRejection::WrongUsername)
        );
    }

    #[test]
    fn off_mode_or_no_credentials_checks_nothing() {
        assert_eq!(verifier(SignatureMode::Off).check(None, None, NOW), SignatureVerdict::NotChecked);
        let no_creds = SignatureVerifier::new(SignatureMode::Log, None);
        assert_eq!(no_creds.check(None, None, NOW), SignatureVerdict::NotChecked);
    }
}
