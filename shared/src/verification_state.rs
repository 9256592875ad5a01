//! What a verification record means, shared by the trigger (which sends codes), check-verification (which checks
//! them) and the outcome publisher (which announces a verification's end): the keyed hash of a code, the fold of
//! the record's log into the [`Verification`] app backends see, and the store port that applies one
//! [`VerificationChange`]. The contract is in docs/app-backend.md, "Verifications".

use std::future::Future;

use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq};
use time::{format_description::well_known::Rfc3339, OffsetDateTime};

use crate::ids::{SessionId, VerificationCode, VerificationId};
use crate::records::verification::{CodeSource, Step, VerificationChange, VerificationRecord};
use crate::storage::StoreError;

/// The keyed hash of a code sent or checked: HMAC-SHA-256 under the app secret of the verification id and the
/// code, hex. Keyed, because 10^6 codes are guessed in no time from a plain hash; bound to the id, so that a hash
/// copied to another verification matches nothing there.
pub fn code_hash(key: &[u8], id: &VerificationId, code: &VerificationCode) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
        unreachable!("HMAC takes a key of any length")
    };
    for part in ["verification-code", id.as_str(), code.expose()] {
        mac.update(part.as_bytes());
        mac.update(&[0]);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `hash` is one of `codes`, comparing with every one of them in constant time: how long the answer takes
/// says nothing about which bytes matched.
fn is_one_of(codes: &[String], hash: &str) -> bool {
    let found = codes.iter().fold(Choice::from(0), |found, code| found | code.as_bytes().ct_eq(hash.as_bytes()));
    found.into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum VerificationStatus {
    Pending,
    Approved,
    Expired,
    MaxAttemptsReached,
    Canceled,
}

impl VerificationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Expired => "expired",
            Self::MaxAttemptsReached => "max_attempts_reached",
            Self::Canceled => "canceled",
        }
    }

    /// Every status but `pending` is the end: nothing changes it again.
    pub fn is_terminal(self) -> bool {
        self != Self::Pending
    }
}

/// One call of a verification, as the outcome publisher last saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(deny_unknown_fields))]
#[serde(rename_all = "camelCase")]
pub struct VerificationCall {
    /// The call's sessionId.
    pub session_id: SessionId,
    /// The call's outcome `status` (a `CallOutcome`'s), as the publisher last saw it.
    pub status: String,
    /// Whether that outcome was final.
    #[serde(rename = "final")]
    pub is_final: bool,
}

/// A verification as app backends see it (check-verification's answer, the `Verification Status Changed`
/// event's detail).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(title = "Verification", deny_unknown_fields))]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    pub verification_id: VerificationId,
    /// `pending`, or how the verification ended: every other status is final.
    pub status: VerificationStatus,
    /// Wrong codes still allowed before `max_attempts_reached`.
    pub attempts_left: u32,
    /// Calls placed for it (at most `MAX_SENDS`).
    pub sends: u32,
    /// Whether its codes were generated or given by the app.
    pub code_source: CodeSource,
    /// The callee's E.164 country calling code; absent when the number starts with no assigned code.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(pattern(r"^[0-9]{1,3}$")))]
    pub country_code: Option<String>,
    /// The first send.
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time")))]
    pub created_at: String,
    /// Every code sent is accepted until then (`CODE_TTL_SECONDS` after the first send).
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time")))]
    pub expires_at: String,
    /// When it was approved.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time")))]
    pub approved_at: Option<String>,
    /// Its calls, as the outcome publisher last saw them.
    pub calls: Vec<VerificationCall>,
    /// The number of steps in its log: it grows with every send and check.
    pub version: u64,
    /// On a check's answer: whether the code checked is one of the verification's codes (approve a user only
    /// on `status: approved` with `valid: true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid: Option<bool>,
}

