//! Configuration read once at cold start from the environment (names fixed by design.md) and, in AWS, from
//! the Secrets Manager secret named by `VOICE_CREDENTIALS_SECRET_ID`.

use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use crate::auth::{CallbackTokens, SignatureMode};
use crate::huawei::call_verify::encode_callback_url;
use crate::verification::rate_limit::RateLimits;
use crate::verification::Defaults;

pub const DEFAULT_RECORD_TTL_DAYS: u64 = 90;
pub const DEFAULT_STORE_RETRY_BUDGET: Duration = Duration::from_millis(3000);

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("cannot read secret {secret_id}: {reason}")]
    Secret { secret_id: String, reason: String },
}

/// The Huawei application's credentials (app key + app secret).
#[derive(Debug, Clone)]
pub struct AppCredentials {
    pub app_key: String,
    pub app_secret: SecretString,
}

/// JSON held by the `VOICE_CREDENTIALS_SECRET_ID` secret.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecretDocument {
    app_key: String,
    app_secret: String,
    #[serde(default)]
    callback_tokens: Option<String>,
}

/// Settings of the three callback functions.
#[derive(Debug, Clone)]
pub struct CallbackConfig {
    pub table_name: String,
    pub record_ttl: Duration,
    pub tokens: CallbackTokens,
    pub signature_mode: SignatureMode,
    pub store_retry_budget: Duration,
    /// Public base URL Huawei calls (for the URL-bearing signature schemes).
    pub callback_base_url: Option<String>,
    pub credentials: Option<AppCredentials>,
}

/// Environment lookups, injectable so configuration parsing is testable without touching the process env.
pub trait Env {
    fn get(&self, name: &str) -> Option<String>;
}

pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

impl<const N: usize> Env for [(&str, &str); N] {
    fn get(&self, name: &str) -> Option<String> {
        self.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }
}

impl CallbackConfig {
    /// Reads the environment; fetches the credentials secret when `VOICE_CREDENTIALS_SECRET_ID` is set.
    pub async fn load(env: &impl Env) -> Result<Self, ConfigError> {
        Self::from_parts(env, load_secret(env).await?)
    }

    fn from_parts(env: &impl Env, secret: Option<SecretDocument>) -> Result<Self, ConfigError> {
        let (tokens, credentials) = tokens_and_credentials(env, secret)?;
        let signature_mode = match env.get("SIGNATURE_MODE") {
            None => SignatureMode::Log,
            Some(text) => text.parse().map_err(|reason| ConfigError::Invalid { name: "SIGNATURE_MODE", reason })?,
        };
        if signature_mode == SignatureMode::Enforce && credentials.is_none() {
            return Err(ConfigError::Invalid {
                name: "SIGNATURE_MODE",
                reason: "enforce needs the app key and secret (VOICE_CREDENTIALS_SECRET_ID or VOICE_APP_KEY/VOICE_APP_SECRET)".into(),
            });
        }
        Ok(Self {
            table_name: env.get("TABLE_NAME").ok_or(ConfigError::Missing("TABLE_NAME"))?,
            record_ttl: Duration::from_secs(86_400 * positive(env, "RECORD_TTL_DAYS", DEFAULT_RECORD_TTL_DAYS)?),
            tokens,
            signature_mode,
            store_retry_budget: Duration::from_millis(positive(
                env,
                "STORE_RETRY_BUDGET_MS",
                DEFAULT_STORE_RETRY_BUDGET.as_millis() as u64,
            )?),
            callback_base_url: env.get("CALLBACK_BASE_URL").map(|u| u.trim_end_matches('/').to_owned()),
            credentials,
        })
    }
}

/// Callback tokens and app credentials: from the secret when there is one, else from the environment.
fn tokens_and_credentials(
    env: &impl Env,
    secret: Option<SecretDocument>,
) -> Result<(CallbackTokens, Option<AppCredentials>), ConfigError> {
    let tokens_text = secret.as_ref().and_then(|s| s.callback_tokens.clone()).or_else(|| env.get("CALLBACK_TOKENS"));
    let tokens = CallbackTokens::parse(tokens_text.as_deref().unwrap_or(""))
        .map_err(|reason| ConfigError::Invalid { name: "CALLBACK_TOKENS", reason })?;
    let credentials = match secret {
        Some(s) => Some(AppCredentials { app_key: s.app_key, app_secret: s.app_secret.into() }),
        None => match (env.get("VOICE_APP_KEY"), env.get("VOICE_APP_SECRET")) {
            (Some(app_key), Some(secret)) => Some(AppCredentials { app_key, app_secret: secret.into() }),
            _ => None,
        },
    };
    Ok((tokens, credentials))
}

