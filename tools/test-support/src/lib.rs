//! The harness the tests, the bench and the local stack share: real servers on loopback (DynamoDB Local, moto,
//! `cargo lambda watch`, a fault proxy, the stream pump), started by their user and stopped with it; fixture and
//! API Gateway event builders; the load workload; the local environment; and the measuring primitives of
//! `make bench` (kept here, out of the bench, so that `make test` builds and checks them: tests/integration's
//! `it::cold_start_harness` runs them on the debug binaries).
//!
//! Users: tests/integration (the tests), tools/bench (`make bench`), tools/local-stack (`make run`, `make records`).
//! Nothing here is a test; the tests stay in tests/.

pub mod callback_stack;
pub mod events;
pub mod fault_proxy;
pub mod load;
pub mod local_env;
pub mod measure;
pub mod moto;
pub mod processes;
pub mod schedules;
pub mod stream_pump;

mod dynamodb_local;

pub use callback_stack::FunctionStack;
pub use dynamodb_local::{client_at, peer_client_at, DynamoLocal};
pub use moto::{MotoServer, OutcomeBus};
pub use schedules::ScheduleRunner;
pub use stream_pump::StreamPump;

use std::path::{Path, PathBuf};
use std::time::Duration;

use voice_core::adapters::DynamoStore;
use voice_core::auth::{CallbackTokens, SignatureMode};
use voice_core::callbacks::{CallbackService, CallbackSettings};
use voice_core::huawei::AppCredentials;

/// The repository root (two levels above this crate, tools/test-support).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root exists")
}

/// Cargo's target directory (`$CARGO_TARGET_DIR` or `target/` of the workspace).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target"))
}

/// A binary of the debug build (`cargo build --workspace --all-targets`, which `make test` runs first), refused
/// when it is missing or older than one of its sources: a plain `cargo test` does not rebuild the other
/// packages' binaries, and an end-to-end test must not pass on yesterday's code. Its sources are the ones cargo
/// lists in the binary's dep-info file (`target/debug/<name>.d`).
pub fn debug_binary(name: &str) -> PathBuf {
    let path = target_dir().join("debug").join(name);
    let built = std::fs::metadata(&path).and_then(|m| m.modified()).unwrap_or_else(|_| {
        panic!("{} is missing: run `cargo build --workspace --all-targets` (make test does)", path.display())
    });
    let dep_info = std::fs::read_to_string(path.with_extension("d")).unwrap_or_default();
    if let Some(changed) = newer_source(built, &dep_info_sources(&dep_info)) {
        panic!(
            "{} is older than {}: run `cargo build --workspace --all-targets` (make test does)",
            path.display(),
            changed.display()
        );
    }
    path
}

/// The source files of a dep-info file (`target: source source …`, spaces in names escaped as `\ `).
fn dep_info_sources(dep_info: &str) -> Vec<PathBuf> {
    let Some((_, sources)) = dep_info.lines().next().and_then(|line| line.split_once(": ")) else { return Vec::new() };
    sources.replace("\\ ", "\u{0}").split_whitespace().map(|p| PathBuf::from(p.replace('\u{0}', " "))).collect()
}

/// The newest of `sources` modified after `built`, if any.
fn newer_source(built: std::time::SystemTime, sources: &[PathBuf]) -> Option<PathBuf> {
    let modified = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok().map(|t| (t, p.clone()));
    let (newest, changed) = sources.iter().filter_map(modified).max()?;
    (newest > built).then_some(changed)
}

/// A fixture file, e.g. `huawei/status-callout.json` or `edge-cases/…`: the sample payloads in
/// tests/integration/fixtures (README, scripts/run-local.sh and fuzz/ read them there too; a data path, no crate
/// dependency).
pub fn fixture(relative: &str) -> String {
    let path = workspace_root().join("tests/integration/fixtures").join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// A free TCP port on 127.0.0.1 (the OS picks it; the listener is dropped before the server binds it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("bind 127.0.0.1:0").port()
}

/// The JSON log lines written while `f` runs on this thread (a current-thread test runtime runs all of it here).
pub async fn logs_of<F: std::future::Future>(f: F) -> (F::Output, String) {
    let buffer = voice_core::telemetry::CapturedLogs::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt().json().with_writer(move || writer.clone()).finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let output = f.await;
    (output, buffer.text())
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

/// The region the tests' services run in (`AWS_REGION` of scripts/local.env, stamped as `writtenRegion`).
pub const HOME_REGION: &str = "us-east-1";

/// Callback settings for handler tests, with the production retry budget (a loaded 2-core CI machine can take
/// over a second for a 50-CDR push against DynamoDB Local).
pub fn callback_config(tokens: &str, signature_mode: SignatureMode) -> CallbackSettings {
    CallbackSettings {
        record_ttl: Duration::from_secs(7 * 86_400),
        region: HOME_REGION.into(),
        tokens: CallbackTokens::parse(tokens).expect("valid tokens"),
        signature_mode,
        store_retry_budget: voice_core::config::DEFAULT_STORE_RETRY_BUDGET,
        callback_base_url: Some("https://cb.example.com".into()),
        credentials: Some(AppCredentials { app_key: "test-app-key".into(), app_secret: "testAppSecret".into() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    #[test]
    fn a_binary_older_than_a_source_is_stale() {
        let dir = std::env::temp_dir().join(unique_name("sources"));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        let source = dir.join("src/main.rs");
        let file = std::fs::File::create(&source).unwrap();
        let edited = SystemTime::now() - Duration::from_secs(60);
        file.set_modified(edited).unwrap();
        let sources = dep_info_sources(&format!("/target/debug/f: {} /nowhere/else.rs\n", source.display()));
        assert_eq!(sources, vec![source.clone(), PathBuf::from("/nowhere/else.rs")]);
        assert_eq!(newer_source(edited + Duration::from_secs(1), &sources), None, "built after the edit");
        assert_eq!(newer_source(edited - Duration::from_secs(1), &sources), Some(source), "built before it");
        assert_eq!(dep_info_sources("/t/f: /a\\ b.rs /c.rs"), vec![PathBuf::from("/a b.rs"), PathBuf::from("/c.rs")]);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
