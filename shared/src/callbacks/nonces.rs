//! Nonces of signed pushes remembered across instances (`SIGNATURE_MODE=enforce`): each instance's own map
//! ([`crate::auth::SignatureVerifier`]) is a cheap first filter, but a header replayed to another instance is only
//! refused if the table remembers it. One conditional write per verified push, only in `enforce` mode; a push
//! answered 5xx forgets its nonce again, because Huawei re-pushes it with the same header.

use std::future::Future;
use std::sync::Arc;

use rand::Rng;
use time::OffsetDateTime;
use tokio::time::Instant;

use super::error::CallbackError;
use crate::auth::{SignatureRejection, NONCE_WINDOW};
use crate::records::nonce::{nonce_record, NonceRecord};
use crate::records::Stamp;
use crate::storage::{retry, StoreError};

/// What a conditional write of a nonce found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoncePut {
    /// This write stored it.
    Stored,
    /// A record of this nonce was there, stored by the claim `claim_id` (if it could be read).
    Held { claim_id: Option<String> },
}

/// Where nonces are remembered (the table, in AWS).
pub trait NonceStore: Send + Sync {
    /// Writes `record` unless a record of its nonce exists (one conditional write).
    fn put_nonce(&self, record: &NonceRecord) -> impl Future<Output = Result<NoncePut, StoreError>> + Send;

    /// Deletes `record` if it is still this claim's (one conditional delete); absent or another claim's: done.
    fn delete_nonce(&self, record: &NonceRecord) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl<T: NonceStore + ?Sized> NonceStore for Arc<T> {
    fn put_nonce(&self, record: &NonceRecord) -> impl Future<Output = Result<NoncePut, StoreError>> + Send {
        (**self).put_nonce(record)
    }

    fn delete_nonce(&self, record: &NonceRecord) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).delete_nonce(record)
    }
}

/// No store: nonces are remembered by each instance only (tests and tools that never enforce signatures).
#[derive(Debug, Clone, Copy, Default)]
pub struct InstanceNoncesOnly;

impl NonceStore for InstanceNoncesOnly {
    async fn put_nonce(&self, _: &NonceRecord) -> Result<NoncePut, StoreError> {
        Ok(NoncePut::Stored)
    }

    async fn delete_nonce(&self, _: &NonceRecord) -> Result<(), StoreError> {
        Ok(())
    }
}

/// The home table's nonce store and, with `PEER_REGION`, the peer replica's: a nonce the home table cannot take
/// goes to the peer, as records do, rather than refusing every push of an outage.
#[derive(Debug, Clone, Default)]
pub struct SharedNonces<N> {
    pub home: N,
    pub peer: Option<N>,
}

impl<N> SharedNonces<N> {
    pub fn new(home: N, peer: Option<N>) -> Self {
        Self { home, peer }
    }
}

/// A nonce this push holds in the table: forgotten again if the push is answered 5xx.
pub struct ClaimedNonce {
    record: NonceRecord,
    in_peer: bool,
}

impl<N: NonceStore> SharedNonces<N> {
    /// Claims `nonce` for this push until `deadline`: refused as replayed when another push holds it; a store that
    /// fails is a 503 (Huawei re-pushes, and nothing is stored meanwhile).
    pub async fn claim(&self, nonce: &str, region: &str, deadline: Instant) -> Result<ClaimedNonce, CallbackError> {
        let claim_id = format!("{:032x}", rand::rng().random::<u128>());
        let record = nonce_record(nonce, &claim_id, &Stamp::new(OffsetDateTime::now_utc(), NONCE_WINDOW, region));
        let (put, in_peer) = match &self.peer {
            None => (retry::until_deadline(deadline, || self.home.put_nonce(&record)).await, false),
            Some(peer) => {
                let home_until = half_way(deadline);
                match retry::until_deadline_while_reachable(home_until, || self.home.put_nonce(&record)).await {
                    Err(error) if error.is_transient() => {
                        tracing::warn!(error = %error, "home table failing: nonce claimed in the peer replica");
                        (retry::until_deadline_cut_there(deadline, || peer.put_nonce(&record)).await, true)
                    }
                    settled => (settled, false),
                }
            }
        };
        match put {
            Ok(NoncePut::Stored) => Ok(ClaimedNonce { record, in_peer }),
            // An earlier attempt of this claim stored it and its answer was lost.
            Ok(NoncePut::Held { claim_id: Some(holder) }) if holder == claim_id => Ok(ClaimedNonce { record, in_peer }),
            Ok(NoncePut::Held { .. }) => Err(CallbackError::BadSignature(SignatureRejection::Replayed)),
            Err(error) => {
                tracing::error!(error = %error, "nonce not recorded: push refused with 503, for Huawei to push again");
                Err(CallbackError::StorageFailed { failed: 1, total: 1 })
            }
        }
    }

