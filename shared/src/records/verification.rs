//! The verification record (`pk = verification#<verificationId>`, `sk = verification`): one person proving one
//! number over one or more calls. It holds no code, only each code's keyed hash, and what happened to it as an
//! ordered log of steps (`steps`: sent, checked, verified, canceled, expired), so that its status is a fold over
//! the log (`verification_state`) and every change is one conditional `UpdateItem` on this one item, no read:
//! DynamoDB applies the updates of one item one at a time, so two concurrent checks are two steps in some order
//! and the counters in the conditions are exact.
//!
//! [`VerificationChange`] says what a change does; [`change_write`] is its request to DynamoDB and [`apply`] the
//! same rule on a record in memory (the in-memory store's, and the yardstick the DynamoDB tests compare against).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::item::{ItemAction, ItemKey, ItemWrite};
use crate::ids::{SessionId, VerificationId};

/// Partition key prefix of verification records.
pub const VERIFICATION_PREFIX: &str = "verification#";
/// Sort key of a verification record.
pub const VERIFICATION_SK: &str = "verification";
/// `kind` of a verification record.
pub const VERIFICATION_KIND: &str = "verification";

pub fn verification_key(id: &VerificationId) -> ItemKey {
    ItemKey::new(format!("{VERIFICATION_PREFIX}{}", id.as_str()), VERIFICATION_SK)
}

/// Where a verification's codes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub enum CodeSource {
    /// The bundle generated them.
    Generated,
    /// The app gave them (`verifyCode`); only these may be reported verified without a code.
    App,
}

impl CodeSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Generated => "generated",
            Self::App => "app",
        }
    }
}

/// One step of a verification's log, with its time (epoch seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A code was sent: its keyed hash.
    Sent {
        at: i64,
        hash: String,
    },
    /// A code was checked: the keyed hash of what the user typed, and the check's own random id (two checks of
    /// one code in one second are two steps; a retried request finds its own step).
    Checked {
        at: i64,
        hash: String,
        request: String,
    },
    /// The app reported the verification done (it checked its own code).
    Verified {
        at: i64,
    },
    Canceled {
        at: i64,
    },
    /// Its codes' lifetime was over and it was still pending (the expiry check).
    Expired {
        at: i64,
    },
}

impl Step {
    /// The step as it is stored: `sent:<at>:<hash>`, `checked:<at>:<hash>:<request>`, `verified:<at>`, …
    pub fn text(&self) -> String {
        match self {
            Self::Sent { at, hash } => format!("sent:{at}:{hash}"),
            Self::Checked { at, hash, request } => format!("checked:{at}:{hash}:{request}"),
            Self::Verified { at } => format!("verified:{at}"),
            Self::Canceled { at } => format!("canceled:{at}"),
            Self::Expired { at } => format!("expired:{at}"),
        }
    }

    /// A stored step; `None` for one this version does not know (a newer version's), which the fold skips.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.splitn(4, ':');
        let (name, at) = (parts.next()?, parts.next()?.parse().ok()?);
        let (hash, request) = (parts.next().map(str::to_owned), parts.next().map(str::to_owned));
        Some(match (name, hash, request) {
            ("sent", Some(hash), None) => Self::Sent { at, hash },
            ("checked", Some(hash), Some(request)) => Self::Checked { at, hash, request },
            ("verified", None, None) => Self::Verified { at },
            ("canceled", None, None) => Self::Canceled { at },
            ("expired", None, None) => Self::Expired { at },
            _ => return None,
        })
    }
}

/// A state of one of the verification's calls (written by the outcome publisher).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallState {
    pub status: String,
    pub is_final: bool,
    pub version: u64,
}

impl CallState {
    /// As it is stored: `<version>:<final 0|1>:<status>:<sessionId>`.
    fn text(&self, session_id: &SessionId) -> String {
        format!("{}:{}:{}:{}", self.version, u8::from(self.is_final), self.status, session_id.as_str())
    }

    /// A stored state and its call.
    fn parse(text: &str) -> Option<(String, Self)> {
        let mut parts = text.splitn(4, ':');
        let version = parts.next()?.parse().ok()?;
        let is_final = match parts.next()? {
            "0" => false,
            "1" => true,
            _ => return None,
        };
        let status = parts.next()?.to_owned();
        Some((parts.next()?.to_owned(), Self { status, is_final, version }))
    }
}

