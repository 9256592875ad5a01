//! Adapters: the ports of the domain layers implemented on real services — DynamoDB (the table), Secrets
//! Manager (the credentials secret), Huawei's HTTP API (callVerify), EventBridge (outcome events), EventBridge
//! Scheduler (close-out checks) — and the AWS SDK configuration and TLS roots they share.

pub mod aws_env;
pub mod dynamo;
mod dynamo_guard;
mod dynamo_nonce;
#[cfg(feature = "test-util")]
mod dynamo_test_util;
mod dynamo_trigger;
mod dynamo_verification;
pub mod eventbridge;
pub mod huawei_http;
#[cfg(any(test, feature = "test-util"))]
pub mod memory;
pub mod scheduler;
pub mod secrets;
pub mod tls_roots;

pub use dynamo::DynamoStore;
#[cfg(feature = "test-util")]
pub use dynamo_test_util::SETUP_ATTEMPT_TIMEOUT;
pub use eventbridge::EventBridgeSink;
pub use huawei_http::CallVerifyClient;
#[cfg(any(test, feature = "test-util"))]
pub use memory::MemoryStore;
pub use scheduler::SchedulerCloseOuts;
pub use tls_roots::TrustRoots;
