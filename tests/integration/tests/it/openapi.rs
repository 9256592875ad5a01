//! `docs/openapi.yaml` kept in sync with the code: every route the spec lists is routed (watch router, SAM
//! template), every status and error code it documents is produced by the handler for a representative request
//! (and nothing else is), every `CallbackError` code is documented under its status, the spec's limits are the
//! code's, and every example payload (each one a Huawei fixture) is accepted with `200`, in memory and on
//! DynamoDB Local.

use std::collections::BTreeSet;

use integration_tests::events::{request, Envelope};
use integration_tests::{callback_config, dynamo_callback_service, fixture, workspace_root};
use lambda_http::{Body, Response};
use serde_json::Value;
use voice_core::adapters::MemoryStore;
use voice_core::auth::{SignatureMode, SignatureRejection};
use voice_core::callbacks::service::MAX_RECORD_BYTES;
use voice_core::callbacks::{
    CallbackError, CallbackService, Endpoint, HealthProbe, HEALTH_PATH, HEALTH_TOKEN_ROUTE, MAX_BODY_BYTES,
};
use voice_core::huawei::notification::{MAX_CDRS_PER_PUSH, MAX_ICID_LEN, MAX_SESSION_ID_LEN};
use voice_core::huawei::sms::MAX_SMS_IDENTIFIER_LEN;
use voice_core::huawei::{CallEventKind, PayloadError};
use voice_core::storage::RecordStore;

const TOKEN: &str = "tok-1";

/// The routes: spec path, the handler's endpoint, the function serving it.
const ROUTES: [(&str, Endpoint, &str); 3] = [
    ("/voice/status/{token}", Endpoint::Voice, "status-callback"),
    ("/voice/fee/{token}", Endpoint::Voice, "fee-callback"),
    ("/privacy-number/sms/{token}", Endpoint::Sms, "sms-callback"),
];

fn spec() -> Value {
    let text = std::fs::read_to_string(workspace_root().join("docs/openapi.yaml")).expect("docs/openapi.yaml");
    serde_yaml_ng::from_str(&text).expect("docs/openapi.yaml is YAML")
}

/// Follows a local `$ref`.
fn resolve<'a>(spec: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let target = spec.pointer(reference.trim_start_matches('#')).unwrap_or_else(|| panic!("{reference}"));
            resolve(spec, target)
        }
        None => value,
    }
}

fn operation<'a>(spec: &'a Value, path: &str) -> &'a Value {
    &spec["paths"][path]["post"]
}

fn strings(value: &Value) -> BTreeSet<String> {
    value.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect()
}

/// The error codes a documented error response allows: the intersection of the `error` enums of its schema.
fn error_codes(spec: &Value, response: &Value) -> BTreeSet<String> {
    let schema = resolve(spec, &resolve(spec, response)["content"]["application/json"]["schema"]);
    let parts: Vec<&Value> = match schema.get("allOf").and_then(Value::as_array) {
        Some(all) => all.iter().map(|part| resolve(spec, part)).collect(),
        None => vec![schema],
    };
    parts
        .iter()
        .filter_map(|part| part["properties"]["error"].get("enum"))
        .map(strings)
        .reduce(|a, b| a.intersection(&b).cloned().collect())
        .unwrap_or_default()
}

/// Every (status, error code) the spec documents for a route; 200 as (200, "").
fn documented(spec: &Value, path: &str) -> BTreeSet<(u16, String)> {
    let responses = operation(spec, path)["responses"].as_object().expect("responses");
    let mut pairs = BTreeSet::new();
    for (status, response) in responses {
        let status: u16 = status.parse().expect("numeric status");
        match status {
            200 => {
                pairs.insert((200, String::new()));
            }
            _ => {
                let codes = error_codes(spec, response);
                assert!(!codes.is_empty(), "{path} {status}: no error codes documented");
                pairs.extend(codes.into_iter().map(|code| (status, code)));
            }
        }
    }
    pairs
}

