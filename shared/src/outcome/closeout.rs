//! The close-out check: at each of a call's two deadlines (scheduled by the trigger), a call that is not final
//! yet gets its close-out record, frozen with the status it has then. That record is an INSERT like any other,
//! so its event goes out through the same stream → publisher path. Written once each (a conditional write), so a
//! check that runs twice changes nothing. The same check expires the verification the call belongs to once its
//! codes' lifetime is over.

use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;
use tokio::time::Instant;

use super::{fold, CallStatus, OutcomeStore};
use crate::ids::SessionId;
use crate::records::verification::VerificationChange;
use crate::records::{closeout_record, verification_of, CloseoutStage, Stamp};
use crate::storage::{retry, PutOutcome, RecordStore, StoreError};
use crate::verification_state::{Changed, VerificationStore};

/// The event a one-time schedule delivers: `{"closeOut": "provisional" | "final", "sessionId": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CloseOutCheck {
    pub close_out: CloseoutStage,
    pub session_id: SessionId,
}

impl CloseOutCheck {
    /// The check an event asks for, or `None` when the event is something else.
    pub fn from_event(event: &Value) -> Option<Self> {
        event.get("closeOut")?;
        serde_json::from_value(event.clone()).ok()
    }
}

/// What a check did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseOutResult {
    /// The call was final: nothing written.
    AlreadyFinal,
    /// The close-out record is written, with this status frozen.
    Closed(CallStatus),
    /// An earlier run of the same check wrote it.
    AlreadyClosed,
    /// No record of the call at all (a check for a sessionId that never was a call of ours, or one whose records
    /// have expired): nothing written, so no call is made up.
    UnknownCall,
}

