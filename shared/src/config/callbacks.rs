//! Settings of the three callback functions.

use super::{
    load_secret, record_ttl, region, store_retry_budget, table_name, tokens_and_credentials, ConfigError, Env,
};
use crate::adapters::secrets::SecretDocument;
use crate::auth::{CallbackTokens, SignatureMode};
use crate::callbacks::{CallbackSettings, HealthRoute};

#[derive(Debug, Clone)]
pub struct CallbackConfig {
    pub table_name: String,
    pub settings: CallbackSettings,
    /// `PEER_REGION`: the other region's replica of the table takes what this region's table fails to store.
    pub peer: Option<PeerReplica>,
}

/// The peer region's replica of the global table (same table name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerReplica {
    pub region: String,
    /// `PEER_DYNAMODB_ENDPOINT`: its endpoint override (a second DynamoDB Local in tests and local runs).
    pub endpoint: Option<String>,
}

/// The health route of the status callback: `HEALTH_CHECK_TOKEN`, the last segment of `GET /health/{token}`
/// (docs/operations.md, "Region health"); unset, the tokenless `GET /health` of local runs.
pub fn health_route(env: &impl Env) -> HealthRoute {
    HealthRoute::new(env.get("HEALTH_CHECK_TOKEN"))
}

impl CallbackConfig {
    /// Reads the environment; fetches the credentials secret when `VOICE_CREDENTIALS_SECRET_ID` is set.
    pub async fn load(env: &impl Env) -> Result<Self, ConfigError> {
        Self::from_parts(env, load_secret(env).await?)
    }

    fn from_parts(env: &impl Env, secret: Option<SecretDocument>) -> Result<Self, ConfigError> {
        let (tokens, credentials) = tokens_and_credentials(env, secret)?;
        check_push_authentication(env, &tokens)?;
        let signature_mode = match env.get("SIGNATURE_MODE") {
            None => SignatureMode::Log,
            Some(text) => text.parse().map_err(|e| ConfigError::invalid("SIGNATURE_MODE", e))?,
        };
        if signature_mode == SignatureMode::Enforce && credentials.is_none() {
            return Err(ConfigError::invalid(
                "SIGNATURE_MODE",
                "enforce needs the app key and secret (VOICE_CREDENTIALS_SECRET_ID or VOICE_APP_KEY/VOICE_APP_SECRET)",
            ));
        }
        let table_name = table_name(env)?;
        let region = region(env)?;
        let peer = match env.get("PEER_REGION") {
            None => None,
            Some(peer) if peer == region => {
                return Err(ConfigError::invalid("PEER_REGION", "must be another region than AWS_REGION"))
            }
            Some(peer) => Some(PeerReplica { region: peer, endpoint: env.get("PEER_DYNAMODB_ENDPOINT") }),
        };
        Ok(Self {
            table_name,
            peer,
            settings: CallbackSettings {
                record_ttl: record_ttl(env)?,
                region,
                tokens,
                signature_mode,
                store_retry_budget: store_retry_budget(env)?,
                callback_base_url: env.get("CALLBACK_BASE_URL").map(|u| u.trim_end_matches('/').to_owned()),
                credentials,
            },
        })
    }
}

/// Whether the function runs deployed in AWS: Lambda sets `AWS_LAMBDA_FUNCTION_NAME`, and only local runs and
/// tests (which set it too, under `cargo lambda watch`) point the SDK at a DynamoDB of their own.
pub fn runs_deployed(env: &impl Env) -> bool {
    env.get("AWS_LAMBDA_FUNCTION_NAME").is_some()
        && env.get("AWS_ENDPOINT_URL_DYNAMODB").is_none()
        && env.get("AWS_ENDPOINT_URL").is_none()
}