    /// Forgets a claimed nonce (its push is answered 5xx), trying until `deadline`. A failure is logged: Huawei's
    /// re-push would then be refused as a replay until the nonce expires.
    pub async fn forget(&self, claimed: &ClaimedNonce, deadline: Instant) {
        let store = match (&self.peer, claimed.in_peer) {
            (Some(peer), true) => peer,
            _ => &self.home,
        };
        match retry::until_deadline_cut_there(deadline, || store.delete_nonce(&claimed.record)).await {
            Ok(()) => tracing::info!("nonce forgotten: the push was answered 5xx and may come again"),
            Err(error) => tracing::error!(
                error = %error,
                "NONCE NOT FORGOTTEN: a re-push of this failed push will be refused as a replay until it expires"
            ),
        }
    }
}

/// Half of what is left before `deadline`: the home table's share when there is a peer to try.
fn half_way(deadline: Instant) -> Instant {
    let now = Instant::now();
    now + deadline.saturating_duration_since(now) / 2
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use http::Method;

    use super::*;
    use crate::adapters::MemoryStore;
    use crate::auth::{CallbackTokens, SignatureMode};
    use crate::callbacks::{Answer, CallbackService, CallbackSettings, Endpoint, InboundPush};
    use crate::huawei::signature::{DigestScheme, UsernameToken};
    use crate::huawei::AppCredentials;
    use time::format_description::well_known::Rfc3339;

    const CALLOUT: &str =
        r#"{"eventType":"callout","statusInfo":{"sessionId":"s1","timestamp":"2019-01-24 03:04:24"}}"#;

    fn settings(mode: SignatureMode) -> CallbackSettings {
        CallbackSettings {
            record_ttl: Duration::from_secs(86_400),
            region: "eu-west-1".into(),
            tokens: CallbackTokens::default(),
            signature_mode: mode,
            store_retry_budget: Duration::from_millis(200),
            callback_base_url: None,
            credentials: Some(AppCredentials { app_key: "key".into(), app_secret: "testAppSecret".into() }),
        }
    }

    /// An instance of the function: its own table client and in-process map, the nonces in `nonces`.
    fn instance(mode: SignatureMode, nonces: &Arc<MemoryStore>) -> CallbackService<MemoryStore, Arc<MemoryStore>> {
        CallbackService::with_nonces(
            MemoryStore::default(),
            settings(mode),
            SharedNonces::new(Arc::clone(nonces), None),
        )
    }

    fn signed(nonce: &str) -> String {
        let created = OffsetDateTime::now_utc().format(&Rfc3339).unwrap();
        let digest = DigestScheme::HmacNonceCreated.digest(b"testAppSecret", nonce, &created, None).unwrap();
        UsernameToken { username: "key".into(), password_digest: digest, nonce: nonce.into(), created }
            .to_header_value()
    }

    async fn push<N: NonceStore>(service: &CallbackService<MemoryStore, N>, header: &str, body: &str) -> u16 {
        let push = InboundPush {
            method: &Method::POST,
            path: "/voice/status",
            signature_header: Some(header),
            body: body.as_bytes(),
            deadline: None,
        };
        match service.handle(Endpoint::Voice, push).await {
            Answer::Refused(refusal) => refusal.status(),
            _ => 200,
        }
    }

    #[tokio::test]
    async fn a_header_accepted_by_one_instance_is_refused_by_another() {
        let nonces = Arc::new(MemoryStore::default());
        let (a, b) = (instance(SignatureMode::Enforce, &nonces), instance(SignatureMode::Enforce, &nonces));
        let header = signed("nonce-1");
        assert_eq!(push(&a, &header, CALLOUT).await, 200);
        assert_eq!(push(&b, &header, CALLOUT).await, 401, "replayed to another instance");
        assert_eq!(push(&a, &header, CALLOUT).await, 401, "replayed to the same instance");
        assert_eq!(b.store().write_requests(), 0, "a replay stores nothing");
        assert_eq!(nonces.nonce_keys().len(), 1);
        assert_eq!(nonces.write_requests(), 2, "one conditional write per verified push, no more");
    }

    #[tokio::test]
    async fn a_push_answered_5xx_forgets_its_nonce_so_the_re_push_is_accepted() {
        let nonces = Arc::new(MemoryStore::default());
        let (a, b) = (instance(SignatureMode::Enforce, &nonces), instance(SignatureMode::Enforce, &nonces));
        let header = signed("nonce-2");
        a.store().set_unavailable(true);
        assert_eq!(push(&a, &header, CALLOUT).await, 503);
        assert!(nonces.nonce_keys().is_empty(), "forgotten");
        a.store().set_unavailable(false);
        assert_eq!(push(&a, &header, CALLOUT).await, 200, "re-pushed to the same instance");
        assert_eq!(push(&b, &header, CALLOUT).await, 401, "and only once");
        // The nonce store itself failing: 503, nothing stored, and the re-push is accepted once it is back.
        let header = signed("nonce-3");
        nonces.set_unavailable(true);
        assert_eq!(push(&a, &header, CALLOUT).await, 503);
        assert_eq!(a.store().records().len(), 1, "nothing stored without the nonce");
        nonces.set_unavailable(false);
        assert_eq!(push(&a, &header, CALLOUT).await, 200);
    }

    #[tokio::test]
    async fn the_nonce_is_written_only_in_enforce_mode() {
        let nonces = Arc::new(MemoryStore::default());
        for mode in [SignatureMode::Log, SignatureMode::Off] {
            let service = instance(mode, &nonces);
            assert_eq!(push(&service, &signed(&format!("nonce-{mode:?}")), CALLOUT).await, 200);
        }
        assert_eq!(nonces.write_requests(), 0, "log and off modes cost nothing more");
    }

    #[tokio::test(start_paused = true)]
    async fn a_nonce_the_home_table_cannot_take_goes_to_the_peer_and_is_forgotten_there() {
        let (home, peer) = (Arc::new(MemoryStore::default()), Arc::new(MemoryStore::default()));
        home.set_unavailable(true);
        let nonces = SharedNonces::new(Arc::clone(&home), Some(Arc::clone(&peer)));
        let deadline = Instant::now() + Duration::from_millis(400);
        let claimed = nonces.claim("nonce-4", "eu-west-1", deadline).await.unwrap();
        assert_eq!((home.nonce_keys().len(), peer.nonce_keys().len()), (0, 1));
        nonces.forget(&claimed, Instant::now() + Duration::from_millis(400)).await;
        assert!(peer.nonce_keys().is_empty());
    }

    #[tokio::test]
    async fn a_session_id_on_the_nonce_prefix_is_quarantined_never_stored_under_it() {
        let service = CallbackService::new(MemoryStore::default(), settings(SignatureMode::Off));
        let body = r#"{"eventType":"answer","statusInfo":{"sessionId":"nonce#abc"}}"#;
        assert_eq!(push(&service, "", body).await, 200);
        let records = service.store().records();
        assert_eq!(records.len(), 1);
        assert!(records[0].pk.starts_with("quarantine#"), "{}", records[0].pk);
    }
}
