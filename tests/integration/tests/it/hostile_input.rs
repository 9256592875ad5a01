//! Hostile input the other handler tests do not already cover (GitHub issue 5, item 4), against DynamoDB Local:
//! each case gets its documented answer, a refusal writes nothing, and an accepted push is stored exactly once.
//! The hostile-input table of docs/architecture.md points here, at `callbacks_dynamodb.rs`
//! (`bad_input_gets_a_clear_answer_and_writes_nothing`) and at `signatures.rs`.

use integration_tests::events::{event_json, into_request, Envelope};
use integration_tests::{dynamo_callback_service, fixture};
use lambda_http::Body;
use serde_json::{json, Value};
use voice_core::adapters::DynamoStore;
use voice_core::auth::SignatureMode;
use voice_core::callbacks::{CallbackService, Endpoint, MAX_BODY_BYTES};

type Service = CallbackService<DynamoStore>;

const VOICE: &str = "/voice/status/tok-1";
const SMS: &str = "/privacy-number/sms/tok-1";

async fn service() -> Service {
    dynamo_callback_service("tok-1", SignatureMode::Log).await
}
async fn send(
    service: &Service,
    endpoint: Endpoint,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let event = into_request(event_json(Envelope::HttpApi, "POST", path, body, true, headers));
    let response = voice_core::edge::http::answer(service, endpoint, event).await.expect("answer never fails");
    let text = match response.body() {
        Body::Empty => String::new(),
        Body::Text(text) => text.clone(),
        Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        _ => "<other body>".into(),
    };
    (response.status().as_u16(), text)
}

fn nested(depth: usize, leaf: &str) -> String {
    format!("{}{leaf}{}", "[".repeat(depth), "]".repeat(depth))
}

