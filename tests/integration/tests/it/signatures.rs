//! SIGNATURE_MODE with real storage: `enforce` admits only a valid, fresh, unreplayed X-AKSK/X-WSSE and writes
//! nothing otherwise; `log` never rejects.

use integration_tests::events::{event_json, into_request, Envelope};
use integration_tests::{dynamo_callback_service, fixture};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use voice_core::adapters::DynamoStore;
use voice_core::auth::SignatureMode;
use voice_core::callbacks::{CallbackService, Endpoint};
use voice_core::edge::http::answer;
use voice_core::huawei::signature::{DigestScheme, UsernameToken};

fn signed(scheme: DigestScheme, nonce: &str, created: OffsetDateTime, path: &str) -> String {
    let created = created.format(&Rfc3339).unwrap();
    let url = format!("https://cb.example.com{path}");
    UsernameToken {
        username: "test-app-key".into(),
        password_digest: scheme.digest(b"testAppSecret", nonce, &created, Some(&url)).unwrap(),
        nonce: nonce.into(),
        created,
    }
    .to_header_value()
}

async fn send(service: &CallbackService<DynamoStore>, header: Option<(&str, &str)>, body: &str) -> u16 {
    let path = "/voice/status/tok-1";
    let headers: Vec<(&str, &str)> = header.into_iter().collect();
    let event = into_request(event_json(Envelope::HttpApi, "POST", path, body.as_bytes(), false, &headers));
    answer(service, Endpoint::Voice, event).await.unwrap().status().as_u16()
}

async fn service(mode: SignatureMode) -> CallbackService<DynamoStore> {
    dynamo_callback_service("tok-1", mode).await
}

#[tokio::test]
async fn enforce_admits_valid_signatures_of_every_scheme_and_nothing_else() {
    let service = service(SignatureMode::Enforce).await;
    let now = OffsetDateTime::now_utc();
    let path = "/voice/status/tok-1";
    let callout = fixture("huawei/status-callout.json");

    let forged = signed(DigestScheme::HmacNonceCreated, "n-forged", now, path)
        .replace("PasswordDigest=\"", "PasswordDigest=\"AAAA");
    let stale = signed(DigestScheme::HmacNonceCreated, "n-stale", now - time::Duration::hours(1), path);
    for (what, header) in [
        ("missing", None),
        ("forged", Some(("x-aksk", forged.as_str()))),
        ("stale", Some(("x-aksk", stale.as_str()))),
        ("garbage", Some(("x-aksk", "UsernameToken nonsense"))),
    ] {
        assert_eq!(send(&service, header, &callout).await, 401, "{what}");
    }
    assert!(service.store().all_records().await.unwrap().is_empty(), "rejected pushes write nothing");

    let valid = signed(DigestScheme::HmacNonceCreated, "n-1", now, path);
    assert_eq!(send(&service, Some(("x-aksk", &valid)), &callout).await, 200);
    assert_eq!(send(&service, Some(("x-aksk", &valid)), &callout).await, 401, "replayed nonce");
    let wsse = signed(DigestScheme::WsseSha256, "n-2", now, path);
    assert_eq!(send(&service, Some(("x-wsse", &wsse)), &fixture("huawei/status-disconnect.json")).await, 200);
    let url_scheme = signed(DigestScheme::HmacUrlLines, "n-3", now, path);
    assert_eq!(
        send(&service, Some(("x-aksk", &url_scheme)), &fixture("huawei/status-answer-double-space.json")).await,
        200
    );
    assert_eq!(service.store().all_records().await.unwrap().len(), 3);
}

#[tokio::test]
async fn log_mode_never_rejects() {
    let service = service(SignatureMode::Log).await;
    let forged = signed(DigestScheme::HmacNonceCreated, "n", OffsetDateTime::now_utc(), "/x")
        .replace("test-app-key", "intruder");
    assert_eq!(send(&service, Some(("x-aksk", &forged)), &fixture("huawei/status-callout.json")).await, 200);
    assert_eq!(send(&service, None, &fixture("huawei/status-disconnect.json")).await, 200);
    assert_eq!(service.store().all_records().await.unwrap().len(), 2);
}
