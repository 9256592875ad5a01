//! The fold: a call's records, in any order and with any repetition, give one [`CallOutcome`].
//!
//! The records are first reduced to a set (one per sort key, as the table holds them), then read by kind, so no
//! decision depends on the order they came in. The rules are docs/huawei-protocol.md, "Derivation order", with one
//! reading of
//! ours: a CDR decides from its own fields only (its answer time, its three codes, its alerting time), so that a
//! status push arriving after the bill can never change a final answer.

use std::collections::BTreeMap;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::codes::{self, Meaning, Row};
use super::{CallOutcome, CallStatus, Cause, DecidedBy, ProviderCodes};
use crate::huawei::lenient::normalised_time;
use crate::ids::SessionId;
use crate::records::{
    CallRecord, CdrRecord, CloseoutRecord, EventRecord, RecordBody, StoredRecord, CLOSEOUT_FINAL_SK,
    CLOSEOUT_PROVISIONAL_SK,
};

/// The records of one call, by kind.
#[derive(Default)]
struct CallRecords<'a> {
    call: Option<&'a CallRecord>,
    events: BTreeMap<&'a str, &'a EventRecord>,
    cdrs: Vec<&'a CdrRecord>,
    provisional_closeout: Option<&'a CloseoutRecord>,
    final_closeout: Option<&'a CloseoutRecord>,
}

impl<'a> CallRecords<'a> {
    fn event(&self, event_type: &str) -> Option<&'a EventRecord> {
        self.events.get(event_type).copied()
    }

    /// The bill that decides: an answered one if any, else the first by sort key (one per icid).
    fn deciding_cdr(&self) -> Option<&'a CdrRecord> {
        self.cdrs.iter().copied().find(|cdr| cdr_answered(cdr)).or_else(|| self.cdrs.first().copied())
    }
}

/// Folds the records of the call `session_id` (those read under its partition key), in any order.
pub fn fold<'a>(session_id: &SessionId, records: impl IntoIterator<Item = &'a StoredRecord>) -> CallOutcome {
    // One record per sort key, as the table holds them: a repeated record counts once. A conflict record (a later,
    // different payload under a key already stored) is kept for people to see, never folded, nor counted in the
    // version: the first payload alone decides, exactly once.
    let mut by_key: BTreeMap<&str, &StoredRecord> = BTreeMap::new();
    for record in records.into_iter().filter(|record| !matches!(record.body, RecordBody::Conflict(_))) {
        by_key.entry(record.sk.as_str()).or_insert(record);
    }
    let mut call = CallRecords::default();
    for record in by_key.values() {
        match &record.body {
            RecordBody::Call(record) => call.call = Some(record),
            RecordBody::Event(event) => {
                call.events.insert(event.event_type.as_str(), event);
            }
            RecordBody::Cdr(cdr) => call.cdrs.push(cdr),
            RecordBody::Closeout(closeout) if record.sk == CLOSEOUT_PROVISIONAL_SK => {
                call.provisional_closeout = Some(closeout)
            }
            RecordBody::Closeout(closeout) if record.sk == CLOSEOUT_FINAL_SK => call.final_closeout = Some(closeout),
            _ => {}
        }
    }
    let cdr = call.deciding_cdr();
    let answered = match cdr {
        Some(cdr) => cdr_answered(cdr),
        None => call.event("answer").is_some(),
    };
    let decision = decide(&call, cdr, answered);
    let times = Times::of(&call, cdr);
    CallOutcome {
        session_id: Some(session_id.as_str().to_owned()),
        idempotency_key: call.call.and_then(|c| c.idempotency_key.clone()),
        user_data: user_data(&call, cdr),
        status: decision.status,
        is_final: decision.is_final,
        answered,
        version: by_key.len() as u64,
        decided_by: decision.decided_by,
        cause: decision.cause,
        ring_seconds: times.ring_seconds(),
        talk_seconds: times.talk_seconds(),
        requested_at: times.requested,
        calling_at: times.calling,
        ringing_at: times.ringing,
        answered_at: times.answered,
        ended_at: times.ended,
        provider: provider_codes(&call, cdr),
    }
}

struct Decision {
    status: CallStatus,
    is_final: bool,
    decided_by: DecidedBy,
    cause: Option<Cause>,
}

