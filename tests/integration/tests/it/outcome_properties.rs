//! The outcome fold's guarantees (docs/app-backend.md, "Call outcomes"), over generated calls of many shapes — call
//! records, status events with any stateCode, CDRs of every code family (several per call, by icid), close-outs with
//! any frozen status, unknown event types — delivered in any order, any number of times:
//! - any order and any repetition of the same records gives the same outcome;
//! - adding a record never lowers `version`;
//! - once `final`, adding anything but a CDR changes neither `status` nor `final`;
//! - a status in progress never moves back (`requested` < `calling` < `ringing` < `answered`).

use proptest::prelude::*;
use serde_json::{json, Value};
use voice_core::ids::sid;
use voice_core::outcome::{fold, CallOutcome, CallStatus};
use voice_core::records::StoredRecord;

pub(crate) const SESSION: &str = "1201_612_4294967295_20261121030424@callenabler245.huaweicaas.com";

/// Codes drawn from every table row kind: known, deferring, SIP-as-ulFailReason, stateCode-as-ulFailReason,
/// and unknown ones.
const STATE_CODES: [i64; 12] = [0, 7001, 8000, 8001, 8004, 8101, 8102, 8104, 8105, 8110, 9999, 7503];
const Q850: [i64; 8] = [0, 1, 16, 17, 19, 21, 31, 99];
const UL_FAIL_REASONS: [i64; 9] = [0, 480, 514, 518, 528, 603, 7001, 8001, 12345];
const SIP: [i64; 7] = [0, 404, 408, 480, 486, 603, 499];

fn stored(record: Value) -> StoredRecord {
    serde_json::from_value(record).expect("a stored record")
}

/// A record of the call [`SESSION`] as the table holds it: keys, kind, and `fields`.
pub(crate) fn record(sk: &str, kind: &str, fields: Value) -> StoredRecord {
    let mut record = json!({"pk": SESSION, "sk": sk, "kind": kind, "sessionId": SESSION,
        "receivedAt": "2026-11-21T03:04:30Z"});
    if let (Some(record), Some(fields)) = (record.as_object_mut(), fields.as_object()) {
        record.extend(fields.clone());
    }
    stored(record)
}

fn event(event_type: &str, second: u32, extra: Value) -> StoredRecord {
    let mut fields = json!({"eventType": event_type, "eventAt": format!("2026-11-21T03:04:{second:02}Z")});
    if let (Some(fields), Some(extra)) = (fields.as_object_mut(), extra.as_object()) {
        fields.extend(extra.clone());
    }
    record(&format!("event#{event_type}"), "event", fields)
}

/// Every record one generated call may have, each under its own sort key.
fn call_pool() -> impl Strategy<Value = Vec<StoredRecord>> {
    // Half the codes zero, as in real bills, so that "the next code decides" and "nothing decides" come up often.
    let code = |table: &'static [i64]| prop_oneof![1 => Just(0i64), 1 => prop::sample::select(table)];
    let cdr = (any::<bool>(), any::<bool>(), code(&Q850), code(&UL_FAIL_REASONS), code(&SIP));
    (0..STATE_CODES.len(), prop::collection::vec(cdr, 2), 0..CallStatus::ALL.len()).prop_map(
        |(state_code, cdrs, frozen)| {
            let mut pool = vec![
                record(
                    "call",
                    "call",
                    json!({"requestedAt": "2026-11-21T03:04:23Z", "calleeMasked": "+86138****0001",
                    "idempotencyKey": "k-1"}),
                ),
                event("callin", 24, json!({})),
                event("callout", 24, json!({})),
                event("alerting", 27, json!({})),
                event("answer", 29, json!({})),
                event("collectInfo", 30, json!({})),
                event("disconnect", 33, json!({"stateCode": STATE_CODES[state_code], "stateDesc": "d"})),
                record("event#recordReady", "unrecognised", json!({"eventType": "recordReady"})),
                record("closeout#provisional", "closeout", json!({"status": "unknown"})),
                record("closeout#final", "closeout", json!({"status": CallStatus::ALL[frozen].as_str()})),
            ];
            for (i, (rang, answered, q850, ul, sip)) in cdrs.into_iter().enumerate() {
                let mut fields = json!({"eventType": "fee", "icid": format!("icid-{i}"),
                    "callOutStartTime": "2026-11-21 03:04:24", "callEndTime": "2026-11-21 03:04:40",
                    "callOutUnaswRsn": q850, "ulFailReason": ul, "sipStatusCode": sip,
                    "answered": answered, "callOutAnswerTime": if answered { "2026-11-21 03:04:29" } else { "" }});
                if rang {
                    fields["callOutAlertingTime"] = "2026-11-21 03:04:27".into();
                }
                pool.push(record(&format!("cdr#icid-{i}"), "cdr", fields));
            }
            pool
        },
    )
}

