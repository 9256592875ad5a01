//! The fraud guard on DynamoDB Local, through the trigger and the Huawei simulator: the country list, the
//! per-callee windows, the budgets under concurrency (one transaction each), safe numbers, and a range blocked for
//! its conversion, announced once on the stream's way and lifted by the operator's command.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use integration_tests::{DynamoLocal, StreamPump, HOME_REGION};
use serde_json::{json, Value};
use time::OffsetDateTime;
use voice_core::adapters::DynamoStore;
use voice_core::calls::TriggerError;
use voice_core::guard::{AutoBlock, GeoMode, GuardPolicy};
use voice_core::ids::VerificationId;
use voice_core::outcome::{BusEvent, EventSink, OutcomePublisher, SinkError};
use voice_core::rate_limit::{RateLimitStore, RateLimits};

use super::trigger_concurrency::trigger_with;

fn no_windows() -> RateLimits {
    RateLimits::new(0, 0)
}

fn reason(result: &Result<voice_core::calls::TriggerAnswer, TriggerError>) -> Option<String> {
    match result {
        Err(TriggerError::Blocked(message)) => message.split(':').next().map(str::to_owned),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_number_outside_the_allowed_countries_is_refused_in_enforce_mode_and_placed_in_monitor_mode() {
    let (service, sim) = trigger_with(no_windows(), Duration::from_secs(1), GuardPolicy::default()).await;
    let abroad = json!({"calleeNbr": "+447700900123", "idempotencyKey": "uk-1"});
    let refused = service.handle(abroad.clone(), None).await;
    assert_eq!(reason(&refused).as_deref(), Some("country_not_allowed"), "{refused:?}");
    assert_eq!(sim.stats().call_verify.received, 0);
    assert!(service.store().all_records().await.unwrap().is_empty(), "a refusal writes nothing, not even its key");

    let monitor = GuardPolicy { geo_mode: GeoMode::Monitor, ..GuardPolicy::default() };
    let (service, sim) = trigger_with(no_windows(), Duration::from_secs(1), monitor).await;
    service.handle(abroad, None).await.expect("placed in monitor mode");
    assert_eq!(sim.stats().call_verify.received, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_default_callee_windows_refuse_the_fourth_call_to_a_number_within_a_day() {
    let store = DynamoLocal::shared().fresh_store().await;
    let env: [(&str, &str); 0] = [];
    let limits = voice_core::config::guard::callee_limits(&env).expect("the defaults");
    let start = 1_800_000_000;
    for n in 0..3 {
        let at = start + n * 3600;
        assert_eq!(store.take_rate_slot("callee-1", &limits, at).await.unwrap(), Ok(()), "call {}", n + 1);
    }
    let fourth = store.take_rate_slot("callee-1", &limits, start + 3 * 3600).await.unwrap();
    assert_eq!(fourth, Err(86_400 - 3 * 3600), "the first call must leave the day first");
    assert_eq!(store.take_rate_slot("callee-1", &limits, start + 86_400).await.unwrap(), Ok(()));
}

/// Fires `count` triggers at once, to `number(n)`; answers each result.
async fn at_once(
    service: &Arc<voice_core::calls::TriggerService<DynamoStore, voice_core::adapters::CallVerifyClient>>,
    count: usize,
    number: fn(usize) -> String,
) -> Vec<Result<voice_core::calls::TriggerAnswer, TriggerError>> {
    let calls = (0..count).map(|n| {
        let service = service.clone();
        tokio::spawn(async move { service.handle(json!({"calleeNbr": number(n)}), None).await })
    });
    futures::future::join_all(calls).await.into_iter().map(|r| r.expect("ran")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn thirty_concurrent_triggers_to_one_pumped_range_place_exactly_the_prefix_limit() {
    let guard = GuardPolicy { prefix_limit: 5, ..GuardPolicy::default() };
    let (service, sim) = trigger_with(no_windows(), Duration::from_secs(1), guard).await;
    let service = Arc::new(service);
    let results = at_once(&service, 30, |n| format!("+86138000012{n:02}")).await;
    let placed = results.iter().filter(|r| r.is_ok()).count();
    let refused: Vec<_> = results.iter().filter_map(reason).collect();
    assert_eq!((placed, refused.len()), (5, 25), "{results:?}");
    assert!(refused.iter().all(|r| r == "prefix_budget"), "{refused:?}");
    assert_eq!(sim.stats().call_verify.received, 5, "Huawei heard of five calls only");
    // Another range still has its budget.
    service.handle(json!({"calleeNbr": "+8613900000001"}), None).await.expect("another range");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daily_cap_holds_under_concurrency_and_a_refusal_takes_nothing() {
    let guard = GuardPolicy { prefix_limit: 0, daily_cap: 4, ..GuardPolicy::default() };
    let (service, sim) = trigger_with(no_windows(), Duration::from_secs(1), guard).await;
    let service = Arc::new(service);
    let results = at_once(&service, 20, |n| format!("+861{n:02}00000001")).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 4, "{results:?}");
    assert!(results.iter().filter_map(reason).all(|r| r == "daily_cap"));
    assert_eq!(sim.stats().call_verify.received, 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_safe_number_passes_the_budgets_and_the_block_of_its_range() {
    let safe = "+8613800000009";
    let guard =
        GuardPolicy { prefix_limit: 1, safe_numbers: BTreeSet::from([safe.to_owned()]), ..GuardPolicy::default() };
    let (service, sim) = trigger_with(no_windows(), Duration::from_secs(1), guard).await;
    service.handle(json!({"calleeNbr": "+8613800000001"}), None).await.expect("the range's one call");
    let spent = service.handle(json!({"calleeNbr": "+8613800000002"}), None).await;
    assert_eq!(reason(&spent).as_deref(), Some("prefix_budget"));
    for _ in 0..2 {
        service.handle(json!({"calleeNbr": safe}), None).await.expect("a safe number skips the budget");
    }
    assert_eq!(sim.stats().call_verify.received, 3);
}

/// Keeps every event it is given, accepting them all.
#[derive(Default, Clone)]
struct Keeping(Arc<Mutex<Vec<BusEvent>>>);

impl EventSink for Keeping {
    async fn put_events(&self, events: &[BusEvent]) -> Result<Vec<Option<String>>, SinkError> {
        self.0.lock().unwrap().extend(events.iter().cloned());
        Ok(vec![None; events.len()])
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_range_whose_verifications_do_not_convert_is_blocked_announced_once_and_lifted_by_the_operator() {
    let auto_block = AutoBlock { min_ended: 3, max_conversion: 0.5, hours: 12 };
    let guard = GuardPolicy { prefix_limit: 0, auto_block, ..GuardPolicy::default() };
    let (service, _sim) = trigger_with(no_windows(), Duration::from_secs(1), guard.clone()).await;
    let store = service.store();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let id = |n: u32| VerificationId::parse(format!("pumped-{n}")).unwrap();
    // Three verifications of the range end unconverted; the third end is counted twice (a re-delivery).
    assert_eq!(guard.learn(store, "8613800", &id(1), false, now, deadline).await.unwrap(), None);
    assert_eq!(guard.learn(store, "8613800", &id(2), true, now, deadline).await.unwrap(), None);
    assert_eq!(guard.learn(store, "8613800", &id(2), true, now, deadline).await.unwrap(), None, "counted once");
    let blocked = guard.learn(store, "8613800", &id(3), false, now, deadline).await.unwrap();
    assert_eq!(blocked, Some(now + 12 * 3600), "1 of 3 converted: below half");
    assert_eq!(guard.learn(store, "8613800", &id(4), false, now, deadline).await.unwrap(), None, "blocked once");

    let refused = service.handle(json!({"calleeNbr": "+8613800000001"}), None).await;
    assert_eq!(reason(&refused).as_deref(), Some("prefix_blocked"), "{refused:?}");
    service.handle(json!({"calleeNbr": "+8613900000001"}), None).await.expect("another range is not blocked");

    // The block record comes back through the stream: one `Prefix Blocked` event, from the publisher.
    let sink = Keeping::default();
    let publisher = OutcomePublisher::new(store.clone(), sink.clone(), HOME_REGION);
    let mut pump = StreamPump::open(&DynamoLocal::shared().endpoint(), store.table(), HOME_REGION).await;
    let deliver = |batch: Value| {
        let publisher = &publisher;
        async move {
            let event: aws_lambda_events::event::dynamodb::Event = serde_json::from_value(batch).expect("a batch");
            let items = event.records.into_iter().map(voice_core::edge::publisher::stream_item).collect();
            let report = publisher.publish(items, tokio::time::Instant::now() + Duration::from_secs(5)).await;
            json!({"batchItemFailures": report.failed.iter().map(|s| json!({"itemIdentifier": s})).collect::<Vec<_>>()})
        }
    };
    pump.pump(deliver).await;
    let blocks: Vec<Value> = sink
        .0
        .lock()
        .unwrap()
        .iter()
        .filter_map(|event| match event {
            BusEvent::PrefixBlocked(event) => Some(serde_json::to_value(event).unwrap()),
            _ => None,
        })
        .collect();
    assert_eq!(blocks.len(), 1, "{blocks:?}");
    assert_eq!(
        (blocks[0]["prefix"].as_str(), blocks[0]["ended"].as_u64(), blocks[0]["approved"].as_u64()),
        (Some("8613800"), Some(3), Some(1))
    );
    assert_eq!(blocks[0]["eventId"], format!("8613800#{now}"));
    integration_tests::contract::check("prefix-blocked.detail.schema.json", &blocks[0]);

    // The operator lifts it: the range is called again.
    assert_eq!(service.lift_block("8613800").await.unwrap(), json!({"prefix": "8613800", "lifted": true}));
    service.handle(json!({"calleeNbr": "+8613800000001"}), None).await.expect("placed once lifted");
    let now = OffsetDateTime::now_utc().unix_timestamp();
    assert_eq!(guard.learn(store, "8613800", &id(5), false, now, deadline).await.unwrap(), None, "judged afresh");
    assert_eq!(service.lift_block("8613800").await.unwrap()["lifted"], false, "nothing left to lift");
}
