//! Section 2: latency of the callback handler in process against the floor, a raw `PutItem` of the same item on
//! the same client and DynamoDB Local; and a 50-CDR push against a 1-CDR push. Measurements are interleaved
//! (one of each per round, one at a time) so that machine noise falls on all of them alike.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use voice_core::adapters::{DynamoStore, MemoryStore};
use voice_core::auth::SignatureMode;
use voice_core::callbacks::{CallbackService, HealthProbe};
use voice_core::storage::RecordStore;

use crate::pushes::{records, Pushes};
use test_support::events::{request, Envelope};
use test_support::load::{answer_in_process, is_success, route, PushKind};
use test_support::measure::{Samples, TOKEN};
use test_support::{callback_config, DynamoLocal};

const WARM_UP_ROUNDS: usize = 30;
/// The measurements of a round, in the order of [`Latency`]'s fields.
const SERIES: usize = 7;

#[derive(Debug, Clone)]
pub struct Latency {
    /// A new status event through the handler (parse, auth, record, one conditional `PutItem`, answer).
    pub status_push: Samples,
    /// An unconditional `PutItem` of the record that push stores (under another key), same client.
    pub raw_put: Samples,
    /// The same `PutItem` with the handler's condition (`attribute_not_exists(pk)`, old item on failure).
    pub raw_conditional_put: Samples,
    /// The same push through the handler over an in-memory store: the handler's own CPU time.
    pub in_memory_push: Samples,
    pub fee_push_1: Samples,
    pub fee_push_50: Samples,
    /// The 50 records of a 50-CDR push as 50 raw `PutItem`s in flight together: this DynamoDB's own floor.
    pub raw_puts_50: Samples,
}

pub async fn measure(dynamodb: &DynamoLocal, rounds: usize) -> Latency {
    let store = dynamodb.fresh_store().await;
    let table = store.table().to_owned();
    let service = CallbackService::new(store, callback_config(TOKEN, SignatureMode::Off));
    let in_memory = CallbackService::new(MemoryStore::default(), callback_config(TOKEN, SignatureMode::Off));
    let pushes = Pushes::new(test_support::unique_name("latency"));
    let mut samples: [Vec<Duration>; SERIES] = Default::default();
    let mut rng = StdRng::seed_from_u64(7);
    for round in 0..WARM_UP_ROUNDS + rounds {
        // Session numbers: status pushes use 0..R, 1-CDR pushes R..2R, 50-CDR pushes from 2R on, 50 per round.
        let total = WARM_UP_ROUNDS + rounds;
        let status = pushes.status(round);
        let single = pushes.fee(total + round..total + round + 1);
        let fifty = pushes.fee(2 * total + 50 * round..2 * total + 50 * (round + 1));
        // A new order every round: a measurement right after the 50-write burst would otherwise always be the
        // one that meets DynamoDB Local still busy with it.
        let mut order: Vec<usize> = (0..SERIES).collect();
        order.shuffle(&mut rng);
        let mut timings = [Duration::ZERO; SERIES];
        for series in order {
            timings[series] = match series {
                0 => timed_push(&service, PushKind::Status, &status).await,
                1 => timed_puts(service.store(), &table, raw_items(&status, "raw-")).await,
                2 => timed_conditional_put(service.store(), &table, raw_items(&status, "raw-c-")).await,
                3 => timed_push(&in_memory, PushKind::Status, &status).await,
                4 => timed_push(&service, PushKind::Fee, &single).await,
                5 => timed_push(&service, PushKind::Fee, &fifty).await,
                _ => timed_puts(service.store(), &table, raw_items(&fifty, "raw-")).await,
            };
        }
        if round >= WARM_UP_ROUNDS {
            for (series, timing) in samples.iter_mut().zip(timings) {
                series.push(timing);
            }
        }
    }
    let [status_push, raw_put, raw_conditional_put, in_memory_push, fee_push_1, fee_push_50, raw_puts_50] =
        samples.map(Samples::new);
    Latency { status_push, raw_put, raw_conditional_put, in_memory_push, fee_push_1, fee_push_50, raw_puts_50 }
}

/// The items a push stores, each under a key of its own (`prefix` + its key) so that the raw puts write new
/// items too.
fn raw_items(body: &str, prefix: &str) -> Vec<HashMap<String, AttributeValue>> {
    records(body)
        .iter()
        .map(|record| {
            let mut item: HashMap<String, AttributeValue> =
                serde_dynamo::to_item(record).expect("a record is a DynamoDB item");
            if let Some(AttributeValue::S(pk)) = item.get_mut("pk") {
                pk.insert_str(0, prefix);
            }
            item
        })
        .collect()
}

/// The handler's time for one push; the event is built before the clock starts (the runtime does that).
async fn timed_push<S: RecordStore + HealthProbe>(
    service: &CallbackService<S>,
    kind: PushKind,
    body: &str,
) -> Duration {
    let (endpoint, route) = route(kind);
    let event = request(Envelope::HttpApi, "POST", &format!("{route}/{TOKEN}"), body.as_bytes(), false);
    let started = Instant::now();
    let (status, text) = answer_in_process(service, endpoint, event).await;
    let elapsed = started.elapsed();
    assert!(is_success(kind, status, &text), "{kind:?} push answered {status} {text}");
    elapsed
}

/// Unconditional `PutItem`s of `items`, all in flight together, on the handler's client.
async fn timed_puts(store: &DynamoStore, table: &str, items: Vec<HashMap<String, AttributeValue>>) -> Duration {
    let puts: Vec<_> =
        items.into_iter().map(|item| store.client().put_item().table_name(table).set_item(Some(item)).send()).collect();
    let started = Instant::now();
    let results = futures::future::join_all(puts).await;
    let elapsed = started.elapsed();
    for result in results {
        result.expect("raw PutItem");
    }
    elapsed
}

/// The status record's `PutItem` as the handler sends it.
async fn timed_conditional_put(
    store: &DynamoStore,
    table: &str,
    items: Vec<HashMap<String, AttributeValue>>,
) -> Duration {
    let [item] = <[_; 1]>::try_from(items).expect("one record per status push");
    let put = store
        .client()
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    let started = Instant::now();
    let result = put.send().await;
    let elapsed = started.elapsed();
    result.expect("conditional PutItem of a new item");
    elapsed
}
