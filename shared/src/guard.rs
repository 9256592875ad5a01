//! The fraud guard's rules (docs/operations.md, "Fraud guard"), shared by the trigger, which asks it before it
//! places a call, and the outcome publisher, which feeds it the verifications' conversion and so blocks the number
//! ranges that are pumped. Below the domains, so that both may use it.
//!
//! - Geo permissions: a number outside `ALLOWED_COUNTRY_CODES` is refused (`GEO_MODE=enforce`) or placed and
//!   counted (`monitor`); nothing is stored for it.
//! - Budgets: calls per hour to a number range (`PREFIX_DIGITS`, `PREFIX_LIMIT`), per hour to a country
//!   (`COUNTRY_LIMITS`), per UTC day in all (`DAILY_CALL_CAP`); taken together with the check that the range is not
//!   blocked, all or nothing, in one request ([`GuardStore::take`]).
//! - Auto-block: a range whose verifications that ended this hour number at least `AUTO_BLOCK_MIN_STARTS` and were
//!   approved at a rate below `AUTO_BLOCK_MAX_CONVERSION` is blocked for `AUTO_BLOCK_HOURS`.
//! - Safe numbers skip the budgets and the blocks, never the country list.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::time::Instant;

use crate::ids::{CalleeNumber, VerificationId};
use crate::records::guard::{BlockRecord, Budget, BudgetTake, Tally};
use crate::storage::{retry, StoreError};

/// `GEO_MODE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeoMode {
    /// A number outside the list is refused.
    Enforce,
    /// It is placed, and counted as a refusal would be (`GuardMonitored`).
    Monitor,
}

/// When a number range is blocked for its conversion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AutoBlock {
    /// Verifications ended in the hour before a range may be judged (`AUTO_BLOCK_MIN_STARTS`); 0 turns it off.
    pub min_ended: u32,
    /// Approved / ended below this blocks it (`AUTO_BLOCK_MAX_CONVERSION`).
    pub max_conversion: f64,
    /// For how long (`AUTO_BLOCK_HOURS`).
    pub hours: u32,
}

/// The guard's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardPolicy {
    /// E.164 country calling codes that may be called (`ALLOWED_COUNTRY_CODES`).
    pub allowed_countries: BTreeSet<String>,
    pub geo_mode: GeoMode,
    /// Digits of a number range, country code included (`PREFIX_DIGITS`).
    pub prefix_digits: usize,
    /// Calls per hour to one range (`PREFIX_LIMIT`); 0: no budget.
    pub prefix_limit: u32,
    /// Calls per hour by country calling code (`COUNTRY_LIMITS`).
    pub country_limits: BTreeMap<String, u32>,
    /// Calls per UTC day in all (`DAILY_CALL_CAP`); 0: no cap.
    pub daily_cap: u32,
    /// Numbers that skip the budgets and the blocks (the secret's `safeNumbers`, `SAFE_NUMBERS` locally).
    pub safe_numbers: BTreeSet<String>,
    pub auto_block: AutoBlock,
}

impl Default for GuardPolicy {
    fn default() -> Self {
        Self {
            allowed_countries: BTreeSet::from(["86".to_owned()]),
            geo_mode: GeoMode::Enforce,
            prefix_digits: 7,
            prefix_limit: 20,
            country_limits: BTreeMap::new(),
            daily_cap: 0,
            safe_numbers: BTreeSet::new(),
            auto_block: AutoBlock { min_ended: 20, max_conversion: 0.2, hours: 12 },
        }
    }
}

/// Why the guard refused a call: the `errorMessage` of `Blocked` starts with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    CountryNotAllowed,
    PrefixBudget,
    CountryBudget,
    DailyCap,
    PrefixBlocked,
}

