//! Push authentication of the deployed functions, with the real binaries: a callback in AWS without a callback
//! token refuses to start; `SIGNATURE_MODE=enforce` remembers nonces in the table, so a header accepted by one
//! process is refused by another, and forgets the nonce of a push answered 5xx, so Huawei's re-push (same header)
//! is accepted.

use std::process::Command;
use std::time::{Duration, Instant};

use integration_tests::fault_proxy::{FaultConfig, FaultProxy};
use integration_tests::{debug_binary, fixture, free_port, local_env, DynamoLocal, FunctionStack};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use voice_core::huawei::signature::{DigestScheme, UsernameToken};

const TOKEN: &str = "auth-token-5e1d";

/// The status callback as Lambda would start it, `extra` added: exit status and output, or `None` if it was still
/// running after 10 s (killed then).
fn start_like_lambda(extra: &[(&str, &str)]) -> Option<(bool, String)> {
    let output = std::env::temp_dir().join(integration_tests::unique_name("init")).with_extension("log");
    let file = std::fs::File::create(&output).unwrap();
    let mut command = Command::new(debug_binary("status-callback"));
    command
        .env_clear()
        .envs([
            ("TABLE_NAME", "huawei-voice"),
            ("AWS_REGION", "eu-west-1"),
            ("AWS_LAMBDA_FUNCTION_NAME", "status-callback"),
            ("VOICE_APP_KEY", "local-app-key"),
            ("VOICE_APP_SECRET", "local-app-secret"),
            // A runtime API nobody answers on: a function past its configuration waits there or fails.
            ("AWS_LAMBDA_RUNTIME_API", &format!("127.0.0.1:{}", free_port())),
        ])
        .envs(extra.iter().copied())
        .stdout(file.try_clone().unwrap())
        .stderr(file);
    let mut child = integration_tests::processes::spawn(command).unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(10) {
            integration_tests::processes::kill_group(&mut child);
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = std::fs::read_to_string(&output).unwrap_or_default();
    let _ = std::fs::remove_file(&output);
    status.map(|status| (status.success(), text))
}

#[test]
fn a_callback_in_aws_without_a_token_refuses_to_start() {
    let (succeeded, output) = start_like_lambda(&[]).expect("it stops at once");
    assert!(!succeeded, "{output}");
    assert!(output.contains("bad configuration") && output.contains("ALLOW_UNAUTHENTICATED_PUSHES=true"), "{output}");
    // Allowed on purpose, or given a token: past the configuration (then failing on the runtime API, or waiting).
    for extra in [("ALLOW_UNAUTHENTICATED_PUSHES", "true"), ("CALLBACK_TOKENS", TOKEN)] {
        let output = start_like_lambda(&[extra]).map(|(_, output)| output).unwrap_or_default();
        assert!(!output.contains("bad configuration"), "{extra:?}: {output}");
    }
}

fn signed(nonce: &str) -> String {
    let created = OffsetDateTime::now_utc().format(&Rfc3339).unwrap();
    let digest = DigestScheme::HmacNonceCreated.digest(b"local-app-secret", nonce, &created, None).unwrap();
    UsernameToken { username: "local-app-key".into(), password_digest: digest, nonce: nonce.into(), created }
        .to_header_value()
}

/// One process of the status callback (with its own `cargo lambda watch`) on the table `table` at `endpoint`.
fn status_callback(table: &str, endpoint: &str) -> FunctionStack {
    let settings = [
        ("CALLBACK_TOKENS", TOKEN),
        ("SIGNATURE_MODE", "enforce"),
        ("VOICE_APP_KEY", "local-app-key"),
        ("VOICE_APP_SECRET", "local-app-secret"),
        ("STORE_RETRY_BUDGET_MS", "400"),
        ("RUST_LOG", "info"),
    ];
    let env = local_env::function_env(table, endpoint, &settings);
    let functions = [("status-callback", debug_binary("status-callback"))];
    FunctionStack::start_binaries(free_port(), &local_env::as_pairs(&env), &functions)
}

async fn push(stack: &FunctionStack, header: &str, fixture_name: &str) -> u16 {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let url = stack.url(&format!("/lambda-url/status-callback/{TOKEN}"));
    let response = client.post(&url).header("x-aksk", header).body(fixture(fixture_name)).send().await;
    response.unwrap_or_else(|e| panic!("{url}: {e}; logs in {}", stack.log_dir.display())).status().as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn enforce_refuses_a_header_replayed_to_another_process_and_accepts_the_re_push_of_a_503() {
    let dynamodb = DynamoLocal::shared();
    let store = dynamodb.fresh_store().await;
    // Process B reaches the table through a proxy that, once switched on, fails every write but a nonce's: the
    // nonce is claimed, then the record cannot be stored (503).
    let failing_records = FaultConfig {
        reject: 1.0,
        only_operation: Some("PutItem"),
        spare_bodies_containing: Some("nonce#"),
        ..FaultConfig::pass_through()
    };
    let proxy = FaultProxy::start(&dynamodb.endpoint(), failing_records);
    proxy.set_faults(false);
    let a = status_callback(store.table(), &dynamodb.endpoint());
    let b = status_callback(store.table(), &proxy.endpoint());
    let table = &store;
    let nonces = move || async move {
        let records = table.all_records().await.unwrap();
        records.iter().filter(|r| r["kind"] == "nonce").count()
    };

    let first = signed("e2e-nonce-accepted-by-a");
    assert_eq!(push(&a, &first, "huawei/status-callout.json").await, 200);
    assert_eq!(push(&b, &first, "huawei/status-callout.json").await, 401, "replayed to another process");
    assert_eq!(nonces().await, 1, "one nonce record");

    let failed = signed("e2e-nonce-answered-503");
    proxy.set_faults(true);
    assert_eq!(push(&b, &failed, "huawei/status-disconnect.json").await, 503);
    assert_eq!(nonces().await, 1, "the nonce of the push answered 503 is forgotten");
    proxy.set_faults(false);
    assert_eq!(push(&b, &failed, "huawei/status-disconnect.json").await, 200, "Huawei's re-push, same header");
    assert_eq!(push(&a, &failed, "huawei/status-disconnect.json").await, 401, "and only once");
    assert_eq!(nonces().await, 2);

    let sks: Vec<String> = store
        .all_records()
        .await
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "event")
        .map(|r| r["sk"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sks.len(), 2, "each push stored once: {sks:?}");
    let logs = format!("{}{}", a.function_logs(), b.function_logs());
    assert!(!logs.contains("e2e-nonce"), "nonces are not logged");
}
