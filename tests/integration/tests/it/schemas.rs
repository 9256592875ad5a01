//! docs/schemas/ kept in sync with the code: the schema of `CallOutcome` names exactly the fields the code
//! writes (every optional one shows up in a full outcome), the same required ones, every status and `decidedBy`
//! value, every cause field; the schema of get-call-outcome's event has exactly the fields the code accepts and
//! its limits. Outcomes folded from real record sets are checked against the schema's types.

use std::collections::BTreeSet;

use integration_tests::workspace_root;
use serde_json::{json, Value};
use voice_core::ids::sid;
use voice_core::outcome::{fold, CallStatus, DecidedBy, OutcomeRequest};
use voice_core::records::StoredRecord;

use crate::outcome_properties::{record, SESSION};

fn schema(name: &str) -> Value {
    let path = workspace_root().join("docs/schemas").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("schema file")).expect("schema is JSON")
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
}

fn strings(value: &Value) -> BTreeSet<String> {
    value.as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_owned)).collect()
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
    let schema = schema("call-outcome.schema.json");
    let mut outcome = serde_json::to_value(fold(&sid(SESSION), &full_call())).unwrap();
    // The one field this call cannot have beside `ringSeconds`: a talk time (it was not answered).
    outcome["talkSeconds"] = json!(0);
    outcome["answeredAt"] = json!("2026-11-21T03:04:29Z");
    assert_eq!(keys(&schema["properties"]), keys(&outcome), "top-level fields");
    assert_eq!(keys(&schema["properties"]["cause"]["properties"]), keys(&outcome["cause"]));
    assert_eq!(keys(&schema["properties"]["provider"]["properties"]), keys(&outcome["provider"]));

    let minimal = serde_json::to_value(fold(&sid(SESSION), &[])).unwrap();
    let mut always: BTreeSet<String> = keys(&minimal);
    always.remove("sessionId"); // absent for an undecidable idempotency key
    assert_eq!(strings(&schema["required"]), always, "required = what even an empty call has");

    let statuses: BTreeSet<String> = CallStatus::ALL.iter().map(|s| s.as_str().to_owned()).collect();
    assert_eq!(strings(&schema["properties"]["status"]["enum"]), statuses);
    let decided_by: BTreeSet<String> =
        [DecidedBy::Cdr, DecidedBy::Disconnect, DecidedBy::Progress, DecidedBy::Request, DecidedBy::Closeout]
            .iter()
            .map(|d| serde_json::to_value(d).unwrap().as_str().unwrap().to_owned())
            .collect();
    assert_eq!(strings(&schema["properties"]["decidedBy"]["enum"]), decided_by);
    let fields = strings(&schema["properties"]["cause"]["properties"]["field"]["enum"]);
    assert_eq!(fields, ["callOutUnaswRsn", "sipStatusCode", "stateCode", "ulFailReason"].map(String::from).into());
}

#[test]
fn folded_outcomes_have_the_schema_types() {
    let schema = schema("call-outcome.schema.json");
    let calls = [full_call(), full_call()[..2].to_vec(), vec![], full_call()[..5].to_vec()];
    for records in calls {
        let outcome = serde_json::to_value(fold(&sid(SESSION), &records)).unwrap();
        check_types(&schema, &outcome, "CallOutcome");
    }
}

/// The subset of JSON Schema the two schemas use: type, enum, minimum/maximum, min/maxLength, required,
/// additionalProperties false, nested objects.
fn check_types(schema: &Value, value: &Value, path: &str) {
    if let Some(values) = schema["enum"].as_array() {
        assert!(values.contains(value), "{path}: {value} not in {values:?}");
    }
    match schema["type"].as_str() {
        Some("object") => {
            let object = value.as_object().unwrap_or_else(|| panic!("{path}: not an object: {value}"));
            for required in strings(&schema["required"]) {
                assert!(object.contains_key(&required), "{path}: {required} missing");
            }
            for (name, field) in object {
                let field_schema = &schema["properties"][name];
                assert!(!field_schema.is_null(), "{path}: {name} is not in the schema");
                assert!(!field.is_null(), "{path}: {name} is null (absent values are left out)");
                check_types(field_schema, field, &format!("{path}.{name}"));
            }
        }
        Some("string") => {
            let text = value.as_str().unwrap_or_else(|| panic!("{path}: not a string: {value}"));
            if schema["format"] == "date-time" {
                assert!(
                    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).is_ok(),
                    "{path}: {text}"
                );
            }
        }
        Some("integer") => {
            let n = value.as_i64().unwrap_or_else(|| panic!("{path}: not an integer: {value}"));
            if let Some(min) = schema["minimum"].as_i64() {
                assert!(n >= min, "{path}: {n} < {min}");
            }
        }
        Some("boolean") => assert!(value.is_boolean(), "{path}: not a boolean: {value}"),
        _ => {}
    }
}

#[test]
fn the_request_schema_matches_what_get_call_outcome_accepts() {
    let schema = schema("get-call-outcome-request.schema.json");
    let properties = &schema["properties"];
    assert_eq!(keys(properties), ["idempotencyKey", "sessionId", "waitForFinalMs"].map(String::from).into());
    let max_wait = properties["waitForFinalMs"]["maximum"].as_u64().expect("a maximum");
    assert_eq!(max_wait as u128, voice_core::outcome::read::MAX_WAIT.as_millis());
    let accepts = |event: Value| OutcomeRequest::parse(event).is_ok();
    let session_max = properties["sessionId"]["maxLength"].as_u64().unwrap() as usize;
    let key_max = properties["idempotencyKey"]["maxLength"].as_u64().unwrap() as usize;
    assert!(accepts(json!({"sessionId": "s".repeat(session_max), "waitForFinalMs": max_wait})));
    assert!(!accepts(json!({"sessionId": "s".repeat(session_max + 1)})));
    assert!(accepts(json!({"idempotencyKey": "k".repeat(key_max)})));
    assert!(!accepts(json!({"idempotencyKey": "k".repeat(key_max + 1)})));
    assert!(!accepts(json!({"sessionId": "s", "waitForFinalMs": max_wait + 1})));
    assert!(!accepts(json!({"sessionId": "s", "idempotencyKey": "k"})), "oneOf: not both");
    assert!(!accepts(json!({})), "oneOf: not neither");
    assert!(!accepts(json!({"sessionId": "s", "extra": 1})), "additionalProperties: false");
    assert_eq!(schema["additionalProperties"], false);
}
