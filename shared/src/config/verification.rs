//! Settings of check-verification.

use std::time::Duration;

use secrecy::SecretString;

use super::{load_secret, region, store_retry_budget, table_name, tokens_and_credentials, ConfigError, Env};
use crate::adapters::secrets::SecretDocument;

#[derive(Debug, Clone)]
pub struct CheckConfig {
    pub table_name: String,
    pub region: String,
    /// The app secret, which keys the codes' hashes (the trigger's key).
    pub hash_key: SecretString,
    pub retry_budget: Duration,
}

impl CheckConfig {
    pub async fn load(env: &impl Env) -> Result<Self, ConfigError> {
        Self::from_parts(env, load_secret(env).await?)
    }

    fn from_parts(env: &impl Env, secret: Option<SecretDocument>) -> Result<Self, ConfigError> {
        let (_, credentials) = tokens_and_credentials(env, secret)?;
        let credentials = credentials
            .ok_or(ConfigError::Missing("VOICE_CREDENTIALS_SECRET_ID (or VOICE_APP_KEY and VOICE_APP_SECRET)"))?;
        Ok(Self {
            table_name: table_name(env)?,
            region: region(env)?,
            hash_key: credentials.app_secret,
            retry_budget: store_retry_budget(env)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn the_check_needs_the_table_the_region_and_the_app_secret() {
        let env = [("TABLE_NAME", "t"), ("AWS_REGION", "eu-west-1"), ("VOICE_APP_KEY", "k"), ("VOICE_APP_SECRET", "s")];
        let config = CheckConfig::from_parts(&env, None).unwrap();
        assert_eq!((config.table_name.as_str(), config.hash_key.expose_secret()), ("t", "s"));
        let no_secret = [("TABLE_NAME", "t"), ("AWS_REGION", "eu-west-1")];
        assert!(matches!(CheckConfig::from_parts(&no_secret, None), Err(ConfigError::Missing(_))));
    }
}