async fn load_secret(env: &impl Env) -> Result<Option<SecretDocument>, ConfigError> {
    match env.get("VOICE_CREDENTIALS_SECRET_ID") {
        Some(id) => fetch_secret(&id).await.map(Some),
        None => Ok(None),
    }
}

/// An integer variable: `default` when unset, refused when unreadable or below `min`.
fn integer<T>(env: &impl Env, name: &'static str, default: T, min: T) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    let Some(text) = env.get(name) else { return Ok(default) };
    match text.trim().parse::<T>() {
        Ok(n) if n >= min => Ok(n),
        _ => Err(ConfigError::Invalid { name, reason: format!("expected an integer of at least {min}, got {text:?}") }),
    }
}

fn positive(env: &impl Env, name: &'static str, default: u64) -> Result<u64, ConfigError> {
    integer(env, name, default, 1)
}

async fn fetch_secret(secret_id: &str) -> Result<SecretDocument, ConfigError> {
    let failure = |reason: String| ConfigError::Secret { secret_id: secret_id.to_owned(), reason };
    let mut config = aws_sdk_secretsmanager::config::Builder::from(&crate::aws_env::sdk_config());
    config.set_endpoint_url(crate::aws_env::endpoint_url("SECRETS_MANAGER"));
    let config = config.retry_config(aws_config::retry::RetryConfig::standard()).build();
    let value = aws_sdk_secretsmanager::Client::from_conf(config)
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| failure(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string()))?;
    let text = value.secret_string().ok_or_else(|| failure("the secret has no string value".into()))?;
    // The secret's text is never echoed: serde's message would quote it.
    serde_json::from_str(text).map_err(|_| failure("expected JSON {appKey, appSecret, callbackTokens?}".into()))
}

pub const DEFAULT_VOICE_API_BASE_URL: &str = "https://rtccall.cn-north-1.myhuaweicloud.cn:443";

/// Settings of trigger-verification-call.
#[derive(Debug, Clone)]
pub struct TriggerConfig {
    pub table_name: String,
    pub record_ttl: Duration,
    pub voice_api_base_url: String,
    pub credentials: AppCredentials,
    /// Standard base64 of the status and CDR callback URLs (with the current token), ≤ 128 characters each.
    pub status_url: String,
    pub fee_url: String,
    pub defaults: Defaults,
    pub rate_limits: RateLimits,
    /// Bound of one callVerify attempt (also kept below the invocation's remaining time).
    pub voice_api_timeout: Duration,
}

impl TriggerConfig {
    pub async fn load(env: &impl Env) -> Result<Self, ConfigError> {
        Self::from_parts(env, load_secret(env).await?)
    }

    fn from_parts(env: &impl Env, secret: Option<SecretDocument>) -> Result<Self, ConfigError> {
        let (tokens, credentials) = tokens_and_credentials(env, secret)?;
        let credentials = credentials
            .ok_or(ConfigError::Missing("VOICE_CREDENTIALS_SECRET_ID (or VOICE_APP_KEY and VOICE_APP_SECRET)"))?;
        let base = env.get("CALLBACK_BASE_URL").ok_or(ConfigError::Missing("CALLBACK_BASE_URL"))?;
        let base = base.trim_end_matches('/');
        if !base.starts_with("https://") && !base.starts_with("http://") {
            return Err(ConfigError::Invalid {
                name: "CALLBACK_BASE_URL",
                reason: "must start with https:// (or http://)".into(),
            });
        }
        let callback_url = |route: &str| {
            let url = match tokens.current() {
                Some(token) => format!("{base}{route}/{token}"),
                None => format!("{base}{route}"),
            };
            encode_callback_url(&url).map_err(|reason| ConfigError::Invalid {
                name: "CALLBACK_BASE_URL",
                reason: reason.replace(tokens.current().unwrap_or("\u{0}"), "<token>"),
            })
        };
        Ok(Self {
            table_name: env.get("TABLE_NAME").ok_or(ConfigError::Missing("TABLE_NAME"))?,
            record_ttl: Duration::from_secs(86_400 * positive(env, "RECORD_TTL_DAYS", DEFAULT_RECORD_TTL_DAYS)?),
            voice_api_base_url: env.get("VOICE_API_BASE_URL").unwrap_or_else(|| DEFAULT_VOICE_API_BASE_URL.into()),
            credentials,
            status_url: callback_url(STATUS_ROUTE)?,
            fee_url: callback_url(FEE_ROUTE)?,
            defaults: Defaults {
                display_nbr: env.get("DISPLAY_NBR"),
                pre_tone: env.get("PRE_TONE"),
                language_type: integer(env, "LANGUAGE_TYPE", 2, 1)?,
                allow_endless_playback: matches!(env.get("ALLOW_ENDLESS_PLAYBACK").as_deref(), Some("true")),
            },
            // 0 disables a window.
            rate_limits: RateLimits::new(
                integer(env, "RATE_LIMIT_PER_MINUTE", 1, 0)?,
                integer(env, "RATE_LIMIT_PER_HOUR", 5, 0)?,
            ),
            voice_api_timeout: Duration::from_millis(positive(env, "VOICE_API_TIMEOUT_MS", 8000)?),
        })
    }
}