/// Every error the handler can answer. The matches are exhaustive on purpose: a new variant does not compile
/// until it is listed here, and then this test asks for it in the spec.
fn every_callback_error() -> Vec<CallbackError> {
    let payload_errors = [
        PayloadError::InvalidJson(String::new()),
        PayloadError::NotAnObject,
        PayloadError::MissingField("sessionId"),
        PayloadError::InvalidField { field: "sessionId", reason: String::new() },
        PayloadError::FeeListSize { got: 0, max: MAX_CDRS_PER_PUSH },
    ];
    for error in &payload_errors {
        match error {
            PayloadError::InvalidJson(_)
            | PayloadError::NotAnObject
            | PayloadError::MissingField(_)
            | PayloadError::InvalidField { .. }
            | PayloadError::FeeListSize { .. } => {}
        }
    }
    let mut errors = vec![
        CallbackError::MethodNotAllowed,
        CallbackError::PayloadTooLarge,
        CallbackError::RecordTooLarge,
        CallbackError::UnknownToken,
        CallbackError::BadSignature(SignatureRejection::Missing),
        CallbackError::StorageFailed { failed: 1, total: 1 },
    ];
    errors.extend(payload_errors.into_iter().map(CallbackError::InvalidPayload));
    for error in &errors {
        match error {
            CallbackError::MethodNotAllowed
            | CallbackError::PayloadTooLarge
            | CallbackError::RecordTooLarge
            | CallbackError::UnknownToken
            | CallbackError::BadSignature(_)
            | CallbackError::InvalidPayload(_)
            | CallbackError::StorageFailed { .. } => {}
        }
    }
    errors
}

fn examples(spec: &Value, path: &str) -> Vec<(String, String, Value)> {
    let examples = operation(spec, path)["requestBody"]["content"]["application/json"]["examples"]
        .as_object()
        .unwrap_or_else(|| panic!("{path}: no examples"));
    examples
        .iter()
        .map(|(name, example)| {
            let fixture_name = example["x-fixture"].as_str().unwrap_or_else(|| panic!("{name}: x-fixture"));
            (name.clone(), fixture_name.to_owned(), example["value"].clone())
        })
        .collect()
}

struct Answered {
    status: u16,
    content_type: Option<String>,
    allow: Option<String>,
    body: String,
}

async fn send<S: RecordStore + HealthProbe>(
    service: &CallbackService<S>,
    endpoint: Endpoint,
    method: &str,
    path: &str,
    body: &[u8],
) -> Answered {
    let response: Response<Body> =
        voice_core::edge::http::answer(service, endpoint, request(Envelope::HttpApi, method, path, body, true))
            .await
            .expect("answer never fails");
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = match response.body() {
        Body::Empty => String::new(),
        Body::Text(text) => text.clone(),
        Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        _ => "<other body>".into(),
    };
    Answered { status: response.status().as_u16(), content_type: header("content-type"), allow: header("allow"), body }
}

fn memory_service(mode: SignatureMode) -> CallbackService<MemoryStore> {
    CallbackService::new(MemoryStore::default(), callback_config(TOKEN, mode))
}

fn concrete(path: &str, token: &str) -> String {
    path.replace("{token}", token)
}

