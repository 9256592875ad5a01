//! docs/schemas/ kept in sync with the code: every committed schema is the one `make schemas` generates from the
//! types (tools/schemas), the template's registry schemas too; the schemas accept exactly what the functions
//! accept at their limits; the schema of `CallOutcome` names exactly the fields the code writes; every invoke
//! fixture and outcome folded from real record sets is valid (checked by the `jsonschema` crate).

use std::collections::BTreeSet;

use integration_tests::contract::{self, check, is_valid};
use integration_tests::workspace_root;
use serde_json::{json, Value};
use voice_core::calls::{CallRequest, Defaults};
use voice_core::ids::sid;
use voice_core::outcome::{fold, CallStatus, OutcomeRequest};
use voice_core::records::StoredRecord;
use voice_core::verification::CheckRequest;

use crate::outcome_properties::{record, SESSION};

const REGENERATE: &str = "run `make schemas` (the schemas are generated from the Rust types)";

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
}

#[test]
fn the_committed_schemas_are_the_generated_ones() {
    let root = workspace_root();
    let generated = schemas::files();
    for (path, text) in &generated {
        let committed = std::fs::read_to_string(root.join(path)).unwrap_or_default();
        assert!(committed == *text, "{} differs from the generated one: {REGENERATE}", path.display());
    }
    // Nothing else under docs/schemas/: a schema no type generates is a stale one.
    let expected: BTreeSet<_> = generated.iter().map(|(path, _)| root.join(path)).collect();
    for dir in [root.join(schemas::SCHEMA_DIR), root.join(schemas::SCHEMA_DIR).join("registry")] {
        for entry in std::fs::read_dir(&dir).expect("docs/schemas") {
            let path = entry.expect("an entry").path();
            if path.is_file() {
                assert!(expected.contains(&path), "{} is not generated: remove it, or {REGENERATE}", path.display());
            }
        }
    }
}

#[test]
fn the_template_carries_the_registry_schemas() {
    let text = std::fs::read_to_string(workspace_root().join(schemas::TEMPLATE)).expect("template");
    let updated = schemas::update_template(&text).expect("the template's schema markers");
    assert!(updated == text, "{}: a registry schema differs from the generated one: {REGENERATE}", schemas::TEMPLATE);
    let template: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("template YAML");
    let resources = template["Resources"].as_mapping().expect("Resources");
    let of_type = |wanted: &'static str| {
        resources.values().filter(move |r| r["Type"].as_str() == Some(wanted)).map(|r| &r["Properties"])
    };
    assert_eq!(of_type("AWS::EventSchemas::Registry").count(), 1, "one registry");
    for event in schemas::events() {
        let schema = of_type("AWS::EventSchemas::Schema")
            .find(|p| p["SchemaName"].as_str() == Some(event.schema_name.as_str()))
            .unwrap_or_else(|| panic!("no AWS::EventSchemas::Schema {}", event.schema_name));
        assert_eq!(schema["Type"].as_str(), Some("JSONSchemaDraft4"), "{}", event.schema_name);
        let content: Value = serde_json::from_str(schema["Content"].as_str().expect("Content")).expect("JSON");
        assert_eq!(content, event.registry, "{}: {REGENERATE}", event.schema_name);
    }
}

#[test]
fn every_error_type_of_each_function_is_in_its_schema_and_nothing_else() {
    use voice_core::calls::TriggerError;
    use voice_core::outcome::OutcomeError;
    use voice_core::verification::CheckError;
    let functions: [(&str, &[&str]); 3] = [
        ("trigger-verification-call", &TriggerError::ALL),
        ("get-call-outcome", &OutcomeError::ALL),
        ("check-verification", &CheckError::ALL),
    ];
    for (function, all) in functions {
        let schema = format!("{function}.error.schema.json");
        for error_type in all {
            // Two of the trigger's messages have a form of their own (the next test).
            let message = match *error_type {
                "Blocked" => "daily_cap: 1000 calls today in all (DAILY_CALL_CAP)",
                "RateLimited" => "too many calls to this number; retry after 1 s",
                _ => "what happened",
            };
            check(&schema, &contract::error_body(error_type, message));
        }
        assert!(!is_valid(&schema, &contract::error_body("Unhandled", "x")), "{function}: an errorType not its own");
        assert!(!is_valid(&schema, &json!({"errorType": all[0]})), "{function}: errorMessage is required");
    }
}