/// A verification record as read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationRecord {
    pub code_source: CodeSource,
    /// The callee's E.164 country calling code; empty when the number starts with no assigned code.
    #[serde(default)]
    pub country_code: String,
    /// The callee's number range, the fraud guard's unit (empty on records written before it was kept).
    #[serde(default)]
    pub prefix: String,
    /// First send (epoch seconds).
    pub created_at: i64,
    /// Every code of the verification is accepted until then (epoch seconds).
    pub codes_expire_at: i64,
    pub sends: u32,
    /// Checks taken (each a step); at `max_checks` no further check is taken.
    pub checks: u32,
    pub max_checks: u32,
    #[serde(default)]
    pub steps: Vec<String>,
    /// Its calls' states as the publisher saw them, appended (never an empty list: DynamoDB Local's stream
    /// mangles empty collections); [`VerificationRecord::calls`] reads them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<String>,
}

impl VerificationRecord {
    /// The log, in order; steps this version does not know are left out.
    pub fn steps(&self) -> impl Iterator<Item = Step> + '_ {
        self.steps.iter().filter_map(|text| Step::parse(text))
    }

    /// Each call's latest state (the greatest `version` seen), by sessionId: states that arrive late or twice
    /// change nothing.
    pub fn calls(&self) -> BTreeMap<String, CallState> {
        let mut latest: BTreeMap<String, CallState> = BTreeMap::new();
        for (session_id, state) in self.calls.iter().filter_map(|text| CallState::parse(text)) {
            match latest.get(&session_id) {
                Some(known) if known.version >= state.version => {}
                _ => {
                    latest.insert(session_id, state);
                }
            }
        }
        latest
    }

    fn has(&self, wanted: fn(&Step) -> bool) -> bool {
        self.steps().any(|step| wanted(&step))
    }
}

/// One change to a verification record, each one conditional `UpdateItem`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerificationChange {
    /// Starts the verification, or adds a code to it (a resend): refused once it has `max_sends` sends, once its
    /// codes expired, once canceled, or when `source` differs from its first send's.
    Send {
        id: VerificationId,
        hash: String,
        source: CodeSource,
        country_code: String,
        /// The callee's number range (the fraud guard's `PREFIX_DIGITS`), for its conversion.
        prefix: String,
        now: i64,
        /// The codes' lifetime (a new verification's; a resend keeps the first).
        codes_expire_at: i64,
        max_sends: u32,
        max_checks: u32,
        /// The record's TTL (`expiresAt`).
        record_expires_at: i64,
    },
    /// Takes one check: refused past `max_checks` checks, past expiry, or once canceled.
    Check { id: VerificationId, hash: String, request: String, now: i64 },
    /// Records the app's report that the user proved the number: only for app codes, once, before expiry.
    Report { id: VerificationId, now: i64 },
    /// Cancels it: once, before expiry.
    Cancel { id: VerificationId, now: i64 },
    /// Marks a pending verification whose codes expired, once.
    Expire { id: VerificationId, now: i64 },
    /// Mirrors the outcome of one of its calls (from the outcome publisher) into `calls`, once; appends no step.
    Call { id: VerificationId, session_id: SessionId, state: CallState },
}

impl VerificationChange {
    /// The step it appends to the log (a call's mirror appends none).
    pub fn step(&self) -> Option<Step> {
        Some(match self {
            Self::Send { hash, now, .. } => Step::Sent { at: *now, hash: hash.clone() },
            Self::Check { hash, request, now, .. } => {
                Step::Checked { at: *now, hash: hash.clone(), request: request.clone() }
            }
            Self::Report { now, .. } => Step::Verified { at: *now },
            Self::Cancel { now, .. } => Step::Canceled { at: *now },
            Self::Expire { now, .. } => Step::Expired { at: *now },
            Self::Call { .. } => return None,
        })
    }

    /// Whether `record` holds this change already: a retried request whose first attempt was applied.
    pub fn is_in(&self, record: &VerificationRecord) -> bool {
        match (self, self.step()) {
            (Self::Call { session_id, state, .. }, _) => record.calls.contains(&state.text(session_id)),
            (_, Some(step)) => record.steps.contains(&step.text()),
            (_, None) => false,
        }
    }

    pub fn id(&self) -> &VerificationId {
        match self {
            Self::Send { id, .. } | Self::Check { id, .. } | Self::Report { id, .. } => id,
            Self::Cancel { id, .. } | Self::Expire { id, .. } | Self::Call { id, .. } => id,
        }
    }
}

