//! What the three callback functions do with a push: authenticate, parse, store exactly once, answer.

use std::time::Duration;

use futures::future::join_all;
use http::Method;
use time::OffsetDateTime;
use tokio::time::Instant;
use tracing::Instrument;

pub use super::error::{CallbackError, MAX_BODY_BYTES, MAX_RECORD_BYTES};
use super::nonces::{InstanceNoncesOnly, NonceStore, SharedNonces};
use crate::auth::{CallbackTokens, SignatureMode, SignatureVerdict, SignatureVerifier};
use crate::huawei::{
    AppCredentials, FeeList, PayloadError, QuarantineSource, Quarantined, SmsNotification, SmsPush, VoicePush,
};
use crate::records::{
    cdr_record, conflict_record, event_record, is_reserved_key, quarantine_record, sms_record, unrecognised_record,
    Record, RecordKind, Stamp,
};
use crate::storage::{retry, PutOutcome, RecordStore, StoreError};
use crate::telemetry::mask_numbers;
use crate::telemetry::metrics::{self, Dimensions, Metric};

/// The message of the error line a callback logs for a record it could not store (`replay-unstored` reads such
/// lines back: [`super::replay`]).
pub const NOT_STORED_MESSAGE: &str = "NOT STORED: replay this payload once storage is back";

/// Which kind of URL the push arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `statusUrl` / `feeUrl`: status events and CDRs (dispatched on `eventType`).
    Voice,
    /// Privacy-number SMS notification address.
    Sms,
}

impl Endpoint {
    /// The `kind` a push is counted under when it is refused before its body is read: its URL's.
    fn unparsed_kind(self) -> &'static str {
        match self {
            Self::Voice => "voice",
            Self::Sms => "sms",
        }
    }
}

/// A push as the HTTP layer hands it over.
pub struct InboundPush<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    /// The `X-AKSK` (or else `X-WSSE`) header, if any.
    pub signature_header: Option<&'a str>,
    pub body: &'a [u8],
    /// The Lambda invocation's deadline, if known.
    pub deadline: Option<Instant>,
}

/// What to answer Huawei.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// `200`, empty body: a status event (or an unknown event kept raw) is stored.
    EventStored,
    /// `200 {"resultcode":"0","resultdesc":"Success"}`: every CDR of the push is stored.
    CdrsStored,
    /// `200`, empty body: the SMS notification is stored.
    SmsStored,
    Refused(CallbackError),
}

/// The callbacks' policy, from configuration.
#[derive(Debug, Clone)]
pub struct CallbackSettings {
    pub record_ttl: Duration,
    /// `AWS_REGION`, stamped on every record as `writtenRegion`.
    pub region: String,
    pub tokens: CallbackTokens,
    pub signature_mode: SignatureMode,
    /// How long a push may keep retrying its write (also kept below the invocation's deadline).
    pub store_retry_budget: Duration,
    /// Public base URL Huawei calls (for the URL-bearing signature schemes).
    pub callback_base_url: Option<String>,
    pub credentials: Option<AppCredentials>,
}

/// `N`: where nonces of signed pushes are remembered across instances (`enforce` only; see [`super::nonces`]).
pub struct CallbackService<S, N = InstanceNoncesOnly> {
    store: S,
    /// The peer region's replica of the table (`PEER_REGION`): takes a record the home table failed to.
    peer: Option<S>,
    tokens: CallbackTokens,
    signatures: SignatureVerifier,
    record_ttl: Duration,
    region: String,
    retry_budget: Duration,
    callback_base_url: Option<String>,
    nonces: SharedNonces<N>,
}

impl<S: RecordStore> CallbackService<S> {
    /// A service whose nonces are remembered by each instance only.
    pub fn new(store: S, config: CallbackSettings) -> Self {
        Self::with_nonces(store, config, SharedNonces::default())
    }
}

impl<S: RecordStore, N: NonceStore> CallbackService<S, N> {
    /// A service that, with `SIGNATURE_MODE=enforce`, remembers the nonces of signed pushes in `nonces`.
    pub fn with_nonces(store: S, config: CallbackSettings, nonces: SharedNonces<N>) -> Self {
        Self {
            store,
            peer: None,
            tokens: config.tokens,
            signatures: SignatureVerifier::new(config.signature_mode, config.credentials),
            record_ttl: config.record_ttl,
            region: config.region,
            retry_budget: config.store_retry_budget,
            callback_base_url: config.callback_base_url,
            nonces,
        }
    }

