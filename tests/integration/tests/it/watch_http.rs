//! End to end over real HTTP: curl-like pushes to `cargo lambda watch` (Function URL emulation at
//! `/lambda-url/<bin>/…` and the routes of docs/operations.md, "HTTP routes and answers"), the real function binaries,
//! DynamoDB Local.

use std::collections::BTreeSet;

use integration_tests::log_scan::assert_no_number_or_code_in;
use integration_tests::{fixture, free_port, local_env, DynamoLocal, FunctionStack};

const TOKEN: &str = "e2e-token-7f3a9c";

#[tokio::test(flavor = "multi_thread")]
async fn pushes_over_http_are_stored_once_and_logs_hold_no_full_number() {
    let dynamodb = DynamoLocal::shared();
    let store = dynamodb.fresh_store().await;
    let endpoint = dynamodb.endpoint();
    let env = local_env::function_env(
        store.table(),
        &endpoint,
        &[
            ("CALLBACK_TOKENS", TOKEN),
            ("SIGNATURE_MODE", "log"),
            ("VOICE_APP_KEY", "local-app-key"),
            ("VOICE_APP_SECRET", "local-app-secret"),
            ("RUST_LOG", "info"),
            ("CALLBACK_BASE_URL", "http://127.0.0.1:9"),
        ],
    );
    let stack = FunctionStack::start(free_port(), &local_env::as_pairs(&env));
    let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(60)).build().unwrap();
    let pushes = [
        ("status-callback", "/voice/status", "huawei/status-callout.json"),
        ("status-callback", "/voice/status", "huawei/status-disconnect.json"),
        ("fee-callback", "/voice/fee", "huawei/fee-verification.json"),
        ("fee-callback", "/voice/fee", "huawei/privacy-number-fee-axb.json"),
        ("sms-callback", "/privacy-number/sms", "huawei/sms-notify.json"),
    ];
    for (bin, route, name) in pushes {
        let body = fixture(name);
        // Three deliveries each: twice at the Function URL path, once at the API route.
        for url in [
            stack.url(&format!("/lambda-url/{bin}/{TOKEN}")),
            stack.url(&format!("/lambda-url/{bin}/{TOKEN}")),
            stack.url(&format!("{route}/{TOKEN}")),
        ] {
            let response = http
                .post(&url)
                .header("content-type", "application/json;charset=UTF-8")
                .body(body.clone())
                .send()
                .await;
            let response = response.unwrap_or_else(|e| panic!("{url}: {e}; logs in {}", stack.log_dir.display()));
            let status = response.status().as_u16();
            let text = response.text().await.unwrap();
            assert_eq!(status, 200, "{name} at {url}: {text}");
            if bin == "fee-callback" {
                assert_eq!(text, r#"{"resultcode":"0","resultdesc":"Success"}"#);
            } else {
                assert_eq!(text, "");
            }
        }
    }
    let forged = http
        .post(stack.url("/voice/status/not-the-token"))
        .body(fixture("huawei/status-answer-double-space.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 401);
    let get = http.get(stack.url(&format!("/lambda-url/status-callback/{TOKEN}"))).send().await.unwrap();
    assert_eq!(get.status().as_u16(), 405);

    let keys: BTreeSet<(String, String)> = store
        .all_records()
        .await
        .unwrap()
        .iter()
        .map(|r| (r["pk"].as_str().unwrap().to_owned(), r["sk"].as_str().unwrap().to_owned()))
        .collect();
    let sid = "1201_612_4294967295_20190124030424@callenabler245.huaweicaas.com";
    let expected: BTreeSet<(String, String)> = [
        (sid, "event#callout"),
        (sid, "event#disconnect"),
        (sid, "cdr#CAE-20190124110424-12019775"),
        (
            "+8613400007762_+8615000002131_4_627e5c1f_963036_669_1_0",
            "cdr#c08dd88381a6deaa14e1c26e89e19b16.3861408249.24986516.29",
        ),
        ("sms#sms-20201223090616-000001", "mode#Notify"),
    ]
    .iter()
    .map(|(pk, sk)| (pk.to_string(), sk.to_string()))
    .collect();
    assert_eq!(keys, expected, "exactly one record per notification");

    let logs = stack.function_logs();
    assert!(logs.contains("duplicate delivery"), "the functions logged their work: {}", stack.log_dir.display());
    // Every number of the pushes, in any form (with or without `+`, without the country code), in no line.
    let numbers: Vec<String> = pushes.iter().flat_map(|(_, _, name)| phone_numbers(&fixture(name))).collect();
    let numbers: Vec<&str> = numbers.iter().map(String::as_str).collect();
    assert_no_number_or_code_in(&logs, &numbers, &[], &stack.log_dir.display().to_string());
    for secret in [TOKEN, "local-app-secret"] {
        assert!(!logs.contains(secret), "a secret appears in the logs");
    }
}

/// Every `+` followed by 7 or more digits in a text.
fn phone_numbers(text: &str) -> Vec<String> {
    let mut numbers = Vec::new();
    for (i, _) in text.match_indices('+') {
        let digits: String = text[i + 1..].chars().take_while(char::is_ascii_digit).collect();
        if digits.len() >= 7 {
            numbers.push(format!("+{digits}"));
        }
    }
    assert!(!numbers.is_empty() || !text.contains('+'), "found the numbers");
    numbers
}
