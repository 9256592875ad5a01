//! Section 1: DynamoDB requests and consumed write units per notification, new and duplicate, counted on the wire
//! by a metering proxy in front of DynamoDB Local — for each callback, and for the Powertools idempotency pattern
//! (in-progress put + data write + completion update) run on the same status pushes as the baseline.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_dynamodb::Client;
use futures::StreamExt;
use time::OffsetDateTime;
use voice_core::adapters::DynamoStore;
use voice_core::auth::SignatureMode;
use voice_core::callbacks::CallbackService;

use crate::pushes::{records, Pushes};
use test_support::events::{request, Envelope};
use test_support::fault_proxy::{FaultConfig, FaultProxy, ProxyStats};
use test_support::load::{answer_in_process, is_success, route, PushKind};
use test_support::measure::TOKEN;
use test_support::{callback_config, client_at, DynamoLocal};

const WRITE_OPERATIONS: [&str; 5] = ["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"];
const READ_OPERATIONS: [&str; 5] = ["GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"];
const IN_FLIGHT: usize = 16;

/// DynamoDB cost of one notification, averaged over a run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cost {
    pub writes: f64,
    pub reads: f64,
    /// Write capacity units DynamoDB Local reported (none for a failed conditional write).
    pub write_units: f64,
}

#[derive(Debug, Clone)]
pub struct WriteCostRow {
    pub notification: &'static str,
    /// Notifications measured (each delivered twice: new, then duplicate).
    pub notifications: usize,
    pub new: Cost,
    pub duplicate: Cost,
}

#[derive(Debug, Clone)]
pub struct WriteCost {
    /// Status event, CDR (in fee pushes of 10), SMS: the callbacks as deployed.
    pub callbacks: Vec<WriteCostRow>,
    /// The same status pushes through the Powertools idempotency pattern.
    pub powertools: WriteCostRow,
}

/// Measures `notifications` notifications of each kind.
pub async fn measure(dynamodb: &DynamoLocal, notifications: usize) -> WriteCost {
    let proxy =
        FaultProxy::start(&dynamodb.endpoint(), FaultConfig { meter_capacity: true, ..FaultConfig::pass_through() });
    let table = dynamodb.fresh_store().await.table().to_owned();
    let service = CallbackService::new(
        DynamoStore::new(client_at(&proxy.endpoint()).await, &table),
        callback_config(TOKEN, SignatureMode::Off),
    );
    let pushes = Pushes::new(test_support::unique_name("cost"));
    let status: Vec<String> = (0..notifications).map(|n| pushes.status(n)).collect();
    let cdrs_per_push = 10;
    let fee: Vec<String> = (0..notifications.div_ceil(cdrs_per_push))
        .map(|p| pushes.fee(notifications + p * cdrs_per_push..notifications + (p + 1) * cdrs_per_push))
        .collect();
    let sms: Vec<String> = (0..notifications).map(|n| pushes.sms(n)).collect();
    let mut callbacks = Vec::new();
    for (notification, kind, bodies, per_body) in [
        ("status event", PushKind::Status, &status, 1),
        ("CDR (fee pushes of 10)", PushKind::Fee, &fee, cdrs_per_push),
        ("SMS notification", PushKind::Sms, &sms, 1),
    ] {
        let count = bodies.len() * per_body;
        let [new, duplicate] = twice(&proxy, count, || deliver_all(&service, kind, bodies)).await;
        callbacks.push(WriteCostRow { notification, notifications: count, new, duplicate });
    }
    let client = client_at(&proxy.endpoint()).await;
    let baseline = Pushes::new(test_support::unique_name("powertools"));
    let status: Vec<String> = (0..notifications).map(|n| baseline.status(n)).collect();
    let [new, duplicate] = twice(&proxy, notifications, || async {
        let delivered = futures::stream::iter(&status)
            .map(|body| powertools_deliver(&client, &table, body))
            .buffer_unordered(IN_FLIGHT);
        delivered.for_each(|result| async { result.expect("Powertools-pattern delivery") }).await;
    })
    .await;
    let powertools = WriteCostRow { notification: "status event, Powertools pattern", notifications, new, duplicate };
    WriteCost { callbacks, powertools }
}

/// Runs `deliver` twice (new notifications, then the same again) and returns the cost per notification of each.
async fn twice<F, Fut>(proxy: &FaultProxy, notifications: usize, deliver: F) -> [Cost; 2]
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let before = proxy.stats();
    deliver().await;
    let middle = proxy.stats();
    deliver().await;
    let after = proxy.stats();
    [cost(&before, &middle, notifications), cost(&middle, &after, notifications)]
}

