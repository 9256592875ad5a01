//! trigger-verification-call end to end: invoked through `cargo lambda watch`, calling the Huawei platform
//! simulator, whose status events and CDRs come back through the callback functions into DynamoDB Local.

use std::time::{Duration, Instant};

use integration_tests::{free_port, local_env, DynamoLocal, FunctionStack};
use serde_json::{json, Value};
use voice_core::adapters::DynamoStore;
use voice_core::callbacks::{CallProgress, CallSummary};
use voice_platform_sim::{Config as SimConfig, RunningSim};

const TOKEN: &str = "e2e-token";

struct Loop {
    store: DynamoStore,
    sim: RunningSim,
    stack: FunctionStack,
}

/// DynamoDB Local + simulator + the four functions, wired like `make run`.
async fn start(extra_env: &[(&str, &str)]) -> Loop {
    let dynamodb = DynamoLocal::shared();
    let store = dynamodb.fresh_store().await;
    let sim = voice_platform_sim::start(SimConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        event_delay: Duration::from_millis(50),
        cdr_delay: Duration::from_millis(50),
        merge_window: Duration::from_millis(50),
        repush_interval: Duration::from_millis(300),
        timeout_hang: Duration::from_secs(4),
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts");
    let port = free_port();
    let (endpoint, base, voice_api) = (dynamodb.endpoint(), format!("http://127.0.0.1:{port}"), sim.base_url());
    let mut settings = vec![
        ("CALLBACK_TOKENS", TOKEN),
        ("CALLBACK_BASE_URL", base.as_str()),
        ("VOICE_API_BASE_URL", voice_api.as_str()),
        ("VOICE_APP_KEY", "local-app-key"),
        ("VOICE_APP_SECRET", "local-app-secret"),
        ("DISPLAY_NBR", "+8675528000088"),
        ("PRE_TONE", "welcome.wav"),
        ("VOICE_API_TIMEOUT_MS", "2000"),
        ("RUST_LOG", "info"),
    ];
    settings.extend_from_slice(extra_env);
    let env = local_env::function_env(store.table(), &endpoint, &settings);
    let stack = FunctionStack::start(port, &local_env::as_pairs(&env));
    Loop { store, sim, stack }
}

fn call(callee: &str, key: Option<&str>) -> Value {
    let mut event = json!({"calleeNbr": callee, "verifyCode": "482913", "userData": "e2e"});
    if let Some(key) = key {
        event["idempotencyKey"] = key.into();
    }
    event
}

/// Polls the call's records until its CDR arrived (the CDR is pushed last), or 30 s.
async fn settled_records(store: &DynamoStore, session_id: &str) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let records = store.records_of(session_id).await.unwrap();
        if records.iter().any(|r| r["kind"] == "cdr") || started.elapsed() > Duration::from_secs(30) {
            return records;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn sort_keys(records: &[Value]) -> Vec<String> {
    let mut keys: Vec<String> =
        records.iter().map(|r| r["sk"].as_str().unwrap().to_owned()).filter(|sk| !sk.starts_with("cdr#")).collect();
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread")]
async fn each_scenario_runs_end_to_end_into_dynamodb() {
    let stack = start(&[]).await;
    // (callee, events expected besides the call record, hang-up code, answered)
    let scenarios = [
        (
            "+8613800000001",
            vec!["call", "event#alerting", "event#answer", "event#callout", "event#disconnect"],
            0,
            true,
        ),
        ("+8613800008101", vec!["call", "event#alerting", "event#callout", "event#disconnect"], 8101, false),
        ("+8613800008102", vec!["call", "event#callout", "event#disconnect"], 8102, false),
        ("+8613800008004", vec!["call", "event#alerting", "event#callout", "event#disconnect"], 8004, false),
    ];
    for &(callee, ref expected_keys, hangup_code, answered) in &scenarios {
        let answer =
            stack.stack.invoke("trigger-verification-call", &call(callee, None)).await.expect("call requested");
        assert_eq!((answer["status"].as_str(), answer["replayed"].as_bool()), (Some("requested"), Some(false)));
        let session_id = answer["sessionId"].as_str().expect("a sessionId").to_owned();
        assert!(session_id.contains("@callenabler"), "Huawei-shaped sessionId: {session_id}");
        let records = settled_records(&stack.store, &session_id).await;
        assert_eq!(sort_keys(&records), *expected_keys, "{callee}");
        assert_eq!(records.iter().filter(|r| r["kind"] == "cdr").count(), 1, "{callee}: one CDR");
        let summary = CallSummary::from_records(&stack.store.records_under(&session_id).await.unwrap());
        assert_eq!(
            (summary.progress, summary.billed, summary.answered, summary.hangup_code),
            (CallProgress::Finished, true, answered, Some(hangup_code)),
            "{callee}"
        );
        let call_record = records.iter().find(|r| r["sk"] == "call").unwrap();
        assert_eq!(call_record["calleeMasked"], format!("{}****{}", &callee[..6], &callee[callee.len() - 4..]));
        assert!(!call_record.to_string().contains(&callee[1..]), "the full number is not stored in the call record");
    }
    let stats = stack.sim.stats();
    assert_eq!((stats.call_verify.received, stats.call_verify.accepted), (4, 4));

    // Every log line of the four functions: no full number, no verification code, no secret, no token.
    let logs = stack.stack.function_logs();
    assert!(logs.contains("call requested") && logs.contains("stored"), "the functions logged their work");
    assert!(logs.contains("+86138****0001"), "the callee is logged, masked");
    let secrets = ["local-app-secret", TOKEN, "482913"];
    for needle in scenarios.iter().map(|(callee, ..)| &callee[1..]).chain(["8675528000088"]).chain(secrets) {
        assert!(!logs.contains(needle), "{needle} appears in a log line ({})", stack.stack.log_dir.display());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn provider_failures_map_to_their_error_types() {
    let stack = start(&[]).await;
    let cases = [
        ("+8613800000403", "ProviderRejected", 1),
        ("+8613800001010", "ProviderThrottled", 1),
        ("+8613800000500", "ProviderUnavailable", 3),
        ("+8613800000408", "ProviderOutcomeUnknown", 1),
    ];
    for (callee, error_type, requests) in cases {
        let before = stack.sim.stats().call_verify.received;
        let (got, message) =
            stack.stack.invoke("trigger-verification-call", &call(callee, Some(callee))).await.expect_err("fails");
        assert_eq!(got, error_type, "{callee}: {message}");
        assert_eq!(stack.sim.stats().call_verify.received - before, requests, "{callee}: requests Huawei received");
    }
    // The unknown outcome is remembered: retrying that key does not ring the user again.
    let before = stack.sim.stats().call_verify.received;
    let (again, _) = stack
        .stack
        .invoke("trigger-verification-call", &call("+8613800000408", Some("+8613800000408")))
        .await
        .unwrap_err();
    assert_eq!(again, "ProviderOutcomeUnknown");
    assert_eq!(stack.sim.stats().call_verify.received, before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_idempotency_key_never_reaches_huawei_twice() {
    let stack = start(&[]).await;
    let functions = &stack.stack;
    let invoke = |event: Value| async move { functions.invoke("trigger-verification-call", &event).await };
    let first = invoke(call("+8613800000011", Some("signup-42-try-1"))).await.unwrap();
    for _ in 0..3 {
        let again = invoke(call("+8613800000011", Some("signup-42-try-1"))).await.unwrap();
        assert_eq!((&again["sessionId"], again["replayed"].as_bool()), (&first["sessionId"], Some(true)));
    }
    assert_eq!(stack.sim.stats().call_verify.received, 1, "by the simulator's own count");

    let (error_type, message) =
        invoke(json!({"calleeNbr": "+8613800000011", "verifyCode": "999999", "idempotencyKey": "signup-42-try-1"}))
            .await
            .unwrap_err();
    assert_eq!(error_type, "InvalidRequest", "{message}");
    let (error_type, message) = invoke(call("+8613800000011", Some("signup-42-try-2"))).await.unwrap_err();
    assert_eq!(error_type, "RateLimited", "{message}");
    assert!(message.contains("retry after"), "{message}");
    let (error_type, _) = invoke(json!({"calleeNbr": "8613800000011", "verifyCode": "12"})).await.unwrap_err();
    assert_eq!(error_type, "InvalidRequest");
    assert_eq!(stack.sim.stats().call_verify.received, 1, "refused invokes send nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_misconfigured_trigger_answers_configuration_error_and_sends_nothing() {
    let long_token = "t".repeat(80);
    let stack = start(&[("CALLBACK_TOKENS", long_token.as_str())]).await;
    let (error_type, message) =
        stack.stack.invoke("trigger-verification-call", &call("+8613800000021", None)).await.unwrap_err();
    assert_eq!(error_type, "ConfigurationError");
    assert!(message.contains("128") && !message.contains(&long_token), "{message}");
    let wrong_secret = start(&[("VOICE_APP_SECRET", "not-the-secret")]).await;
    let (error_type, message) =
        wrong_secret.stack.invoke("trigger-verification-call", &call("+8613800000022", None)).await.unwrap_err();
    assert_eq!(error_type, "ConfigurationError", "Huawei refused the digest: {message}");
    assert_eq!(stack.sim.stats().call_verify.received, 0);
    assert_eq!(wrong_secret.sim.stats().call_verify.received, 1, "an auth failure is not retried");
}
