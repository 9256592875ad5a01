//! Property tests (GitHub issue 5): the parsers never panic on any input, valid pushes round-trip, Huawei's
//! integers-as-strings quirk is equivalent to numbers, masking leaves no full number, and the rate limit never
//! admits more than its windows allow (the outcome fold has its own: outcome_properties.rs). Run by
//! `cargo test --workspace`; each property runs proptest's default 256 cases.

use std::time::Duration;

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use voice_core::adapters::MemoryStore;
use voice_core::auth::{CallbackTokens, SignatureMode};
use voice_core::callbacks::CallbackSettings;
use voice_core::callbacks::{Answer, CallbackService, Endpoint, InboundPush};
use voice_core::huawei::notification::MAX_SESSION_ID_LEN;
use voice_core::huawei::signature::UsernameToken;
use voice_core::huawei::AppCredentials;
use voice_core::huawei::{CallEventKind, SmsNotification, VoicePush};
use voice_core::rate_limit::RateLimits;
use voice_core::records::{event_record, Stamp};
use voice_core::telemetry::mask_numbers;

/// Keys Huawei's payloads use, so that generated JSON reaches the typed parsers, not only the syntax check.
const KEYS: [&str; 16] = [
    "eventType",
    "statusInfo",
    "sessionId",
    "feeLst",
    "stateCode",
    "timestamp",
    "icid",
    "ulFailReason",
    "smsEvent",
    "smsIdentifier",
    "notificationMode",
    "extInfo",
    "extParas",
    "key",
    "value",
    "appKey",
];

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        prop_oneof![
            Just("fee".to_owned()),
            Just("callout".to_owned()),
            Just(" disconnect ".to_owned()),
            Just("Notify".to_owned()),
            Just("8101".to_owned()),
            Just("sms#x".to_owned()),
            ".{0,12}",
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS.to_vec()), inner), 0..8)
                .prop_map(|entries| Value::Object(entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

/// A sessionId Huawei could send: 1–256 bytes, no control characters, not one of our reserved prefixes.
fn arb_session_id() -> impl Strategy<Value = String> {
    "[^\\p{Cc}]{1,80}".prop_filter("valid sessionId", |id| {
        id.len() <= MAX_SESSION_ID_LEN && !["sms#", "request#", "ratelimit#"].iter().any(|p| id.starts_with(p))
    })
}

fn callback_service() -> CallbackService<MemoryStore> {
    let config = CallbackSettings {
        record_ttl: Duration::from_secs(86_400),
        region: "eu-west-1".into(),
        tokens: CallbackTokens::parse("tok-1").unwrap(),
        signature_mode: SignatureMode::Log,
        store_retry_budget: Duration::ZERO,
        callback_base_url: None,
        credentials: Some(AppCredentials { app_key: "k".into(), app_secret: "s".into() }),
    };
    CallbackService::new(MemoryStore::default(), config)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap()
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_the_parsers(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = VoicePush::parse(&body);
        let _ = SmsNotification::parse(&body);
        let _ = UsernameToken::parse(&String::from_utf8_lossy(&body));
    }

    #[test]
    fn arbitrary_json_never_panics_the_parsers(value in arb_json(), event_type in prop::sample::select(vec![
        "fee", "callout", "disconnect", "hold", "answer",
    ])) {
        let body = value.to_string();
        let _ = VoicePush::parse(body.as_bytes());
        let _ = SmsNotification::parse(body.as_bytes());
        // Wrapped as a push, so the typed readers of statusInfo / feeLst / smsEvent see the generated value.
        for wrapped in [
            json!({"eventType": event_type, "statusInfo": value}),
            json!({"eventType": "fee", "feeLst": [value.clone()]}),
            json!({"eventType": event_type, "sessionId": value}),
            json!({"smsEvent": value}),
        ] {
            let body = wrapped.to_string();
            if let Ok(VoicePush::Fee(fee)) = VoicePush::parse(body.as_bytes()) {
                // One element: kept as a CDR or in quarantine, never lost.
                prop_assert_eq!(fee.cdrs.len() + fee.quarantined.len(), 1);
            }
            let _ = SmsNotification::parse(body.as_bytes());
        }
    }

    #[test]
    fn any_text_never_panics_the_username_token_parser(
        header in "(UsernameToken)?[ ,=\"a-zA-Z]{0,60}",
        noise in ".{0,40}",
    ) {
        let _ = UsernameToken::parse(&header);
        let _ = UsernameToken::parse(&format!("UsernameToken {noise}"));
    }

    #[test]
    fn username_tokens_round_trip_through_their_header(
        username in "[^,]{0,24}", digest in "[A-Za-z0-9+/=]{0,44}", nonce in "[0-9A-F]{0,32}", created in "[^,]{0,24}",
    ) {
        let token = UsernameToken { username, password_digest: digest, nonce, created };
        prop_assert_eq!(UsernameToken::parse(&token.to_header_value()), Ok(token));
    }

    #[test]
    fn any_valid_status_event_round_trips_with_its_session_id(
        kind in prop::sample::select(CallEventKind::ALL.to_vec()),
        session_id in arb_session_id(),
        padding in "[ \t]{0,3}",
        state_code in proptest::option::of(any::<i64>()),
        user_data in proptest::option::of(".{0,40}"),
        extra in proptest::option::of(arb_json()),
    ) {
        let mut info = Map::new();
        info.insert("sessionId".into(), session_id.clone().into());
        if let Some(code) = state_code { info.insert("stateCode".into(), code.into()); }
        if let Some(data) = &user_data { info.insert("userData".into(), data.clone().into()); }
        if let Some(extra) = extra { info.insert("brandNewField".into(), extra); }
        let event_type = format!("{padding}{}{padding}", kind.as_wire());
        let body = json!({"eventType": event_type, "statusInfo": info}).to_string();
        let parsed = VoicePush::parse(body.as_bytes());
        let Ok(VoicePush::Status(event)) = parsed else {
            return Err(TestCaseError::fail(format!("{body}: {parsed:?}")));
        };
        prop_assert_eq!(event.kind, kind);
        prop_assert_eq!(event.info.session_id.as_str(), session_id.as_str());
        prop_assert_eq!(event.info.state_code, state_code);
        prop_assert_eq!(&event.info.user_data, &user_data);
        prop_assert_eq!(&event.raw, &body);
        let record = event_record(&event, &Stamp::new(time::OffsetDateTime::UNIX_EPOCH, Duration::from_secs(1), "eu-west-1"));
        prop_assert_eq!(&record.pk, &session_id);
        prop_assert_eq!(record.sk, format!("event#{}", kind.as_wire()));
    }

    #[test]
    fn integers_as_strings_read_like_integers(
        n in any::<i64>(),
        spaces in "[ ]{0,2}",
        cdr_field in prop::sample::select(vec![
            "direction", "ulFailReason", "sipStatusCode", "callOutUnaswRsn", "fwdUnaswRsn", "recordFlag",
            "ttsPlayTimes", "ttsTransDuration",
        ]),
    ) {
        let status = |code: Value| json!({"eventType":"disconnect","statusInfo":{"sessionId":"s","stateCode":code}});
        let as_number = VoicePush::parse(status(n.into()).to_string().as_bytes());
        let as_string = VoicePush::parse(status(format!("{spaces}{n}{spaces}").into()).to_string().as_bytes());
        match (as_number, as_string) {
            (Ok(VoicePush::Status(a)), Ok(VoicePush::Status(b))) => prop_assert_eq!(a.info, b.info),
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        }
        let fee = |v: Value| json!({"eventType":"fee","feeLst":[{"sessionId":"s", cdr_field: v}]});
        let as_number = VoicePush::parse(fee(n.into()).to_string().as_bytes());
        let as_string = VoicePush::parse(fee(n.to_string().into()).to_string().as_bytes());
        match (as_number, as_string) {
            (Ok(VoicePush::Fee(a)), Ok(VoicePush::Fee(b))) => prop_assert_eq!(&a.cdrs[0].cdr, &b.cdrs[0].cdr),
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        }
        // Beyond i64 both spellings are dropped alike (kept in raw), and the event is still stored.
        let big = (i64::MAX as u64).saturating_add(1 + n.unsigned_abs() / 2);
        for body in [status(big.into()), status(big.to_string().into())] {
            match VoicePush::parse(body.to_string().as_bytes()) {
                Ok(VoicePush::Status(event)) => {
                    prop_assert_eq!(event.info.state_code, None);
                    prop_assert_eq!(event.dropped_fields, vec!["stateCode".to_owned()]);
                }
                other => return Err(TestCaseError::fail(format!("{other:?}"))),
            }
        }
    }

    #[test]
    fn masking_leaves_no_number_of_seven_digits_with_or_without_a_plus(
        parts in prop::collection::vec(prop_oneof![
            "\\+[0-9]{0,20}",
            "[0-9]{0,12}",
            "[a-z_#@ ]{0,4}",
            "[+]{1,3}",
            "[é中\u{1F4DE}]{0,2}",
        ], 0..12),
    ) {
        let text: String = parts.concat();
        let masked = mask_numbers(&text);
        for (i, _) in masked.match_indices('+') {
            let run = masked[i + 1..].bytes().take_while(u8::is_ascii_digit).count();
            prop_assert!(run < 7, "{text:?} -> {masked:?}");
        }
        // Nor a run of seven digits without `+` that stands alone (one touching a letter, `_`, `@` is part of an
        // identifier such as a sessionId, and kept).
        let chars: Vec<char> = masked.chars().collect();
        let joins = |c: Option<&char>| c.is_some_and(|c| c.is_alphabetic() || "_@.-+*".contains(*c));
        let mut at = 0;
        while at < chars.len() {
            let run = chars[at..].iter().take_while(|c| c.is_ascii_digit()).count();
            if run == 0 {
                at += 1;
                continue;
            }
            let before = at.checked_sub(1).and_then(|i| chars.get(i));
            prop_assert!(run < 7 || joins(before) || joins(chars.get(at + run)), "{text:?} -> {masked:?}");
            at += run;
        }
        // Nothing but numbers changes.
        let strip = |s: &str| s.replace(|c: char| c.is_ascii_digit() || c == '*' || c == '+', "");
        prop_assert_eq!(strip(&masked), strip(&text));
    }

    #[test]
    fn rate_limits_never_admit_more_than_a_window_allows(
        per_minute in 0u32..4,
        per_hour in 0u32..8,
        gaps in prop::collection::vec(0i64..900, 1..60),
    ) {
        let limits = RateLimits::new(per_minute, per_hour);
        let mut log: Vec<i64> = Vec::new();
        let mut admitted: Vec<i64> = Vec::new();
        let mut now = 1_700_000_000;
        for gap in gaps {
            now += gap;
            match limits.admit(now, &log) {
                Ok(new_log) => {
                    prop_assert!(new_log.contains(&now));
                    log = new_log;
                    admitted.push(now);
                }
                Err(wait) => {
                    prop_assert!(wait > 0);
                    // The announced wait is enough: a call then would be admitted.
                    prop_assert!(limits.admit(now + wait as i64, &log).is_ok(), "wait {wait} at {now}");
                }
            }
        }
        for limit in &limits.0 {
            for &end in &admitted {
                let in_window = admitted.iter().filter(|&&t| t > end - limit.window_secs && t <= end).count();
                prop_assert!(in_window <= limit.calls as usize, "{in_window} calls in {limit:?} up to {end}");
            }
        }
    }

    #[test]
    fn any_body_through_the_service_gets_a_known_answer_and_refusals_write_nothing(
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..256),
            arb_json().prop_map(|v| v.to_string().into_bytes()),
            (arb_session_id(), prop::sample::select(vec!["callout", "fee", "hold"])).prop_map(|(sid, t)| {
                json!({"eventType": t, "sessionId": sid, "statusInfo": {"sessionId": sid}, "feeLst": [{"sessionId": sid}]})
                    .to_string().into_bytes()
            }),
        ],
        sms in any::<bool>(),
        path in prop::sample::select(vec!["/voice/status/tok-1", "/voice/status/tok-2", "/voice/status", "/tok-1/"]),
    ) {
        let service = callback_service();
        let endpoint = if sms { Endpoint::Sms } else { Endpoint::Voice };
        let push = InboundPush { method: &http::Method::POST, path, signature_header: None, body: &body, deadline: None };
        let answer = runtime().block_on(service.handle(endpoint, push));
        let stored = service.store().records().len();
        match answer {
            Answer::Refused(error) => {
                prop_assert!([400, 401, 405, 413, 503].contains(&error.status()));
                prop_assert_eq!(stored, 0);
            }
            Answer::CdrsStored | Answer::EventStored | Answer::SmsStored => prop_assert!(stored >= 1),
        }
    }
}
