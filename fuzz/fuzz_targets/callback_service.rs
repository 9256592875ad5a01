//! The whole answer path of the three callback functions: `voice_core::edge::http::answer` over a `CallbackService`
//! on the in-memory store, with an arbitrary method, path, signature header, body and configuration. It must
//! never panic, and every answer is one of 200/400/401/405/413/503; a refusal is a JSON error and writes nothing.
//!
//! Input layout (so that Huawei fixtures can seed the corpus): byte 0 = flags, byte 1 = method, byte 2 = path;
//! if flag 0x08 is set the signature header is the text up to the first `\n`; the rest is the body.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use lambda_http::Body;
use libfuzzer_sys::fuzz_target;
use voice_core::auth::{CallbackTokens, SignatureMode};
use voice_core::callbacks::{CallbackService, Endpoint};
use voice_core::callbacks::CallbackSettings;
use voice_core::huawei::AppCredentials;
use voice_core::adapters::MemoryStore;

const METHODS: [&str; 9] = ["POST", "GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "post", "BREW"];
const PATHS: [&str; 12] = [
    "/voice/status/tok-1",
    "/voice/fee/tok-1",
    "/privacy-number/sms/tok-2",
    "/voice/status/tok-1/",
    "/tok-1",
    "/voice/status",
    "/voice/status/wrong",
    "/voice/status/TOK-1",
    "/",
    "/voice/status/tok-1%00",
    "/voice/status/tok-1?x=1",
    "/voice/status//tok-1//",
];

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime"))
}

fuzz_target!(|data: &[u8]| {
    let [flags, method, path, rest @ ..] = data else { return };
    let endpoint = if flags & 0x01 == 0 { Endpoint::Voice } else { Endpoint::Sms };
    let signature_mode = match (flags >> 1) & 0x03 {
        0 => SignatureMode::Log,
        1 => SignatureMode::Enforce,
        _ => SignatureMode::Off,
    };
    let (header, body) = match flags & 0x08 {
        0 => (None, rest),
        _ => match rest.iter().position(|&b| b == b'\n') {
            Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
            None => (Some(rest), &[][..]),
        },
    };
    let header_name = if flags & 0x10 == 0 { "x-aksk" } else { "x-wsse" };
    let tokens = if flags & 0x20 == 0 { "tok-1,tok-2" } else { "" };
    let storage_down = flags & 0x40 != 0;
    let config = CallbackSettings {
        record_ttl: Duration::from_secs(86_400),
        tokens: CallbackTokens::parse(tokens).expect("valid tokens"),
        signature_mode,
        store_retry_budget: Duration::ZERO,
        callback_base_url: Some("https://cb.example.com".into()),
        credentials: Some(AppCredentials { app_key: "test-app-key".into(), app_secret: "testAppSecret".into() }),
    };
    let service = CallbackService::new(MemoryStore::default(), config);
    service.store().set_unavailable(storage_down);

    let mut request = http::Request::builder()
        .method(METHODS[*method as usize % METHODS.len()])
        .uri(PATHS[*path as usize % PATHS.len()]);
    if let Some(value) = header.and_then(|h| http::HeaderValue::from_bytes(h).ok()) {
        request = request.header(header_name, value);
    }
    let body = match (body.is_empty(), std::str::from_utf8(body)) {
        (true, _) => Body::Empty,
        (false, Ok(text)) if flags & 0x80 == 0 => Body::Text(text.to_owned()),
        _ => Body::Binary(body.to_vec()),
    };
    let request = request.body(body).expect("valid request parts");

    let response = runtime().block_on(voice_core::edge::http::answer(&service, endpoint, request)).expect("infallible");
    let status = response.status().as_u16();
    assert!([200, 400, 401, 405, 413, 503].contains(&status), "status {status}");
    let stored = service.store().records().len();
    if status == 200 {
        assert!(stored >= 1, "200 without a record");
    } else {
        assert_eq!(stored, 0, "a {status} refusal wrote something");
        let text = match response.body() {
            Body::Text(text) => text.clone(),
            other => panic!("refusal without a JSON body: {other:?}"),
        };
        let error: serde_json::Value = serde_json::from_str(&text).expect("JSON error body");
        assert!(error["error"].is_string() && error["message"].is_string(), "{text}");
        assert_eq!(response.headers().contains_key("allow"), status == 405);
    }
    if storage_down && status == 200 {
        panic!("200 while storage is down");
    }
});
