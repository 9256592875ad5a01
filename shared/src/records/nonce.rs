//! The nonce record: the `Nonce` of a signed push, remembered across instances while its header could still be
//! accepted (`SIGNATURE_MODE=enforce`), so that a header replayed to another instance is refused.
//!
//! | `pk` | `sk` | `kind` |
//! |---|---|---|
//! | `nonce#<SHA-256 of the nonce, hex>` | `nonce` | `nonce` |
//!
//! Hashed: the key has a fixed length and holds nothing Huawei sent. `claimId` tells the instance that stored it
//! (a write whose answer was lost, then retried, finds its own claim; a forget deletes only its own claim).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::item::{ItemAction, ItemKey, ItemWrite};
use super::Stamp;

/// Partition key prefix of nonce records.
pub const NONCE_PREFIX: &str = "nonce#";
/// Sort key of a nonce record.
pub const NONCE_SK: &str = "nonce";
/// `kind` of a nonce record.
pub const NONCE_KIND: &str = "nonce";

/// The partition key of a nonce.
pub fn nonce_pk(nonce: &str) -> String {
    format!("{NONCE_PREFIX}{}", hex::encode(Sha256::digest(nonce.as_bytes())))
}

/// One nonce remembered by one push's claim, as written and as read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NonceRecord {
    pub pk: String,
    pub sk: String,
    pub kind: String,
    /// Random per claim: which push stored it.
    pub claim_id: String,
    pub received_at: String,
    pub written_region: String,
    /// DynamoDB TTL, epoch seconds: when the header can no longer be accepted anyway.
    pub expires_at: i64,
}

/// The record of `nonce` for the claim `claim_id`; the stamp's TTL is how long the header stays acceptable.
pub fn nonce_record(nonce: &str, claim_id: &str, stamp: &Stamp) -> NonceRecord {
    NonceRecord {
        pk: nonce_pk(nonce),
        sk: NONCE_SK.into(),
        kind: NONCE_KIND.into(),
        claim_id: claim_id.into(),
        received_at: stamp.received_at().into(),
        written_region: stamp.written_region().into(),
        expires_at: stamp.expires_at(),
    }
}

/// Forgets the claim of `record`: deletes it only while it is still this claim (gone already, or another push's
/// claim now, leaves nothing of ours to forget).
pub fn nonce_forget(record: &NonceRecord) -> ItemWrite {
    ItemWrite {
        action: ItemAction::Delete(ItemKey::new(record.pk.clone(), record.sk.clone())),
        condition: "claimId = :claim",
        names: Vec::new(),
        values: vec![(":claim", record.claim_id.clone().into())],
    }
}

/// The claim id of a nonce record read back as JSON (the holder's, when a claim found one there).
pub fn claim_id_of(item: &serde_json::Value) -> Option<String> {
    item.get("claimId").and_then(serde_json::Value::as_str).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{is_reserved_key, RecordBody, StoredRecord};
    use std::time::Duration;
    use time::macros::datetime;

    #[test]
    fn the_key_is_reserved_fixed_and_hides_the_nonce() {
        let stamp = Stamp::new(datetime!(2026-11-21 12:00:00 UTC), Duration::from_secs(600), "eu-west-1");
        let record = nonce_record("66C92B11FF8A425FB8D4CCFE0ED9ED1F", "claim-1", &stamp);
        assert!(is_reserved_key(&record.pk), "no Huawei sessionId can land on it");
        assert_eq!(record.pk.len(), NONCE_PREFIX.len() + 64);
        assert!(!record.pk.contains("66C92B11"));
        assert_eq!(record.pk, nonce_pk("66C92B11FF8A425FB8D4CCFE0ED9ED1F"), "the same nonce, the same key");
        assert_eq!(record.expires_at, datetime!(2026-11-21 12:10:00 UTC).unix_timestamp());
        // Read back like any item of the table: a kind the call readers skip.
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["claimId"], "claim-1");
        let stored: StoredRecord = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(stored.body, RecordBody::Other);
        assert_eq!(serde_json::from_value::<NonceRecord>(json).unwrap(), record);
    }
}
