//! AWS SDK configuration from the Lambda environment alone.
//!
//! `aws_config::load_defaults` carries every provider chain (profile files, SSO, STS web identity, ECS, IMDS).
//! A Lambda function uses none of them: Lambda hands the region and the role's credentials over as environment
//! variables. Leaving the chains out of the binaries shrinks each zip and shortens the cold start
//! (BENCHMARKS.md, "Package size steps").

use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::{SharedCredentialsProvider, SharedHttpClient};

use super::tls_roots;

/// Region from `AWS_REGION` (or `AWS_DEFAULT_REGION`), credentials from `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, read when a request is signed; HTTPS through the process's
/// one client, which trusts the compiled-in roots of AWS ([`tls_roots::aws_roots`]) instead of reading the
/// machine's CA store.
pub fn sdk_config() -> SdkConfig {
    sdk_config_with(tls_roots::sdk_http_client(region().as_deref()))
}

/// [`sdk_config`] over a given HTTP client (the TLS tests pass one with roots of their own).
pub fn sdk_config_with(http_client: SharedHttpClient) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(region().map(Region::new))
        .credentials_provider(SharedCredentialsProvider::new(EnvironmentVariableCredentialsProvider::new()))
        .http_client(http_client)
        .build()
}

fn region() -> Option<String> {
    non_empty_var("AWS_REGION").or_else(|| non_empty_var("AWS_DEFAULT_REGION"))
}

/// The endpoint override the SDKs define: `AWS_ENDPOINT_URL_<SERVICE>` (e.g. `DYNAMODB`), else
/// `AWS_ENDPOINT_URL`. DynamoDB Local when the functions run on a laptop.
pub fn endpoint_url(service: &str) -> Option<String> {
    non_empty_var(&format!("AWS_ENDPOINT_URL_{service}")).or_else(|| non_empty_var("AWS_ENDPOINT_URL"))
}

fn non_empty_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.trim().is_empty())
}