fn status_event(session_id: &str, extra_info: &str) -> String {
    format!(r#"{{"eventType":"callout","statusInfo":{{"sessionId":{}{extra_info}}}}}"#, json!(session_id))
}

fn sms_with_ext_value(identifier: &str, value: &str) -> String {
    format!(
        r#"{{"smsEvent":{{"smsIdentifier":"{identifier}","notificationMode":"Notify","extInfo":{{"extParas":[{{"key":"k","value":{value}}}]}}}}}}"#
    )
}

fn cdr_push(cdr_extra: &str) -> String {
    format!(r#"{{"eventType":"fee","feeLst":[{{"sessionId":"cdr-1","icid":"i-1"{cdr_extra}}}]}}"#)
}

/// Refused with `status` and `code`, and nothing written.
async fn assert_refused(service: &Service, what: &str, endpoint: Endpoint, body: &str, status: u16, code: &str) {
    let (got, answer) =
        send(service, endpoint, if endpoint == Endpoint::Sms { SMS } else { VOICE }, &[], body.as_bytes()).await;
    assert_eq!(got, status, "{what}: {answer}");
    let error: Value = serde_json::from_str(&answer).unwrap_or_else(|_| panic!("{what}: JSON error body: {answer}"));
    assert_eq!(error["error"], code, "{what}: {answer}");
    assert!(error["message"].is_string(), "{what}");
    assert!(service.store().all_records().await.unwrap().is_empty(), "{what}: a refusal wrote something");
}

/// Accepted with 200 and kept whole once in a quarantine record (its raw the element `kept`), even when
/// delivered twice.
async fn assert_quarantined(service: &Service, what: &str, endpoint: Endpoint, body: &str, kept: &str) {
    let path = if endpoint == Endpoint::Sms { SMS } else { VOICE };
    let quarantine = |records: Vec<Value>| -> Vec<Value> {
        records.into_iter().filter(|r| r["kind"] == "quarantine" && r["raw"] == kept).collect()
    };
    for delivery in 1..=2 {
        let (status, answer) = send(service, endpoint, path, &[], body.as_bytes()).await;
        assert_eq!(status, 200, "{what}, delivery {delivery}: {answer}");
        let kept = quarantine(service.store().all_records().await.unwrap());
        assert_eq!(kept.len(), 1, "{what}, delivery {delivery}: one quarantine record");
        assert!(kept[0]["pk"].as_str().is_some_and(|pk| pk.starts_with("quarantine#")), "{what}: {:?}", kept[0]["pk"]);
    }
}

/// Accepted with 200 and stored once under `pk`, even when delivered twice.
async fn assert_stored_once(
    service: &Service,
    what: &str,
    endpoint: Endpoint,
    headers: &[(&str, &str)],
    body: &str,
    pk: &str,
) {
    let path = if endpoint == Endpoint::Sms { SMS } else { VOICE };
    for delivery in 1..=2 {
        let (status, answer) = send(service, endpoint, path, headers, body.as_bytes()).await;
        assert_eq!(status, 200, "{what} (delivery {delivery}): {answer}");
    }
    assert_eq!(service.store().records_of(pk).await.unwrap().len(), 1, "{what}: stored exactly once");
}

#[tokio::test]
async fn json_nested_beyond_the_parsers_depth_limit_is_refused() {
    let service = service().await;
    // serde_json stops at 128 levels: a clean 400, no stack overflow, nothing stored.
    let deep = status_event("deep-1", &format!(r#","x":{}"#, nested(10_000, "0")));
    assert_refused(&service, "10 000 levels in a status event", Endpoint::Voice, &deep, 400, "invalid_json").await;
    let deep_sms = sms_with_ext_value("deep-sms", &nested(200, "0"));
    assert_refused(&service, "200 levels in an SMS", Endpoint::Sms, &deep_sms, 400, "invalid_json").await;
}

#[tokio::test]
async fn json_nested_within_the_parsers_limit_is_stored() {
    let service = service().await;
    // 100 levels in an unknown field: kept in `raw` only.
    let body = status_event("nested-1", &format!(r#","x":{}"#, nested(100, r#"{"a":"b"}"#)));
    assert_stored_once(&service, "100 levels in an unknown field", Endpoint::Voice, &[], &body, "nested-1").await;
    // 60 levels in an SMS extParas value, beyond DynamoDB's 32 nesting levels for a typed attribute: the value is
    // kept as its JSON text.
    let body = sms_with_ext_value("nested-sms", &nested(60, r#""v""#));
    assert_stored_once(&service, "60 levels in SMS extParas", Endpoint::Sms, &[], &body, "sms#nested-sms").await;
    let record = &service.store().records_of("sms#nested-sms").await.unwrap()[0];
    assert_eq!(record["extInfo"]["k"], nested(60, r#""v""#), "kept as text");
}

#[tokio::test]
async fn sms_ext_paras_dynamodb_cannot_hold_as_typed_attributes_are_stored() {
    let service = service().await;
    for (what, value, identifier) in [
        ("1e300", "1e300", "big-1"),
        ("a 50-digit integer", "12345678901234567890123456789012345678901234567890", "big-2"),
        ("1e-300", "1e-300", "big-3"),
    ] {
        let body = sms_with_ext_value(identifier, value);
        assert_stored_once(&service, what, Endpoint::Sms, &[], &body, &format!("sms#{identifier}")).await;
    }
    let empty_key = r#"{"smsEvent":{"smsIdentifier":"empty-key","notificationMode":"Notify","extInfo":{"extParas":[{"key":"","value":"x"}]}}}"#;
    assert_stored_once(&service, "an empty extParas key", Endpoint::Sms, &[], empty_key, "sms#empty-key").await;
    let long_key = format!(
        r#"{{"smsEvent":{{"smsIdentifier":"long-key","notificationMode":"Notify","extInfo":{{"extParas":{{"{}":"x"}}}}}}}}"#,
        "k".repeat(70_000)
    );
    assert_stored_once(&service, "a 70 KB extParas key", Endpoint::Sms, &[], &long_key, "sms#long-key").await;
}

#[tokio::test]
async fn huge_strings_under_the_body_limit() {
    let service = service().await;
    // 150 KB in one typed field: the record holds it twice (typed field and raw), 300 KB, within DynamoDB's
    // 400 KB item limit.
    let big = "u".repeat(150 * 1024);
    let body = status_event("huge-1", &format!(r#","userData":"{big}""#));
    assert_stored_once(&service, "150 KB userData", Endpoint::Voice, &[], &body, "huge-1").await;
    let body = cdr_push(&format!(r#","userData":"{big}""#));
    assert_stored_once(&service, "150 KB CDR userData", Endpoint::Voice, &[], &body, "cdr-1").await;
    // 220 KB: under the 256 KiB body limit, but twice that cannot be one DynamoDB item. Refused as too large
    // (not a 503 "storage unavailable" that Huawei would re-push six times).
    let service = self::service().await;
    let bigger = "u".repeat(220 * 1024);
    let body = status_event("huge-2", &format!(r#","userData":"{bigger}""#));
    assert!(body.len() <= MAX_BODY_BYTES);
    assert_refused(&service, "220 KB userData", Endpoint::Voice, &body, 413, "payload_too_large").await;
    let body = cdr_push(&format!(r#","userData":"{bigger}""#));
    assert_refused(&service, "220 KB CDR userData", Endpoint::Voice, &body, 413, "payload_too_large").await;
    let body = format!(r#"{{"smsEvent":{{"smsIdentifier":"s","notificationMode":"Notify","smsContent":"{bigger}"}}}}"#);
    assert_refused(&service, "220 KB SMS content", Endpoint::Sms, &body, 413, "payload_too_large").await;
    // 220 KB in an unknown field is kept once (in raw only): fits.
    let body = status_event("huge-3", &format!(r#","unknownField":"{bigger}""#));
    assert_stored_once(&service, "220 KB unknown field", Endpoint::Voice, &[], &body, "huge-3").await;
}

#[tokio::test]
async fn oversized_identifiers_are_quarantined() {
    let service = service().await;
    let ten_kb = "s".repeat(10 * 1024);
    let status = status_event(&ten_kb, "");
    assert_quarantined(&service, "10 KB sessionId", Endpoint::Voice, &status, &status).await;
    let element = format!(r#"{{"sessionId":"{ten_kb}"}}"#);
    let fee = format!(r#"{{"eventType":"fee","feeLst":[{element}]}}"#);
    assert_quarantined(&service, "10 KB CDR sessionId", Endpoint::Voice, &fee, &element).await;
    let unknown = format!(r#"{{"eventType":"hold","sessionId":"{ten_kb}"}}"#);
    assert_quarantined(&service, "10 KB sessionId, unknown event", Endpoint::Voice, &unknown, &unknown).await;
    let sms = format!(r#"{{"smsEvent":{{"smsIdentifier":"{ten_kb}","notificationMode":"Notify"}}}}"#);
    assert_quarantined(&service, "10 KB smsIdentifier", Endpoint::Sms, &sms, &sms).await;
    let long_type = format!(r#"{{"eventType":"{}","sessionId":"s"}}"#, "e".repeat(10 * 1024));
    assert_quarantined(&service, "10 KB eventType", Endpoint::Voice, &long_type, &long_type).await;
    // The icid is part of the CDR's sort key (DynamoDB: at most 1024 bytes).
    let icid_element = format!(r#"{{"icid":"{}","sessionId":"s"}}"#, "i".repeat(2048));
    let icid = format!(r#"{{"eventType":"fee","feeLst":[{icid_element}]}}"#);
    assert_quarantined(&service, "2 KB icid", Endpoint::Voice, &icid, &icid_element).await;
    let records = service.store().all_records().await.unwrap();
    assert!(records.iter().all(|r| r["kind"] == "quarantine"), "nothing stored under a bad key");
}

#[tokio::test]
async fn malformed_identifiers_are_quarantined_and_malformed_numbers_dropped() {
    let service = service().await;
    for (what, body) in [
        ("control character in sessionId", status_event("a\u{7}b", "")),
        ("reserved prefix sms#", status_event("sms#x", "")),
        ("reserved prefix request#", status_event("request#x", "")),
        ("reserved prefix quarantine#", status_event("quarantine#x", "")),
    ] {
        assert_quarantined(&service, what, Endpoint::Voice, &body, &body).await;
    }
    for (what, session_id, extra) in [
        ("stateCode beyond i64", "big", r#","stateCode":99999999999999999999"#),
        ("stateCode as a float", "float", r#","stateCode":1.5"#),
        ("stateCode as a huge digit string", "digits", r#","stateCode":"99999999999999999999""#),
        ("stateCode as a word", "word", r#","stateCode":"busy""#),
    ] {
        assert_stored_once(&service, what, Endpoint::Voice, &[], &status_event(session_id, extra), session_id).await;
        let stored = service.store().records_of(session_id).await.unwrap();
        assert_eq!(stored[0].get("stateCode"), None, "{what}: dropped from the typed attributes");
        assert!(stored[0]["raw"].as_str().is_some_and(|raw| raw.contains("stateCode")), "{what}: kept raw");
    }
    let bom = format!("\u{feff}{}", fixture("huawei/status-callout.json"));
    let fresh = self::service().await;
    assert_refused(&fresh, "UTF-8 byte order mark", Endpoint::Voice, &bom, 400, "invalid_json").await;
    assert_refused(&fresh, "NUL bytes", Endpoint::Voice, "\0\0\0", 400, "invalid_json").await;
}

/// Content-Type is not looked at, by design: Huawei's pushes are JSON whatever the header says, so the body
/// bytes are parsed and the answer depends on them alone.
#[tokio::test]
async fn content_type_is_ignored() {
    let service = service().await;
    let callout = fixture("huawei/status-callout.json");
    let sid = "1201_612_4294967295_20190124030424@callenabler245.huaweicaas.com";
    for content_type in ["text/plain", "application/x-www-form-urlencoded", "application/xml", "", "garbage/;;"] {
        let headers = [("content-type", content_type)];
        assert_stored_once(&service, content_type, Endpoint::Voice, &headers, &callout, sid).await;
    }
    let (status, _) = send(&service, Endpoint::Voice, VOICE, &[("content-type", "application/json")], b"a=1&b=2").await;
    assert_eq!(status, 400, "a form body is still refused as invalid JSON");
}
