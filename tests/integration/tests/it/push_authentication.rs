//! Push authentication of the deployed functions, with the real binaries: a callback in AWS without a callback
//! token refuses to start.

use std::process::Command;
use std::time::{Duration, Instant};

use integration_tests::{debug_binary, free_port};

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