impl Verification {
    /// The fold of `record`'s log: the first step that ends the verification decides its status, and nothing
    /// after it counts. `now` (epoch seconds) expires a pending verification whose codes' lifetime is over;
    /// without it (an event, which must not depend on when it is published) only an `expired` step does.
    pub fn of(id: &VerificationId, record: &VerificationRecord, now: Option<i64>) -> Self {
        let mut codes: Vec<String> = Vec::new();
        let mut wrong = 0;
        let mut status = VerificationStatus::Pending;
        let mut approved_at = None;
        for step in record.steps() {
            if status.is_terminal() {
                break;
            }
            match step {
                Step::Sent { hash, .. } => codes.push(hash),
                Step::Checked { at, hash, .. } if is_one_of(&codes, &hash) => {
                    status = VerificationStatus::Approved;
                    approved_at = Some(at);
                }
                Step::Checked { .. } => {
                    wrong += 1;
                    if wrong >= record.max_checks {
                        status = VerificationStatus::MaxAttemptsReached;
                    }
                }
                Step::Verified { at } => {
                    status = VerificationStatus::Approved;
                    approved_at = Some(at);
                }
                Step::Canceled { .. } => status = VerificationStatus::Canceled,
                Step::Expired { .. } => status = VerificationStatus::Expired,
            }
        }
        if !status.is_terminal() && now.is_some_and(|now| now >= record.codes_expire_at) {
            status = VerificationStatus::Expired;
        }
        let calls = record
            .calls()
            .iter()
            // Every id in the list was a SessionId when the publisher wrote it.
            .filter_map(|(session_id, call)| {
                let session_id = SessionId::parse(session_id.clone()).ok()?;
                Some(VerificationCall { session_id, status: call.status.clone(), is_final: call.is_final })
            })
            .collect();
        Self {
            verification_id: id.clone(),
            status,
            attempts_left: record.max_checks.saturating_sub(wrong),
            sends: record.sends,
            code_source: record.code_source,
            country_code: (!record.country_code.is_empty()).then(|| record.country_code.clone()),
            created_at: rfc3339(record.created_at),
            expires_at: rfc3339(record.codes_expire_at),
            approved_at: approved_at.map(rfc3339),
            calls,
            version: record.steps.len() as u64,
            valid: None,
        }
    }

    /// Seconds from the first send to the approval, once approved.
    pub fn seconds_to_verify(&self, record: &VerificationRecord) -> Option<i64> {
        let approved_at = self.approved_at.as_deref()?;
        let approved_at = OffsetDateTime::parse(approved_at, &Rfc3339).ok()?.unix_timestamp();
        Some(approved_at - record.created_at)
    }

    /// The metrics' `country` dimension: the country calling code, or `unknown`.
    pub fn country(&self) -> &str {
        self.country_code.as_deref().unwrap_or("unknown")
    }
}

/// Whether `hash` is the hash of one of the codes `record` sent (in constant time).
pub fn is_sent_code(record: &VerificationRecord, hash: &str) -> bool {
    let codes: Vec<String> = record
        .steps()
        .filter_map(|step| match step {
            Step::Sent { hash, .. } => Some(hash),
            _ => None,
        })
        .collect();
    is_one_of(&codes, hash)
}

fn rfc3339(epoch_seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(epoch_seconds).ok().and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_default()
}

/// `DetailType` of a verification's events on the outcome bus (their `Source` is the outcome events').
pub const VERIFICATION_EVENT_DETAIL_TYPE: &str = "Verification Status Changed";

/// A `Verification Status Changed` event's `Detail`: the verification, and an id stable across re-deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(title = "Verification Status Changed", deny_unknown_fields))]
#[serde(rename_all = "camelCase")]
pub struct VerificationEvent {
    /// `<verificationId>#<version>`: the same for every delivery of this event; dedupe on it.
    #[cfg_attr(feature = "schema", schemars(pattern(r"^[A-Za-z0-9._:-]{1,128}#[0-9]+$")))]
    pub event_id: String,
    #[serde(flatten)]
    pub verification: Verification,
}

/// The event a write of the record (from `before`, `None` when it created it, to `after`) causes: one when it
/// ended the verification. Both statuses are folded without a clock, so the event depends only on the two
/// images, never on when or how often the publisher sees them.
pub fn status_change(
    id: &VerificationId,
    before: Option<&VerificationRecord>,
    after: &VerificationRecord,
) -> Option<VerificationEvent> {
    let was = before.map_or(VerificationStatus::Pending, |record| Verification::of(id, record, None).status);
    let verification = Verification::of(id, after, None);
    if verification.status == was || !verification.status.is_terminal() {
        return None;
    }
    let event_id = format!("{}#{}", id.as_str(), verification.version);
    Some(VerificationEvent { event_id, verification })
}