/// No push without a credential in AWS: a deployed callback with no callback token refuses to start, unless
/// `ALLOW_UNAUTHENTICATED_PUSHES=true` says that is intended (docs/operations.md, "Configuration"). Locally no token is
/// needed.
pub fn check_push_authentication(env: &impl Env, tokens: &CallbackTokens) -> Result<(), ConfigError> {
    let allowed = match env.get("ALLOW_UNAUTHENTICATED_PUSHES").as_deref().map(str::trim) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(ConfigError::invalid("ALLOW_UNAUTHENTICATED_PUSHES", "expected true or false")),
    };
    match tokens.is_empty() && runs_deployed(env) && !allowed {
        true => Err(ConfigError::UnauthenticatedPushes),
        false => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callbacks::HealthRequest;
    use secrecy::ExposeSecret;
    use std::time::Duration;

    #[test]
    fn defaults_apply_and_table_is_required() {
        let config = CallbackConfig::from_parts(&[("TABLE_NAME", "t"), ("AWS_REGION", "eu-west-1")], None).unwrap();
        assert_eq!(config.settings.record_ttl, Duration::from_secs(90 * 86_400));
        assert_eq!(config.settings.signature_mode, SignatureMode::Log);
        assert!(config.settings.tokens.is_empty());
        assert!(matches!(CallbackConfig::from_parts(&[("X", "y")], None), Err(ConfigError::Missing("TABLE_NAME"))));
    }

    #[test]
    fn invalid_values_are_refused() {
        for (name, value) in [("RECORD_TTL_DAYS", "0"), ("SIGNATURE_MODE", "strict"), ("CALLBACK_TOKENS", "a b")] {
            let env = [("TABLE_NAME", "t"), ("AWS_REGION", "eu-west-1"), (name, value)];
            assert!(
                matches!(CallbackConfig::from_parts(&env, None), Err(ConfigError::Invalid { .. })),
                "{name}={value}"
            );
        }
        let enforce_without_secret = [("TABLE_NAME", "t"), ("AWS_REGION", "eu-west-1"), ("SIGNATURE_MODE", "enforce")];
        assert!(CallbackConfig::from_parts(&enforce_without_secret, None).is_err());
    }

    #[test]
    fn a_deployed_callback_needs_a_token_unless_unauthenticated_pushes_are_allowed() {
        let none = CallbackTokens::default();
        let some = CallbackTokens::parse("tok-1").unwrap();
        let decide = |env: &[(&str, &str)], tokens: &CallbackTokens| check_push_authentication(&env, tokens);
        let deployed = [("AWS_LAMBDA_FUNCTION_NAME", "status-callback")];
        assert!(matches!(decide(&deployed, &none), Err(ConfigError::UnauthenticatedPushes)));
        assert!(decide(&deployed, &some).is_ok());
        let allowed = [deployed[0], ("ALLOW_UNAUTHENTICATED_PUSHES", "true")];
        assert!(decide(&allowed, &none).is_ok());
        let not_allowed = [deployed[0], ("ALLOW_UNAUTHENTICATED_PUSHES", "false")];
        assert!(matches!(decide(&not_allowed, &none), Err(ConfigError::UnauthenticatedPushes)));
        let unreadable = [deployed[0], ("ALLOW_UNAUTHENTICATED_PUSHES", "yes")];
        assert!(matches!(decide(&unreadable, &some), Err(ConfigError::Invalid { .. })));
        // Local runs and tests: not in Lambda, or pointed at a DynamoDB of their own.
        for local in [
            &[][..],
            &[deployed[0], ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000")][..],
            &[deployed[0], ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")][..],
        ] {
            assert!(decide(local, &none).is_ok(), "{local:?}");
        }
    }

    #[test]
    fn a_deployed_callback_without_tokens_fails_its_configuration() {
        let deployed = [("TABLE_NAME", "t"), ("AWS_REGION", "eu-west-1"), ("AWS_LAMBDA_FUNCTION_NAME", "fee-callback")];
        let error = CallbackConfig::from_parts(&deployed, None).unwrap_err();
        assert!(matches!(error, ConfigError::UnauthenticatedPushes));
        assert!(error.to_string().contains("ALLOW_UNAUTHENTICATED_PUSHES=true"), "{error}");
        let without_tokens_in_secret =
            SecretDocument { app_key: "k".into(), app_secret: "s".into(), callback_tokens: None, safe_numbers: None };
        assert!(CallbackConfig::from_parts(&deployed, Some(without_tokens_in_secret)).is_err());
        let with_tokens = SecretDocument {
            app_key: "k".into(),
            app_secret: "s".into(),
            callback_tokens: Some("tok-1".into()),
            safe_numbers: None,
        };
        assert!(CallbackConfig::from_parts(&deployed, Some(with_tokens)).is_ok());
    }

    #[test]
    fn the_health_route_takes_its_token_from_the_environment() {
        let get = http::Method::GET;
        let with_token = health_route(&[("HEALTH_CHECK_TOKEN", "r53-0123456789abcdef")]);
        assert_eq!(with_token.classify(&get, "/health/r53-0123456789abcdef"), Some(HealthRequest::Check));
        assert_eq!(with_token.classify(&get, "/health"), Some(HealthRequest::NotFound));
        let without = health_route(&[("TABLE_NAME", "t")]);
        assert_eq!(without.classify(&get, "/health"), Some(HealthRequest::Check));
    }

    #[test]
    fn a_peer_region_names_the_other_replica() {
        let base = [("TABLE_NAME", "t"), ("AWS_REGION", "eu-west-1")];
        assert_eq!(CallbackConfig::from_parts(&base, None).unwrap().peer, None);
        let env =
            [base[0], base[1], ("PEER_REGION", "eu-central-1"), ("PEER_DYNAMODB_ENDPOINT", "http://127.0.0.1:8001")];
        let peer = CallbackConfig::from_parts(&env, None).unwrap().peer.unwrap();
        assert_eq!((peer.region.as_str(), peer.endpoint.as_deref()), ("eu-central-1", Some("http://127.0.0.1:8001")));
        let itself = [base[0], base[1], ("PEER_REGION", "eu-west-1")];
        assert!(matches!(CallbackConfig::from_parts(&itself, None), Err(ConfigError::Invalid { .. })));
    }

    #[test]
    fn secret_wins_over_env_credentials_and_tokens() {
        let env = [
            ("TABLE_NAME", "t"),
            ("AWS_REGION", "eu-west-1"),
            ("VOICE_APP_KEY", "env-key"),
            ("VOICE_APP_SECRET", "env"),
            ("CALLBACK_TOKENS", "envtoken"),
        ];
        let secret = SecretDocument {
            app_key: "k".into(),
            app_secret: "s".into(),
            callback_tokens: Some("tok-1,tok-2".into()),
            safe_numbers: None,
        };
        let config = CallbackConfig::from_parts(&env, Some(secret)).unwrap();
        let credentials = config.settings.credentials.unwrap();
        assert_eq!((credentials.app_key.as_str(), credentials.app_secret.expose_secret()), ("k", "s"));
        assert!(config.settings.tokens.accepts("tok-2") && !config.settings.tokens.accepts("envtoken"));
    }
}