#[test]
fn every_schema_is_valid_against_its_draft() {
    for (path, text) in schemas::files() {
        let schema: Value = serde_json::from_str(&text).expect("JSON");
        let draft = schema["$schema"].as_str().unwrap_or_default().to_owned();
        assert!(draft.contains("2020-12") || draft.contains("draft-04"), "{}: {draft}", path.display());
        if let Err(e) = jsonschema::meta::validate(&schema) {
            panic!("{} is not a valid {draft} schema: {e}", path.display());
        }
    }
}

#[test]
fn the_trigger_errors_say_the_guards_reason_and_the_wait() {
    use voice_core::calls::TriggerError;
    use voice_core::guard::Reason;
    let schema = "trigger-verification-call.error.schema.json";
    for reason in Reason::ALL {
        let error = TriggerError::Blocked(format!("{}: why", reason.as_str()));
        check(schema, &contract::error_body(error.error_type(), &error.to_string()));
    }
    let waited = TriggerError::RateLimited { retry_after_secs: 42 };
    check(schema, &contract::error_body(waited.error_type(), &waited.to_string()));
    assert!(!is_valid(schema, &contract::error_body("Blocked", "refused")), "a Blocked message without its reason");
    assert!(!is_valid(schema, &contract::error_body("RateLimited", "later")), "a RateLimited message without a wait");
}

fn trigger_accepts(event: &Value) -> bool {
    let defaults = Defaults {
        display_nbr: Some("+8675528000088".into()),
        pre_tone: Some("welcome.wav".into()),
        language_type: 2,
        allow_endless_playback: true,
        code_length: 6,
    };
    CallRequest::from_event(event.clone(), &defaults).is_ok()
}

/// The schema and the parser agree on `cases`: the schema accepts an event exactly when the function does.
fn agree(schema: &str, accepts: impl Fn(&Value) -> bool, cases: &[Value]) {
    for event in cases {
        assert_eq!(is_valid(schema, event), accepts(event), "{schema} and the code disagree on {event}");
    }
}

#[test]
fn the_trigger_schema_accepts_what_the_trigger_accepts() {
    let base = || json!({"calleeNbr": "+8613800000001"});
    let with = |field: &str, value: Value| {
        let mut event = base();
        event[field] = value;
        event
    };
    let cases = [
        base(),
        json!({"verifyCode": "1234"}),
        with("calleeNbr", json!("8613800000001")),
        with("calleeNbr", json!("+123")),
        with("calleeNbr", json!("+12")),
        with("calleeNbr", json!(format!("+{}", "1".repeat(30)))),
        with("calleeNbr", json!(format!("+{}", "1".repeat(31)))),
        with("calleeNbr", json!(8613800000001u64)),
        with("verifyCode", json!("12")),
        with("verifyCode", json!("12345678")),
        with("verifyCode", json!("1")),
        with("verifyCode", json!("123456789")),
        with("verifyCode", json!("12a4")),
        with("verifyCode", json!(null)),
        with("codeLength", json!(4)),
        with("codeLength", json!(8)),
        with("codeLength", json!(3)),
        with("codeLength", json!(9)),
        json!({"calleeNbr": "+8613800000001", "verifyCode": "1234", "codeLength": 6}),
        json!({"calleeNbr": "+8613800000001", "verifyCode": null, "codeLength": 6}),
        with("times", json!(0)),
        with("times", json!(9)),
        with("times", json!(10)),
        with("times", json!(-1)),
        with("languageType", json!(1)),
        with("languageType", json!(255)),
        with("languageType", json!(0)),
        with("languageType", json!(256)),
        with("languageType", json!("2")),
        with("userData", json!("x".repeat(256))),
        with("userData", json!("x".repeat(257))),
        with("userData", json!("")),
        with("userData", json!("用户")),
        with("preTone", json!("t".repeat(128))),
        with("preTone", json!("t".repeat(129))),
        with("posTone", json!("")),
        with("displayNbr", json!("0755")),
        with("idempotencyKey", json!("k".repeat(128))),
        with("idempotencyKey", json!("k".repeat(129))),
        with("idempotencyKey", json!("a\tb")),
        with("verificationId", json!("signup:42.a_b-c")),
        with("verificationId", json!("v".repeat(128))),
        with("verificationId", json!("v".repeat(129))),
        with("verificationId", json!("has space")),
        with("verfyCode", json!("123")),
        json!("not an object"),
    ];
    agree("trigger-verification-call.request.schema.json", trigger_accepts, &cases);
}