/// What a [`VerificationChange`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    /// Applied: the record after it.
    Done(VerificationRecord),
    /// Its condition did not hold: the record as it is (`None`: there is no such verification).
    Refused(Option<VerificationRecord>),
}

impl Changed {
    /// A refusal of a change the record already holds is a retry whose first attempt was applied: done.
    pub fn settled(self, change: &VerificationChange) -> Self {
        match self {
            Self::Refused(Some(record)) if change.is_in(&record) => Self::Done(record),
            other => other,
        }
    }
}

/// The storage of verification records: one conditional write per change, whose answer carries the record
/// (after the change, or as it was when refused), so nothing is read first.
pub trait VerificationStore: Send + Sync {
    fn change(&self, change: &VerificationChange) -> impl Future<Output = Result<Changed, StoreError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::vid;
    use crate::records::verification::{apply, CallState, VerificationChange};

    const KEY: &[u8] = b"app-secret";

    fn code(text: &str) -> VerificationCode {
        VerificationCode::parse(text).unwrap()
    }

    fn hash(text: &str) -> String {
        code_hash(KEY, &vid("v-1"), &code(text))
    }

    fn send(record: Option<&VerificationRecord>, text: &str, now: i64) -> VerificationRecord {
        let change = VerificationChange::Send {
            id: vid("v-1"),
            hash: hash(text),
            source: CodeSource::Generated,
            country_code: "86".into(),
            prefix: "8613800".into(),
            now,
            codes_expire_at: now + 600,
            max_sends: 5,
            max_checks: 3,
            record_expires_at: now + 86_400,
        };
        apply(record, &change).unwrap()
    }

    fn check(record: &VerificationRecord, text: &str, now: i64) -> VerificationRecord {
        let request = format!("{now}-{}", record.steps.len());
        apply(Some(record), &VerificationChange::Check { id: vid("v-1"), hash: hash(text), request, now }).unwrap()
    }

    fn status(record: &VerificationRecord, now: Option<i64>) -> VerificationStatus {
        Verification::of(&vid("v-1"), record, now).status
    }

