//! X-AKSK / X-WSSE header values: `UsernameToken::parse` on any text never panics, and the whole signature
//! check (enforce mode, with a URL) on the same header never panics either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voice_core::auth::{SignatureMode, SignatureVerdict, SignatureVerifier};
use voice_core::huawei::AppCredentials;
use voice_core::huawei::signature::{matching_scheme, UsernameToken};

fuzz_target!(|header: &str| {
    if let Ok(token) = UsernameToken::parse(header) {
        let _ = token.to_header_value();
        let _ = matching_scheme(&token, b"testAppSecret", Some("https://cb.example.com/voice/status/t"));
    }
    let credentials = AppCredentials { app_key: "test-app-key".into(), app_secret: "testAppSecret".into() };
    let verifier = SignatureVerifier::new(SignatureMode::Enforce, Some(credentials));
    let verdict =
        verifier.check(Some(header), Some("https://cb.example.com/voice/status/t"), time::OffsetDateTime::now_utc());
    // A fuzzer cannot forge an HMAC: anything it finds verified is a bug.
    assert!(matches!(verdict, SignatureVerdict::Rejected(_)), "{verdict:?}");
});
