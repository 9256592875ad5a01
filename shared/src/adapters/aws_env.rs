//! AWS SDK configuration from the Lambda environment alone.
//!
//! `aws_config::load_defaults` carries every provider chain (profile files, SSO, STS web identity, ECS, IMDS).
//! A Lambda function uses none of them: Lambda hands the region and the role's credentials over as environment
//! variables. Leaving the chains out of the binaries shrinks each zip and shortens the cold start
//! (BENCHMARKS.md, "Package size steps").

use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::SharedCredentialsProvider;

/// Region from `AWS_REGION` (or `AWS_DEFAULT_REGION`), credentials from `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, read when a request is signed.
pub fn sdk_config() -> SdkConfig {
    let region = non_empty_var("AWS_REGION").or_else(|| non_empty_var("AWS_DEFAULT_REGION"));
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(region.map(Region::new))
        .credentials_provider(SharedCredentialsProvider::new(EnvironmentVariableCredentialsProvider::new()))
        .build()
}

/// The endpoint override the SDKs define: `AWS_ENDPOINT_URL_<SERVICE>` (e.g. `DYNAMODB`), else
/// `AWS_ENDPOINT_URL`. DynamoDB Local when the functions run on a laptop.
pub fn endpoint_url(service: &str) -> Option<String> {
    non_empty_var(&format!("AWS_ENDPOINT_URL_{service}")).or_else(|| non_empty_var("AWS_ENDPOINT_URL"))
}

fn non_empty_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.trim().is_empty())
}