impl Reason {
    pub const ALL: [Reason; 5] =
        [Self::CountryNotAllowed, Self::PrefixBudget, Self::CountryBudget, Self::DailyCap, Self::PrefixBlocked];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CountryNotAllowed => "country_not_allowed",
            Self::PrefixBudget => "prefix_budget",
            Self::CountryBudget => "country_budget",
            Self::DailyCap => "daily_cap",
            Self::PrefixBlocked => "prefix_blocked",
        }
    }
}

/// A refusal: its reason, and what the caller may do (never the number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: Reason,
    pub detail: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason.as_str(), self.detail)
    }
}

/// `DetailType` of the event of a blocked range, on the outcome bus (the outcome events' `Source`).
pub const PREFIX_BLOCKED_DETAIL_TYPE: &str = "Prefix Blocked";

/// A `Prefix Blocked` event's `Detail`: a number range blocked for its low conversion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(title = "Prefix Blocked", deny_unknown_fields))]
#[serde(rename_all = "camelCase")]
pub struct PrefixBlockedEvent {
    /// `<prefix>#<blockedAt epoch seconds>`: the same however often it is delivered.
    #[cfg_attr(feature = "schema", schemars(pattern(r"^[0-9]+#[0-9]+$")))]
    pub event_id: String,
    /// The range's first digits, country code included.
    #[cfg_attr(feature = "schema", schemars(pattern(r"^[0-9]+$")))]
    pub prefix: String,
    /// When it was blocked.
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time")))]
    pub blocked_at: String,
    /// Calls to the range are refused (`prefix_blocked`) until then, unless the operator lifts the block.
    #[cfg_attr(feature = "schema", schemars(extend("format" = "date-time")))]
    pub blocked_until: String,
    /// The hour's verifications that ended when it was blocked.
    pub ended: u32,
    /// Those of them approved.
    pub approved: u32,
}

impl PrefixBlockedEvent {
    pub fn of(block: &BlockRecord) -> Self {
        let at = |epoch: i64| {
            OffsetDateTime::from_unix_timestamp(epoch).ok().and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_default()
        };
        Self {
            event_id: format!("{}#{}", block.prefix, block.blocked_at),
            prefix: block.prefix.clone(),
            blocked_at: at(block.blocked_at),
            blocked_until: at(block.blocked_until),
            ended: block.ended,
            approved: block.approved,
        }
    }
}

/// What the country list says of a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Geo {
    Allowed,
    /// Outside the list, in monitor mode: placed, and counted.
    Monitored(Refusal),
    Refused(Refusal),
}

/// What one transaction of budgets did ([`GuardStore::take`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// One call taken from every budget.
    Taken,
    /// Nothing taken: the range is blocked.
    Blocked,
    /// Nothing taken: the budget of this index (in the order given) is spent.
    Spent(usize),
}

/// The guard's records.
pub trait GuardStore: Send + Sync {
    /// Checks that `prefix` is not blocked at `now` and takes one call from each budget, all or nothing, in one
    /// request.
    fn take(
        &self,
        prefix: &str,
        takes: &[BudgetTake],
        now: i64,
    ) -> impl Future<Output = Result<Taken, StoreError>> + Send;

    /// Counts the end of `verification` into its range's tally of the hour of `now`, once; answers the tally.
    fn tally(
        &self,
        prefix: &str,
        verification: &VerificationId,
        approved: bool,
        now: i64,
    ) -> impl Future<Output = Result<Tally, StoreError>> + Send;