/// The one `UpdateItem` of `change`. `written_region` is stamped on the item.
pub fn change_write(change: &VerificationChange, written_region: Option<&str>) -> ItemWrite {
    let key = verification_key(change.id());
    let Some(step) = change.step().map(|step| step.text()) else { return call_write(change) };
    let mut names = vec![("#steps", "steps"), ("#until", "codesExpireAt")];
    if !matches!(change, VerificationChange::Expire { .. }) {
        names.push(("#canceled", "canceledAt"));
    }
    let mut values: Vec<(&'static str, Value)> = Vec::new();
    let (expression, condition) = match change {
        VerificationChange::Send {
            source,
            country_code,
            prefix,
            now,
            codes_expire_at,
            max_sends,
            max_checks,
            record_expires_at,
            ..
        } => {
            names.extend([
                ("#kind", "kind"),
                ("#sends", "sends"),
                ("#checks", "checks"),
                ("#maxChecks", "maxChecks"),
                ("#source", "codeSource"),
                ("#country", "countryCode"),
                ("#prefix", "prefix"),
                ("#created", "createdAt"),
                ("#ttl", "expiresAt"),
                ("#region", "writtenRegion"),
            ]);
            values.extend([
                (":step", json!([step])),
                (":step_text", json!(step)),
                (":empty", json!([])),
                (":zero", json!(0)),
                (":one", json!(1)),
                (":kind", json!(VERIFICATION_KIND)),
                (":source", json!(source.as_str())),
                (":country", json!(country_code)),
                (":prefix", json!(prefix)),
                (":now", json!(now)),
                (":until", json!(codes_expire_at)),
                (":max_sends", json!(max_sends)),
                (":max_checks", json!(max_checks)),
                (":ttl", json!(record_expires_at)),
                (":region", json!(written_region.unwrap_or(""))),
            ]);
            (
                "SET #steps = list_append(if_not_exists(#steps, :empty), :step), \
                 #sends = if_not_exists(#sends, :zero) + :one, #checks = if_not_exists(#checks, :zero), \
                 #maxChecks = if_not_exists(#maxChecks, :max_checks), #kind = :kind, \
                 #source = if_not_exists(#source, :source), #country = if_not_exists(#country, :country), \
                 #prefix = if_not_exists(#prefix, :prefix), \
                 #created = if_not_exists(#created, :now), #until = if_not_exists(#until, :until), \
                 #ttl = :ttl, #region = :region",
                "attribute_not_exists(pk) OR (#sends < :max_sends AND #until > :now AND #source = :source \
                 AND attribute_not_exists(#canceled) AND NOT contains(#steps, :step_text))",
            )
        }
        VerificationChange::Check { now, .. } => {
            names.extend([("#checks", "checks"), ("#maxChecks", "maxChecks")]);
            values.extend([
                (":step", json!([step])),
                (":step_text", json!(step)),
                (":one", json!(1)),
                (":now", json!(now)),
            ]);
            (
                "SET #steps = list_append(#steps, :step), #checks = #checks + :one",
                "attribute_exists(pk) AND #checks < #maxChecks AND #until > :now AND attribute_not_exists(#canceled) \
                 AND NOT contains(#steps, :step_text)",
            )
        }
        VerificationChange::Report { now, .. } => {
            names.extend([
                ("#reported", "reportedAt"),
                ("#source", "codeSource"),
                ("#checks", "checks"),
                ("#maxChecks", "maxChecks"),
            ]);
            values.extend([(":step", json!([step])), (":now", json!(now)), (":app", json!(CodeSource::App.as_str()))]);
            (
                "SET #steps = list_append(#steps, :step), #reported = :now",
                "attribute_exists(pk) AND #source = :app AND #checks < #maxChecks AND #until > :now \
                 AND attribute_not_exists(#canceled) AND attribute_not_exists(#reported)",
            )
        }
        VerificationChange::Cancel { now, .. } => {
            values.extend([(":step", json!([step])), (":now", json!(now))]);
            (
                "SET #steps = list_append(#steps, :step), #canceled = :now",
                "attribute_exists(pk) AND #until > :now AND attribute_not_exists(#canceled)",
            )
        }
        VerificationChange::Call { .. } => unreachable!("a call's mirror appends no step"),
        VerificationChange::Expire { now, .. } => {
            names.push(("#expired", "expiredAt"));
            values.extend([(":step", json!([step])), (":now", json!(now))]);
            (
                "SET #steps = list_append(#steps, :step), #expired = :now",
                "attribute_exists(pk) AND #until <= :now AND attribute_not_exists(#expired)",
            )
        }
    };
    let names = names.into_iter().map(|(placeholder, name)| (placeholder, name.into())).collect();
    ItemWrite { action: ItemAction::Update { key, expression }, condition, names, values }
}

/// The write of a [`VerificationChange::Call`]: the call's state appended to `calls`, once.
fn call_write(change: &VerificationChange) -> ItemWrite {
    let VerificationChange::Call { id, session_id, state } = change else { unreachable!("only a call's mirror") };
    let text = state.text(session_id);
    ItemWrite {
        action: ItemAction::Update {
            key: verification_key(id),
            expression: "SET #calls = list_append(if_not_exists(#calls, :empty), :call)",
        },
        condition: "attribute_exists(pk) AND NOT contains(#calls, :call_text)",
        names: vec![("#calls", "calls".into())],
        values: vec![(":empty", json!([])), (":call", json!([text])), (":call_text", json!(text))],
    }
}

/// What [`change_write`] does, on a record in memory: the changed record, or `Err` with the record as it was
/// (`None`: there is none) when the condition does not hold.
// The refusal carries the record, as DynamoDB's answer does; a rule for tests and the in-memory store, off any
// function's path, so its size does not matter.
#[allow(clippy::result_large_err)]
pub fn apply(
    existing: Option<&VerificationRecord>,
    change: &VerificationChange,
) -> Result<VerificationRecord, Option<VerificationRecord>> {
    let refused = || Err(existing.cloned());
    if existing.is_some_and(|record| change.is_in(record)) {
        return refused();
    }
    let canceled = |r: &VerificationRecord| r.has(|s| matches!(s, Step::Canceled { .. }));
    if let VerificationChange::Call { session_id, state, .. } = change {
        let mut next = existing.ok_or(None)?.clone();
        next.calls.push(state.text(session_id));
        return Ok(next);
    }
    let Some(step) = change.step() else { return refused() };
    if let VerificationChange::Send {
        source, country_code, prefix, now, codes_expire_at, max_sends, max_checks, ..
    } = change
    {
        let step = step.text();
        return match existing {
            None => Ok(VerificationRecord {
                code_source: *source,
                country_code: country_code.clone(),
                prefix: prefix.clone(),
                created_at: *now,
                codes_expire_at: *codes_expire_at,
                sends: 1,
                checks: 0,
                max_checks: *max_checks,
                steps: vec![step],
                calls: Vec::new(),
            }),
            Some(r) if r.sends < *max_sends && r.codes_expire_at > *now && r.code_source == *source && !canceled(r) => {
                let mut next = r.clone();
                next.sends += 1;
                next.steps.push(step);
                Ok(next)
            }
            Some(_) => refused(),
        };
    }
    let Some(record) = existing else { return refused() };
    let mut next = record.clone();
    let allowed = match change {
        VerificationChange::Check { now, .. } => {
            next.checks += 1;
            record.checks < record.max_checks && record.codes_expire_at > *now && !canceled(record)
        }
        VerificationChange::Report { now, .. } => {
            let reported = record.has(|s| matches!(s, Step::Verified { .. }));
            record.code_source == CodeSource::App
                && record.checks < record.max_checks
                && record.codes_expire_at > *now
                && !canceled(record)
                && !reported
        }
        VerificationChange::Cancel { now, .. } => record.codes_expire_at > *now && !canceled(record),
        VerificationChange::Expire { now, .. } => {
            let expired = record.has(|s| matches!(s, Step::Expired { .. }));
            record.codes_expire_at <= *now && !expired
        }
        VerificationChange::Send { .. } | VerificationChange::Call { .. } => unreachable!("handled above"),
    };
    if !allowed {
        return refused();
    }
    next.steps.push(step.text());
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::vid;

    fn send(now: i64, hash: &str) -> VerificationChange {
        VerificationChange::Send {
            id: vid("v-1"),
            hash: hash.into(),
            source: CodeSource::Generated,
            country_code: "86".into(),
            prefix: "8613800".into(),
            now,
            codes_expire_at: now + 600,
            max_sends: 2,
            max_checks: 2,
            record_expires_at: now + 86_400,
        }
    }

    #[test]
    fn steps_read_back_as_written_and_unknown_ones_are_skipped() {
        for step in [
            Step::Sent { at: 1, hash: "ab".into() },
            Step::Checked { at: 2, hash: "cd".into(), request: "r1".into() },
            Step::Verified { at: 3 },
            Step::Canceled { at: 4 },
            Step::Expired { at: 5 },
        ] {
            assert_eq!(Step::parse(&step.text()), Some(step));
        }
        for unknown in ["paused:5", "sent:5", "sent:x:ab", "verified:5:ab", "checked:5:ab", "sent:5:ab:r", ""] {
            assert_eq!(Step::parse(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn sends_are_capped_and_keep_the_first_lifetime() {
        let first = apply(None, &send(100, "h1")).unwrap();
        assert_eq!((first.sends, first.codes_expire_at, first.created_at), (1, 700, 100));
        let second = apply(Some(&first), &send(200, "h2")).unwrap();
        assert_eq!((second.sends, second.codes_expire_at, second.steps.len()), (2, 700, 2));
        assert_eq!(apply(Some(&second), &send(300, "h3")), Err(Some(second.clone())), "max_sends");
        assert!(apply(Some(&first), &send(700, "h3")).is_err(), "past the codes' lifetime");
        let VerificationChange::Send {
            id,
            hash,
            country_code,
            prefix,
            now,
            codes_expire_at,
            max_sends,
            max_checks,
            record_expires_at,
            ..
        } = send(200, "h2")
        else {
            unreachable!()
        };
        let app = VerificationChange::Send {
            id,
            hash,
            source: CodeSource::App,
            country_code,
            prefix,
            now,
            codes_expire_at,
            max_sends,
            max_checks,
            record_expires_at,
        };
        assert!(apply(Some(&first), &app).is_err(), "a resend keeps the first send's code source");
    }

    #[test]
    fn checks_stop_at_the_cap_at_expiry_and_after_a_cancel() {
        let record = apply(None, &send(100, "h1")).unwrap();
        let check =
            |now: i64| VerificationChange::Check { id: vid("v-1"), hash: "x".into(), request: now.to_string(), now };
        let once = apply(Some(&record), &check(110)).unwrap();
        let twice = apply(Some(&once), &check(120)).unwrap();
        assert_eq!(twice.checks, 2);
        assert!(apply(Some(&twice), &check(130)).is_err(), "max_checks");
        assert!(apply(Some(&record), &check(700)).is_err(), "expired");
        let canceled = apply(Some(&record), &VerificationChange::Cancel { id: vid("v-1"), now: 105 }).unwrap();
        assert!(apply(Some(&canceled), &check(110)).is_err());
        assert!(apply(Some(&canceled), &VerificationChange::Cancel { id: vid("v-1"), now: 106 }).is_err(), "once");
        assert_eq!(apply(None, &check(110)), Err(None));
        assert_eq!(apply(Some(&once), &check(110)), Err(Some(once.clone())), "a retry of an applied check");
        assert!(check(110).is_in(&once) && !check(111).is_in(&once));
    }

    #[test]
    fn only_app_codes_are_reported_and_expiry_is_marked_once_after_the_lifetime() {
        let generated = apply(None, &send(100, "h1")).unwrap();
        assert!(apply(Some(&generated), &VerificationChange::Report { id: vid("v-1"), now: 110 }).is_err());
        let app = VerificationRecord { code_source: CodeSource::App, ..generated.clone() };
        let reported = apply(Some(&app), &VerificationChange::Report { id: vid("v-1"), now: 110 }).unwrap();
        assert!(apply(Some(&reported), &VerificationChange::Report { id: vid("v-1"), now: 111 }).is_err(), "once");
        let expire = |now| VerificationChange::Expire { id: vid("v-1"), now };
        assert!(apply(Some(&generated), &expire(699)).is_err(), "not yet");
        let expired = apply(Some(&generated), &expire(700)).unwrap();
        assert!(apply(Some(&expired), &expire(800)).is_err(), "once");
    }

    #[test]
    fn a_change_is_one_conditional_update_of_the_verification_item() {
        let write = change_write(&send(100, "h1"), Some("eu-west-1"));
        let ItemAction::Update { key, expression } = &write.action else { panic!("an update") };
        assert_eq!((key.pk.as_str(), key.sk.as_str()), ("verification#v-1", "verification"));
        assert!(expression.contains("list_append") && write.condition.contains("#sends < :max_sends"));
        for (placeholder, _) in &write.names {
            assert!(expression.contains(placeholder) || write.condition.contains(placeholder), "{placeholder} used");
        }
        for (placeholder, _) in &write.values {
            assert!(expression.contains(placeholder) || write.condition.contains(placeholder), "{placeholder} used");
        }
        let id = vid("v-1");
        for change in [
            VerificationChange::Check { id: id.clone(), hash: "h".into(), request: "r".into(), now: 5 },
            VerificationChange::Report { id: id.clone(), now: 5 },
            VerificationChange::Cancel { id: id.clone(), now: 5 },
            VerificationChange::Expire { id, now: 5 },
        ] {
            let write = change_write(&change, None);
            let ItemAction::Update { expression, .. } = &write.action else { panic!("an update") };
            let used = |placeholder: &str| expression.contains(placeholder) || write.condition.contains(placeholder);
            // DynamoDB refuses a request that defines a placeholder it does not use.
            assert!(
                write.names.iter().all(|(p, _)| used(p)) && write.values.iter().all(|(p, _)| used(p)),
                "{change:?}"
            );
        }
    }
}
