//! One check-verification invoke over the store port: the request becomes one [`VerificationChange`], its one
//! conditional write answers with the record, and the record's fold is the answer.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use time::OffsetDateTime;
use tokio::time::Instant;

use super::{CheckError, CheckRequest};
use crate::ids::VerificationId;
use crate::records::verification::{CodeSource, VerificationChange, VerificationRecord};
use crate::storage::retry;
use crate::telemetry::metrics::{self, Dimensions, Metric};
use crate::verification_state::{
    code_hash, is_sent_code, Changed, Verification, VerificationStatus, VerificationStore,
};

/// check-verification's policy, from configuration.
pub struct CheckSettings {
    /// Keys the codes' hashes: the app secret, as the trigger's.
    pub hash_key: SecretString,
    /// How long one check keeps retrying transient storage errors.
    pub retry_budget: Duration,
}

pub struct CheckService<S> {
    store: S,
    settings: CheckSettings,
}

impl<S: VerificationStore> CheckService<S> {
    pub fn new(store: S, settings: CheckSettings) -> Self {
        Self { store, settings }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// One invoke. `deadline` is the Lambda deadline, when known.
    pub async fn handle(&self, event: Value, deadline: Option<Instant>) -> Result<Verification, CheckError> {
        let request = CheckRequest::from_event(event)
            .inspect_err(|e| tracing::warn!(errorType = e.error_type(), reason = %e, "check refused"))?;
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let result = self.answer(&request, now, deadline).await;
        match &result {
            Ok(answer) => {
                tracing::info!(verificationId = %request.id(), status = answer.status.as_str(), valid = ?answer.valid, "checked")
            }
            Err(e) => {
                tracing::warn!(verificationId = %request.id(), errorType = e.error_type(), reason = %e, "check failed")
            }
        }
        result
    }

    /// The answer to `request` at `now` (epoch seconds).
    pub async fn answer(
        &self,
        request: &CheckRequest,
        now: i64,
        deadline: Option<Instant>,
    ) -> Result<Verification, CheckError> {
        let id = request.id().clone();
        let (change, hash) = match request {
            CheckRequest::Code { code, .. } => {
                let hash = code_hash(self.settings.hash_key.expose_secret().as_bytes(), &id, code);
                let request = hex::encode(rand::random::<[u8; 8]>());
                (VerificationChange::Check { id: id.clone(), hash: hash.clone(), request, now }, Some(hash))
            }
            CheckRequest::Verified { .. } => (VerificationChange::Report { id: id.clone(), now }, None),
            CheckRequest::Cancel { .. } => (VerificationChange::Cancel { id: id.clone(), now }, None),
        };
        let deadline = retry::deadline_within(self.settings.retry_budget, deadline);
        let changed = retry::until_deadline(deadline, || self.store.change(&change))
            .await
            .map_err(CheckError::StorageUnavailable)?
            .settled(&change);
        let (record, applied) = match changed {
            Changed::Done(record) => (record, true),
            Changed::Refused(Some(record)) => (record, false),
            Changed::Refused(None) => return Err(CheckError::NotFound),
        };
        if matches!(request, CheckRequest::Verified { .. }) && record.code_source == CodeSource::Generated {
            return Err(CheckError::InvalidRequest(
                "verified: true reports a check the app made itself: only for verifications started with its own \
                 verifyCode"
                    .into(),
            ));
        }
        let mut answer = Verification::of(&id, &record, Some(now));
        if let Some(hash) = &hash {
            // Only an approved verification says whether a code is its own: past the cap, a "valid" would tell an
            // attacker which guess was right.
            let valid = answer.status == VerificationStatus::Approved && is_sent_code(&record, hash);
            answer.valid = Some(valid);
            let result = match answer.status {
                _ if valid => "approved",
                VerificationStatus::Pending | VerificationStatus::Approved => "wrong",
                other => other.as_str(),
            };
            metrics::count(Metric::VerificationChecks, Dimensions::country_result(answer.country(), result));
        }
        if applied && answer.status == VerificationStatus::Approved && !was_approved(&id, &record, now) {
            count_approval(&answer, &record);
        }
        Ok(answer)
    }
}

/// Whether the record was approved before its last step (the one this request added).
fn was_approved(id: &VerificationId, record: &VerificationRecord, now: i64) -> bool {
    let mut before = record.clone();
    before.steps.pop();
    Verification::of(id, &before, Some(now)).status == VerificationStatus::Approved
}

/// `VerificationsApproved` and `TimeToVerify`, by country: the conversion's numerator and its speed.
fn count_approval(answer: &Verification, record: &VerificationRecord) {
    metrics::count(Metric::VerificationsApproved, Dimensions::country(answer.country()));
    if let Some(seconds) = answer.seconds_to_verify(record) {
        metrics::record(Metric::TimeToVerify, Dimensions::country(answer.country()), seconds as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::MemoryStore;
    use crate::ids::{vid, VerificationCode};
    use serde_json::json;

    const KEY: &str = "app-secret";

    async fn started(store: &MemoryStore, id: &str, code: &str, source: CodeSource, now: i64) {
        let change = VerificationChange::Send {
            id: vid(id),
            hash: code_hash(KEY.as_bytes(), &vid(id), &VerificationCode::parse(code).unwrap()),
            source,
            country_code: "86".into(),
            prefix: "8613800".into(),
            now,
            codes_expire_at: now + 600,
            max_sends: 5,
            max_checks: 5,
            record_expires_at: now + 86_400,
        };
        assert!(matches!(store.change(&change).await.unwrap(), Changed::Done(_)));
    }

    fn service() -> CheckService<MemoryStore> {
        let settings = CheckSettings { hash_key: KEY.to_string().into(), retry_budget: Duration::from_secs(1) };
        CheckService::new(MemoryStore::default(), settings)
    }

    async fn check(s: &CheckService<MemoryStore>, event: Value, now: i64) -> Result<Verification, CheckError> {
        s.answer(&CheckRequest::from_event(event).unwrap(), now, None).await
    }

    #[tokio::test]
    async fn a_wrong_code_costs_an_attempt_and_the_right_one_approves_again_and_again() {
        let s = service();
        started(s.store(), "v-1", "482913", CodeSource::Generated, 1_000).await;
        let wrong = check(&s, json!({"verificationId": "v-1", "code": "111111"}), 1_010).await.unwrap();
        assert_eq!((wrong.status, wrong.attempts_left, wrong.valid), (VerificationStatus::Pending, 4, Some(false)));
        for now in [1_020, 1_030] {
            let right = check(&s, json!({"verificationId": "v-1", "code": "482913"}), now).await.unwrap();
            assert_eq!((right.status, right.valid), (VerificationStatus::Approved, Some(true)));
        }
        let after = check(&s, json!({"verificationId": "v-1", "code": "111111"}), 1_040).await.unwrap();
        assert_eq!(
            (after.status, after.valid),
            (VerificationStatus::Approved, Some(false)),
            "a wrong code is not valid"
        );
    }

    #[tokio::test]
    async fn past_expiry_or_the_cap_no_code_approves_and_validity_is_not_revealed() {
        let s = service();
        started(s.store(), "v-2", "482913", CodeSource::Generated, 1_000).await;
        let late = check(&s, json!({"verificationId": "v-2", "code": "482913"}), 1_600).await.unwrap();
        assert_eq!((late.status, late.valid), (VerificationStatus::Expired, Some(false)));
        started(s.store(), "v-3", "482913", CodeSource::Generated, 1_000).await;
        for now in 1_001..1_006 {
            check(&s, json!({"verificationId": "v-3", "code": "111111"}), now).await.unwrap();
        }
        let capped = check(&s, json!({"verificationId": "v-3", "code": "482913"}), 1_010).await.unwrap();
        assert_eq!(
            (capped.status, capped.attempts_left, capped.valid),
            (VerificationStatus::MaxAttemptsReached, 0, Some(false))
        );
    }

    #[tokio::test]
    async fn report_back_is_for_app_codes_only_and_cancel_ends_it() {
        let s = service();
        started(s.store(), "app-1", "4829", CodeSource::App, 1_000).await;
        let reported = check(&s, json!({"verificationId": "app-1", "verified": true}), 1_010).await.unwrap();
        assert_eq!((reported.status, reported.valid), (VerificationStatus::Approved, None));
        started(s.store(), "gen-1", "482913", CodeSource::Generated, 1_000).await;
        let refused = check(&s, json!({"verificationId": "gen-1", "verified": true}), 1_010).await.unwrap_err();
        assert_eq!(refused.error_type(), "InvalidRequest");
        let canceled = check(&s, json!({"verificationId": "gen-1", "cancel": true}), 1_020).await.unwrap();
        assert_eq!(canceled.status, VerificationStatus::Canceled);
        let after = check(&s, json!({"verificationId": "gen-1", "code": "482913"}), 1_030).await.unwrap();
        assert_eq!((after.status, after.valid), (VerificationStatus::Canceled, Some(false)));
        let missing = check(&s, json!({"verificationId": "nobody", "code": "482913"}), 1_030).await.unwrap_err();
        assert_eq!(missing.error_type(), "NotFound");
    }

    #[tokio::test]
    async fn storage_down_is_storage_unavailable() {
        let s = service();
        s.store().set_unavailable(true);
        let error = check(&s, json!({"verificationId": "v-1", "code": "482913"}), 1_000).await.unwrap_err();
        assert_eq!(error.error_type(), "StorageUnavailable");
        assert!(!error.to_string().contains("482913"));
    }

    #[tokio::test]
    async fn an_approval_is_counted_once_by_country_with_its_time() {
        let s = service();
        started(s.store(), "v-4", "482913", CodeSource::Generated, 1_000).await;
        let (_, values) = metrics::collect(async {
            check(&s, json!({"verificationId": "v-4", "code": "482913"}), 1_042).await.unwrap();
            check(&s, json!({"verificationId": "v-4", "code": "482913"}), 1_050).await.unwrap();
        })
        .await;
        let by_country = &values[&Dimensions::country("86")];
        assert_eq!((by_country[&Metric::VerificationsApproved], by_country[&Metric::TimeToVerify]), (1.0, 42.0));
        assert_eq!(values[&Dimensions::country_result("86", "approved")][&Metric::VerificationChecks], 2.0);
    }
}
