//! In-memory [`RecordStore`] for unit tests of decisions, with a switch to simulate an outage.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use super::{PutOutcome, Record, RecordStore, StoreError};

#[derive(Default)]
pub struct MemoryStore {
    records: Mutex<BTreeMap<(String, String), Record>>,
    unavailable: AtomicBool,
    write_requests: AtomicUsize,
}

impl MemoryStore {
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }

    pub fn records(&self) -> Vec<Record> {
        self.lock().values().cloned().collect()
    }

    /// Write requests received (each `put_new` call is one, as it would be in DynamoDB).
    pub fn write_requests(&self) -> usize {
        self.write_requests.load(Ordering::SeqCst)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), Record>> {
        self.records.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl RecordStore for MemoryStore {
    async fn put_new(&self, record: &Record) -> Result<PutOutcome, StoreError> {
        self.write_requests.fetch_add(1, Ordering::SeqCst);
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(StoreError::Transient("memory store switched off".into()));
        }
        let mut records = self.lock();
        let key = (record.pk.clone(), record.sk.clone());
        if records.contains_key(&key) {
            return Ok(PutOutcome::AlreadyStored);
        }
        records.insert(key, record.clone());
        Ok(PutOutcome::Created)
    }
}
