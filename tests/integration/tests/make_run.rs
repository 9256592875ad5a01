//! `make run` as a new user runs it (scripts/run-local.sh, here on free ports), in a test binary of its own: its
//! `cargo lambda watch` compiles the functions, which must not slow the timing-sensitive tests of `it` (TESTING.md).
//! - The caller's settings reach the functions: `SIGNATURE_MODE=enforce` refuses an unsigned push with 401, and
//!   either of two `CALLBACK_TOKENS` (a comma-separated value) is accepted with a signed push.
//! - The demo call ends with a final outcome, and `GET /health` answers.
//! - The demo verification, started without a code, answers `pending` with attempts left to a wrong code and
//!   `approved` to the code the simulator says the phone heard.
//! - The fraud guard: a number outside the allowed countries answers `Blocked` `country_not_allowed`, and of
//!   PREFIX_LIMIT + 1 calls to one number range (make run's PREFIX_LIMIT is 3) the last answers `Blocked`
//!   `prefix_budget`, the others are placed.
//! - The example clients (examples/python, examples/node): their own suites (python `unittest`, `node --test`) run
//!   against the stack's endpoints, its invoke front for Lambda and moto for SQS; and the Python suite's error test,
//!   pointed at the watch itself, fails: without the invoke front an SDK never sees a function error as AWS shows it.
//! - A stack that cannot start says so and stops, without claiming to be up.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use integration_tests::{free_port, processes, workspace_root};
use serde_json::json;

const UP: &str = "Local stack is up";
const TOKENS: &str = "tokA1234567,tokB1234567";

struct Ports {
    dynamodb: u16,
    functions: u16,
    simulator: u16,
    moto: u16,
    invoke: u16,
}

fn make_run(ports: &Ports, settings: &[(&str, &str)]) -> (Child, PathBuf) {
    let root = workspace_root();
    let output = std::env::temp_dir().join(integration_tests::unique_name("make-run")).with_extension("log");
    let file = std::fs::File::create(&output).expect("output file");
    let mut command = Command::new(root.join("scripts/run-local.sh"));
    // As `make` runs it: the project's venv (cargo-lambda, moto) first on PATH.
    let path = format!("{}:{}", root.join(".venv/bin").display(), std::env::var("PATH").unwrap_or_default());
    command
        .current_dir(&root)
        .env("PATH", path)
        .env("LOCAL_DYNAMODB_PORT", ports.dynamodb.to_string())
        .env("LOCAL_FUNCTIONS_PORT", ports.functions.to_string())
        .env("LOCAL_SIMULATOR_PORT", ports.simulator.to_string())
        .env("LOCAL_MOTO_PORT", ports.moto.to_string())
        .env("LOCAL_INVOKE_PORT", ports.invoke.to_string())
        .envs(settings.iter().copied())
        .stdin(Stdio::null())
        .stdout(file.try_clone().expect("output file"))
        .stderr(file);
    (processes::spawn(command).expect("start scripts/run-local.sh"), output)
}

/// The running script: stopped when dropped, so that a check that panics leaves no server behind (a failed run
/// once left two whole stacks running, their events pumps and moto busy, under the next bench).
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        stop(&mut self.0);
    }
}

