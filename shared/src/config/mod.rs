//! Configuration read once at cold start from the environment (every name is in docs/operations.md, "Configuration")
//! and, in AWS, from
//! the Secrets Manager secret named by `VOICE_CREDENTIALS_SECRET_ID`. One submodule per function family.

pub mod callbacks;
pub mod guard;
pub mod outcome;
pub mod publisher;
pub mod trigger;
pub mod verification;

use std::time::Duration;

use crate::adapters::secrets::{fetch_secret, SecretDocument, SecretError};
use crate::auth::{CallbackTokens, InvalidToken};
use crate::huawei::AppCredentials;

pub use callbacks::{health_route, CallbackConfig, PeerReplica};
pub use outcome::OutcomeConfig;
pub use publisher::PublisherConfig;
pub use trigger::TriggerConfig;
pub use verification::CheckConfig;

pub const DEFAULT_RECORD_TTL_DAYS: u64 = 90;
pub const DEFAULT_STORE_RETRY_BUDGET: Duration = Duration::from_millis(3000);

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(
        "no callback token is configured (the secret's callbackTokens, or CALLBACK_TOKENS) and this function runs \
         in AWS: anyone who learns a callback URL could push records. Configure tokens, or set \
         ALLOW_UNAUTHENTICATED_PUSHES=true if unauthenticated pushes are intended"
    )]
    UnauthenticatedPushes,
}

impl ConfigError {
    fn invalid(name: &'static str, reason: impl std::fmt::Display) -> Self {
        Self::Invalid { name, reason: reason.to_string() }
    }
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
        Env::get(&self.as_slice(), name)
    }
}

impl Env for &[(&str, &str)] {
    fn get(&self, name: &str) -> Option<String> {
        self.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }
}

/// Callback tokens and app credentials: from the secret when there is one, else from the environment.
fn tokens_and_credentials(
    env: &impl Env,
    secret: Option<SecretDocument>,
) -> Result<(CallbackTokens, Option<AppCredentials>), ConfigError> {
    let tokens_text = secret.as_ref().and_then(|s| s.callback_tokens.clone()).or_else(|| env.get("CALLBACK_TOKENS"));
    let tokens = CallbackTokens::parse(tokens_text.as_deref().unwrap_or(""))
        .map_err(|e: InvalidToken| ConfigError::invalid("CALLBACK_TOKENS", e))?;
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
        Some(id) => Ok(Some(fetch_secret(&id).await?)),
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
        _ => Err(ConfigError::invalid(name, format!("expected an integer of at least {min}, got {text:?}"))),
    }
}

fn positive(env: &impl Env, name: &'static str, default: u64) -> Result<u64, ConfigError> {
    integer(env, name, default, 1)
}

fn table_name(env: &impl Env) -> Result<String, ConfigError> {
    env.get("TABLE_NAME").ok_or(ConfigError::Missing("TABLE_NAME"))
}

/// `STORE_RETRY_BUDGET_MS`: how long storage requests keep retrying transient errors (every function that stores
/// or reads on a request's path).
fn store_retry_budget(env: &impl Env) -> Result<Duration, ConfigError> {
    let millis = positive(env, "STORE_RETRY_BUDGET_MS", DEFAULT_STORE_RETRY_BUDGET.as_millis() as u64)?;
    Ok(Duration::from_millis(millis))
}

/// The region the function runs in (Lambda sets `AWS_REGION`): stamped on every record it writes.
fn region(env: &impl Env) -> Result<String, ConfigError> {
    env.get("AWS_REGION").ok_or(ConfigError::Missing("AWS_REGION"))
}

fn record_ttl(env: &impl Env) -> Result<Duration, ConfigError> {
    Ok(Duration::from_secs(86_400 * positive(env, "RECORD_TTL_DAYS", DEFAULT_RECORD_TTL_DAYS)?))
}

/// The verifications' policy: `CODE_TTL_SECONDS` (600), `MAX_SENDS` (5), `MAX_CHECK_ATTEMPTS` (5).
fn verification_policy(env: &impl Env) -> Result<crate::calls::VerificationPolicy, ConfigError> {
    let defaults = crate::calls::VerificationPolicy::default();
    Ok(crate::calls::VerificationPolicy {
        code_ttl: Duration::from_secs(positive(env, "CODE_TTL_SECONDS", defaults.code_ttl.as_secs())?),
        max_sends: integer(env, "MAX_SENDS", defaults.max_sends, 1)?,
        max_checks: integer(env, "MAX_CHECK_ATTEMPTS", defaults.max_checks, 1)?,
    })
}
