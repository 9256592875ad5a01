//! The requests on one item that are more than "put this record unless its key exists", described as data, so
//! that an adapter only moves them: which item (its key, or the whole item to put), the condition and update
//! expressions, and the attribute names and values they use. Every attribute name of the table is spelled in this
//! module or beside the record it belongs to.

use serde::Serialize;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// The partition key attribute.
pub const PK: &str = "pk";
/// The sort key attribute.
pub const SK: &str = "sk";
/// The raw JSON Huawei sent, kept beside the typed attributes.
pub const RAW: &str = "raw";
/// The TTL attribute (epoch seconds).
pub const EXPIRES_AT: &str = "expiresAt";

/// The condition of a put that writes only a new item (one whose key is not there yet).
pub const NEW_ITEM_CONDITION: &str = "attribute_not_exists(pk)";

/// The key of one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemKey {
    pub pk: String,
    pub sk: String,
}

impl ItemKey {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self { pk: pk.into(), sk: sk.into() }
    }
}

/// What a request does to its item.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemAction {
    /// Writes the whole item (its key among its attributes).
    Put(Map<String, Value>),
    /// Changes the item of `key` by an update expression.
    Update { key: ItemKey, expression: &'static str },
    /// Deletes the item of `key`.
    Delete(ItemKey),
    /// Checks the condition on the item of `key` and changes nothing (only within a transaction).
    Check(ItemKey),
}

/// One conditional request on one item.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemWrite {
    pub action: ItemAction,
    pub condition: &'static str,
    /// `#name` placeholders of the expressions, with the attribute each stands for.
    pub names: Vec<(&'static str, Cow<'static, str>)>,
    /// `:value` placeholders of the expressions, with their values.
    pub values: Vec<(&'static str, Value)>,
}

/// A Query of every item under one partition key: its key condition and the value of its one placeholder.
pub fn partition_query(pk: &str) -> (&'static str, (&'static str, Value)) {
    ("pk = :pk", (":pk", Value::from(pk)))
}

/// The attributes of a serializable item, as a JSON map (an item that is not an object gives an empty one).
pub(crate) fn attributes(item: &impl Serialize) -> Map<String, Value> {
    match serde_json::to_value(item) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}