fn cost(before: &ProxyStats, after: &ProxyStats, notifications: usize) -> Cost {
    let requests = |operations: &[&str]| -> u64 {
        operations.iter().map(|op| after.requests_of(op) - before.requests_of(op)).sum()
    };
    let milli_units: u64 = WRITE_OPERATIONS
        .iter()
        .map(|op| {
            let units = |stats: &ProxyStats| stats.capacity_milli_units.get(*op).copied().unwrap_or(0);
            units(after) - units(before)
        })
        .sum();
    let per = |total: u64| total as f64 / notifications as f64;
    Cost {
        writes: per(requests(&WRITE_OPERATIONS)),
        reads: per(requests(&READ_OPERATIONS)),
        write_units: per(milli_units) / 1000.0,
    }
}

/// Delivers every push through the callback handler; each must be answered with success.
async fn deliver_all(service: &CallbackService<DynamoStore>, kind: PushKind, bodies: &[String]) {
    let (endpoint, route) = route(kind);
    let path = format!("{route}/{TOKEN}");
    let answers = futures::stream::iter(bodies)
        .map(|body| {
            answer_in_process(service, endpoint, request(Envelope::HttpApi, "POST", &path, body.as_bytes(), false))
        })
        .buffer_unordered(IN_FLIGHT);
    answers
        .for_each(|(status, text)| async move {
            assert!(is_success(kind, status, &text), "{kind:?} push answered {status} {text}");
        })
        .await;
}

/// One status push handled the way Powertools idempotency does it: claim an in-progress idempotency record
/// (conditional put; on conflict the stored record comes back with the failure, as Powertools ≥ 2.26 asks for),
/// write the data, mark the idempotency record completed with the answer to replay.
async fn powertools_deliver(client: &Client, table: &str, body: &str) -> Result<(), String> {
    let now = OffsetDateTime::now_utc();
    let key = idempotency_key(body);
    let claim = client
        .put_item()
        .table_name(table)
        .item("pk", AttributeValue::S(key.clone()))
        .item("sk", AttributeValue::S("idempotency".into()))
        .item("status", AttributeValue::S("INPROGRESS".into()))
        .item("expiration", number(now.unix_timestamp() + 3600))
        .item("in_progress_expiration", number(now.unix_timestamp() * 1000 + 29_000))
        .condition_expression(
            "attribute_not_exists(pk) OR expiration < :now OR (#status = :in_progress AND in_progress_expiration < :now_ms)",
        )
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":now", number(now.unix_timestamp()))
        .expression_attribute_values(":now_ms", number(now.unix_timestamp() * 1000))
        .expression_attribute_values(":in_progress", AttributeValue::S("INPROGRESS".into()))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    match claim {
        Ok(_) => {}
        // Already completed: Powertools replays the stored answer without running the handler.
        Err(e) if e.code() == Some("ConditionalCheckFailedException") => return Ok(()),
        Err(e) => return Err(format!("claim: {e:?}")),
    }
    let [record] = &records(body)[..] else { return Err("one record per status push".into()) };
    let item: HashMap<String, AttributeValue> = serde_dynamo::to_item(record).map_err(|e| format!("item: {e}"))?;
    client.put_item().table_name(table).set_item(Some(item)).send().await.map_err(|e| format!("data: {e:?}"))?;
    client
        .update_item()
        .table_name(table)
        .key("pk", AttributeValue::S(key))
        .key("sk", AttributeValue::S("idempotency".into()))
        .update_expression("SET #status = :completed, #data = :data, expiration = :expiration")
        .expression_attribute_names("#status", "status")
        .expression_attribute_names("#data", "data")
        .expression_attribute_values(":completed", AttributeValue::S("COMPLETED".into()))
        .expression_attribute_values(":data", AttributeValue::S(r#"{"statusCode":200,"body":""}"#.into()))
        .expression_attribute_values(":expiration", number(now.unix_timestamp() + 3600))
        .send()
        .await
        .map_err(|e| format!("complete: {e:?}"))?;
    Ok(())
}

/// A 32-hex-digit key of the payload, the length of Powertools' default MD5 hash.
fn idempotency_key(body: &str) -> String {
    let half = |salt: u8| {
        let mut hasher = DefaultHasher::new();
        (salt, body).hash(&mut hasher);
        hasher.finish()
    };
    format!("idempotency#{:016x}{:016x}", half(0), half(1))
}

fn number(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}
