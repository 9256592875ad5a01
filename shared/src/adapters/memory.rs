//! In-memory [`RecordStore`] and [`TriggerStore`] for tests of decisions, with a switch to simulate an outage.
//! Compiled for this crate's tests and behind the `test-util` feature, never into a function.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::callbacks::{HealthProbe, NoncePut, NonceStore};
use crate::guard::{GuardStore, Taken};
use crate::idempotency::{Claim, Completion, IdempotencyStore};
use crate::ids::VerificationId;
use crate::ids::{IdempotencyKey, SessionId};
use crate::outcome::OutcomeStore;
use crate::rate_limit::{RateLimitStore, RateLimits};
use crate::records::guard::{block_write, budget_writes, lift_writes, tally_write, BudgetTake, Tally};
use crate::records::item::{ItemAction, ItemWrite};
use crate::records::nonce::NonceRecord;
use crate::records::verification::{apply, verification_key, VerificationChange, VerificationRecord};
use crate::records::{
    same_payload, Record, RequestRecord, StoredRecord, REQUEST_COMPLETED as COMPLETED,
    REQUEST_IN_PROGRESS as IN_PROGRESS, REQUEST_OUTCOME_REQUESTED as OUTCOME_REQUESTED,
    REQUEST_OUTCOME_UNKNOWN as OUTCOME_UNKNOWN,
};
use crate::storage::{PutOutcome, RecordStore, StoreError};
use crate::verification_state::{Changed, VerificationStore};

#[derive(Default)]
pub struct MemoryStore {
    records: Mutex<BTreeMap<(String, String), Record>>,
    unavailable: AtomicBool,
    /// Writes wait this long before they take effect (a slow or hanging table).
    write_delay: Mutex<std::time::Duration>,
    /// Writes of records whose sort key starts with this fail as an outage would.
    failing_sort_key_prefix: Mutex<Option<String>>,
    write_requests: AtomicUsize,
    read_requests: AtomicUsize,
    trigger: Mutex<MemoryTriggerState>,
    /// Nonce records: key → claim id.
    nonces: Mutex<std::collections::HashMap<String, String>>,
    /// Verification records by pk.
    verifications: Mutex<BTreeMap<String, VerificationRecord>>,
    guard: Mutex<MemoryGuard>,
}

/// The fraud guard's records, by pk: counters, tallies (the verifications counted), blocks (until when).
#[derive(Default)]
struct MemoryGuard {
    counters: BTreeMap<String, u32>,
    tallies: BTreeMap<String, (Vec<String>, Tally)>,
    blocks: BTreeMap<String, (i64, Tally)>,
}

fn value_of(write: &ItemWrite, placeholder: &str) -> Option<i64> {
    write.values.iter().find(|(name, _)| *name == placeholder).and_then(|(_, value)| value.as_i64())
}

fn key_of(write: &ItemWrite) -> String {
    match &write.action {
        ItemAction::Put(item) => item.get("pk").and_then(|pk| pk.as_str()).unwrap_or_default().to_owned(),
        ItemAction::Update { key, .. } | ItemAction::Delete(key) | ItemAction::Check(key) => key.pk.clone(),
    }
}

impl GuardStore for MemoryStore {
    async fn take(&self, prefix: &str, takes: &[BudgetTake], now: i64) -> Result<Taken, StoreError> {
        self.write_request()?;
        let writes = budget_writes(prefix, takes, now);
        let mut guard = self.guard.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if guard.blocks.get(&key_of(&writes[0])).is_some_and(|(until, _)| *until > now) {
            return Ok(Taken::Blocked);
        }
        for (index, write) in writes[1..].iter().enumerate() {
            let limit = value_of(write, ":limit").unwrap_or_default() as u32;
            if guard.counters.get(&key_of(write)).is_some_and(|count| *count >= limit) {
                return Ok(Taken::Spent(index));
            }
        }
        for write in &writes[1..] {
            *guard.counters.entry(key_of(write)).or_default() += 1;
        }
        Ok(Taken::Taken)
    }

    async fn tally(
        &self,
        prefix: &str,
        verification: &VerificationId,
        approved: bool,
        now: i64,
    ) -> Result<Tally, StoreError> {
        self.write_request()?;
        let key = key_of(&tally_write(prefix, verification, approved, now));
        let mut guard = self.guard.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (ids, tally) = guard.tallies.entry(key).or_default();
        if !ids.iter().any(|id| id == verification.as_str()) {
            ids.push(verification.as_str().to_owned());
            tally.ended += 1;
            tally.approved += u32::from(approved);
        }
        Ok(tally.clone())
    }