    /// Blocks `prefix` until `until` unless it is blocked at `now`; whether this blocked it.
    fn block(
        &self,
        prefix: &str,
        tally: &Tally,
        now: i64,
        until: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Lifts the block of `prefix` and forgets its tally of the hour of `now`; whether there was a block.
    fn lift(&self, prefix: &str, now: i64) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

impl GuardPolicy {
    /// The number's range: its first `PREFIX_DIGITS` digits, country code included.
    pub fn prefix(&self, callee: &CalleeNumber) -> String {
        callee.expose().trim_start_matches('+').chars().take(self.prefix_digits).collect()
    }

    pub fn is_safe(&self, callee: &CalleeNumber) -> bool {
        self.safe_numbers.contains(callee.expose())
    }

    /// The country list's verdict (safe numbers included: a support line abroad is still abroad).
    pub fn geo(&self, callee: &CalleeNumber) -> Geo {
        let country = callee.country_code();
        if country.is_some_and(|code| self.allowed_countries.contains(code)) {
            return Geo::Allowed;
        }
        let refusal = Refusal {
            reason: Reason::CountryNotAllowed,
            detail: format!(
                "the number's country calling code ({}) is not in ALLOWED_COUNTRY_CODES",
                country.unwrap_or("none assigned")
            ),
        };
        match self.geo_mode {
            GeoMode::Enforce => Geo::Refused(refusal),
            GeoMode::Monitor => Geo::Monitored(refusal),
        }
    }

    /// The budgets a call to `callee` takes from (none for a safe number).
    pub fn takes(&self, callee: &CalleeNumber) -> Vec<BudgetTake> {
        if self.is_safe(callee) {
            return Vec::new();
        }
        let mut takes = Vec::new();
        if self.prefix_limit > 0 {
            takes.push(BudgetTake { budget: Budget::Prefix(self.prefix(callee)), limit: self.prefix_limit });
        }
        let country = callee.country_code().unwrap_or_default();
        if let Some(&limit) = self.country_limits.get(country) {
            takes.push(BudgetTake { budget: Budget::Country(country.to_owned()), limit });
        }
        if self.daily_cap > 0 {
            takes.push(BudgetTake { budget: Budget::Day, limit: self.daily_cap });
        }
        takes
    }

    /// The refusal of a transaction that took nothing.
    fn refusal(&self, takes: &[BudgetTake], taken: Taken) -> Option<Refusal> {
        let (reason, detail) = match taken {
            Taken::Taken => return None,
            Taken::Blocked => (Reason::PrefixBlocked, "the number range is blocked for its low conversion".to_owned()),
            Taken::Spent(index) => match takes.get(index).map(|take| (&take.budget, take.limit)) {
                Some((Budget::Prefix(_), limit)) => {
                    (Reason::PrefixBudget, format!("the number range had its {limit} calls this hour (PREFIX_LIMIT)"))
                }
                Some((Budget::Country(code), limit)) => {
                    (Reason::CountryBudget, format!("country {code} had its {limit} calls this hour (COUNTRY_LIMITS)"))
                }
                Some((Budget::Day, _)) | None => {
                    (Reason::DailyCap, format!("{limit} calls today in all (DAILY_CALL_CAP)", limit = self.daily_cap))
                }
            },
        };
        Some(Refusal { reason, detail })
    }

    /// Whether a range's tally blocks it.
    pub fn blocks(&self, tally: &Tally) -> bool {
        let rule = self.auto_block;
        rule.min_ended > 0
            && tally.ended >= rule.min_ended
            && f64::from(tally.approved) < rule.max_conversion * f64::from(tally.ended)
    }

    /// The trigger's admission of a call to `callee` at `now`: `None` when it may be placed (one call taken from
    /// each budget), else why not. Storage is retried until `deadline`.
    pub async fn admit<S: GuardStore>(
        &self,
        store: &S,
        callee: &CalleeNumber,
        now: i64,
        deadline: Instant,
    ) -> Result<Option<Refusal>, StoreError> {
        if self.is_safe(callee) {
            return Ok(None);
        }
        let (prefix, takes) = (self.prefix(callee), self.takes(callee));
        let taken = retry::until_deadline(deadline, || store.take(&prefix, &takes, now)).await?;
        Ok(self.refusal(&takes, taken))
    }

    /// The publisher's part: a verification of range `prefix` ended at `now`; its tally may block the range.
    /// Answers when the range is blocked until, if this end blocked it.
    pub async fn learn<S: GuardStore>(
        &self,
        store: &S,
        prefix: &str,
        verification: &VerificationId,
        approved: bool,
        now: i64,
        deadline: Instant,
    ) -> Result<Option<i64>, StoreError> {
        if prefix.is_empty() || self.auto_block.min_ended == 0 {
            return Ok(None);
        }
        let tally = retry::until_deadline(deadline, || store.tally(prefix, verification, approved, now)).await?;
        if !self.blocks(&tally) {
            return Ok(None);
        }
        let until = now + i64::from(self.auto_block.hours) * 3600;
        let blocked = retry::until_deadline(deadline, || store.block(prefix, &tally, now, until)).await?;
        Ok(blocked.then_some(until))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_reason_once() {
        // Does not compile once a reason is added: add it to `ALL` (the trigger's error schema reads it).
        let listed = |reason: Reason| match reason {
            Reason::CountryNotAllowed
            | Reason::PrefixBudget
            | Reason::CountryBudget
            | Reason::DailyCap
            | Reason::PrefixBlocked => Reason::ALL.contains(&reason),
        };
        assert!(Reason::ALL.into_iter().all(listed));
        let names: std::collections::BTreeSet<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names.len(), Reason::ALL.len());
    }

    fn number(text: &str) -> CalleeNumber {
        CalleeNumber::parse(text).unwrap()
    }

    #[test]
    fn the_country_list_refuses_or_monitors_and_safe_numbers_are_no_exception() {
        let mut policy =
            GuardPolicy { safe_numbers: BTreeSet::from(["+447700900123".to_owned()]), ..Default::default() };
        assert_eq!(policy.geo(&number("+8613800000001")), Geo::Allowed);
        let Geo::Refused(refusal) = policy.geo(&number("+447700900123")) else { panic!("refused") };
        assert_eq!(
            refusal.to_string(),
            "country_not_allowed: the number's country calling code (44) is not in ALLOWED_COUNTRY_CODES"
        );
        policy.geo_mode = GeoMode::Monitor;
        assert!(matches!(policy.geo(&number("+12025550123")), Geo::Monitored(_)));
    }

    #[test]
    fn a_call_takes_from_the_range_the_country_and_the_day_unless_its_number_is_safe() {
        let policy = GuardPolicy {
            country_limits: BTreeMap::from([("86".to_owned(), 100)]),
            daily_cap: 1000,
            safe_numbers: BTreeSet::from(["+8613800000009".to_owned()]),
            ..Default::default()
        };
        let takes = policy.takes(&number("+8613800000001"));
        assert_eq!(
            takes,
            vec![
                BudgetTake { budget: Budget::Prefix("8613800".into()), limit: 20 },
                BudgetTake { budget: Budget::Country("86".into()), limit: 100 },
                BudgetTake { budget: Budget::Day, limit: 1000 },
            ]
        );
        assert!(policy.takes(&number("+8613800000009")).is_empty());
        let reasons: Vec<_> = [Taken::Blocked, Taken::Spent(0), Taken::Spent(1), Taken::Spent(2)]
            .into_iter()
            .map(|taken| policy.refusal(&takes, taken).unwrap().reason)
            .collect();
        assert_eq!(reasons, [Reason::PrefixBlocked, Reason::PrefixBudget, Reason::CountryBudget, Reason::DailyCap]);
        assert_eq!(policy.refusal(&takes, Taken::Taken), None);
    }

    #[test]
    fn a_range_is_blocked_when_enough_ended_and_too_few_converted() {
        let policy = GuardPolicy::default();
        assert!(!policy.blocks(&Tally { ended: 19, approved: 0 }), "too few to judge");
        assert!(policy.blocks(&Tally { ended: 20, approved: 3 }), "15 %");
        assert!(!policy.blocks(&Tally { ended: 20, approved: 4 }), "20 % is not below 20 %");
        let off = GuardPolicy { auto_block: AutoBlock { min_ended: 0, ..policy.auto_block }, ..policy };
        assert!(!off.blocks(&Tally { ended: 100, approved: 0 }));
    }
}