fn decide(call: &CallRecords<'_>, cdr: Option<&CdrRecord>, answered: bool) -> Decision {
    let decision = |status, is_final, decided_by, cause| Decision { status, is_final, decided_by, cause };
    // 1. A bill: final, and it alone decides.
    if let Some(cdr) = cdr {
        let (status, cause) = from_cdr(cdr);
        return decision(status, true, DecidedBy::Cdr, cause);
    }
    // 4. The final close-out froze the status the call had at its deadline; a call still in progress then ended
    // `unknown` (a final outcome is never one in progress).
    if let Some(closeout) = call.final_closeout {
        let frozen = closeout.status.as_deref().map_or(CallStatus::Unknown, CallStatus::from_text);
        let status = if frozen.progress().is_some() { CallStatus::Unknown } else { frozen };
        return decision(status, true, DecidedBy::Closeout, None);
    }
    // 2. A disconnect: provisional, the CDR may still refine it.
    if let Some(disconnect) = call.event("disconnect") {
        let (status, cause) = match disconnect.info.state_code {
            Some(code) => from_state_code(code, answered),
            // A disconnect that says nothing: what was seen of the call before it.
            None if answered => (CallStatus::Completed, None),
            None => (CallStatus::Failed, None),
        };
        return decision(status, false, DecidedBy::Disconnect, cause);
    }
    // 4. The provisional close-out: nothing terminal came in time.
    if call.provisional_closeout.is_some() {
        return decision(CallStatus::Unknown, false, DecidedBy::Closeout, None);
    }
    // 3. The furthest progress.
    let progress = [
        ("answer", CallStatus::Answered),
        ("alerting", CallStatus::Ringing),
        ("callout", CallStatus::Calling),
        ("callin", CallStatus::Calling),
    ];
    let progress = progress.into_iter().find(|(event_type, _)| call.event(event_type).is_some());
    match progress {
        Some((_, status)) => decision(status, false, DecidedBy::Progress, None),
        None => decision(CallStatus::Requested, false, DecidedBy::Request, None),
    }
}

fn cause(field: &str, code: i64, row: Option<&Row>) -> Option<Cause> {
    Some(Cause { field: field.to_owned(), code, text: row.map(|r| r.text.to_owned()) })
}

/// A `stateCode` (also what ulFailReason 7001–7005, 7100–7109 and 8000–8001 mean).
fn from_state_code(code: i64, answered: bool) -> (CallStatus, Option<Cause>) {
    let row = codes::row(codes::STATE_CODES, code);
    let status = match row.map(|r| r.meaning) {
        Some(Meaning::Status(status)) => status,
        Some(Meaning::CompletedIfAnsweredElse(_)) if answered => CallStatus::Completed,
        Some(Meaning::CompletedIfAnsweredElse(otherwise)) => otherwise,
        _ => CallStatus::Failed,
    };
    (status, cause("stateCode", code, row))
}

/// The bill: answered means completed; otherwise the first non-zero of the Q.850 cause, `ulFailReason` and the
/// SIP status decides, a code that defers passing the decision on. Nothing usable: `failed`.
fn from_cdr(cdr: &CdrRecord) -> (CallStatus, Option<Cause>) {
    if cdr_answered(cdr) {
        return (CallStatus::Completed, None);
    }
    let rang = cdr.cdr.call_out_alerting_time.as_deref().is_some_and(|t| !t.trim().is_empty());
    let non_zero = |code: Option<i64>| code.filter(|&c| c != 0);
    let mut deferred = None;
    if let Some(code) = non_zero(cdr.cdr.call_out_unasw_rsn) {
        let row = codes::row(codes::Q850_CAUSES, code);
        let status = match row.map(|r| r.meaning) {
            Some(Meaning::Status(status)) => status,
            // Not answered here (that returned above).
            Some(Meaning::CompletedIfAnsweredElse(otherwise)) => otherwise,
            _ => CallStatus::Failed,
        };
        return (status, cause("callOutUnaswRsn", code, row));
    }
    if let Some(code) = non_zero(cdr.cdr.ul_fail_reason) {
        let row = codes::row(codes::UL_FAIL_REASONS, code);
        match row.map(|r| r.meaning) {
            Some(Meaning::Status(status)) => return (status, cause("ulFailReason", code, row)),
            Some(Meaning::AsSipStatus) => return (from_sip(code, rang), cause("ulFailReason", code, row)),
            Some(Meaning::AsStateCode) => {
                let (status, _) = from_state_code(code, false);
                return (status, cause("ulFailReason", code, row));
            }
            Some(Meaning::NextCodeDecides) => deferred = cause("ulFailReason", code, row),
            _ => return (CallStatus::Failed, cause("ulFailReason", code, row)),
        }
    }
    if let Some(code) = non_zero(cdr.cdr.sip_status_code) {
        return (from_sip(code, rang), cause("sipStatusCode", code, codes::row(codes::SIP_STATUSES, code)));
    }
    (CallStatus::Failed, deferred)
}