/// Routes of design.md that Huawei pushes to.
pub const STATUS_ROUTE: &str = "/voice/status";
pub const FEE_ROUTE: &str = "/voice/fee";

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn defaults_apply_and_table_is_required() {
        let config = CallbackConfig::from_parts(&[("TABLE_NAME", "t")], None).unwrap();
        assert_eq!(config.record_ttl, Duration::from_secs(90 * 86_400));
        assert_eq!(config.signature_mode, SignatureMode::Log);
        assert!(config.tokens.is_empty());
        assert!(matches!(CallbackConfig::from_parts(&[("X", "y")], None), Err(ConfigError::Missing("TABLE_NAME"))));
    }

    #[test]
    fn invalid_values_are_refused() {
        for (name, value) in [("RECORD_TTL_DAYS", "0"), ("SIGNATURE_MODE", "strict"), ("CALLBACK_TOKENS", "a b")] {
            let env = [("TABLE_NAME", "t"), (name, value)];
            assert!(
                matches!(CallbackConfig::from_parts(&env, None), Err(ConfigError::Invalid { .. })),
                "{name}={value}"
            );
        }
        let enforce_without_secret = [("TABLE_NAME", "t"), ("SIGNATURE_MODE", "enforce")];
        assert!(CallbackConfig::from_parts(&enforce_without_secret, None).is_err());
    }

    const TRIGGER_ENV: [(&str, &str); 5] = [
        ("TABLE_NAME", "t"),
        ("VOICE_APP_KEY", "k"),
        ("VOICE_APP_SECRET", "s"),
        ("CALLBACK_BASE_URL", "https://cb.example.com/"),
        ("CALLBACK_TOKENS", "tok-new,tok-old"),
    ];

    #[test]
    fn trigger_encodes_callback_urls_with_the_current_token() {
        use base64::{engine::general_purpose::STANDARD, Engine as _};
        let config = TriggerConfig::from_parts(&TRIGGER_ENV, None).unwrap();
        let decode = |b64: &str| String::from_utf8(STANDARD.decode(b64).unwrap()).unwrap();
        assert_eq!(decode(&config.status_url), "https://cb.example.com/voice/status/tok-new");
        assert_eq!(decode(&config.fee_url), "https://cb.example.com/voice/fee/tok-new");
        assert_eq!(config.rate_limits, RateLimits::new(1, 5));
        assert_eq!(config.voice_api_base_url, DEFAULT_VOICE_API_BASE_URL);
    }

    #[test]
    fn trigger_refuses_to_start_when_a_callback_url_is_too_long() {
        let mut env = TRIGGER_ENV;
        env[4] = ("CALLBACK_TOKENS", "a-very-long-token-that-pushes-the-url-past-ninety-six-bytes-0123456789");
        let error = TriggerConfig::from_parts(&env, None).unwrap_err().to_string();
        assert!(error.contains("at most 128"), "{error}");
        assert!(!error.contains("a-very-long-token"), "the token is not echoed: {error}");
        for (name, value) in [("LANGUAGE_TYPE", "0"), ("RATE_LIMIT_PER_HOUR", "-1"), ("VOICE_API_TIMEOUT_MS", "x")] {
            let mut bad = TRIGGER_ENV;
            bad[4] = (name, value);
            assert!(
                matches!(TriggerConfig::from_parts(&bad, None), Err(ConfigError::Invalid { .. })),
                "{name}={value}"
            );
        }
        let mut no_creds = TRIGGER_ENV;
        no_creds[1] = ("X", "");
        assert!(matches!(TriggerConfig::from_parts(&no_creds, None), Err(ConfigError::Missing(_))));
    }

    #[test]
    fn secret_wins_over_env_credentials_and_tokens() {
        let env = [
            ("TABLE_NAME", "t"),
            ("VOICE_APP_KEY", "env-key"),
            ("VOICE_APP_SECRET", "env"),
            ("CALLBACK_TOKENS", "envtoken"),
        ];
        let secret =
            SecretDocument { app_key: "k".into(), app_secret: "s".into(), callback_tokens: Some("tok-1,tok-2".into()) };
        let config = CallbackConfig::from_parts(&env, Some(secret)).unwrap();
        let credentials = config.credentials.unwrap();
        assert_eq!((credentials.app_key.as_str(), credentials.app_secret.expose_secret()), ("k", "s"));
        assert!(config.tokens.accepts("tok-2") && !config.tokens.accepts("envtoken"));
    }
}