/// A request that must get `(status, code)` on `path`; `None` if this test knows none (then the spec documents
/// something the test cannot show, and it fails).
async fn produce(spec: &Value, path: &str, endpoint: Endpoint, status: u16, code: &str) -> Option<Answered> {
    let example = serde_json::to_vec(&examples(spec, path)[0].2).unwrap();
    let ok_path = concrete(path, TOKEN);
    let (service, method, path, body): (_, _, String, Vec<u8>) = match (status, code) {
        (200, "") => (memory_service(SignatureMode::Log), "POST", ok_path, example),
        (400, "invalid_json") => (memory_service(SignatureMode::Log), "POST", ok_path, b"{".to_vec()),
        (400, "not_an_object") => (memory_service(SignatureMode::Log), "POST", ok_path, b"[]".to_vec()),
        (400, "missing_field") => (memory_service(SignatureMode::Log), "POST", ok_path, b"{}".to_vec()),
        (400, "invalid_field") => {
            (memory_service(SignatureMode::Log), "POST", ok_path, br#"{"eventType":7,"smsEvent":7}"#.to_vec())
        }
        (400, "fee_list_size") => {
            (memory_service(SignatureMode::Log), "POST", ok_path, br#"{"eventType":"fee","feeLst":[]}"#.to_vec())
        }
        (401, "unauthorized") => (memory_service(SignatureMode::Log), "POST", concrete(path, "forged"), example),
        (401, "bad_signature") => (memory_service(SignatureMode::Enforce), "POST", ok_path, example),
        (405, "method_not_allowed") => (memory_service(SignatureMode::Log), "GET", ok_path, example),
        (413, "payload_too_large") => {
            (memory_service(SignatureMode::Log), "POST", ok_path, vec![b' '; MAX_BODY_BYTES + 1])
        }
        (503, "storage_unavailable") => {
            let service = memory_service(SignatureMode::Log);
            service.store().set_unavailable(true);
            (service, "POST", ok_path, example)
        }
        _ => return None,
    };
    let answered = send(&service, endpoint, method, &path, &body).await;
    if status != 200 {
        assert!(service.store().records().is_empty(), "{path} {status} {code} wrote something");
    }
    Some(answered)
}

#[tokio::test]
async fn every_documented_answer_is_produced_by_the_handler_and_matches_its_description() {
    let spec = spec();
    for (path, endpoint, _) in ROUTES {
        let responses = &operation(&spec, path)["responses"];
        for (status, code) in documented(&spec, path) {
            let answered = produce(&spec, path, endpoint, status, &code)
                .await
                .unwrap_or_else(|| panic!("{path}: spec documents {status} {code:?}, which this test cannot produce"));
            assert_eq!(answered.status, status, "{path} {code}: {}", answered.body);
            let response = resolve(&spec, &responses[status.to_string()]);
            match response.get("content") {
                None => assert_eq!(answered.body, "", "{path} {status}: documented without a body"),
                Some(content) => {
                    assert!(
                        answered.content_type.as_deref().is_some_and(|t| t.starts_with("application/json")),
                        "{path} {status}: content type {:?}",
                        answered.content_type
                    );
                    let body: Value = serde_json::from_str(&answered.body).expect("a JSON body");
                    let schema = resolve(&spec, &content["application/json"]["schema"]);
                    if status == 200 {
                        // FeeAck: each property is a one-value enum, and no others are allowed.
                        let properties = schema["properties"].as_object().unwrap();
                        assert_eq!(body.as_object().unwrap().len(), properties.len(), "{path}: {body}");
                        for (name, property) in properties {
                            assert!(
                                strings(&property["enum"]).contains(body[name].as_str().unwrap()),
                                "{path}: {body}"
                            );
                        }
                    } else {
                        let object = body.as_object().expect("error object");
                        let keys: BTreeSet<&str> = object.keys().map(String::as_str).collect();
                        assert_eq!(keys, BTreeSet::from(["error", "message"]), "{path} {status}");
                        assert_eq!(body["error"], code.as_str(), "{path} {status}");
                        assert!(body["message"].is_string());
                    }
                }
            }
            let allow = resolve(&spec, response).pointer("/headers/Allow/schema/enum").map(strings);
            assert_eq!(answered.allow.map(|a| BTreeSet::from([a])), allow, "{path} {status}: Allow header");
        }
    }
}

#[test]
fn every_error_the_code_gives_is_documented_under_its_status() {
    let spec = spec();
    let all_codes = strings(&spec["components"]["schemas"]["Error"]["properties"]["error"]["enum"]);
    let mut code_side = BTreeSet::new();
    for error in every_callback_error() {
        code_side.insert(error.code().to_owned());
        // Refusals decided before the body is read (method, token, size, signature, storage) apply to every route.
        let everywhere = !matches!(error, CallbackError::InvalidPayload(_));
        for (path, endpoint, _) in ROUTES {
            let documented = documented(&spec, path);
            // The SMS route refuses only a body with nothing to keep (docs/operations.md, "Hostile input").
            let applies = everywhere
                || endpoint == Endpoint::Voice
                || matches!(
                    error,
                    CallbackError::InvalidPayload(
                        PayloadError::InvalidJson(_) | PayloadError::NotAnObject | PayloadError::MissingField(_)
                    )
                );
            if applies {
                assert!(
                    documented.contains(&(error.status(), error.code().to_owned())),
                    "{path}: {} {} is not documented",
                    error.status(),
                    error.code()
                );
            }
        }
    }
    assert_eq!(all_codes, code_side, "the Error schema's enum is exactly the codes CallbackError gives");
}

#[test]
fn routes_and_limits_in_the_spec_are_the_codes() {
    let spec = spec();
    let paths: BTreeSet<&str> = spec["paths"].as_object().unwrap().keys().map(String::as_str).collect();
    let mut routes: BTreeSet<&str> = ROUTES.iter().map(|r| r.0).collect();
    routes.insert(HEALTH_PATH);
    assert_eq!(paths, routes, "documented routes");
    let cargo_toml = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
    let template = std::fs::read_to_string(workspace_root().join("infra/template.yaml")).unwrap();
    let memory = format!("MemorySize: {}\n", integration_tests::measure::TEMPLATE_MEMORY_MB);
    assert_eq!(template.matches("MemorySize:").count(), 2, "one MemorySize in Globals, one of get-call-outcome's own");
    assert!(
        template.contains(&format!("\n    {memory}")),
        "the bench measures at Globals' {memory}: not the template's Globals"
    );
    let outcome = &template[template.find("\n  GetCallOutcomeFunction:\n").expect("the function")..];
    let outcome = &outcome[..outcome.find("\n  GetCallOutcomeInvokePermission:").expect("the next resource")];
    let outcome_mb = integration_tests::measure::OUTCOME_MEMORY_MB;
    assert!(
        outcome.contains(&format!("      MemorySize: {outcome_mb}\n")),
        "the bench prices get-call-outcome at {outcome_mb} MB: not the template's size for it"
    );
    let health_methods: Vec<&String> = spec["paths"][HEALTH_PATH].as_object().unwrap().keys().collect();
    assert_eq!(health_methods, ["get"], "the health check is a GET");
    assert!(cargo_toml.contains(&format!("\"{HEALTH_PATH}\" = \"status-callback\"")), "health: watch router");
    // Deployed, the health route carries HEALTH_CHECK_TOKEN (the bare path is the tokenless local one).
    assert!(cargo_toml.contains(&format!("\"{HEALTH_TOKEN_ROUTE}\" = \"status-callback\"")), "health: watch router");
    assert!(template.contains(&format!("Path: {HEALTH_TOKEN_ROUTE}\n")), "health: not a route of infra/template.yaml");
    assert!(
        !template.contains(&format!("Path: {HEALTH_PATH}\n")),
        "health: the bare path is a route of infra/template.yaml"
    );
    for (path, _, function) in ROUTES {
        let methods: Vec<&String> = spec["paths"][path].as_object().unwrap().keys().collect();
        assert_eq!(methods, ["post"], "{path}: only POST is an operation");
        assert!(cargo_toml.contains(&format!("\"{path}\" = \"{function}\"")), "{path}: not in the watch router");
        assert!(template.contains(&format!("Path: {path}")), "{path}: not a route of infra/template.yaml");
    }
    let schemas = &spec["components"]["schemas"];
    assert_eq!(schemas["FeePush"]["properties"]["feeLst"]["minItems"], 1);
    assert_eq!(schemas["FeePush"]["properties"]["feeLst"]["maxItems"], MAX_CDRS_PER_PUSH);
    assert!(schemas["SessionId"]["pattern"].as_str().unwrap().ends_with(&format!("{{1,{MAX_SESSION_ID_LEN}}}$")));
    assert_eq!(schemas["SmsEvent"]["properties"]["smsIdentifier"]["maxLength"], MAX_SMS_IDENTIFIER_LEN);
    assert_eq!(
        strings(&schemas["SmsEvent"]["required"]),
        BTreeSet::from(["smsIdentifier".into(), "notificationMode".into()])
    );
    for required in ["StatusInfo", "Cdr"] {
        assert_eq!(strings(&schemas[required]["required"]), BTreeSet::from(["sessionId".to_owned()]), "{required}");
    }
    for kind in CallEventKind::ALL {
        match kind {
            CallEventKind::Callin
            | CallEventKind::Callout
            | CallEventKind::Alerting
            | CallEventKind::Answer
            | CallEventKind::CollectInfo
            | CallEventKind::Disconnect => {}
        }
    }
    assert_eq!(
        strings(&schemas["StatusEvent"]["properties"]["eventType"]["enum"]),
        CallEventKind::ALL.iter().map(|k| k.as_wire().to_owned()).collect(),
        "known event types"
    );
    let too_large = spec["components"]["responses"]["PayloadTooLarge"]["description"].as_str().unwrap();
    assert!(too_large.contains(&format!("{} KiB", MAX_BODY_BYTES / 1024)), "{too_large}");
    assert!(too_large.contains(&format!("{} KB", MAX_RECORD_BYTES / 1024)), "{too_large}");
    assert_eq!(schemas["Cdr"]["properties"]["icid"]["maxLength"], MAX_ICID_LEN);
}

/// Every callback fixture is an example of the spec, unchanged, and every example is accepted with 200: in
/// memory and on DynamoDB Local.
#[tokio::test]
async fn every_example_is_a_fixture_and_is_accepted() {
    let spec = spec();
    let mut used = BTreeSet::new();
    let dynamo = dynamo_callback_service(TOKEN, SignatureMode::Log).await;
    for (path, endpoint, _) in ROUTES {
        for (name, fixture_name, value) in examples(&spec, path) {
            let from_fixture: Value = serde_json::from_str(&fixture(&fixture_name)).unwrap();
            assert_eq!(value, from_fixture, "{path} example {name} differs from fixtures/{fixture_name}");
            used.insert(fixture_name.clone());
            let body = fixture(&fixture_name);
            let expected_body = match operation(&spec, path)["responses"]["200"].get("content") {
                Some(_) => r#"{"resultcode":"0","resultdesc":"Success"}"#,
                None => "",
            };
            let memory = memory_service(SignatureMode::Log);
            let answered = send(&memory, endpoint, "POST", &concrete(path, TOKEN), body.as_bytes()).await;
            assert_eq!((answered.status, answered.body.as_str()), (200, expected_body), "{path} {name}");
            let before = dynamo.store().all_records().await.unwrap().len();
            let answered = send(&dynamo, endpoint, "POST", &concrete(path, TOKEN), body.as_bytes()).await;
            assert_eq!((answered.status, answered.body.as_str()), (200, expected_body), "{path} {name} (DynamoDB)");
            // Some fixtures are the same notification (same keys): stored once.
            assert!(dynamo.store().all_records().await.unwrap().len() >= before.max(1), "{path} {name}: stored");
        }
    }
    let mut callback_fixtures = BTreeSet::new();
    for folder in ["huawei", "edge-cases"] {
        let dir = workspace_root().join("tests/integration/fixtures").join(folder);
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".json") && !name.starts_with("callverify-") {
                callback_fixtures.insert(format!("{folder}/{name}"));
            }
        }
    }
    assert_eq!(used, callback_fixtures, "every callback fixture is an example of the spec");
}

#[tokio::test]
async fn the_health_check_answers_as_documented() {
    let spec = spec();
    let responses = &spec["paths"][HEALTH_PATH]["get"]["responses"];
    let service = memory_service(SignatureMode::Enforce);
    for (available, status) in [(true, 200), (false, 503)] {
        service.store().set_unavailable(!available);
        let answered = send(&service, Endpoint::Voice, "GET", HEALTH_PATH, b"").await;
        let documented = &responses[status.to_string()]["content"]["application/json"]["example"];
        assert_eq!(answered.status, status, "GET /health with the store {}", if available { "up" } else { "down" });
        let body: Value = serde_json::from_str(&answered.body).expect("JSON");
        assert_eq!(&body, documented, "GET /health {status}: the documented example");
    }
}