fn from_sip(code: i64, rang: bool) -> CallStatus {
    match codes::row(codes::SIP_STATUSES, code).map(|r| r.meaning) {
        Some(Meaning::Status(status)) => status,
        Some(Meaning::NoAnswerIfRangElseUnreachable) if rang => CallStatus::NoAnswer,
        Some(Meaning::NoAnswerIfRangElseUnreachable) => CallStatus::Unreachable,
        _ => CallStatus::Failed,
    }
}

/// The callee answered exactly when the bill's answer time is non-empty (Huawei sends `""` when unset).
fn cdr_answered(cdr: &CdrRecord) -> bool {
    cdr.cdr.call_out_answer_time.as_deref().is_some_and(|t| !t.trim().is_empty())
}

fn user_data(call: &CallRecords<'_>, cdr: Option<&CdrRecord>) -> Option<String> {
    let from_events = || call.events.values().find_map(|event| event.info.user_data.clone());
    call.call
        .and_then(|c| c.user_data.clone())
        .or_else(|| cdr.and_then(|c| c.cdr.user_data.clone()))
        .or_else(from_events)
}

fn provider_codes(call: &CallRecords<'_>, cdr: Option<&CdrRecord>) -> ProviderCodes {
    let disconnect = call.event("disconnect");
    ProviderCodes {
        state_code: disconnect.and_then(|d| d.info.state_code),
        state_desc: disconnect.and_then(|d| d.info.state_desc.clone()),
        call_out_unasw_rsn: cdr.and_then(|c| c.cdr.call_out_unasw_rsn),
        ul_fail_reason: cdr.and_then(|c| c.cdr.ul_fail_reason),
        sip_status_code: cdr.and_then(|c| c.cdr.sip_status_code),
    }
}

/// The call's moments: the bill's when it has them (Huawei's own record of the call), else the events'.
struct Times {
    requested: Option<String>,
    calling: Option<String>,
    ringing: Option<String>,
    answered: Option<String>,
    ended: Option<String>,
}

impl Times {
    fn of(call: &CallRecords<'_>, cdr: Option<&CdrRecord>) -> Self {
        let from_cdr =
            |field: fn(&CdrRecord) -> Option<&String>| cdr.and_then(field).and_then(|text| normalised_time(text));
        let from_event = |event_type: &str| call.event(event_type).and_then(|e| e.event_at.clone());
        Self {
            requested: call.call.map(|c| c.requested_at.clone()),
            calling: from_cdr(|c| c.cdr.call_out_start_time.as_ref())
                .or_else(|| from_event("callout"))
                .or_else(|| from_event("callin")),
            ringing: from_cdr(|c| c.cdr.call_out_alerting_time.as_ref()).or_else(|| from_event("alerting")),
            answered: from_cdr(|c| c.cdr.call_out_answer_time.as_ref()).or_else(|| from_event("answer")),
            ended: from_cdr(|c| c.cdr.call_end_time.as_ref()).or_else(|| from_event("disconnect")),
        }
    }

    fn ring_seconds(&self) -> Option<u64> {
        seconds_between(self.ringing.as_deref()?, self.answered.as_deref().or(self.ended.as_deref())?)
    }

    fn talk_seconds(&self) -> Option<u64> {
        seconds_between(self.answered.as_deref()?, self.ended.as_deref()?)
    }
}

/// Whole seconds from `start` to `end`, both RFC 3339; none when either is unreadable or the end comes first.
fn seconds_between(start: &str, end: &str) -> Option<u64> {
    let parse = |t: &str| OffsetDateTime::parse(t, &Rfc3339).ok();
    u64::try_from((parse(end)? - parse(start)?).whole_seconds()).ok()
}

#[cfg(test)]
mod tests;
