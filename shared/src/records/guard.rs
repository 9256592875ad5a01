//! The fraud guard's records, all under `guard#` (no sessionId starts so):
//!
//! | record | `pk` | `sk` | `kind` |
//! |---|---|---|---|
//! | a budget's counter for one period: calls to a number range this hour, to a country this hour, in all today | `guard#prefix#<digits>#<YYYYMMDDHH>`, `guard#country#<code>#<YYYYMMDDHH>`, `guard#day#<YYYYMMDD>` | `counter` | `counter` |
//! | a number range's conversion this hour: the verifications that ended, and those approved | `guard#tally#<digits>#<YYYYMMDDHH>` | `tally` | `tally` |
//! | a blocked number range | `guard#block#<digits>` | `block` | `block` |
//!
//! A counter is taken with `ADD` under the condition that it is below its limit, so concurrent triggers never
//! take more than the limit; all of a call's counters and the check that its range is not blocked go in one
//! transaction ([`budget_writes`]), so a refused call takes nothing. Counters and tallies expire a day after their
//! period, a block a day after it ends (its `blockedUntil` decides, not the TTL's deletion).

use serde::Deserialize;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use super::item::{ItemAction, ItemKey, ItemWrite, EXPIRES_AT, PK, SK};
use crate::ids::VerificationId;

/// Partition key prefix of every guard record.
pub const GUARD_PREFIX: &str = "guard#";
/// `kind` of a blocked range's record.
pub const BLOCK_KIND: &str = "block";
const COUNTER_SK: &str = "counter";
const TALLY_SK: &str = "tally";
const BLOCK_SK: &str = "block";
const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

/// What a budget counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Budget {
    /// Calls this hour to numbers starting with these digits (country code included).
    Prefix(String),
    /// Calls this hour to a country calling code.
    Country(String),
    /// Calls this UTC day, in all.
    Day,
}

/// One call to take from a budget of `limit` calls per period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetTake {
    pub budget: Budget,
    pub limit: u32,
}

/// `YYYYMMDDHH` of `at` (UTC epoch seconds).
fn hour_of(at: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(at).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!("{:04}{:02}{:02}{:02}", t.year(), u8::from(t.month()), t.day(), t.hour())
}

/// The counter's key in the period of `now`, and when the period ends.
fn counter_key(budget: &Budget, now: i64) -> (ItemKey, i64) {
    let (pk, period_end) = match budget {
        Budget::Prefix(digits) => (format!("{GUARD_PREFIX}prefix#{digits}#{}", hour_of(now)), now - now % HOUR + HOUR),
        Budget::Country(code) => (format!("{GUARD_PREFIX}country#{code}#{}", hour_of(now)), now - now % HOUR + HOUR),
        Budget::Day => (format!("{GUARD_PREFIX}day#{}", &hour_of(now)[..8]), now - now % DAY + DAY),
    };
    (ItemKey::new(pk, COUNTER_SK), period_end)
}

fn block_key(prefix: &str) -> ItemKey {
    ItemKey::new(format!("{GUARD_PREFIX}block#{prefix}"), BLOCK_SK)
}

/// The requests of one call's admission, in one transaction: first the check that `prefix` is not blocked at
/// `now`, then one call taken from each budget (refused at its limit).
pub fn budget_writes(prefix: &str, takes: &[BudgetTake], now: i64) -> Vec<ItemWrite> {
    let check = ItemWrite {
        action: ItemAction::Check(block_key(prefix)),
        condition: "attribute_not_exists(pk) OR #until <= :now",
        names: vec![("#until", "blockedUntil".into())],
        values: vec![(":now", json!(now))],
    };
    let takes = takes.iter().map(|take| {
        let (key, period_end) = counter_key(&take.budget, now);
        ItemWrite {
            action: ItemAction::Update { key, expression: "ADD #count :one SET #kind = :kind, #ttl = :ttl" },
            condition: "attribute_not_exists(#count) OR #count < :limit",
            names: vec![("#count", "count".into()), ("#kind", "kind".into()), ("#ttl", EXPIRES_AT.into())],
            values: vec![
                (":one", json!(1)),
                (":limit", json!(take.limit)),
                (":kind", json!(COUNTER_SK)),
                (":ttl", json!(period_end + DAY)),
            ],
        }
    });
    std::iter::once(check).chain(takes).collect()
}

/// A number range's conversion in one hour, as the tally record holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Tally {
    /// Verifications that ended this hour (each counted once, whatever the re-deliveries).
    #[serde(default)]
    pub ended: u32,
    #[serde(default)]
    pub approved: u32,
}

fn tally_key(prefix: &str, now: i64) -> ItemKey {
    ItemKey::new(format!("{GUARD_PREFIX}tally#{prefix}#{}", hour_of(now)), TALLY_SK)
}