/// Runs one check. `stamp` gives the record its time and region; storage is retried until `deadline`.
pub async fn close_out<S: OutcomeStore + RecordStore + VerificationStore>(
    store: &S,
    check: &CloseOutCheck,
    stamp: &Stamp,
    deadline: Instant,
) -> Result<CloseOutResult, StoreError> {
    let session_id = &check.session_id;
    let records = retry::until_deadline(deadline, || store.call_records(session_id)).await?;
    let outcome = fold(session_id, &records);
    let stage = check.close_out;
    let result = if records.is_empty() {
        CloseOutResult::UnknownCall
    } else if outcome.is_final {
        CloseOutResult::AlreadyFinal
    } else {
        let record = closeout_record(session_id, stage, outcome.status.as_str(), stamp);
        match retry::until_deadline(deadline, || store.put_new(&record)).await? {
            PutOutcome::Created => CloseOutResult::Closed(outcome.status),
            // The other region's check may have frozen another status first: the first stays.
            PutOutcome::AlreadyStored | PutOutcome::Conflicting => CloseOutResult::AlreadyClosed,
        }
    };
    tracing::info!(sessionId = %session_id, stage = stage.as_str(), result = ?result, at = %OffsetDateTime::now_utc(), "close-out check");
    // The verification the call sent a code of ends here if its codes' lifetime is over (a conditional write that
    // is refused before then and after the first time); its `expired` event follows through the stream.
    if let Some(id) = verification_of(&records) {
        let expire = VerificationChange::Expire { id, now: stamp.at() };
        let expired = retry::until_deadline(deadline, || store.change(&expire)).await?;
        tracing::info!(expired = matches!(expired, Changed::Done(_)), "verification expiry checked");
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use crate::ids::sid;
    use std::time::Duration;

    use serde_json::json;
    use time::macros::datetime;

    use super::*;
    use crate::adapters::MemoryStore;
    use crate::records::write::{placed_call, CallDetails};
    use crate::records::{call_record, RecordBody};

    const SESSION: &str = "1201_612_4294967295_20261121030424@callenabler245.huaweicaas.com";

    fn stamp() -> Stamp {
        Stamp::new(datetime!(2026-11-21 03:14:23 UTC), Duration::from_secs(86_400), "eu-west-1")
    }

    fn check(stage: &str) -> CloseOutCheck {
        CloseOutCheck::from_event(&json!({"closeOut": stage, "sessionId": SESSION})).expect("a check")
    }

    async fn placed(store: &MemoryStore) {
        store.put_new(&call_record(&placed_call(SESSION), &stamp())).await.expect("stored");
    }

    async fn run(store: &MemoryStore, stage: &str) -> CloseOutResult {
        close_out(store, &check(stage), &stamp(), Instant::now() + Duration::from_secs(2)).await.expect("ran")
    }

    #[tokio::test]
    async fn a_check_for_a_call_with_no_records_writes_nothing() {
        let store = MemoryStore::default();
        assert_eq!(run(&store, "provisional").await, CloseOutResult::UnknownCall);
        assert_eq!(run(&store, "final").await, CloseOutResult::UnknownCall);
        assert_eq!(store.write_requests(), 0, "no phantom call");
        assert!(store.records().is_empty());
    }

    #[test]
    fn only_close_out_events_are_checks() {
        assert_eq!(check("final").close_out, CloseoutStage::Final);
        assert!(CloseOutCheck::from_event(&json!({"Records": []})).is_none());
        assert!(CloseOutCheck::from_event(&json!({"closeOut": "soon", "sessionId": SESSION})).is_none());
        assert!(CloseOutCheck::from_event(&json!({"closeOut": "final"})).is_none());
    }

    #[tokio::test]
    async fn a_call_in_progress_is_closed_out_once_per_stage_with_its_status() {
        let store = MemoryStore::default();
        placed(&store).await;
        assert_eq!(run(&store, "provisional").await, CloseOutResult::Closed(CallStatus::Requested));
        assert_eq!(run(&store, "provisional").await, CloseOutResult::AlreadyClosed);
        // After the provisional close-out the call reads `unknown`: that is what the final one freezes.
        assert_eq!(run(&store, "final").await, CloseOutResult::Closed(CallStatus::Unknown));
        assert_eq!(run(&store, "final").await, CloseOutResult::AlreadyFinal);
        let records = store.call_records(&sid(SESSION)).await.unwrap();
        let closeouts: Vec<_> = records
            .iter()
            .filter_map(|r| match &r.body {
                RecordBody::Closeout(c) => Some((r.sk.as_str(), c.status.as_deref(), r.written_region.as_deref())),
                _ => None,
            })
            .collect();
        assert_eq!(
            closeouts,
            vec![
                ("closeout#final", Some("unknown"), Some("eu-west-1")),
                ("closeout#provisional", Some("requested"), Some("eu-west-1"))
            ]
        );
        let outcome = fold(&sid(SESSION), &records);
        assert_eq!((outcome.status, outcome.is_final), (CallStatus::Unknown, true));
    }

    #[tokio::test]
    async fn a_final_call_gets_no_closeout() {
        let store = MemoryStore::default();
        placed(&store).await;
        let bill = json!({"eventType": "fee", "feeLst": [{"sessionId": SESSION, "icid": "i1", "callOutUnaswRsn": 17}]});
        let crate::huawei::VoicePush::Fee(crate::huawei::FeeList { cdrs, .. }) =
            crate::huawei::VoicePush::parse(bill.to_string().as_bytes()).unwrap()
        else {
            panic!("a bill")
        };
        store.put_new(&crate::records::cdr_record(&cdrs[0], &stamp())).await.unwrap();
        assert_eq!(run(&store, "provisional").await, CloseOutResult::AlreadyFinal);
        assert_eq!(run(&store, "final").await, CloseOutResult::AlreadyFinal);
        assert_eq!(store.call_records(&sid(SESSION)).await.unwrap().len(), 2, "nothing written");
    }

    #[tokio::test]
    async fn the_close_out_expires_the_calls_verification_once_its_codes_lifetime_is_over() {
        use crate::records::verification::{CodeSource, VerificationChange};
        use crate::verification_state::{Verification, VerificationStatus, VerificationStore};
        let store = MemoryStore::default();
        let id = crate::ids::vid("signup-42");
        let now = stamp().at();
        let start = |codes_expire_at| VerificationChange::Send {
            id: id.clone(),
            hash: "h1".into(),
            source: CodeSource::Generated,
            country_code: "86".into(),
            prefix: "8613800".into(),
            now: now - 700,
            codes_expire_at,
            max_sends: 5,
            max_checks: 5,
            record_expires_at: now + 86_400,
        };
        store.change(&start(now + 1)).await.unwrap();
        let details = CallDetails { verification_id: Some("signup-42"), ..placed_call(SESSION) };
        store.put_new(&call_record(&details, &stamp())).await.unwrap();
        let status = |store: &MemoryStore| {
            Verification::of(&id, &store.verification("verification#signup-42").unwrap(), None).status
        };
        run(&store, "provisional").await;
        assert_eq!(status(&store), VerificationStatus::Pending, "its codes are still good for a second");
        let other = MemoryStore::default();
        other.change(&start(now)).await.unwrap();
        other.put_new(&call_record(&details, &stamp())).await.unwrap();
        run(&other, "provisional").await;
        assert_eq!(status(&other), VerificationStatus::Expired);
        let steps = other.verification("verification#signup-42").unwrap().steps.len();
        run(&other, "final").await;
        assert_eq!(other.verification("verification#signup-42").unwrap().steps.len(), steps, "expired once");
    }
}