    #[test]
    fn a_code_hash_is_keyed_and_bound_to_its_verification() {
        let hash = code_hash(KEY, &vid("v-1"), &code("482913"));
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains("482913"));
        assert_ne!(hash, code_hash(b"other-key", &vid("v-1"), &code("482913")));
        assert_ne!(hash, code_hash(KEY, &vid("v-2"), &code("482913")));
        assert_ne!(hash, code_hash(KEY, &vid("v-1"), &code("482914")));
    }

    #[test]
    fn the_right_code_approves_and_keeps_approving() {
        let record = send(None, "482913", 100);
        assert_eq!(status(&record, Some(150)), VerificationStatus::Pending);
        let wrong = check(&record, "000000", 150);
        let answer = Verification::of(&vid("v-1"), &wrong, Some(150));
        assert_eq!((answer.status, answer.attempts_left, answer.version), (VerificationStatus::Pending, 2, 2));
        let right = check(&wrong, "482913", 160);
        let answer = Verification::of(&vid("v-1"), &right, Some(160));
        assert_eq!(answer.status, VerificationStatus::Approved);
        assert_eq!(answer.approved_at.as_deref(), Some("1970-01-01T00:02:40Z"));
        assert_eq!(answer.seconds_to_verify(&right), Some(60));
        let again = check(&right, "482913", 170);
        assert_eq!(status(&again, Some(10_000)), VerificationStatus::Approved, "terminal: not expired later");
        assert!(is_sent_code(&again, &hash("482913")) && !is_sent_code(&again, &hash("000000")));
    }

    #[test]
    fn wrong_codes_up_to_the_cap_end_it_and_no_code_approves_after() {
        let mut record = send(None, "482913", 100);
        for (n, now) in (110..113).enumerate() {
            assert_eq!(status(&record, Some(now)), VerificationStatus::Pending, "after {n} wrong codes");
            record = check(&record, "111111", now);
        }
        assert_eq!(status(&record, Some(120)), VerificationStatus::MaxAttemptsReached);
        // The store refuses a fourth check; were one stored anyway, the fold would not approve.
        record.steps.push(Step::Checked { at: 121, hash: hash("482913"), request: "r".into() }.text());
        let answer = Verification::of(&vid("v-1"), &record, Some(121));
        assert_eq!((answer.status, answer.attempts_left), (VerificationStatus::MaxAttemptsReached, 0));
    }

    #[test]
    fn every_code_sent_is_valid_until_the_first_send_expires() {
        let first = send(None, "111111", 100);
        let resent = send(Some(&first), "222222", 400);
        assert_eq!(Verification::of(&vid("v-1"), &resent, Some(400)).expires_at, "1970-01-01T00:11:40Z");
        assert_eq!(status(&check(&resent, "111111", 500), Some(500)), VerificationStatus::Approved, "the old code");
        assert_eq!(status(&resent, Some(700)), VerificationStatus::Expired);
        assert_eq!(status(&resent, None), VerificationStatus::Pending, "no clock: only an expired step ends it");
        let marked = apply(Some(&resent), &VerificationChange::Expire { id: vid("v-1"), now: 700 }).unwrap();
        assert_eq!(status(&marked, None), VerificationStatus::Expired);
    }

    #[test]
    fn a_cancel_or_a_report_ends_it_and_the_first_end_wins() {
        let record = send(None, "482913", 100);
        let canceled = apply(Some(&record), &VerificationChange::Cancel { id: vid("v-1"), now: 110 }).unwrap();
        assert_eq!(status(&canceled, Some(110)), VerificationStatus::Canceled);
        let mut approved_then_canceled = check(&record, "482913", 105);
        approved_then_canceled.steps.push(Step::Canceled { at: 110 }.text());
        assert_eq!(status(&approved_then_canceled, Some(110)), VerificationStatus::Approved);
        let mut reported = record.clone();
        reported.steps.push(Step::Verified { at: 130 }.text());
        assert_eq!(status(&reported, Some(130)), VerificationStatus::Approved);
    }

    #[test]
    fn the_answer_is_the_documented_json() {
        let record = send(None, "482913", 1_796_612_663);
        let answer = serde_json::to_value(Verification::of(&vid("signup-42"), &record, Some(1_796_612_663))).unwrap();
        assert_eq!(
            answer,
            serde_json::json!({"verificationId": "signup-42", "status": "pending", "attemptsLeft": 3, "sends": 1,
                "codeSource": "generated", "countryCode": "86", "createdAt": "2026-12-07T03:04:23Z",
                "expiresAt": "2026-12-07T03:14:23Z", "calls": [], "version": 1})
        );
    }

    #[test]
    fn an_event_marks_each_end_once_and_nothing_else() {
        let id = vid("v-1");
        let first = send(None, "482913", 100);
        assert_eq!(status_change(&id, None, &first), None, "a start is no end");
        let wrong = check(&first, "000000", 110);
        assert_eq!(status_change(&id, Some(&first), &wrong), None, "a wrong code leaves it pending");
        let approved = check(&wrong, "482913", 120);
        let event = status_change(&id, Some(&wrong), &approved).expect("the approval's event");
        assert_eq!((event.event_id.as_str(), event.verification.status), ("v-1#3", VerificationStatus::Approved));
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!((json["eventId"].as_str(), json["status"].as_str()), (Some("v-1#3"), Some("approved")));
        let later = check(&approved, "000000", 130);
        assert_eq!(status_change(&id, Some(&approved), &later), None, "after its end, nothing changes it");
        let mut mirrored = approved.clone();
        mirrored.calls.push("4:1:answered:s-1".into());
        assert_eq!(mirrored.calls()["s-1"], CallState { status: "answered".into(), is_final: true, version: 4 });
        assert_eq!(status_change(&id, Some(&approved), &mirrored), None, "a call's mirror is no end");
        let expired = apply(Some(&first), &VerificationChange::Expire { id: id.clone(), now: 700 }).unwrap();
        assert_eq!(
            status_change(&id, Some(&first), &expired).map(|e| e.verification.status),
            Some(VerificationStatus::Expired)
        );
    }
}
