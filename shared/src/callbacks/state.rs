//! A call's state, derived from the set of its stored records. Each record is written once and never changed,
//! and the state is the furthest stage any record shows, so a late or re-ordered event can never move a call
//! backwards: a call that disconnected stays finished when `alerting` arrives after.

use serde::Serialize;

use crate::records::{RecordBody, StoredRecord};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CallProgress {
    /// Only our own request is known (no event yet).
    Requested,
    CallingOut,
    Ringing,
    Answered,
    Finished,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallSummary {
    pub progress: CallProgress,
    /// A CDR is stored (the authoritative outcome, docs/huawei-protocol.md §9).
    pub billed: bool,
    pub answered: bool,
    /// `stateCode` of the disconnect event, if it arrived.
    pub hangup_code: Option<i64>,
}

impl CallSummary {
    /// Folds the stored records of one call (as returned by a Query on its `pk`), in any order.
    pub fn from_records<'a>(records: impl IntoIterator<Item = &'a StoredRecord>) -> Self {
        let mut summary = Self { progress: CallProgress::Requested, billed: false, answered: false, hangup_code: None };
        for record in records {
            let stage = match &record.body {
                RecordBody::Cdr(cdr) => {
                    summary.billed = true;
                    summary.answered |= cdr.answered;
                    CallProgress::Finished
                }
                RecordBody::Event(event) => match event.event_type.as_str() {
                    "callin" | "callout" => CallProgress::CallingOut,
                    "alerting" => CallProgress::Ringing,
                    "answer" => {
                        summary.answered = true;
                        CallProgress::Answered
                    }
                    "disconnect" => {
                        summary.hangup_code = event.info.state_code;
                        CallProgress::Finished
                    }
                    _ => CallProgress::Requested,
                },
                _ => CallProgress::Requested,
            };
            summary.progress = summary.progress.max(stage);
        }
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn stored(value: Value) -> StoredRecord {
        serde_json::from_value(value).expect("a stored record")
    }

    fn event_with(event_type: &str, extra: Value) -> StoredRecord {
        let mut record = json!({"pk": "s", "sk": format!("event#{event_type}"), "kind": "event",
            "eventType": event_type, "sessionId": "s"});
        if let (Some(record), Some(extra)) = (record.as_object_mut(), extra.as_object()) {
            record.extend(extra.clone());
        }
        stored(record)
    }

    fn event(event_type: &str) -> StoredRecord {
        event_with(event_type, json!({}))
    }

    fn cdr(answered: bool) -> StoredRecord {
        stored(json!({"pk": "s", "sk": "cdr#", "kind": "cdr", "sessionId": "s", "answered": answered}))
    }

    #[test]
    fn late_alerting_does_not_reopen_a_finished_call() {
        let disconnect = event_with("disconnect", json!({"stateCode": 8101}));
        let records = [event("callout"), disconnect, event("alerting")];
        let summary = CallSummary::from_records(&records);
        assert_eq!(summary.progress, CallProgress::Finished);
        assert_eq!(summary.hangup_code, Some(8101));
        assert!(!summary.answered && !summary.billed);
    }

    #[test]
    fn every_order_of_the_same_records_gives_the_same_summary() {
        let records = [event("callout"), event("alerting"), event("answer"), event("disconnect"), cdr(true)];
        let expected = CallSummary::from_records(&records);
        assert_eq!(
            expected,
            CallSummary { progress: CallProgress::Finished, billed: true, answered: true, hangup_code: None }
        );
        // All 120 permutations (Heap's algorithm).
        let mut order: Vec<usize> = (0..records.len()).collect();
        let mut c = vec![0; order.len()];
        let mut i = 0;
        let mut seen = 1;
        while i < order.len() {
            if c[i] < i {
                order.swap(if i % 2 == 0 { 0 } else { c[i] }, i);
                let permuted: Vec<&StoredRecord> = order.iter().map(|&k| &records[k]).collect();
                assert_eq!(CallSummary::from_records(permuted), expected, "order {order:?}");
                seen += 1;
                c[i] += 1;
                i = 0;
            } else {
                c[i] = 0;
                i += 1;
            }
        }
        assert_eq!(seen, 120);
    }

    #[test]
    fn partial_calls_show_their_furthest_stage() {
        assert_eq!(CallSummary::from_records(&[]).progress, CallProgress::Requested);
        assert_eq!(CallSummary::from_records(&[event("alerting"), event("callout")]).progress, CallProgress::Ringing);
        assert_eq!(CallSummary::from_records(&[event("answer")]).progress, CallProgress::Answered);
    }
}
