//! A new notification costs one DynamoDB write request and no read; a duplicate costs one (failed) conditional
//! write. Counted on the wire: the handler's DynamoDB client talks to DynamoDB Local through the metering proxy,
//! which counts every request by its `X-Amz-Target` operation, so a read or a second write added anywhere on the
//! path (in the service, the adapter or the SDK's configuration) is seen.

use integration_tests::events::{request, Envelope};
use integration_tests::fault_proxy::{FaultConfig, FaultProxy, ProxyStats};
use integration_tests::{callback_config, client_at, fixture, DynamoLocal};
use voice_core::adapters::DynamoStore;
use voice_core::auth::SignatureMode;
use voice_core::callbacks::{CallbackService, Endpoint};
use voice_core::edge::http::answer;

/// Requests of each operation between two snapshots of the proxy's counts.
fn requests_between(before: &ProxyStats, after: &ProxyStats) -> Vec<(String, u64)> {
    after
        .requests
        .iter()
        .map(|(operation, n)| (operation.clone(), n - before.requests_of(operation)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

#[tokio::test]
async fn one_write_request_and_no_read_per_new_notification_and_per_duplicate_on_the_wire() {
    let dynamodb = DynamoLocal::shared();
    let table = dynamodb.fresh_store().await.table().to_owned();
    let proxy = FaultProxy::start(&dynamodb.endpoint(), FaultConfig::pass_through());
    let store = DynamoStore::new(client_at(&proxy.endpoint()).await, &table);
    let service = CallbackService::new(store, callback_config("", SignatureMode::Log));
    for (endpoint, name, notifications) in [
        (Endpoint::Voice, "huawei/status-callout.json", 1),
        (Endpoint::Voice, "huawei/fee-verification.json", 1),
        (Endpoint::Sms, "huawei/sms-notify.json", 1),
    ] {
        for delivery in ["new", "duplicate"] {
            let before = proxy.stats();
            let event = request(Envelope::HttpApi, "POST", "/x", fixture(name).as_bytes(), false);
            assert_eq!(answer(&service, endpoint, event).await.unwrap().status(), 200);
            let requests = requests_between(&before, &proxy.stats());
            assert_eq!(
                requests,
                vec![("PutItem".to_owned(), notifications)],
                "{name}, {delivery}: requests on the wire"
            );
        }
    }
    let records = dynamodb.client().await;
    let scanned = records.scan().table_name(&table).send().await.expect("scan").count;
    assert_eq!(scanned, 3, "one record per notification");
}