/// Stops the script as Ctrl-C would (its trap stops what it started), then whatever is left of its group.
fn stop(child: &mut Child) {
    // An exited script is left to kill_group (its pid may already be someone else's).
    if let Ok(None) = child.try_wait() {
        // SAFETY: plain syscall on a pid we own and have not reaped.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
    }
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(15) {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    processes::kill_group(child);
}

/// The code checked and the answer `cargo lambda invoke` printed in the section `marker` opens (up to the next
/// `-- `): the event's `code` on the line echoing the command, and the first JSON object that starts a line.
fn check_after(text: &str, marker: &str) -> (String, serde_json::Value) {
    let section = text.split_once(marker).unwrap_or_else(|| panic!("no {marker:?} in the output:\n{text}")).1;
    let section = section.split_once("\n-- ").map_or(section, |(this, _)| this);
    let code = section
        .split_once(r#""code": ""#)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(code, _)| code.to_owned())
        .unwrap_or_else(|| panic!("no code after {marker:?}:\n{text}"));
    let answer = answer_after(section, marker);
    integration_tests::contract::check_answer("check-verification", &answer);
    (code, answer)
}

/// The first JSON object that starts a line of `text` (an answer `cargo lambda invoke` printed).
fn answer_after(text: &str, marker: &str) -> serde_json::Value {
    let answer = text.split_once("\n{").unwrap_or_else(|| panic!("no answer after {marker:?}:\n{text}")).1;
    let answer = format!("{{{answer}");
    serde_json::Deserializer::from_str(&answer)
        .into_iter::<serde_json::Value>()
        .next()
        .and_then(Result::ok)
        .unwrap_or_else(|| panic!("the answer after {marker:?} is not JSON:\n{text}"))
}

/// The answer lines of the fraud guard's demo (`   <number>  <answer>`), by number, in order.
fn guard_lines(text: &str) -> Vec<(String, String)> {
    let section =
        text.split_once("== Fraud guard").unwrap_or_else(|| panic!("make run demonstrated the fraud guard:\n{text}")).1;
    let section = section.split_once("Local stack is up").map_or(section, |(demo, _)| demo);
    section
        .lines()
        .filter_map(|line| line.strip_prefix("   +"))
        .filter_map(|line| line.split_once(' '))
        .map(|(number, answer)| (format!("+{number}"), answer.trim().to_owned()))
        .collect()
}

fn free_ports() -> Ports {
    Ports {
        dynamodb: free_port(),
        functions: free_port(),
        simulator: free_port(),
        moto: free_port(),
        invoke: free_port(),
    }
}

/// Runs an example client's test suite (`program args` in `dir`) against the stack, with only the environment an
/// app developer's shell would have (the SDK's, the queue, the simulator); its success and its output.
async fn example_suite(ports: &Ports, lambda_port: u16, dir: &str, program: &str, args: &[&str]) -> (bool, String) {
    let root = workspace_root();
    // `.venv/bin/python` is the project's, `node` the machine's.
    let mut command = Command::new(if program.contains('/') { root.join(program) } else { PathBuf::from(program) });
    command
        .args(args)
        .current_dir(root.join(dir))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1") // boto3's name for it
        .env("AWS_ACCESS_KEY_ID", "local")
        .env("AWS_SECRET_ACCESS_KEY", "local")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL_LAMBDA", format!("http://127.0.0.1:{lambda_port}"))
        .env("AWS_ENDPOINT_URL_SQS", format!("http://127.0.0.1:{}", ports.moto))
        .env("OUTCOME_QUEUE_NAME", "huawei-voice-outcomes")
        .env("LOCAL_SIMULATOR_URL", format!("http://127.0.0.1:{}", ports.simulator));
    let output = tokio::task::spawn_blocking(move || command.output()).await.expect("join").expect("run the suite");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

#[tokio::test(flavor = "multi_thread")]
async fn make_run_honours_the_callers_settings_and_ends_the_demo_call() {
    let ports = free_ports();
    let (child, output) = make_run(&ports, &[("SIGNATURE_MODE", "enforce"), ("CALLBACK_TOKENS", TOKENS)]);
    let mut running = Running(child);
    let child = &mut running.0;
    let read = || std::fs::read_to_string(&output).unwrap_or_default();
    let started = Instant::now();
    while !read().contains(UP) {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("make run exited ({status}) before it was up:\n{}", read());
        }
        assert!(started.elapsed() < Duration::from_secs(900), "make run not up after 15 min:\n{}", read());
        std::thread::sleep(Duration::from_secs(1));
    }
    let text = read();
    let checks = async {
        let outcome = text.rsplit("How did it end?").next().unwrap_or_default();
        assert!(
            outcome.contains(r#""final": true"#) || outcome.contains(r#""final":true"#),
            "the demo call ended with a final outcome:\n{text}"
        );
        // The demo's invoke answers, against the contract's schemas.
        let demo = text.split_once("== Demo: a verification").map_or("", |(_, demo)| demo);
        let placed = demo.split_once("== Its outcome events").map_or(demo, |(placed, _)| placed);
        integration_tests::contract::check_answer("trigger-verification-call", &answer_after(placed, "== Demo"));
        let reading = outcome.split_once("== Records").map_or(outcome, |(reading, _)| reading);
        integration_tests::contract::check_answer("get-call-outcome", &answer_after(reading, "How did it end?"));
        let http = reqwest::Client::builder().timeout(Duration::from_secs(120)).build().unwrap();

        // The verification: the code the simulator's phone heard (scripts/demo-call.json's callee) is approved, and
        // the wrong one tried before it left it pending with one attempt fewer.
        let checks = text
            .split_once("== Checking the verification")
            .unwrap_or_else(|| panic!("make run checked the demo verification:\n{text}"))
            .1;
        let sim = format!("http://127.0.0.1:{}/sim/heard?calleeNbr=%2B8613800000001", ports.simulator);
        let heard: serde_json::Value = http.get(&sim).send().await.expect("the simulator").json().await.expect("JSON");
        let heard = heard["verifyCode"].as_str().unwrap_or_else(|| panic!("the phone heard a code: {heard}\n{text}"));
        assert_eq!(heard.len(), 6, "a generated code of 6 digits: {heard}");
        let (wrong, pending) = check_after(checks, "-- A wrong code");
        assert_ne!(wrong, heard, "the wrong code is not the heard one");
        assert_eq!(
            (&pending["status"], &pending["valid"], &pending["attemptsLeft"]),
            (&json!("pending"), &json!(false), &json!(4)),
            "a wrong code leaves the verification pending with attempts left: {pending}\n{text}"
        );
        let (right, approved) = check_after(checks, "-- The code the phone heard");
        assert_eq!(right, heard, "the code checked is the one the phone heard");
        assert_eq!(
            (&approved["status"], &approved["valid"]),
            (&json!("approved"), &json!(true)),
            "the code the phone heard approves the verification: {approved}\n{text}"
        );
        assert_eq!(approved["verificationId"], pending["verificationId"], "{text}");
        // The fraud guard: the country list, then a pumped range cut off at make run's PREFIX_LIMIT of 3.
        let guard = guard_lines(&text);
        let answers: Vec<&str> = guard.iter().map(|(_, answer)| answer.as_str()).collect();
        assert_eq!(guard.len(), 5, "one number abroad, then 4 of one range: {guard:?}\n{text}");
        assert_eq!(guard[0].0, "+447700900123");
        assert!(
            answers[0].starts_with("Blocked: country_not_allowed: "),
            "a number outside ALLOWED_COUNTRY_CODES is refused: {guard:?}\n{text}"
        );
        assert!(answers[1..4].iter().all(|a| a.starts_with("placed, sessionId ")), "3 calls of the range: {guard:?}");
        assert!(
            answers[4].starts_with("Blocked: prefix_budget: "),
            "the 4th call to the range is over PREFIX_LIMIT: {guard:?}\n{text}"
        );
        assert!(guard[1..].iter().all(|(number, _)| number.starts_with("+8613900000")), "one range: {guard:?}");
        assert!(text.contains(r#"'{"liftBlock": "8613900"}'"#), "the banner shows the operator's liftBlock:\n{text}");

        let demo = std::fs::read_to_string(workspace_root().join("scripts/demo-call.json")).expect("demo event");
        assert!(!demo.contains("verifyCode"), "the demo verification is started without a code: {demo}");

        let base = format!("http://127.0.0.1:{}", ports.functions);
        let body =
            std::fs::read_to_string(workspace_root().join("tests/integration/fixtures/huawei/status-callout.json"))
                .expect("fixture");
        let post = |token: &str, signed: bool| {
            let mut request = http
                .post(format!("{base}/voice/status/{token}"))
                .header("content-type", "application/json;charset=UTF-8")
                .body(body.clone());
            if signed {
                let headers =
                    voice_platform_sim::sign("local-app-key", "local-app-secret", time::OffsetDateTime::now_utc());
                request = request.header("authorization", headers.authorization).header("x-aksk", headers.x_aksk);
            }
            async move {
                let response = request.send().await.expect("push");
                (response.status().as_u16(), response.text().await.unwrap_or_default())
            }
        };
        let (status, answer) = post("tokB1234567", false).await;
        assert_eq!(status, 401, "SIGNATURE_MODE=enforce reached the function: {answer}\n{text}");
        assert!(answer.contains("bad_signature"), "refused for its signature, not its token: {answer}");
        assert_eq!(post("tokA1234567", true).await.0, 200, "the first of two tokens");
        assert_eq!(post("tokB1234567", true).await.0, 200, "the second of two tokens");
        assert_eq!(post("tokC1234567", true).await.0, 401, "a token not in the list");
        let health = http.get(format!("{base}/health")).send().await.expect("health");
        assert_eq!(health.status().as_u16(), 200);

        // The example clients, one suite after the other: both read the one queue of outcome events.
        assert!(text.contains(&format!("AWS_ENDPOINT_URL_LAMBDA=http://127.0.0.1:{}", ports.invoke)), "{text}");
        let python = ".venv/bin/python";
        let (passed, output) =
            example_suite(&ports, ports.invoke, "examples/python", python, &["-m", "unittest", "-v"]).await;
        assert!(passed, "the Python example's suite:\n{output}");
        let (passed, output) = example_suite(&ports, ports.invoke, "examples/node", "node", &["--test"]).await;
        assert!(passed, "the Node example's suite:\n{output}");
        // Without the invoke front, the watch answers the function error with 500: the SDK retries it and never
        // shows an errorType.
        let error_test = "test_voice_client.ExampleClient.test_invalid_request_is_a_function_error_in_one_http_attempt";
        let (passed, output) =
            example_suite(&ports, ports.functions, "examples/python", python, &["-m", "unittest", error_test]).await;
        assert!(!passed && output.contains("(500)") && output.contains("reached max retries"), "{output}");
    };
    let result = tokio::time::timeout(Duration::from_secs(600), checks).await;
    drop(running);
    result.expect("checks within 10 min");
}

#[test]
fn a_stack_that_cannot_start_says_so_and_stops() {
    let ports = free_ports();
    let _taken = TcpListener::bind(("127.0.0.1", ports.simulator)).expect("take the simulator's port");
    let (child, output) = make_run(&ports, &[]);
    let mut running = Running(child);
    let child = &mut running.0;
    let started = Instant::now();
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "make run did not stop");
        std::thread::sleep(Duration::from_millis(100));
    };
    let text = std::fs::read_to_string(&output).unwrap_or_default();
    drop(running);
    assert!(!status.success(), "exit status {status}:\n{text}");
    assert!(text.contains(&format!("port {} is already in use", ports.simulator)), "{text}");
    assert!(!text.contains(UP), "{text}");
}