    async fn block(&self, prefix: &str, tally: &Tally, now: i64, until: i64) -> Result<bool, StoreError> {
        self.write_request()?;
        let key = key_of(&block_write(prefix, tally, now, until, None));
        let mut guard = self.guard.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if guard.blocks.get(&key).is_some_and(|(blocked_until, _)| *blocked_until > now) {
            return Ok(false);
        }
        guard.blocks.insert(key, (until, tally.clone()));
        Ok(true)
    }

    async fn lift(&self, prefix: &str, now: i64) -> Result<bool, StoreError> {
        self.write_request()?;
        let [block, tally] = lift_writes(prefix, now);
        let mut guard = self.guard.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        guard.tallies.remove(&key_of(&tally));
        Ok(guard.blocks.remove(&key_of(&block)).is_some())
    }
}

impl MemoryStore {
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }

    /// Every later write waits `delay` before it is applied (its attempt, not the caller, decides when to stop).
    pub fn set_write_delay(&self, delay: std::time::Duration) {
        *self.write_delay.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = delay;
    }

    /// Every later write of a record whose sort key starts with `prefix` fails as in an outage; the others work.
    pub fn fail_writes_of_sort_keys_starting_with(&self, prefix: &str) {
        *self.failing_sort_key_prefix.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(prefix.into());
    }

    pub fn records(&self) -> Vec<Record> {
        self.lock().values().cloned().collect()
    }

    /// Write requests received (each call is one, as it would be in DynamoDB).
    pub fn write_requests(&self) -> usize {
        self.write_requests.load(Ordering::SeqCst)
    }

    /// Read requests received (a Query of a call, a GetItem of a key).
    pub fn read_requests(&self) -> usize {
        self.read_requests.load(Ordering::SeqCst)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), Record>> {
        self.records.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl RecordStore for MemoryStore {
    async fn put_new(&self, record: &Record) -> Result<PutOutcome, StoreError> {
        self.write_request()?;
        let delay = *self.write_delay.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let failing = self.failing_sort_key_prefix.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        if failing.is_some_and(|prefix| record.sk.starts_with(&prefix)) {
            return Err(StoreError::transient("this sort key's writes fail"));
        }
        let mut records = self.lock();
        let key = (record.pk.clone(), record.sk.clone());
        if let Some(stored) = records.get(&key) {
            return Ok(match same_payload(&stored.raw, &record.raw) {
                true => PutOutcome::AlreadyStored,
                false => PutOutcome::Conflicting,
            });
        }
        records.insert(key, record.clone());
        Ok(PutOutcome::Created)
    }
}

impl MemoryStore {
    /// The nonces remembered (their keys).
    pub fn nonce_keys(&self) -> Vec<String> {
        self.nonces.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).keys().cloned().collect()
    }
}

impl NonceStore for MemoryStore {
    async fn put_nonce(&self, record: &NonceRecord) -> Result<NoncePut, StoreError> {
        self.write_request()?;
        let mut nonces = self.nonces.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match nonces.get(&record.pk) {
            Some(holder) => Ok(NoncePut::Held { claim_id: Some(holder.clone()) }),
            None => {
                nonces.insert(record.pk.clone(), record.claim_id.clone());
                Ok(NoncePut::Stored)
            }
        }
    }

    async fn delete_nonce(&self, record: &NonceRecord) -> Result<(), StoreError> {
        self.write_request()?;
        let mut nonces = self.nonces.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if nonces.get(&record.pk) == Some(&record.claim_id) {
            nonces.remove(&record.pk);
        }
        Ok(())
    }
}

impl HealthProbe for MemoryStore {
    async fn probe(&self) -> Result<(), StoreError> {
        self.read_requests.fetch_add(1, Ordering::SeqCst);
        self.available()
    }
}

/// Idempotency and rate-limit state of the in-memory store.
#[derive(Default)]
struct MemoryTriggerState {
    requests: std::collections::HashMap<String, (RequestRecord, i64)>,
    rates: std::collections::HashMap<String, Vec<i64>>,
}

