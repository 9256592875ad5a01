//! The credentials secret (`VOICE_CREDENTIALS_SECRET_ID`) from AWS Secrets Manager.

use serde::Deserialize;

use super::aws_env;

/// JSON held by the `VOICE_CREDENTIALS_SECRET_ID` secret.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretDocument {
    pub app_key: String,
    pub app_secret: String,
    #[serde(default)]
    pub callback_tokens: Option<String>,
    /// Numbers the fraud guard's budgets and blocks skip (comma-separated, E.164).
    #[serde(default)]
    pub safe_numbers: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read secret {secret_id}")]
    Unreadable {
        secret_id: String,
        #[source]
        source: Box<
            aws_sdk_secretsmanager::error::SdkError<
                aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError,
            >,
        >,
    },
    #[error("secret {secret_id} has no string value")]
    NoString { secret_id: String },
    /// The secret's text is never echoed: serde's message would quote it.
    #[error("secret {secret_id} is not JSON {{appKey, appSecret, callbackTokens?}}")]
    NotTheExpectedJson { secret_id: String },
}

/// Reads and parses the secret (one GetSecretValue, at cold start).
pub async fn fetch_secret(secret_id: &str) -> Result<SecretDocument, SecretError> {
    let mut config = aws_sdk_secretsmanager::config::Builder::from(&aws_env::sdk_config());
    config.set_endpoint_url(aws_env::endpoint_url("SECRETS_MANAGER"));
    let config = config.retry_config(aws_config::retry::RetryConfig::standard()).build();
    let value = aws_sdk_secretsmanager::Client::from_conf(config)
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|source| SecretError::Unreadable { secret_id: secret_id.to_owned(), source: Box::new(source) })?;
    let text = value.secret_string().ok_or_else(|| SecretError::NoString { secret_id: secret_id.to_owned() })?;
    serde_json::from_str(text).map_err(|_| SecretError::NotTheExpectedJson { secret_id: secret_id.to_owned() })
}