/// A call: a subset of the pool (the records stored so far), the whole pool (each of which may come next), and
/// the subset as delivered: repeated and shuffled.
fn call() -> impl Strategy<Value = (Vec<StoredRecord>, Vec<StoredRecord>, Vec<StoredRecord>)> {
    (
        call_pool(),
        prop::collection::vec(any::<bool>(), 12),
        prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        any::<u64>(),
    )
        .prop_map(|(pool, included, repeats, seed)| {
            let subset: Vec<StoredRecord> =
                pool.iter().zip(&included).filter(|(_, &keep)| keep).map(|(r, _)| r.clone()).collect();
            let mut delivered = subset.clone();
            if !subset.is_empty() {
                delivered.extend(repeats.iter().map(|i| subset[i.index(subset.len())].clone()));
            }
            shuffle(&mut delivered, seed);
            (subset, pool, delivered)
        })
}

/// Fisher–Yates with a seeded xorshift, so every permutation is reachable.
fn shuffle(records: &mut [StoredRecord], seed: u64) {
    let mut state = seed | 1;
    for i in (1..records.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        records.swap(i, (state % (i as u64 + 1)) as usize);
    }
}

fn outcome(records: &[StoredRecord]) -> CallOutcome {
    fold(&sid(SESSION), records)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_order_and_repetition_gives_the_same_outcome((subset, _added, delivered) in call()) {
        prop_assert_eq!(outcome(&delivered), outcome(&subset));
    }

    /// The contract's schemas hold for any call the fold can see: the answer, and the event's detail.
    #[test]
    fn every_folded_outcome_is_a_valid_answer_and_event_detail((subset, _added, _delivered) in call()) {
        let mut outcome = serde_json::to_value(outcome(&subset)).expect("JSON");
        integration_tests::contract::check_answer("get-call-outcome", &outcome);
        outcome["outcomeId"] = serde_json::json!(format!("{SESSION}#{}", outcome["version"]));
        integration_tests::contract::check("call-outcome-changed.detail.schema.json", &outcome);
    }

    #[test]
    fn adding_a_record_never_lowers_the_version((subset, pool, _delivered) in call()) {
        let before = outcome(&subset);
        for added in pool {
            let after = outcome(&[subset.clone(), vec![added.clone()]].concat());
            prop_assert!(after.version >= before.version, "{} then {} with {}", before.version, after.version, added.sk);
            prop_assert!(after.version <= before.version + 1);
        }
    }

    #[test]
    fn a_final_outcome_changes_only_with_a_cdr((subset, pool, _delivered) in call()) {
        let before = outcome(&subset);
        prop_assume!(before.is_final);
        for added in pool {
            let after = outcome(&[subset.clone(), vec![added.clone()]].concat());
            if !added.sk.starts_with("cdr#") {
                let (was, is) = ((before.status, before.is_final), (after.status, after.is_final));
                prop_assert_eq!(is, was, "adding {}", added.sk);
            }
            prop_assert!(after.is_final, "final stays final");
        }
    }

    #[test]
    fn a_status_in_progress_never_moves_back((subset, pool, _delivered) in call()) {
        let before = outcome(&subset);
        for added in pool {
            let after = outcome(&[subset.clone(), vec![added.clone()]].concat());
            if let (Some(was), Some(is)) = (before.status.progress(), after.status.progress()) {
                prop_assert!(is >= was, "{:?} became {:?} with {}", before.status, after.status, added.sk);
            }
            // Nothing final is ever a status in progress.
            prop_assert!(!(after.is_final && after.status.progress().is_some()), "{:?}", after);
        }
    }
}

#[test]
fn the_generator_reaches_every_status_and_both_finalities() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..3000 {
        let (subset, _, _) = call().new_tree(&mut runner).expect("a call").current();
        let o = outcome(&subset);
        seen.insert((o.status, o.is_final));
    }
    for status in CallStatus::ALL {
        assert!(seen.iter().any(|(s, _)| *s == status), "no generated call ends {status:?}: {seen:?}");
    }
    assert!(seen.iter().any(|(_, f)| *f) && seen.iter().any(|(_, f)| !*f));
}