    /// The same service, writing to `peer` (the other region's replica of the table) a record that the home
    /// table still fails to store at its share of the retry budget: see [`Self::store_record`].
    pub fn with_peer(self, peer: S) -> Self {
        Self { peer: Some(peer), ..self }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn peer(&self) -> Option<&S> {
        self.peer.as_ref()
    }

    /// Handles one push and counts it (metric `Pushes`, and `PushesRefused` by error code).
    pub async fn handle(&self, endpoint: Endpoint, push: InboundPush<'_>) -> Answer {
        let handled = self.handle_push(endpoint, push).await;
        count_push(&handled);
        handled.answer
    }

    async fn handle_push(&self, endpoint: Endpoint, push: InboundPush<'_>) -> Handled {
        let refused = |refusal: CallbackError| {
            tracing::warn!(status = refusal.status(), reason = %refusal, "push refused");
            Handled::refused(endpoint.unparsed_kind(), refusal)
        };
        let verified_nonce = match self.admit(&push) {
            Ok(nonce) => nonce,
            Err(refusal) => return refused(refusal),
        };
        let Some(nonce) = verified_nonce else {
            return self.store_body(endpoint, push.body, push.deadline, Delivery::Push).await;
        };
        let claimed = match self.signatures.mode() {
            SignatureMode::Enforce => {
                let deadline = retry::deadline_within(self.retry_budget, push.deadline);
                match self.nonces.claim(&nonce, &self.region, deadline).await {
                    Ok(claimed) => Some(claimed),
                    Err(refusal) => {
                        if refusal.status() >= 500 {
                            self.signatures.forget_nonce(&nonce);
                        }
                        return refused(refusal);
                    }
                }
            }
            _ => None,
        };
        let handled = self.store_body(endpoint, push.body, push.deadline, Delivery::Push).await;
        // Huawei re-pushes what was not answered with success, with the same header: a 5xx must not make it a replay.
        if matches!(&handled.answer, Answer::Refused(refusal) if refusal.status() >= 500) {
            self.signatures.forget_nonce(&nonce);
            if let Some(claimed) = &claimed {
                self.nonces.forget(claimed, retry::deadline_within(FORGET_BUDGET, push.deadline)).await;
            }
        }
        handled
    }

    /// Stores a payload that was admitted when it arrived (a replay of a push left unstored): the path of a push
    /// after its method, token, size and signature checks. Counted like a push.
    pub async fn store_payload(&self, endpoint: Endpoint, body: &[u8], lambda_deadline: Option<Instant>) -> Answer {
        let handled = self.store_body(endpoint, body, lambda_deadline, Delivery::Replay).await;
        count_push(&handled);
        handled.answer
    }

    async fn store_body(
        &self,
        endpoint: Endpoint,
        body: &[u8],
        lambda_deadline: Option<Instant>,
        delivery: Delivery,
    ) -> Handled {
        let unparsed = endpoint.unparsed_kind();
        if body.len() > MAX_BODY_BYTES {
            return Handled::refused(unparsed, CallbackError::PayloadTooLarge);
        }
        let deadline = retry::deadline_within(self.retry_budget, lambda_deadline);
        let stamp = Stamp::new(OffsetDateTime::now_utc(), self.record_ttl, &self.region);
        let kept = match endpoint {
            Endpoint::Voice => VoicePush::parse(body).map(|push| voice_records(push, &stamp)),
            Endpoint::Sms => SmsNotification::parse(body).map(|push| sms_records(push, &stamp)),
        };
        match kept {
            Ok(kept) => self.store_all(kept, deadline, delivery).await,
            Err(invalid) => {
                tracing::warn!(status = 400, reason = %mask_numbers(&invalid.to_string()), "push refused");
                Handled::refused(unparsed, invalid.into())
            }
        }
    }

    /// Method, token, size and signature: everything decided before the body is parsed. A verified signature
    /// gives its nonce.
    fn admit(&self, push: &InboundPush<'_>) -> Result<Option<String>, CallbackError> {
        if push.method != Method::POST {
            return Err(CallbackError::MethodNotAllowed);
        }
        if !self.tokens.admits_path(push.path) {
            return Err(CallbackError::UnknownToken);
        }
        if push.body.len() > MAX_BODY_BYTES {
            return Err(CallbackError::PayloadTooLarge);
        }
        let url = self.callback_base_url.as_ref().map(|base| format!("{base}{}", push.path));
        match self.signatures.check(push.signature_header, url.as_deref(), OffsetDateTime::now_utc()) {
            SignatureVerdict::NotChecked => Ok(None),
            SignatureVerdict::Verified(scheme, nonce) => {
                tracing::info!(scheme = ?scheme, "push signature verified");
                Ok(Some(nonce))
            }
            SignatureVerdict::Rejected(rejection) if self.signatures.mode() == SignatureMode::Enforce => {
                Err(CallbackError::BadSignature(rejection))
            }
            SignatureVerdict::Rejected(rejection) => {
                tracing::info!(reason = %rejection, "push signature not verified (SIGNATURE_MODE=log)");
                Ok(None)
            }
        }
    }

    /// Every record a push keeps, written concurrently, each idempotent; success only when every one is durably
    /// stored (new or not), in its own record or in quarantine.
    async fn store_all(&self, kept: Kept, deadline: Instant, delivery: Delivery) -> Handled {
        let Kept { kind, records, success } = kept;
        if records.iter().any(too_large) {
            return Handled::refused(kind, refuse_too_large());
        }
        let results = join_all(records.iter().map(|record| self.store_record(record, deadline, delivery))).await;
        let failed = results.iter().filter(|r| r.is_err()).count();
        let created = results.iter().filter(|r| matches!(r, Ok(PutOutcome::Created))).count();
        for (record, result) in records.iter().zip(&results) {
            if record.kind == RecordKind::Quarantine && matches!(result, Ok(PutOutcome::Created)) {
                metrics::count(Metric::Quarantined, Dimensions::none());
            }
        }
        // A fee push gets one summary line: how its elements went, however many there are.
        if kind == "fee" {
            tracing::info!(
                records = records.len(),
                created,
                already_stored = records.len() - created - failed,
                failed,
                "fee push"
            );
        }
        match failed {
            0 => Handled { kind, answer: success, created: created > 0 },
            _ => Handled::refused(kind, CallbackError::StorageFailed { failed, total: records.len() }),
        }
    }

    /// One record, made durable ([`Self::put_durably`]). A different payload under its key is kept beside the
    /// first as a conflict record, itself made durable before the push is answered; except in a replay, whose
    /// payload is a copy with its numbers masked, so that it differs from a stored original by design.
    async fn store_record(
        &self,
        record: &Record,
        deadline: Instant,
        delivery: Delivery,
    ) -> Result<PutOutcome, StoreError> {
        let outcome = self.put_durably(record, deadline).await?;
        if outcome != PutOutcome::Conflicting || delivery == Delivery::Replay {
            return Ok(outcome);
        }
        let conflict = conflict_record(record);
        if self.put_durably(&conflict, deadline).await? == PutOutcome::Created {
            metrics::count(Metric::ConflictingDuplicates, Dimensions::none());
        }
        Ok(PutOutcome::Conflicting)
    }

    /// One record, retried within the deadline. A final failure is logged at error level with the masked
    /// payload, so the notification can be replayed by hand.
    async fn put_durably(&self, record: &Record, deadline: Instant) -> Result<PutOutcome, StoreError> {
        let span = tracing::info_span!("store", sessionId = %mask_numbers(&record.pk), sk = %record.sk);
        async {
            let result = match &self.peer {
                None => retry::until_deadline(deadline, || self.store.put_new(record)).await,
                Some(peer) => self.store_with_fallback(peer, record, deadline).await,
            };
            match &result {
                Ok(PutOutcome::Created) => tracing::info!("stored"),
                Ok(PutOutcome::AlreadyStored) => tracing::info!("duplicate delivery: already stored"),
                Ok(PutOutcome::Conflicting) => tracing::warn!(
                    kind = ?record.kind,
                    "CONFLICTING DUPLICATE: a different payload under a stored key; the first stays, this one is kept as a conflict record"
                ),
                Err(error) => tracing::error!(
                    error = %error,
                    kind = ?record.kind,
                    payload = %mask_numbers(&record.raw),
                    "{NOT_STORED_MESSAGE}"
                ),
            }
            result
        }
        .instrument(span)
        .await
    }

    /// The home table first, until its share of the deadline (or at once when it cannot be reached at all); then,
    /// if it still fails with an error worth retrying (never a refusal such as a validation error), the same
    /// conditional write to the peer region's replica with what is left. A home attempt still under way when its
    /// share ends goes on beside the peer's write, and the first durable write answers. The record keeps this
    /// region as `writtenRegion`, so its outcome events are published here once it replicates back
    /// (docs/operations.md, "Peer-replica writes and replay").
    async fn store_with_fallback(
        &self,
        peer: &S,
        record: &Record,
        deadline: Instant,
    ) -> Result<PutOutcome, StoreError> {
        let home_until = home_deadline(deadline);
        let home = retry::until_deadline_while_reachable(home_until, || self.store.put_new(record));
        tokio::pin!(home);
        let home_failed = tokio::select! {
            answer = &mut home => match answer {
                Err(error) if error.is_transient() => Some(error),
                settled => return settled,
            },
            () = tokio::time::sleep_until(home_until) => None,
        };
        match &home_failed {
            Some(error) => tracing::warn!(error = %error, "home table failing: writing to the peer replica"),
            None => tracing::warn!("home table not answering: writing to the peer replica beside it"),
        }
        let peer_write = self.write_to_peer(peer, record, deadline);
        if home_failed.is_some() {
            return peer_write.await;
        }
        tokio::pin!(peer_write);
        tokio::select! {
            answer = &mut home => match answer {
                Err(error) if error.is_transient() => peer_write.await,
                settled => settled,
            },
            answer = &mut peer_write => match answer {
                Ok(outcome) => Ok(outcome),
                Err(_) => home.await,
            },
        }
    }

    /// The same conditional write to the peer replica, retried and cut at `deadline`, counted and logged.
    async fn write_to_peer(&self, peer: &S, record: &Record, deadline: Instant) -> Result<PutOutcome, StoreError> {
        let result = retry::until_deadline_cut_there(deadline, || peer.put_new(record)).await;
        let counted = match &result {
            Ok(PutOutcome::Created) => {
                tracing::warn!("STORED IN PEER REPLICA");
                "stored"
            }
            Ok(PutOutcome::AlreadyStored | PutOutcome::Conflicting) => "duplicate",
            Err(_) => "failed",
        };
        metrics::count(Metric::PeerWrites, Dimensions::result(counted));
        result
    }
}

/// How much of what is left before `deadline` the peer's write keeps for itself when the home table fails: half,
/// at most [`PEER_SHARE_MAX`].
fn home_deadline(deadline: Instant) -> Instant {
    let left = deadline.saturating_duration_since(Instant::now());
    deadline - (left / 2).min(PEER_SHARE_MAX)
}

/// The longest time kept for the peer's write: a conditional `PutItem` across regions takes tens of milliseconds,
/// and a home attempt, cut at 1.5 s (`adapters::dynamo::timeouts`), can run that long beside it.
pub const PEER_SHARE_MAX: Duration = Duration::from_millis(1500);

/// How long forgetting the nonce of a push answered 5xx may take, after its write used the retry budget.
const FORGET_BUDGET: Duration = Duration::from_millis(500);

fn count_push(handled: &Handled) {
    let result = match &handled.answer {
        Answer::Refused(CallbackError::StorageFailed { .. }) => "storage_failed",
        Answer::Refused(refusal) => {
            metrics::count(Metric::PushesRefused, Dimensions::result(refusal.code()));
            "refused"
        }
        _ if handled.created => "stored",
        _ => "duplicate",
    };
    metrics::count(Metric::Pushes, Dimensions::kind_result(handled.kind, result));
}

/// How a payload arrived: pushed by Huawei, or replayed from a NOT STORED log line (its numbers masked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    Push,
    Replay,
}

