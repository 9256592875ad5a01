//! The contract's JSON Schemas (docs/schemas/, `make schemas`) applied to what the tests see: every invoke of an
//! end-to-end test goes through [`invoke`], which validates the request (when the function took it), the answer and
//! the function error against their function's schemas; every event read from the bus goes through
//! [`check_event`], against its envelope's schema, its detail's and the registry's (Draft 4).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use serde_json::{json, Value};
use test_support::{workspace_root, FunctionStack};

/// The validator of `docs/schemas/<name>`, compiled once (the draft is the file's `$schema`; `date-time` formats
/// are checked).
fn validator(name: &str) -> &'static jsonschema::Validator {
    static CACHE: OnceLock<Mutex<HashMap<String, &'static jsonschema::Validator>>> = OnceLock::new();
    let mut cache = CACHE.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    cache.entry(name.to_owned()).or_insert_with(|| {
        let path = workspace_root().join("docs/schemas").join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let schema: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"));
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap_or_else(|e| panic!("{name} is not a valid schema: {e}"));
        Box::leak(Box::new(validator))
    })
}

/// Every way `value` breaks schema `name` (empty: it is valid).
pub fn violations(name: &str, value: &Value) -> Vec<String> {
    validator(name).iter_errors(value).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

pub fn is_valid(name: &str, value: &Value) -> bool {
    validator(name).is_valid(value)
}

/// Panics, naming the schema and every violation, unless `value` is valid.
pub fn check(name: &str, value: &Value) {
    let violations = violations(name, value);
    assert!(violations.is_empty(), "not valid against docs/schemas/{name}: {violations:#?}\n{value:#}");
}

/// The functions app backends invoke, whose requests, answers and errors have schemas.
pub const INVOKED: [&str; 3] = ["trigger-verification-call", "get-call-outcome", "check-verification"];

/// An answer of `function` (one of [`INVOKED`]) against its schema.
pub fn check_answer(function: &str, answer: &Value) {
    check(&format!("{function}.answer.schema.json"), answer);
}

/// Invokes `function` like [`FunctionStack::invoke`], and validates what went and came: an answer against the
/// function's answer schema and its request against the request schema (the function took it, so the schema
/// must), a function error against the error schema (its errorType one of the function's). Functions without a
/// contract (the publisher) pass through.
pub async fn invoke(stack: &FunctionStack, function: &str, event: &Value) -> Result<Value, (String, String)> {
    let (failed, body) = stack.invoke_raw(function, event).await;
    // The operator's `liftBlock` (docs/operations.md, "Lifting a block") is no app backend's request: only its
    // errors are the trigger's.
    let operator_command = event.get("liftBlock").is_some();
    if INVOKED.contains(&function) {
        if failed {
            check(&format!("{function}.error.schema.json"), &body);
        } else if !operator_command {
            check(&format!("{function}.request.schema.json"), event);
            check_answer(function, &body);
        }
    }
    test_support::callback_stack::function_result(failed, body)
}

/// The file stem of a detail type's schemas: `Call Outcome Changed` → `call-outcome-changed`.
pub fn stem(detail_type: &str) -> String {
    detail_type.to_ascii_lowercase().replace(' ', "-")
}

/// An event as a bus target receives it, against its envelope's schema, its detail's and the registry's.
pub fn check_event(envelope: &Value) {
    let detail_type = envelope["detail-type"].as_str().unwrap_or_else(|| panic!("no detail-type: {envelope}"));
    let stem = stem(detail_type);
    check(&format!("{stem}.event.schema.json"), envelope);
    check(&format!("{stem}.detail.schema.json"), &envelope["detail"]);
    check(&format!("registry/{stem}.json"), envelope);
}

/// A function error as the Invoke API answers it.
pub fn error_body(error_type: &str, message: &str) -> Value {
    json!({"errorType": error_type, "errorMessage": message})
}

/// [`invoke`] as a method of the stack, for the end-to-end tests: `stack.invoke_checked(function, &event)`.
pub trait CheckedInvoke {
    fn invoke_checked<'a>(
        &'a self,
        function: &'a str,
        event: &'a Value,
    ) -> impl std::future::Future<Output = Result<Value, (String, String)>> + Send + 'a;
}

impl CheckedInvoke for FunctionStack {
    fn invoke_checked<'a>(
        &'a self,
        function: &'a str,
        event: &'a Value,
    ) -> impl std::future::Future<Output = Result<Value, (String, String)>> + Send + 'a {
        invoke(self, function, event)
    }
}
