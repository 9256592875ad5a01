//! trigger-verification-call and get-call-outcome end to end: invoked through `cargo lambda watch`, calling the
//! Huawei platform simulator, whose status events and CDRs come back through the callback functions into
//! DynamoDB Local, where get-call-outcome reads how each call ended.

use std::time::{Duration, Instant};

use integration_tests::contract::CheckedInvoke;
use integration_tests::log_scan::assert_no_number_or_code_in;
use integration_tests::{free_port, local_env, DynamoLocal, FunctionStack};
use serde_json::{json, Value};
use voice_core::adapters::DynamoStore;
use voice_platform_sim::{Config as SimConfig, RunningSim};

pub(crate) const TOKEN: &str = "e2e-token";
/// How long after its disconnect the simulator's late-cdr scenario pushes the bill.
const LATE_CDR_DELAY: Duration = Duration::from_millis(2_500);

pub(crate) struct Loop {
    pub(crate) store: DynamoStore,
    pub(crate) sim: RunningSim,
    pub(crate) stack: FunctionStack,
}

/// DynamoDB Local + simulator + the seven functions, wired like `make run`.
pub(crate) async fn start(extra_env: &[(&str, &str)]) -> Loop {
    let dynamodb = DynamoLocal::shared();
    let store = dynamodb.fresh_store().await;
    let sim = voice_platform_sim::start(SimConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        event_delay: Duration::from_millis(50),
        cdr_delay: Duration::from_millis(50),
        merge_window: Duration::from_millis(50),
        late_cdr_delay: LATE_CDR_DELAY,
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

/// Every log line the functions wrote in this run: none holds one of `callees` (in any form: with or without
/// `+`, without the country code) nor a verification code used.
pub(crate) fn assert_logs_hold_no_callee_or_code(stack: &FunctionStack, callees: &[&str]) {
    let logs = stack.function_logs();
    assert_no_number_or_code_in(&logs, callees, &[CODE, OTHER_CODE], &stack.log_dir.display().to_string());
}

/// The code every call of these runs speaks (and [`OTHER_CODE`], a second one); neither may reach a log line.
pub(crate) const CODE: &str = "482913";
const OTHER_CODE: &str = "999999";

pub(crate) fn call(callee: &str, key: Option<&str>) -> Value {
    let mut event = json!({"calleeNbr": callee, "verifyCode": CODE, "userData": "e2e"});
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

/// One simulator scenario (chosen by the callee's last four digits) and how get-call-outcome must say it ended.
struct Scenario {
    callee: &'static str,
    /// Sort keys stored besides the CDR.
    keys: &'static [&'static str],
    status: &'static str,
    answered: bool,
    /// The deciding code: (field, code).
    cause: Option<(&'static str, i64)>,
}

const SCENARIOS: [Scenario; 10] = [
    Scenario {
        callee: "+8613800000001",
        keys: &["call", "event#alerting", "event#answer", "event#callout", "event#disconnect"],
        status: "completed",
        answered: true,
        cause: None,
    },
    Scenario {
        callee: "+8613800008101",
        keys: &["call", "event#alerting", "event#callout", "event#disconnect"],
        status: "no_answer",
        answered: false,
        cause: Some(("callOutUnaswRsn", 19)),
    },
    Scenario {
        callee: "+8613800008102",
        keys: &["call", "event#callout", "event#disconnect"],
        status: "busy",
        answered: false,
        cause: Some(("callOutUnaswRsn", 17)),
    },
    Scenario {
        callee: "+8613800008004",
        keys: &["call", "event#alerting", "event#callout", "event#disconnect"],
        status: "rejected",
        answered: false,
        cause: Some(("callOutUnaswRsn", 21)),
    },
    Scenario {
        callee: "+8613800008104",
        keys: &["call", "event#callout", "event#disconnect"],
        status: "unreachable",
        answered: false,
        cause: Some(("callOutUnaswRsn", 20)),
    },
    Scenario {
        callee: "+8613800008100",
        keys: &["call", "event#callout", "event#disconnect"],
        status: "invalid_number",
        answered: false,
        cause: Some(("callOutUnaswRsn", 1)),
    },
    Scenario {
        callee: "+8613800007001",
        keys: &["call", "event#callout", "event#disconnect"],
        status: "blocked",
        answered: false,
        cause: Some(("ulFailReason", 7001)),
    },
    Scenario {
        callee: "+8613800008000",
        keys: &["call", "event#callout", "event#disconnect"],
        status: "failed",
        answered: false,
        cause: Some(("ulFailReason", 517)),
    },
    Scenario {
        callee: "+8613800000486",
        keys: &["call", "event#callout", "event#disconnect"],
        status: "busy",
        answered: false,
        cause: Some(("sipStatusCode", 486)),
    },
    // Every status push of this call is lost: the bill alone tells.
    Scenario { callee: "+8613800000404", keys: &["call"], status: "completed", answered: true, cause: None },
];

#[tokio::test(flavor = "multi_thread")]
async fn each_scenario_ends_with_its_outcome_read_by_get_call_outcome() {
    let stack = start(&[]).await;
    for scenario in &SCENARIOS {
        let callee = scenario.callee;
        let answer =
            stack.stack.invoke_checked("trigger-verification-call", &call(callee, None)).await.expect("call requested");
        assert_eq!((answer["status"].as_str(), answer["replayed"].as_bool()), (Some("requested"), Some(false)));
        let session_id = answer["sessionId"].as_str().expect("a sessionId").to_owned();
        assert!(session_id.contains("@callenabler"), "Huawei-shaped sessionId: {session_id}");

        let outcome = stack
            .stack
            .invoke_checked("get-call-outcome", &json!({"sessionId": session_id, "waitForFinalMs": 15_000}))
            .await
            .expect("an outcome");
        assert_eq!(outcome["sessionId"], session_id.as_str(), "{callee}: {outcome}");
        assert_eq!(
            (outcome["status"].as_str(), outcome["final"].as_bool(), outcome["answered"].as_bool()),
            (Some(scenario.status), Some(true), Some(scenario.answered)),
            "{callee}: {outcome}"
        );
        assert_eq!(outcome["decidedBy"], "cdr", "{callee}: {outcome}");
        let cause = outcome.get("cause").map(|c| (c["field"].as_str().unwrap_or(""), c["code"].as_i64().unwrap_or(0)));
        assert_eq!(cause, scenario.cause, "{callee}: {outcome}");
        if let Some(cause) = outcome.get("cause") {
            assert!(cause["text"].as_str().is_some_and(|t| !t.is_empty()), "{callee}: Huawei's text: {outcome}");
        }
        for time in ["requestedAt", "callingAt", "endedAt"] {
            assert!(outcome[time].as_str().is_some_and(|t| t.ends_with('Z')), "{callee}: {time} in {outcome}");
        }
        if scenario.answered {
            assert!(outcome["answeredAt"].is_string() && outcome["talkSeconds"].is_u64(), "{callee}: {outcome}");
        }
        assert!(outcome["version"].as_u64().is_some_and(|v| v as usize == scenario.keys.len() + 1), "{outcome}");

        let records = settled_records(&stack.store, &session_id).await;
        assert_eq!(sort_keys(&records), scenario.keys, "{callee}");
        assert_eq!(records.iter().filter(|r| r["kind"] == "cdr").count(), 1, "{callee}: one CDR");
        let call_record = records.iter().find(|r| r["sk"] == "call").unwrap();
        assert_eq!(call_record["calleeMasked"], format!("{}****{}", &callee[..6], &callee[callee.len() - 4..]));
        assert!(!call_record.to_string().contains(&callee[1..]), "the full number is not stored in the call record");
    }
    let stats = stack.sim.stats();
    assert_eq!((stats.call_verify.received, stats.call_verify.accepted), (10, 10));

    // Every log line of the seven functions: no full number, no verification code, no secret, no token.
    let logs = stack.stack.function_logs();
    assert!(logs.contains("call requested") && logs.contains("stored"), "the functions logged their work");
    assert!(logs.contains("outcome read"), "get-call-outcome logged its reads");
    assert!(logs.contains("+86138****0001"), "the callee is logged, masked");
    for secret in ["local-app-secret", TOKEN] {
        assert!(!logs.contains(secret), "a secret appears in a log line ({})", stack.stack.log_dir.display());
    }
    let numbers: Vec<&str> = SCENARIOS.iter().map(|s| s.callee).chain(["+8675528000088"]).collect();
    assert_logs_hold_no_callee_or_code(&stack.stack, &numbers);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_late_bill_turns_the_provisional_outcome_final_and_a_waiting_read_returns_when_it_lands() {
    let stack = start(&[]).await;
    let key = "late-cdr-1";
    let answer =
        stack.stack.invoke_checked("trigger-verification-call", &call("+8613800000777", Some(key))).await.unwrap();
    let session_id = answer["sessionId"].as_str().expect("a sessionId").to_owned();
    // The disconnect lands first: completed, provisional.
    let started = Instant::now();
    let provisional = loop {
        let outcome = stack.stack.invoke_checked("get-call-outcome", &json!({"idempotencyKey": key})).await.unwrap();
        if outcome["decidedBy"] == "disconnect" || started.elapsed() > Duration::from_secs(10) {
            break outcome;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        (provisional["status"].as_str(), provisional["final"].as_bool(), provisional["sessionId"].as_str()),
        (Some("completed"), Some(false), Some(session_id.as_str())),
        "{provisional}"
    );
    assert_eq!(provisional["idempotencyKey"], key);
    // A read that waits returns once the bill is stored: final, with a greater version.
    let asked = Instant::now();
    let last = stack
        .stack
        .invoke_checked("get-call-outcome", &json!({"idempotencyKey": key, "waitForFinalMs": 15_000}))
        .await
        .expect("an outcome");
    let waited = asked.elapsed();
    assert_eq!(
        (last["status"].as_str(), last["final"].as_bool(), last["decidedBy"].as_str()),
        (Some("completed"), Some(true), Some("cdr")),
        "{last}"
    );
    assert!(last["version"].as_u64() > provisional["version"].as_u64(), "{provisional} then {last}");
    let billed_at = stack.store.records_of(&session_id).await.unwrap();
    let cdr = billed_at.iter().find(|r| r["kind"] == "cdr").expect("the bill is stored");
    let stored = time::OffsetDateTime::parse(
        cdr["receivedAt"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let returned = time::OffsetDateTime::now_utc();
    println!(
        "late CDR: the waiting read returned {:?} after it was asked, {:?} after the bill was stored (its receivedAt)",
        waited,
        returned - stored
    );
    assert!(waited < LATE_CDR_DELAY + Duration::from_secs(3), "returned soon after the bill: {waited:?}");
    assert!(
        returned - stored < time::Duration::seconds(2),
        "within a re-read (at most 1 s apart) of the bill landing: {:?}",
        returned - stored
    );

    // Unknown keys: NotFound; both keys or a wait too long: InvalidRequest.
    let (error_type, _) =
        stack.stack.invoke_checked("get-call-outcome", &json!({"idempotencyKey": "never-used"})).await.unwrap_err();
    assert_eq!(error_type, "NotFound");
    let (error_type, _) =
        stack.stack.invoke_checked("get-call-outcome", &json!({"sessionId": "nobody@x"})).await.unwrap_err();
    assert_eq!(error_type, "NotFound");
    for bad in [json!({"sessionId": "s", "idempotencyKey": "k"}), json!({"sessionId": "s", "waitForFinalMs": 20_001})] {
        let (error_type, _) = stack.stack.invoke_checked("get-call-outcome", &bad).await.unwrap_err();
        assert_eq!(error_type, "InvalidRequest", "{bad}");
    }
    // A number asked for where the sessionId goes: NotFound, neither echoed nor logged.
    let (error_type, message) =
        stack.stack.invoke_checked("get-call-outcome", &json!({"sessionId": "+8613800000778"})).await.unwrap_err();
    assert_eq!(error_type, "NotFound");
    assert!(!message.contains("13800000778"), "{message}");
    assert_logs_hold_no_callee_or_code(&stack.stack, &["+8613800000777", "+8613800000778"]);
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
        let (got, message) = stack
            .stack
            .invoke_checked("trigger-verification-call", &call(callee, Some(callee)))
            .await
            .expect_err("fails");
        assert_eq!(got, error_type, "{callee}: {message}");
        assert_eq!(stack.sim.stats().call_verify.received - before, requests, "{callee}: requests Huawei received");
    }
    // The key of the unknown outcome reads as unknown, not final, with no sessionId.
    let outcome =
        stack.stack.invoke_checked("get-call-outcome", &json!({"idempotencyKey": "+8613800000408"})).await.unwrap();
    assert_eq!((outcome["status"].as_str(), outcome["final"].as_bool()), (Some("unknown"), Some(false)), "{outcome}");
    assert!(outcome.get("sessionId").is_none(), "{outcome}");
    // The unknown outcome is remembered: retrying that key does not ring the user again.
    let before = stack.sim.stats().call_verify.received;
    let (again, _) = stack
        .stack
        .invoke_checked("trigger-verification-call", &call("+8613800000408", Some("+8613800000408")))
        .await
        .unwrap_err();
    assert_eq!(again, "ProviderOutcomeUnknown");
    assert_eq!(stack.sim.stats().call_verify.received, before);
    let callees: Vec<&str> = cases.iter().map(|(callee, _, _)| *callee).collect();
    assert_logs_hold_no_callee_or_code(&stack.stack, &callees);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_idempotency_key_never_reaches_huawei_twice() {
    let stack = start(&[]).await;
    let functions = &stack.stack;
    let invoke = |event: Value| async move { functions.invoke_checked("trigger-verification-call", &event).await };
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
    // A code and a number of the wrong JSON type: refused by field and type, never echoed.
    let (error_type, message) =
        invoke(json!({"calleeNbr": 8613800000011u64, "verifyCode": OTHER_CODE.parse::<u64>().unwrap()}))
            .await
            .unwrap_err();
    assert_eq!(error_type, "InvalidRequest");
    assert!(message.contains("must be a string"), "{message}");
    assert!(!message.contains("13800000011") && !message.contains(OTHER_CODE), "{message}");
    let (_, message) =
        invoke(json!({"calleeNbr": "+8613800000011", "verifyCode": CODE.parse::<u64>().unwrap()})).await.unwrap_err();
    assert_eq!(message, "verifyCode must be a string");
    assert_eq!(stack.sim.stats().call_verify.received, 1, "refused invokes send nothing");
    assert_logs_hold_no_callee_or_code(&stack.stack, &["+8613800000011"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_misconfigured_trigger_answers_configuration_error_and_sends_nothing() {
    let long_token = "t".repeat(80);
    let stack = start(&[("CALLBACK_TOKENS", long_token.as_str())]).await;
    let (error_type, message) =
        stack.stack.invoke_checked("trigger-verification-call", &call("+8613800000021", None)).await.unwrap_err();
    assert_eq!(error_type, "ConfigurationError");
    assert!(message.contains("128") && !message.contains(&long_token), "{message}");
    let wrong_secret = start(&[("VOICE_APP_SECRET", "not-the-secret")]).await;
    let (error_type, message) = wrong_secret
        .stack
        .invoke_checked("trigger-verification-call", &call("+8613800000022", None))
        .await
        .unwrap_err();
    assert_eq!(error_type, "ConfigurationError", "Huawei refused the digest: {message}");
    assert_eq!(stack.sim.stats().call_verify.received, 0);
    assert_eq!(wrong_secret.sim.stats().call_verify.received, 1, "an auth failure is not retried");
    assert_logs_hold_no_callee_or_code(&stack.stack, &["+8613800000021"]);
    assert_logs_hold_no_callee_or_code(&wrong_secret.stack, &["+8613800000022"]);
}