/// The records a push keeps, its kind (for the `Pushes` metric) and its answer once they are all durable.
struct Kept {
    kind: &'static str,
    records: Vec<Record>,
    success: Answer,
}

/// A voice push's records: its event, its CDRs, or what had to be quarantined. A sessionId that would land among
/// our own records is quarantined, like one that is not a key at all.
fn voice_records(push: VoicePush, stamp: &Stamp) -> Kept {
    let status = |records| Kept { kind: "status", records, success: Answer::EventStored };
    match push {
        VoicePush::Status(event) if is_reserved_key(event.info.session_id.as_str()) => {
            status(vec![quarantine(&reserved(QuarantineSource::Status, event.raw), stamp)])
        }
        VoicePush::Status(event) => {
            note_dropped_fields(&event.info.session_id, &event.dropped_fields);
            status(vec![event_record(&event, stamp)])
        }
        VoicePush::Unrecognised(event) if is_reserved_key(event.session_id.as_str()) => {
            status(vec![quarantine(&reserved(QuarantineSource::Status, event.raw), stamp)])
        }
        VoicePush::Unrecognised(event) => {
            tracing::warn!(
                sessionId = %event.session_id,
                eventType = %event.event_type,
                "unknown eventType: stored raw"
            );
            Kept {
                kind: "unknown_event",
                records: vec![unrecognised_record(&event, stamp)],
                success: Answer::EventStored,
            }
        }
        VoicePush::Quarantined(element) => status(vec![quarantine(&element, stamp)]),
        VoicePush::Fee(FeeList { cdrs, mut quarantined }) => {
            metrics::record(Metric::CdrsPerPush, Dimensions::none(), (cdrs.len() + quarantined.len()) as f64);
            let mut records = Vec::with_capacity(cdrs.len() + quarantined.len());
            for received in cdrs {
                if is_reserved_key(received.cdr.session_id.as_str()) {
                    quarantined.push(reserved(QuarantineSource::Fee, received.raw));
                } else {
                    note_dropped_fields(&received.cdr.session_id, &received.dropped_fields);
                    records.push(cdr_record(&received, stamp));
                }
            }
            records.extend(quarantined.iter().map(|element| quarantine(element, stamp)));
            Kept { kind: "fee", records, success: Answer::CdrsStored }
        }
    }
}

