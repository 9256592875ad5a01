//! A new notification costs one DynamoDB write request and no read; a duplicate costs one (failed) conditional
//! write. Measured by counting the requests the adapter sends to a real DynamoDB Local.

use std::sync::atomic::{AtomicUsize, Ordering};

use integration_tests::events::{request, Envelope};
use integration_tests::{callback_config, fixture, DynamoLocal};
use voice_core::adapters::DynamoStore;
use voice_core::auth::SignatureMode;
use voice_core::callbacks::{CallbackService, Endpoint};
use voice_core::edge::http::answer;
use voice_core::records::Record;
use voice_core::storage::{PutOutcome, RecordStore, StoreError};

/// Counts the requests made through the store port; the DynamoDB adapter sends exactly one API request
/// (a conditional PutItem) per call, and the port has no read operation.
struct Counting {
    inner: DynamoStore,
    requests: AtomicUsize,
}

impl RecordStore for Counting {
    async fn put_new(&self, record: &Record) -> Result<PutOutcome, StoreError> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        self.inner.put_new(record).await
    }
}

#[tokio::test]
async fn one_write_request_per_new_notification_and_per_duplicate() {
    let inner = DynamoLocal::shared().fresh_store().await;
    let service = CallbackService::new(
        Counting { inner, requests: AtomicUsize::new(0) },
        callback_config("", SignatureMode::Log),
    );
    let mut per_push = Vec::new();
    for (endpoint, name, notifications) in [
        (Endpoint::Voice, "huawei/status-callout.json", 1),
        (Endpoint::Voice, "huawei/fee-verification.json", 1),
        (Endpoint::Sms, "huawei/sms-notify.json", 1),
    ] {
        for _delivery in 0..2 {
            let before = service.store().requests.load(Ordering::SeqCst);
            let event = request(Envelope::HttpApi, "POST", "/x", fixture(name).as_bytes(), false);
            assert_eq!(answer(&service, endpoint, event).await.unwrap().status(), 200);
            per_push.push((name, service.store().requests.load(Ordering::SeqCst) - before, notifications));
        }
    }
    for (name, requests, notifications) in &per_push {
        assert_eq!(requests, notifications, "{name}: write requests per notification");
    }
    let records = service.store().inner.all_records().await.unwrap();
    assert_eq!(records.len(), 3);
}