#[test]
fn the_outcome_request_schema_accepts_what_get_call_outcome_accepts() {
    let schema = "get-call-outcome.request.schema.json";
    let max_wait = voice_core::outcome::read::MAX_WAIT.as_millis() as u64;
    let cases = [
        json!({"sessionId": "s".repeat(256), "waitForFinalMs": max_wait}),
        json!({"sessionId": "s".repeat(257)}),
        json!({"sessionId": ""}),
        json!({"sessionId": "a\u{7}b"}),
        json!({"idempotencyKey": "k".repeat(128)}),
        json!({"idempotencyKey": "k".repeat(129)}),
        json!({"sessionId": "s", "waitForFinalMs": max_wait + 1}),
        json!({"sessionId": "s", "waitForFinalMs": -1}),
        json!({"sessionId": "s", "idempotencyKey": "k"}),
        json!({"sessionId": "s", "idempotencyKey": null}),
        json!({"sessionId": null, "idempotencyKey": null}),
        json!({}),
        json!({"sessionId": "s", "extra": 1}),
        json!({"sessionId": 1}),
        json!(["s"]),
    ];
    agree(schema, |event| OutcomeRequest::parse(event.clone()).is_ok(), &cases);
}

#[test]
fn the_check_request_schema_accepts_what_check_verification_accepts() {
    let cases = [
        json!({"verificationId": "v-1", "code": "482913"}),
        json!({"verificationId": "v-1", "code": "12"}),
        json!({"verificationId": "v-1", "code": "1"}),
        json!({"verificationId": "v-1", "code": "123456789"}),
        json!({"verificationId": "v-1", "code": "48a913"}),
        json!({"verificationId": "v-1", "code": 482913}),
        json!({"verificationId": "v-1", "verified": true}),
        json!({"verificationId": "v-1", "verified": false}),
        json!({"verificationId": "v-1", "cancel": true}),
        json!({"verificationId": "v-1", "cancel": true, "code": null}),
        json!({"verificationId": "v-1", "code": "482913", "cancel": true}),
        json!({"verificationId": "v-1"}),
        json!({"verificationId": "v 1", "code": "482913"}),
        json!({"verificationId": null, "code": "482913"}),
        json!({"code": "482913"}),
        json!({"verificationId": "v-1", "code": "482913", "extra": 1}),
        json!(["v-1"]),
    ];
    agree("check-verification.request.schema.json", |e| CheckRequest::from_event(e.clone()).is_ok(), &cases);
}

/// A call with every field an outcome can have: call record, events, a bill with a cause.
fn full_call() -> Vec<StoredRecord> {
    vec![
        record(
            "call",
            "call",
            json!({"requestedAt": "2026-11-21T03:04:23Z", "calleeMasked": "+86138****0001",
            "idempotencyKey": "k", "userData": "u"}),
        ),
        record("event#callout", "event", json!({"eventType": "callout", "eventAt": "2026-11-21T03:04:24Z"})),
        record("event#alerting", "event", json!({"eventType": "alerting", "eventAt": "2026-11-21T03:04:27Z"})),
        record("event#answer", "event", json!({"eventType": "answer", "eventAt": "2026-11-21T03:04:29Z"})),
        record(
            "event#disconnect",
            "event",
            json!({"eventType": "disconnect", "eventAt": "2026-11-21T03:04:40Z",
            "stateCode": 8105, "stateDesc": "d"}),
        ),
        record(
            "cdr#1",
            "cdr",
            json!({"callOutStartTime": "2026-11-21 03:04:24", "callOutAlertingTime": "2026-11-21 03:04:27",
            "callOutAnswerTime": "", "callEndTime": "2026-11-21 03:04:40", "callOutUnaswRsn": 21, "ulFailReason": 518,
            "sipStatusCode": 603}),
        ),
    ]
}