fn sms_records(push: SmsPush, stamp: &Stamp) -> Kept {
    let record = match push {
        SmsPush::Notification(sms) => {
            if sms.event.notification_mode != "Notify" {
                tracing::warn!(mode = %sms.event.notification_mode, "SMS in a mode other than Notify: stored, not answered with a control body");
            }
            note_dropped_fields(&mask_numbers(&sms.event.sms_identifier), &sms.dropped_fields);
            sms_record(&sms, stamp)
        }
        SmsPush::Quarantined(element) => quarantine(&element, stamp),
    };
    Kept { kind: "sms", records: vec![record], success: Answer::SmsStored }
}

/// An element whose sessionId starts with one of our reserved prefixes.
fn reserved(source: QuarantineSource, raw: String) -> Quarantined {
    let reason =
        PayloadError::InvalidField { field: "sessionId", reason: "must not start with a reserved key prefix".into() };
    Quarantined { source, reason, raw }
}

/// The quarantine record of an element, logged (its key and reason, never its content).
fn quarantine(element: &Quarantined, stamp: &Stamp) -> Record {
    let record = quarantine_record(element, stamp);
    tracing::warn!(
        key = %record.pk,
        source = element.source.as_str(),
        reason = %mask_numbers(&element.reason.to_string()),
        "QUARANTINED: a push element whose identity cannot be a key, kept whole"
    );
    record
}

/// Counts (`FieldsDropped`, by field) and logs the fields of a record that did not parse and were left out of its
/// typed attributes (they stay in its raw JSON).
/// `id`: a sessionId or an SMS identifier, printed masked.
fn note_dropped_fields(id: &impl std::fmt::Display, fields: &[String]) {
    if fields.is_empty() {
        return;
    }
    for field in fields {
        metrics::count(Metric::FieldsDropped, Dimensions::field(field.as_str()));
    }
    tracing::warn!(sessionId = %id, fields = ?fields, "fields that do not parse: dropped from the typed record, kept raw");
}

/// Whether a record may not fit in one DynamoDB item. Its JSON text is never smaller than DynamoDB's measure of
/// the item (names and strings count alike; JSON adds quotes, separators and escapes), so a record under the
/// limit here fits. Without this check such a push fails in DynamoDB and is answered 503, which Huawei
/// re-pushes in vain.
fn too_large(record: &Record) -> bool {
    serde_json::to_vec(record).map_or(true, |json| json.len() > MAX_RECORD_BYTES)
}

fn refuse_too_large() -> CallbackError {
    let refusal = CallbackError::RecordTooLarge;
    tracing::warn!(status = refusal.status(), reason = %refusal, "push refused");
    refusal
}

/// A push handled: its kind (`status`, `fee`, `unknown_event`, `sms`, or its URL's when refused unread), the
/// answer, and whether this delivery wrote anything new.
struct Handled {
    kind: &'static str,
    answer: Answer,
    created: bool,
}