/// Counts the end of one verification of `prefix` into the hour of `now`, once: the verification's id joins the
/// record's list, under the condition that it is not there yet.
pub fn tally_write(prefix: &str, verification: &VerificationId, approved: bool, now: i64) -> ItemWrite {
    let key = tally_key(prefix, now);
    let id = verification.as_str();
    ItemWrite {
        action: ItemAction::Update {
            key,
            expression: "SET #ids = list_append(if_not_exists(#ids, :empty), :id), #kind = :kind, #ttl = :ttl \
                         ADD #ended :one, #approved :approved",
        },
        condition: "NOT contains(#ids, :id_text)",
        names: vec![
            ("#ids", "verificationIds".into()),
            ("#kind", "kind".into()),
            ("#ttl", EXPIRES_AT.into()),
            ("#ended", "ended".into()),
            ("#approved", "approved".into()),
        ],
        values: vec![
            (":empty", json!([])),
            (":id", json!([id])),
            (":id_text", json!(id)),
            (":kind", json!(TALLY_SK)),
            (":ttl", json!(now - now % HOUR + HOUR + DAY)),
            (":one", json!(1)),
            (":approved", json!(u32::from(approved))),
        ],
    }
}

/// A blocked number range, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockRecord {
    pub prefix: String,
    /// Epoch seconds.
    pub blocked_at: i64,
    /// Epoch seconds; no call is placed to the range before.
    pub blocked_until: i64,
    /// The tally that blocked it.
    pub ended: u32,
    pub approved: u32,
}

/// Blocks `prefix` from `now` to `until` for `tally`, unless it is blocked already: a conditional put, so a
/// re-delivered tally does not block twice. `written_region` for the stream's filter.
pub fn block_write(prefix: &str, tally: &Tally, now: i64, until: i64, written_region: Option<&str>) -> ItemWrite {
    let key = block_key(prefix);
    let mut item = Map::new();
    item.insert(PK.into(), Value::from(key.pk));
    item.insert(SK.into(), Value::from(key.sk));
    item.insert("kind".into(), json!(BLOCK_KIND));
    item.insert("prefix".into(), json!(prefix));
    item.insert("blockedAt".into(), json!(now));
    item.insert("blockedUntil".into(), json!(until));
    item.insert("ended".into(), json!(tally.ended));
    item.insert("approved".into(), json!(tally.approved));
    item.insert(EXPIRES_AT.into(), json!(until + DAY));
    item.insert("writtenRegion".into(), json!(written_region.unwrap_or("")));
    ItemWrite {
        action: ItemAction::Put(item),
        condition: "attribute_not_exists(pk) OR #until <= :now",
        names: vec![("#until", "blockedUntil".into())],
        values: vec![(":now", json!(now))],
    }
}

/// Lifts the block of `prefix` (the operator's command): deletes it, when there is one; then forgets the tally
/// of the hour of `now`, so that the range is judged afresh rather than blocked again by the next end.
pub fn lift_writes(prefix: &str, now: i64) -> [ItemWrite; 2] {
    let delete = |key| ItemWrite {
        action: ItemAction::Delete(key),
        condition: "attribute_exists(pk)",
        names: Vec::new(),
        values: Vec::new(),
    };
    [delete(block_key(prefix)), delete(tally_key(prefix, now))]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::vid;

    // 2026-12-07 13:04:23 UTC
    const NOW: i64 = 1_796_648_663;

    #[test]
    fn counters_are_keyed_by_their_period_and_expire_a_day_after_it() {
        let takes = [
            BudgetTake { budget: Budget::Prefix("8613800".into()), limit: 20 },
            BudgetTake { budget: Budget::Country("86".into()), limit: 500 },
            BudgetTake { budget: Budget::Day, limit: 1000 },
        ];
        let writes = budget_writes("8613800", &takes, NOW);
        let keys: Vec<String> = writes
            .iter()
            .map(|w| match &w.action {
                ItemAction::Check(key) | ItemAction::Update { key, .. } => key.pk.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            keys,
            [
                "guard#block#8613800",
                "guard#prefix#8613800#2026120713",
                "guard#country#86#2026120713",
                "guard#day#20261207"
            ]
        );
        let ttl = |w: &ItemWrite| w.values.iter().find(|(n, _)| *n == ":ttl").map(|(_, v)| v.as_i64().unwrap());
        assert_eq!(ttl(&writes[1]), Some(1_796_652_000 + DAY), "the hour ends at 14:00");
        assert_eq!(ttl(&writes[3]), Some(1_796_688_000 + DAY), "the day ends at midnight");
        assert!(writes[1].condition.contains("#count < :limit"));
    }

    #[test]
    fn a_tally_counts_each_verification_once_and_a_block_is_written_once() {
        let write = tally_write("8613800", &vid("v-1"), true, NOW);
        assert_eq!(write.condition, "NOT contains(#ids, :id_text)");
        assert!(write.values.contains(&(":approved", json!(1))));
        let block = block_write("8613800", &Tally { ended: 25, approved: 2 }, NOW, NOW + 12 * HOUR, Some("eu-west-1"));
        let ItemAction::Put(item) = &block.action else { panic!("a put") };
        assert_eq!((item["kind"].as_str(), item["blockedUntil"].as_i64()), (Some("block"), Some(NOW + 12 * HOUR)));
        assert_eq!(block.condition, "attribute_not_exists(pk) OR #until <= :now");
        let stored: BlockRecord = serde_json::from_value(Value::Object(item.clone())).unwrap();
        assert_eq!((stored.ended, stored.approved, stored.prefix.as_str()), (25, 2, "8613800"));
    }
}
