//! Test harness: real servers on loopback (DynamoDB Local, `cargo lambda watch`), started by the tests
//! themselves and stopped with them, plus fixture and API Gateway v2 event builders, the local environment and
//! the measuring primitives the bench (tools/bench) and its own tests share.

pub mod callback_stack;
pub mod events;
pub mod fault_proxy;
pub mod load;
pub mod local_env;
pub mod measure;
pub mod processes;

mod dynamodb_local;

pub use callback_stack::FunctionStack;
pub use dynamodb_local::{client_at, DynamoLocal};

use std::path::{Path, PathBuf};
use std::time::Duration;

use voice_core::adapters::DynamoStore;
use voice_core::auth::{CallbackTokens, SignatureMode};
use voice_core::callbacks::{CallbackService, CallbackSettings};
use voice_core::huawei::AppCredentials;

/// The repository root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root exists")
}

/// Cargo's target directory (`$CARGO_TARGET_DIR` or `target/` of the workspace).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target"))
}

/// A fixture file of this crate, e.g. `huawei/status-callout.json` or `edge-cases/…`.
pub fn fixture(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// A free TCP port on 127.0.0.1 (the OS picks it; the listener is dropped before the server binds it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("bind 127.0.0.1:0").port()
}

/// A unique name for a table, so tests sharing one DynamoDB Local never see each other's records.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{:016x}", rand::random::<u64>())
}

/// A callback service over a new table of the shared DynamoDB Local.
pub async fn dynamo_callback_service(tokens: &str, signature_mode: SignatureMode) -> CallbackService<DynamoStore> {
    let store = DynamoLocal::shared().fresh_store().await;
    CallbackService::new(store, callback_config(tokens, signature_mode))
}

/// Callback settings for handler tests, with the production retry budget (a loaded 2-core CI machine can take
/// over a second for a 50-CDR push against DynamoDB Local).
pub fn callback_config(tokens: &str, signature_mode: SignatureMode) -> CallbackSettings {
    CallbackSettings {
        record_ttl: Duration::from_secs(7 * 86_400),
        tokens: CallbackTokens::parse(tokens).expect("valid tokens"),
        signature_mode,
        store_retry_budget: voice_core::config::DEFAULT_STORE_RETRY_BUDGET,
        callback_base_url: Some("https://cb.example.com".into()),
        credentials: Some(AppCredentials { app_key: "test-app-key".into(), app_secret: "testAppSecret".into() }),
    }
}