impl Handled {
    fn refused(kind: &'static str, refusal: CallbackError) -> Self {
        Self { kind, answer: Answer::Refused(refusal), created: false }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::MemoryStore;
    use crate::auth::{SignatureMode, SignatureRejection};
    use crate::ids::sid;

    fn settings(tokens: &str) -> CallbackSettings {
        CallbackSettings {
            record_ttl: Duration::from_secs(86_400),
            region: "eu-west-1".into(),
            tokens: CallbackTokens::parse(tokens).unwrap(),
            signature_mode: SignatureMode::Log,
            store_retry_budget: Duration::from_millis(200),
            callback_base_url: None,
            credentials: None,
        }
    }

    fn service(tokens: &str) -> CallbackService<MemoryStore> {
        CallbackService::new(MemoryStore::default(), settings(tokens))
    }

    async fn push(service: &CallbackService<MemoryStore>, endpoint: Endpoint, path: &str, body: &str) -> Answer {
        let push =
            InboundPush { method: &Method::POST, path, signature_header: None, body: body.as_bytes(), deadline: None };
        service.handle(endpoint, push).await
    }

    const CALLOUT: &str =
        r#"{"eventType":"callout","statusInfo":{"sessionId":"s1","timestamp":"2019-01-24 03:04:24"}}"#;

    #[tokio::test]
    async fn a_status_event_is_stored_once_with_one_write_each() {
        let s = service("");
        for _ in 0..3 {
            assert_eq!(push(&s, Endpoint::Voice, "/voice/status", CALLOUT).await, Answer::EventStored);
        }
        assert_eq!(s.store().records().len(), 1);
        assert_eq!(s.store().write_requests(), 3, "one write request per delivery, no reads");
    }

    #[tokio::test]
    async fn fee_push_succeeds_only_when_every_cdr_is_stored() {
        let s = service("");
        let fee = r#"{"eventType":"fee","feeLst":[{"sessionId":"a","icid":"1"},{"sessionId":"b","icid":"2"}]}"#;
        s.store().set_unavailable(true);
        assert_eq!(
            push(&s, Endpoint::Voice, "/voice/fee", fee).await,
            Answer::Refused(CallbackError::StorageFailed { failed: 2, total: 2 })
        );
        s.store().set_unavailable(false);
        assert_eq!(push(&s, Endpoint::Voice, "/voice/fee", fee).await, Answer::CdrsStored);
        assert_eq!(push(&s, Endpoint::Voice, "/voice/fee", fee).await, Answer::CdrsStored);
        assert_eq!(s.store().records().len(), 2);
    }

    /// The metrics of one push: its `Pushes` (kind, result), and its `PushesRefused` code and `CdrsPerPush`.
    async fn push_metrics(
        s: &CallbackService<MemoryStore>,
        endpoint: Endpoint,
        path: &str,
        body: &str,
    ) -> (String, Option<String>, Option<f64>) {
        let (_, values) = metrics::collect(push(s, endpoint, path, body)).await;
        let pushes: Vec<String> = values
            .iter()
            .filter(|(_, m)| m.contains_key(&Metric::Pushes))
            .map(|(d, m)| {
                format!("{}/{}={}", d.kind.unwrap_or("-"), d.result.as_deref().unwrap_or("-"), m[&Metric::Pushes])
            })
            .collect();
        let refused = values.iter().find(|(_, m)| m.contains_key(&Metric::PushesRefused));
        let cdrs = values.get(&Dimensions::none()).and_then(|m| m.get(&Metric::CdrsPerPush)).copied();
        (pushes.join(","), refused.and_then(|(d, _)| d.result.clone()), cdrs)
    }

    #[tokio::test]
    async fn every_push_is_counted_by_kind_and_result() {
        let s = service("tok1234567");
        let fee = r#"{"eventType":"fee","feeLst":[{"sessionId":"a","icid":"1"},{"sessionId":"b","icid":"2"}]}"#;
        let sms = r#"{"smsEvent":{"smsIdentifier":"m1","notificationMode":"Notify","calling":"+1","called":"+2"}}"#;
        let other = r#"{"eventType":"somethingNew","statusInfo":{"sessionId":"s9"}}"#;
        let status = "/voice/status/tok1234567";
        assert_eq!(push_metrics(&s, Endpoint::Voice, status, CALLOUT).await, ("status/stored=1".into(), None, None));
        assert_eq!(push_metrics(&s, Endpoint::Voice, status, CALLOUT).await, ("status/duplicate=1".into(), None, None));
        assert_eq!(push_metrics(&s, Endpoint::Voice, status, fee).await, ("fee/stored=1".into(), None, Some(2.0)));
        assert_eq!(push_metrics(&s, Endpoint::Voice, status, fee).await, ("fee/duplicate=1".into(), None, Some(2.0)));
        assert_eq!(
            push_metrics(&s, Endpoint::Voice, status, other).await,
            ("unknown_event/stored=1".into(), None, None)
        );
        let sms_path = "/privacy-number/sms/tok1234567";
        assert_eq!(push_metrics(&s, Endpoint::Sms, sms_path, sms).await, ("sms/stored=1".into(), None, None));
        let refused = push_metrics(&s, Endpoint::Voice, "/voice/status/wrong", CALLOUT).await;
        assert_eq!(refused, ("voice/refused=1".into(), Some("unauthorized".into()), None));
        let invalid = push_metrics(&s, Endpoint::Sms, sms_path, "{").await;
        assert_eq!(invalid, ("sms/refused=1".into(), Some("invalid_json".into()), None));
        s.store().set_unavailable(true);
        let failed =
            push_metrics(&s, Endpoint::Voice, status, r#"{"eventType":"answer","statusInfo":{"sessionId":"s2"}}"#)
                .await;
        assert_eq!(failed, ("status/storage_failed=1".into(), None, None));
    }

    #[tokio::test(start_paused = true)]
    async fn a_record_the_home_table_fails_to_store_goes_to_the_peer_replica() {
        let s = service("").with_peer(MemoryStore::default());
        let (answer, values) = metrics::collect(push(&s, Endpoint::Voice, "/voice/status", CALLOUT)).await;
        assert_eq!(answer, Answer::EventStored);
        assert_eq!((s.store().records().len(), s.peer().unwrap().write_requests()), (1, 0), "home healthy: no peer");
        assert!(!values.values().any(|m| m.contains_key(&Metric::PeerWrites)));

        s.store().set_unavailable(true);
        let started = Instant::now();
        let second = r#"{"eventType":"answer","statusInfo":{"sessionId":"s1"}}"#;
        let (answer, values) = metrics::collect(push(&s, Endpoint::Voice, "/voice/status", second)).await;
        assert_eq!(answer, Answer::EventStored, "durable in the peer replica");
        let peer_records = s.peer().unwrap().records();
        assert_eq!(peer_records.iter().map(|r| r.sk.as_str()).collect::<Vec<_>>(), ["event#answer"]);
        assert_eq!(peer_records[0].written_region, "eu-west-1", "written here, published here");
        assert_eq!(values[&Dimensions::result("stored")][&Metric::PeerWrites], 1.0);
        // The home table had at most half of the 200 ms budget; the peer answered at once.
        let elapsed = started.elapsed();
        assert!(elapsed > Duration::ZERO && elapsed <= Duration::from_millis(100), "{elapsed:?}");

        s.peer().unwrap().set_unavailable(true);
        let third = r#"{"eventType":"disconnect","statusInfo":{"sessionId":"s1"}}"#;
        let (answer, values) = metrics::collect(push(&s, Endpoint::Voice, "/voice/status", third)).await;
        assert_eq!(answer, Answer::Refused(CallbackError::StorageFailed { failed: 1, total: 1 }), "both down: 503");
        assert_eq!(values[&Dimensions::result("failed")][&Metric::PeerWrites], 1.0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_home_write_still_under_way_at_the_end_of_its_share_goes_on_beside_the_peer() {
        let s = service("").with_peer(MemoryStore::default());
        s.store().set_write_delay(Duration::from_secs(60));
        let started = Instant::now();
        let (answer, values) = metrics::collect(push(&s, Endpoint::Voice, "/voice/status", CALLOUT)).await;
        assert_eq!(answer, Answer::EventStored, "the peer stored it while the home write hung");
        assert_eq!(s.peer().unwrap().records().len(), 1);
        assert_eq!(values[&Dimensions::result("stored")][&Metric::PeerWrites], 1.0);
        // The home table's share of the 200 ms budget is half of it; the peer answered at once.
        assert_eq!(started.elapsed(), Duration::from_millis(100), "the peer's share was not spent waiting");

        // A home write that lands while the peer is still slow answers first.
        let s = service("").with_peer(MemoryStore::default());
        s.store().set_write_delay(Duration::from_millis(150));
        s.peer().unwrap().set_write_delay(Duration::from_secs(60));
        let (answer, _) = metrics::collect(push(&s, Endpoint::Voice, "/voice/status", CALLOUT)).await;
        assert_eq!(answer, Answer::EventStored);
        assert_eq!((s.store().records().len(), s.peer().unwrap().records().len()), (1, 0));
    }

    #[tokio::test]
    async fn refusals_write_nothing() {
        let s = service("secret-token");
        let wrong_method = InboundPush {
            method: &Method::GET,
            path: "/voice/status/secret-token",
            signature_header: None,
            body: CALLOUT.as_bytes(),
            deadline: None,
        };
        assert_eq!(s.handle(Endpoint::Voice, wrong_method).await, Answer::Refused(CallbackError::MethodNotAllowed));
        assert_eq!(
            push(&s, Endpoint::Voice, "/voice/status/wrong", CALLOUT).await,
            Answer::Refused(CallbackError::UnknownToken)
        );
        let huge = format!(r#"{{"eventType":"callout","pad":"{}"}}"#, "x".repeat(MAX_BODY_BYTES));
        assert_eq!(
            push(&s, Endpoint::Voice, "/voice/status/secret-token", &huge).await,
            Answer::Refused(CallbackError::PayloadTooLarge)
        );
        assert!(matches!(
            push(&s, Endpoint::Voice, "/voice/status/secret-token", "{").await,
            Answer::Refused(CallbackError::InvalidPayload(PayloadError::InvalidJson(_)))
        ));
        assert!(matches!(
            push(&s, Endpoint::Sms, "/privacy-number/sms/secret-token", CALLOUT).await,
            Answer::Refused(CallbackError::InvalidPayload(PayloadError::MissingField("smsEvent")))
        ));
        assert_eq!(s.store().write_requests(), 0);
        assert_eq!(push(&s, Endpoint::Voice, "/voice/status/secret-token", CALLOUT).await, Answer::EventStored);
    }

    #[tokio::test]
    async fn a_session_id_with_a_reserved_prefix_is_quarantined_never_stored_under_it() {
        let s = service("");
        let reserved = [
            (r#"{"eventType":"answer","statusInfo":{"sessionId":"request#abc"}}"#, Answer::EventStored),
            (r#"{"eventType":"recordReady","statusInfo":{"sessionId":"ratelimit#abc"}}"#, Answer::EventStored),
            (r#"{"eventType":"fee","feeLst":[{"sessionId":"ok-1"},{"sessionId":"sms#abc"}]}"#, Answer::CdrsStored),
        ];
        for (body, answer) in reserved {
            let (got, values) = metrics::collect(push(&s, Endpoint::Voice, "/voice/status", body)).await;
            assert_eq!(got, answer, "{body}");
            assert_eq!(values[&Dimensions::none()][&Metric::Quarantined], 1.0, "{body}");
        }
        let keys: Vec<(String, RecordKind)> = s.store().records().into_iter().map(|r| (r.pk, r.kind)).collect();
        assert!(
            keys.iter()
                .all(|(pk, kind)| pk == "ok-1" || (pk.starts_with("quarantine#") && *kind == RecordKind::Quarantine)),
            "{keys:?}"
        );
        assert_eq!(keys.len(), 4, "three quarantined, and the good CDR beside them: {keys:?}");
    }

    #[tokio::test]
    async fn a_merged_push_with_one_malformed_cdr_keeps_every_bill() {
        let s = service("");
        // 50 CDRs: one with a text where an integer belongs, one with an object, one with no sessionId, one with an
        // icid over 256 bytes; the rest well-formed.
        let mut cdrs: Vec<String> =
            (0..46).map(|i| format!(r#"{{"sessionId":"s{i}","icid":"i{i}","callOutUnaswRsn":17}}"#)).collect();
        cdrs.push(r#"{"sessionId":"bad-code","icid":"b1","callOutUnaswRsn":"N/A","ulFailReason":518}"#.into());
        cdrs.push(r#"{"sessionId":"bad-object","icid":"b2","sipStatusCode":{"code":486}}"#.into());
        cdrs.push(r#"{"icid":"no-session","callOutUnaswRsn":17}"#.into());
        cdrs.push(format!(r#"{{"sessionId":"long-icid","icid":"{}"}}"#, "i".repeat(300)));
        let body = format!(r#"{{"eventType":"fee","feeLst":[{}]}}"#, cdrs.join(","));
        let (answer, values) = metrics::collect(push(&s, Endpoint::Voice, "/voice/fee", &body)).await;
        assert_eq!(answer, Answer::CdrsStored, "acknowledged: every element is durably kept");
        let records = s.store().records();
        assert_eq!(records.len(), 50, "each element in a record of its own");
        assert_eq!(records.iter().filter(|r| r.kind == RecordKind::Cdr).count(), 48);
        assert_eq!(records.iter().filter(|r| r.kind == RecordKind::Quarantine).count(), 2);
        let bad_code = records.iter().find(|r| r.pk == "bad-code").expect("the malformed bill is kept");
        assert_eq!(
            (bad_code.fields.get("callOutUnaswRsn"), bad_code.fields.get("ulFailReason")),
            (None, Some(&518.into()))
        );
        assert!(bad_code.raw.contains(r#""callOutUnaswRsn":"N/A""#));
        let dropped = |field: &str| values.get(&Dimensions::field(field)).map(|m| m[&Metric::FieldsDropped]);
        assert_eq!((dropped("callOutUnaswRsn"), dropped("sipStatusCode")), (Some(1.0), Some(1.0)));
        assert_eq!(values[&Dimensions::none()][&Metric::Quarantined], 2.0);

        // Huawei's re-push of the same bytes changes nothing and counts no new quarantine.
        let (answer, values) = metrics::collect(push(&s, Endpoint::Voice, "/voice/fee", &body)).await;
        assert_eq!(answer, Answer::CdrsStored);
        assert_eq!(s.store().records().len(), 50);
        assert!(!values.values().any(|m| m.contains_key(&Metric::Quarantined)));
    }

    #[tokio::test]
    async fn a_status_push_with_an_unparseable_code_is_stored_and_logged_masked() {
        let s = service("");
        let body = r#"{"eventType":"disconnect","statusInfo":{"sessionId":"+8613800000001_1","stateCode":"busy"}}"#;
        let (answer, logs) = logs_of(push(&s, Endpoint::Voice, "/voice/status", body)).await;
        assert_eq!(answer, Answer::EventStored, "salvaged, not refused");
        let record = &s.store().records()[0];
        assert_eq!((record.sk.as_str(), record.fields.get("stateCode")), ("event#disconnect", None));
        let warning = logs.lines().find(|line| line.contains("do not parse")).expect("a warning");
        assert!(warning.contains("WARN") && warning.contains("stateCode"), "{warning}");
        assert!(!logs.contains("13800000001"), "{logs}");
    }

    #[tokio::test]
    async fn a_push_with_nothing_to_keep_is_still_refused() {
        let s = service("");
        for body in ["{", "[]", r#"{"eventType":"answer"}"#, r#"{"eventType":"fee"}"#, r#"{"note":"hello"}"#] {
            assert!(
                matches!(
                    push(&s, Endpoint::Voice, "/voice/status", body).await,
                    Answer::Refused(CallbackError::InvalidPayload(_))
                ),
                "{body}"
            );
        }
        assert!(matches!(
            push(&s, Endpoint::Sms, "/privacy-number/sms", r#"{"appKey":"k"}"#).await,
            Answer::Refused(CallbackError::InvalidPayload(_))
        ));
        assert_eq!(s.store().write_requests(), 0);
    }

    #[tokio::test]
    async fn an_sms_without_a_usable_identifier_is_quarantined() {
        let s = service("");
        let body = r#"{"smsEvent":{"smsIdentifier":"","notificationMode":"Notify","calling":"+8613800000001"}}"#;
        assert_eq!(push(&s, Endpoint::Sms, "/privacy-number/sms", body).await, Answer::SmsStored);
        let records = s.store().records();
        assert_eq!((records.len(), records[0].kind, records[0].raw.as_str()), (1, RecordKind::Quarantine, body));
    }

    #[tokio::test]
    async fn a_second_different_payload_under_a_stored_key_is_kept_beside_it_and_counted() {
        let s = service("");
        let forged = r#"{"eventType":"disconnect","statusInfo":{"sessionId":"s1","stateCode":8101}}"#;
        let real = r#"{"eventType":"disconnect","statusInfo":{"sessionId":"s1","stateCode":8102,"stateDesc":"busy"}}"#;
        assert_eq!(push(&s, Endpoint::Voice, "/voice/status", forged).await, Answer::EventStored);
        let (answer, values) = metrics::collect(push(&s, Endpoint::Voice, "/voice/status", real)).await;
        assert_eq!(answer, Answer::EventStored);
        assert_eq!(values[&Dimensions::none()][&Metric::ConflictingDuplicates], 1.0);
        let records = s.store().records();
        assert_eq!(records.len(), 2);
        let first = records.iter().find(|r| r.sk == "event#disconnect").unwrap();
        assert_eq!(first.raw, forged, "first-writer-wins stays");
        let conflict = records.iter().find(|r| r.kind == RecordKind::Conflict).expect("the later payload is kept");
        assert_eq!((conflict.pk.as_str(), conflict.raw.as_str()), ("s1", real));
        assert!(conflict.sk.starts_with("conflict#event#disconnect#"), "{}", conflict.sk);

        // The same later payload again, and the first again: nothing new, nothing counted.
        for body in [real, forged, &forged.replace(':', ": ")] {
            let (answer, values) = metrics::collect(push(&s, Endpoint::Voice, "/voice/status", body)).await;
            assert_eq!(answer, Answer::EventStored);
            assert!(!values.values().any(|m| m.contains_key(&Metric::ConflictingDuplicates)), "{body}");
        }
        assert_eq!(s.store().records().len(), 2);

        // The outcome is folded from the first payload alone, exactly once.
        let stored: Vec<crate::records::StoredRecord> = s
            .store()
            .records()
            .iter()
            .map(|r| serde_json::from_value(serde_json::to_value(r).unwrap()).unwrap())
            .collect();
        let outcome = crate::outcome::fold(&sid("s1"), &stored);
        assert_eq!((outcome.version, outcome.provider.state_code), (1, Some(8101)));
    }

    #[tokio::test]
    async fn a_replayed_masked_copy_of_a_stored_push_is_no_conflict() {
        let s = service("");
        let original = r#"{"eventType":"callout","statusInfo":{"sessionId":"s1","caller":"+8613800000001"}}"#;
        assert_eq!(push(&s, Endpoint::Voice, "/voice/status", original).await, Answer::EventStored);
        let masked = mask_numbers(original);
        let (answer, values) = metrics::collect(s.store_payload(Endpoint::Voice, masked.as_bytes(), None)).await;
        assert_eq!(answer, Answer::EventStored);
        assert_eq!(s.store().records().len(), 1, "no conflict record for a masked copy");
        assert!(!values.values().any(|m| m.contains_key(&Metric::ConflictingDuplicates)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_conflict_record_that_cannot_be_stored_fails_the_push() {
        let s = service("");
        let first = r#"{"eventType":"answer","statusInfo":{"sessionId":"s1","userData":"a"}}"#;
        assert_eq!(push(&s, Endpoint::Voice, "/voice/status", first).await, Answer::EventStored);
        s.store().fail_writes_of_sort_keys_starting_with("conflict#");
        let later = r#"{"eventType":"answer","statusInfo":{"sessionId":"s1","userData":"b"}}"#;
        assert_eq!(
            push(&s, Endpoint::Voice, "/voice/status", later).await,
            Answer::Refused(CallbackError::StorageFailed { failed: 1, total: 1 })
        );
    }

    #[tokio::test(start_paused = true)]
    async fn storage_outage_is_retried_then_refused_within_budget() {
        let s = service("");
        s.store().set_unavailable(true);
        let started = Instant::now();
        let answer = push(&s, Endpoint::Voice, "/voice/status", CALLOUT).await;
        assert_eq!(answer, Answer::Refused(CallbackError::StorageFailed { failed: 1, total: 1 }));
        assert!(s.store().write_requests() > 1, "transient errors are retried");
        // The retry budget of these tests is 200 ms (tokio's paused clock: no real waiting, no flakiness).
        assert!(
            started.elapsed() <= Duration::from_millis(200),
            "bounded by the retry budget: {:?}",
            started.elapsed()
        );
    }

    /// The log lines written while `f` runs on this thread, as JSON text.
    async fn logs_of<F: std::future::Future>(f: F) -> (F::Output, String) {
        let buffer = crate::telemetry::CapturedLogs::default();
        let writer = buffer.clone();
        let subscriber =
            tracing_subscriber::fmt().json().with_current_span(true).with_writer(move || writer.clone()).finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let output = f.await;
        let text = buffer.text();
        (output, text)
    }

    #[tokio::test(start_paused = true)]
    async fn an_unstored_push_is_logged_for_replay_with_every_number_masked() {
        let s = service("");
        s.store().set_unavailable(true);
        // A privacy-number bill: the sessionId and five fields carry full numbers.
        let body = r#"{"eventType":"fee","feeLst":[{"sessionId":"+8613400007762_+8615000002131_4_627e5c1f","icid":"c1","callerNum":"+8615000002131","calleeNum":"+8617000004375","fwdDstNum":"+8618600002935"}]}"#;
        let (answer, logs) = logs_of(push(&s, Endpoint::Voice, "/voice/fee", body)).await;
        assert_eq!(answer, Answer::Refused(CallbackError::StorageFailed { failed: 1, total: 1 }));
        let not_stored = logs.lines().find(|line| line.contains("NOT STORED")).expect("a NOT STORED line");
        assert!(not_stored.contains("+86150****2131") && not_stored.contains("+86186****2935"), "{not_stored}");
        for number in ["13400007762", "15000002131", "17000004375", "18600002935"] {
            assert!(!logs.contains(number), "{number} in a log line:\n{logs}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_lambda_deadline_caps_the_retry_budget() {
        let settings = CallbackSettings { store_retry_budget: Duration::from_secs(3), ..settings("") };
        let s = CallbackService::new(MemoryStore::default(), settings);
        s.store().set_unavailable(true);
        let started = Instant::now();
        // 1 s left in the invocation: the answer must leave before it, with its margin, not after the 3 s budget.
        let deadline = Some(started + Duration::from_secs(1));
        let push = InboundPush {
            method: &Method::POST,
            path: "/voice/status",
            signature_header: None,
            body: CALLOUT.as_bytes(),
            deadline,
        };
        let answer = s.handle(Endpoint::Voice, push).await;
        assert_eq!(answer, Answer::Refused(CallbackError::StorageFailed { failed: 1, total: 1 }));
        let elapsed = started.elapsed();
        assert!(elapsed <= Duration::from_secs(1) - retry::ANSWER_MARGIN, "answered {elapsed:?} after the start");
        assert!(elapsed >= Duration::from_millis(300), "it did retry until near the deadline: {elapsed:?}");
    }

    fn status_push(user_data_len: usize) -> String {
        let user_data = "u".repeat(user_data_len);
        format!(r#"{{"eventType":"callout","statusInfo":{{"sessionId":"s-1","userData":"{user_data}"}}}}"#)
    }

    #[tokio::test]
    async fn size_limits_refuse_only_what_is_over_them() {
        let s = service("");
        // An ordinary push of a few KB is stored.
        assert_eq!(push(&s, Endpoint::Voice, "/voice/status", &status_push(4_000)).await, Answer::EventStored);
        // A body of exactly MAX_BODY_BYTES passes the size check; one byte more is refused before parsing.
        let mut exact = status_push(10);
        exact.push_str(&" ".repeat(MAX_BODY_BYTES - exact.len()));
        assert_eq!(exact.len(), MAX_BODY_BYTES);
        assert_ne!(
            push(&s, Endpoint::Voice, "/voice/status", &exact).await,
            Answer::Refused(CallbackError::PayloadTooLarge)
        );
        let over = format!("{exact} ");
        assert_eq!(
            push(&s, Endpoint::Voice, "/voice/status", &over).await,
            Answer::Refused(CallbackError::PayloadTooLarge)
        );
        // Under the body limit, but its raw JSON beside the typed userData would not fit in one item.
        let twice_too_big = status_push(210_000);
        assert!(twice_too_big.len() < MAX_BODY_BYTES);
        assert_eq!(
            push(&s, Endpoint::Voice, "/voice/status", &twice_too_big).await,
            Answer::Refused(CallbackError::RecordTooLarge)
        );
    }

    #[test]
    fn a_record_of_exactly_the_item_limit_fits() {
        let VoicePush::Status(event) = VoicePush::parse(status_push(1).as_bytes()).unwrap() else { panic!() };
        let mut record = event_record(&event, &Stamp::new(OffsetDateTime::UNIX_EPOCH, Duration::ZERO, "r"));
        record.raw.clear();
        let base = serde_json::to_vec(&record).unwrap().len();
        record.raw = "a".repeat(MAX_RECORD_BYTES - base);
        assert!(!too_large(&record));
        record.raw.push('a');
        assert!(too_large(&record));
    }

    #[test]
    fn each_refusal_has_its_status_and_code() {
        let table = [
            (CallbackError::MethodNotAllowed, 405, "method_not_allowed"),
            (CallbackError::PayloadTooLarge, 413, "payload_too_large"),
            (CallbackError::RecordTooLarge, 413, "payload_too_large"),
            (CallbackError::UnknownToken, 401, "unauthorized"),
            (CallbackError::BadSignature(SignatureRejection::Missing), 401, "bad_signature"),
            (CallbackError::StorageFailed { failed: 1, total: 2 }, 503, "storage_unavailable"),
        ];
        for (error, status, code) in table {
            assert_eq!((error.status(), error.code()), (status, code), "{error:?}");
        }
        let invalid = CallbackError::InvalidPayload(VoicePush::parse(b"{").unwrap_err());
        assert_eq!((invalid.status(), invalid.code()), (400, "invalid_json"));
    }

    #[tokio::test]
    async fn an_unsigned_push_is_refused_only_when_signatures_are_enforced() {
        let credentials = Some(AppCredentials { app_key: "k".into(), app_secret: "s".into() });
        for (mode, expected) in [
            (SignatureMode::Enforce, Answer::Refused(CallbackError::BadSignature(SignatureRejection::Missing))),
            (SignatureMode::Log, Answer::EventStored),
        ] {
            let config = CallbackSettings { signature_mode: mode, credentials: credentials.clone(), ..settings("") };
            let s = CallbackService::new(MemoryStore::default(), config);
            assert_eq!(push(&s, Endpoint::Voice, "/voice/status", &status_push(1)).await, expected, "{mode:?}");
        }
    }

    #[tokio::test]
    async fn an_sms_in_another_mode_is_stored_and_flagged() {
        let body =
            |mode: &str| format!(r#"{{"smsEvent":{{"smsIdentifier":"id-{mode}","notificationMode":"{mode}"}}}}"#);
        let s = service("");
        let (answer, logs) = logs_of(push(&s, Endpoint::Sms, "/privacy-number/sms", &body("Block"))).await;
        assert_eq!(answer, Answer::SmsStored);
        assert!(logs.contains("other than Notify"), "{logs}");
        let (answer, logs) = logs_of(push(&s, Endpoint::Sms, "/privacy-number/sms", &body("Notify"))).await;
        assert_eq!(answer, Answer::SmsStored);
        assert!(!logs.contains("other than Notify"), "{logs}");
    }
}