#[test]
fn the_call_outcome_schema_names_exactly_what_the_code_writes() {
    let text = std::fs::read_to_string(workspace_root().join("docs/schemas/get-call-outcome.answer.schema.json"));
    let schema: Value = serde_json::from_str(&text.expect("schema")).expect("JSON");
    let mut outcome = serde_json::to_value(fold(&sid(SESSION), &full_call())).unwrap();
    // The one field this call cannot have beside `ringSeconds`: a talk time (it was not answered).
    outcome["talkSeconds"] = json!(0);
    outcome["answeredAt"] = json!("2026-11-21T03:04:29Z");
    contract::check_answer("get-call-outcome", &outcome);
    assert_eq!(keys(&schema["properties"]), keys(&outcome), "top-level fields");
    assert_eq!(keys(&schema["$defs"]["Cause"]["properties"]), keys(&outcome["cause"]));
    assert_eq!(keys(&schema["$defs"]["ProviderCodes"]["properties"]), keys(&outcome["provider"]));

    let minimal = serde_json::to_value(fold(&sid(SESSION), &[])).unwrap();
    let mut always: BTreeSet<String> = keys(&minimal);
    always.remove("sessionId"); // absent for an undecidable idempotency key
    let required: BTreeSet<String> =
        schema["required"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_owned)).collect();
    assert_eq!(required, always, "required = what even an empty call has");

    for status in CallStatus::ALL {
        let mut changed = outcome.clone();
        changed["status"] = json!(status.as_str());
        contract::check_answer("get-call-outcome", &changed);
    }
    // A field the code does not write, a null, a wrong type: refused.
    for (field, value) in [("extra", json!(1)), ("cause", Value::Null), ("version", json!(-1)), ("endedAt", json!("x"))]
    {
        let mut broken = outcome.clone();
        broken[field] = value;
        assert!(!is_valid("get-call-outcome.answer.schema.json", &broken), "{field} accepted");
    }
}

#[test]
fn folded_outcomes_are_valid_answers_and_event_details() {
    let calls = [full_call(), full_call()[..2].to_vec(), vec![], full_call()[..5].to_vec()];
    for (n, records) in calls.into_iter().enumerate() {
        let outcome = serde_json::to_value(fold(&sid(SESSION), &records)).unwrap();
        contract::check_answer("get-call-outcome", &outcome);
        let mut detail = outcome.clone();
        detail["outcomeId"] = json!(format!("{SESSION}#{n}"));
        check("call-outcome-changed.detail.schema.json", &detail);
    }
}

/// The invoke examples in tests/integration/fixtures/invoke/: `<function>.<request|answer|error>.<case>.json`,
/// each valid against the schema its name names; `invalid-<function>.request.<case>.json` refused by it. And the
/// event `make run` invokes the trigger with.
#[test]
fn every_invoke_fixture_is_valid_against_its_schema() {
    let dir = workspace_root().join("tests/integration/fixtures/invoke");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("fixtures/invoke") {
        let path = entry.expect("an entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).expect("a name").to_owned();
        let value: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("JSON");
        let (valid, rest) = match name.strip_prefix("invalid-") {
            Some(rest) => (false, rest),
            None => (true, name.as_str()),
        };
        let mut parts = rest.splitn(3, '.');
        let (function, part) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let schema = match function {
            "event" => format!("{part}.event.schema.json"),
            _ => format!("{function}.{part}.schema.json"),
        };
        match valid {
            true => check(&schema, &value),
            false => assert!(!is_valid(&schema, &value), "{name} is valid against {schema}"),
        }
        if function == "event" {
            contract::check_event(&value);
        }
        seen += 1;
    }
    assert!(seen >= 10, "the invoke fixtures are there ({seen})");
    let demo = std::fs::read_to_string(workspace_root().join("scripts/demo-call.json")).expect("demo call");
    check("trigger-verification-call.request.schema.json", &serde_json::from_str(&demo).expect("JSON"));
}