impl MemoryStore {
    fn trigger_state(&self) -> std::sync::MutexGuard<'_, MemoryTriggerState> {
        self.trigger.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write_request(&self) -> Result<(), StoreError> {
        self.write_requests.fetch_add(1, Ordering::SeqCst);
        self.available()
    }

    fn available(&self) -> Result<(), StoreError> {
        match self.unavailable.load(Ordering::SeqCst) {
            true => Err(StoreError::transient("memory store switched off")),
            false => Ok(()),
        }
    }
}

impl IdempotencyStore for MemoryStore {
    async fn claim_request(
        &self,
        key: &IdempotencyKey,
        payload_hash: &str,
        in_progress_until_ms: i64,
        now_ms: i64,
        _expires_at: i64,
    ) -> Result<Claim, StoreError> {
        let key = key.as_str();
        self.write_request()?;
        let mut state = self.trigger_state();
        if let Some((existing, until)) = state.requests.get(key) {
            let abandoned = existing.status == IN_PROGRESS && *until < now_ms;
            if !abandoned {
                return Ok(Claim::from_existing(existing, payload_hash));
            }
        }
        let record = RequestRecord {
            status: IN_PROGRESS.into(),
            payload_hash: payload_hash.into(),
            outcome: None,
            session_id: None,
        };
        state.requests.insert(key.to_owned(), (record, in_progress_until_ms));
        Ok(Claim::Claimed)
    }

    async fn complete_request(&self, key: &IdempotencyKey, completion: &Completion) -> Result<(), StoreError> {
        let key = key.as_str();
        self.write_request()?;
        if let Some((record, _)) = self.trigger_state().requests.get_mut(key) {
            record.status = COMPLETED.into();
            (record.outcome, record.session_id) = match completion {
                Completion::Requested { session_id } => {
                    (Some(OUTCOME_REQUESTED.into()), Some(session_id.as_str().to_owned()))
                }
                Completion::OutcomeUnknown => (Some(OUTCOME_UNKNOWN.into()), None),
            };
        }
        Ok(())
    }

    async fn release_request(&self, key: &IdempotencyKey) -> Result<(), StoreError> {
        self.write_request()?;
        self.trigger_state().requests.remove(key.as_str());
        Ok(())
    }
}

impl RateLimitStore for MemoryStore {
    async fn take_rate_slot(
        &self,
        callee_key: &str,
        limits: &RateLimits,
        now: i64,
    ) -> Result<Result<(), u64>, StoreError> {
        self.write_request()?;
        let mut state = self.trigger_state();
        let log = state.rates.entry(callee_key.to_owned()).or_default();
        Ok(limits.admit(now, log).map(|new_log| *log = new_log))
    }
}

impl OutcomeStore for MemoryStore {
    async fn call_records(&self, session_id: &SessionId) -> Result<Vec<StoredRecord>, StoreError> {
        let session_id = session_id.as_str();
        self.read_requests.fetch_add(1, Ordering::SeqCst);
        self.available()?;
        let records = self.lock();
        let stored = records.values().filter(|record| record.pk == session_id).map(|record| {
            // Through JSON, as a record would come back from the table.
            serde_json::to_value(record).and_then(serde_json::from_value).map_err(StoreError::rejected)
        });
        stored.collect()
    }

    async fn request_record(&self, key: &IdempotencyKey) -> Result<Option<RequestRecord>, StoreError> {
        self.read_requests.fetch_add(1, Ordering::SeqCst);
        self.available()?;
        Ok(self.trigger_state().requests.get(key.as_str()).map(|(record, _)| record.clone()))
    }
}

impl MemoryStore {
    /// The verification record of `pk`, as stored.
    pub fn verification(&self, pk: &str) -> Option<VerificationRecord> {
        self.verifications.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(pk).cloned()
    }
}

/// The records module's own rule ([`apply`]) on a map: one write request per change, as in DynamoDB.
impl VerificationStore for MemoryStore {
    async fn change(&self, change: &VerificationChange) -> Result<Changed, StoreError> {
        self.write_request()?;
        let pk = verification_key(change.id()).pk;
        let mut verifications = self.verifications.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(match apply(verifications.get(&pk), change) {
            Ok(record) => {
                verifications.insert(pk, record.clone());
                Changed::Done(record)
            }
            Err(existing) => Changed::Refused(existing),
        })
    }
}
