//! The trigger's bookkeeping items, built here like every other item of the table: the idempotency record of a
//! key (`request#<key>`: claimed, completed or released) and the rate-limit log of a callee
//! (`ratelimit#<hmac of the number>`, written under optimistic concurrency on its `version`).

use serde::Serialize;
use serde_json::Value;

use super::item::{attributes, ItemAction, ItemKey, ItemWrite};
use super::{
    rate_limit_pk, request_pk, RATE_LIMIT_KIND, RATE_LIMIT_SK, REQUEST_COMPLETED, REQUEST_IN_PROGRESS, REQUEST_KIND,
    REQUEST_SK,
};

/// The key of the idempotency record of `idempotency_key`.
pub fn request_key(idempotency_key: &str) -> ItemKey {
    ItemKey::new(request_pk(idempotency_key), REQUEST_SK)
}

/// The key of the rate-limit log of `callee_key`.
pub fn rate_limit_key(callee_key: &str) -> ItemKey {
    ItemKey::new(rate_limit_pk(callee_key), RATE_LIMIT_SK)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RequestClaim<'a> {
    pk: String,
    sk: &'a str,
    kind: &'a str,
    status: &'a str,
    payload_hash: &'a str,
    in_progress_until: i64,
    expires_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    written_region: Option<&'a str>,
}

/// Claims an idempotency key with an in-progress record until `in_progress_until_ms`, unless a live record holds
/// it: one that is completed, or in progress and not expired at `now_ms` (its invocation may still run).
pub fn request_claim(
    idempotency_key: &str,
    payload_hash: &str,
    in_progress_until_ms: i64,
    now_ms: i64,
    expires_at: i64,
    written_region: Option<&str>,
) -> ItemWrite {
    let claim = RequestClaim {
        pk: request_pk(idempotency_key),
        sk: REQUEST_SK,
        kind: REQUEST_KIND,
        status: REQUEST_IN_PROGRESS,
        payload_hash,
        in_progress_until: in_progress_until_ms,
        expires_at,
        written_region,
    };
    ItemWrite {
        action: ItemAction::Put(attributes(&claim)),
        condition: "attribute_not_exists(pk) OR (#status = :in_progress AND inProgressUntil < :now)",
        names: vec![("#status", "status".into())],
        values: vec![(":in_progress", REQUEST_IN_PROGRESS.into()), (":now", now_ms.into())],
    }
}

/// Completes a claimed key with its `outcome` (and the `session_id` of the call placed, or "").
pub fn request_completion(idempotency_key: &str, outcome: &str, session_id: &str) -> ItemWrite {
    ItemWrite {
        action: ItemAction::Update {
            key: request_key(idempotency_key),
            expression: "SET #status = :completed, outcome = :outcome, sessionId = :session REMOVE inProgressUntil",
        },
        condition: "attribute_exists(pk)",
        names: vec![("#status", "status".into())],
        values: vec![
            (":completed", REQUEST_COMPLETED.into()),
            (":outcome", outcome.into()),
            (":session", session_id.into()),
        ],
    }
}

/// Gives a claimed key back (only while it is in progress: a completed key stays).
pub fn request_release(idempotency_key: &str) -> ItemWrite {
    ItemWrite {
        action: ItemAction::Delete(request_key(idempotency_key)),
        condition: "#status = :in_progress",
        names: vec![("#status", "status".into())],
        values: vec![(":in_progress", REQUEST_IN_PROGRESS.into())],
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RateLimitLog<'a> {
    pk: String,
    sk: &'a str,
    kind: &'a str,
    recent: &'a [i64],
    version: i64,
    expires_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    written_region: Option<&'a str>,
}

/// The callee's new log (`recent` call times), written only if the log is still the one read: absent
/// (`read_version` None) or at `read_version`. Of two concurrent calls to one number exactly one writes.
pub fn rate_limit_log(
    callee_key: &str,
    recent: &[i64],
    read_version: Option<i64>,
    expires_at: i64,
    written_region: Option<&str>,
) -> ItemWrite {
    let log = RateLimitLog {
        pk: rate_limit_pk(callee_key),
        sk: RATE_LIMIT_SK,
        kind: RATE_LIMIT_KIND,
        recent,
        version: read_version.unwrap_or(0) + 1,
        expires_at,
        written_region,
    };
    let (condition, values) = match read_version {
        None => ("attribute_not_exists(pk)", Vec::new()),
        Some(version) => ("version = :version", vec![(":version", Value::from(version))]),
    };
    ItemWrite { action: ItemAction::Put(attributes(&log)), condition, names: Vec::new(), values }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::read::RateLimitRecord;
    use crate::records::{RecordBody, RequestRecord, StoredRecord};

    fn put(write: &ItemWrite) -> &serde_json::Map<String, Value> {
        match &write.action {
            ItemAction::Put(item) => item,
            other => panic!("a put: {other:?}"),
        }
    }

    #[test]
    fn a_claim_reads_back_as_an_in_progress_request() {
        let claim = request_claim("signup-42", "h", 1_000, 500, 9_999, Some("eu-west-1"));
        let item = Value::Object(put(&claim).clone());
        let stored: StoredRecord = serde_json::from_value(item.clone()).unwrap();
        assert_eq!((stored.pk.as_str(), stored.sk.as_str()), ("request#signup-42", "request"));
        let RecordBody::Request(request) = stored.body else { panic!("a request record") };
        assert_eq!(
            request,
            RequestRecord { status: "inProgress".into(), payload_hash: "h".into(), outcome: None, session_id: None }
        );
        assert_eq!((item["inProgressUntil"].as_i64(), item["expiresAt"].as_i64()), (Some(1_000), Some(9_999)));
        assert_eq!(claim.values, vec![(":in_progress", Value::from("inProgress")), (":now", Value::from(500))]);
    }

    #[test]
    fn a_completion_and_a_release_name_the_same_key() {
        let completion = request_completion("k", "requested", "s-1");
        let release = request_release("k");
        let ItemAction::Update { key, .. } = &completion.action else { panic!("an update") };
        assert_eq!(key, &request_key("k"));
        assert_eq!(release.action, ItemAction::Delete(request_key("k")));
        assert!(completion.values.contains(&(":session", Value::from("s-1"))));
    }

    #[test]
    fn a_rate_limit_log_is_conditioned_on_the_version_read() {
        let first = rate_limit_log("c", &[10], None, 3_610, None);
        assert_eq!((first.condition, first.values.len()), ("attribute_not_exists(pk)", 0));
        let next = rate_limit_log("c", &[10, 70], Some(1), 3_670, Some("eu-west-1"));
        assert_eq!(next.values, vec![(":version", Value::from(1))]);
        let stored: StoredRecord = serde_json::from_value(Value::Object(put(&next).clone())).unwrap();
        assert_eq!(stored.body, RecordBody::RateLimit(RateLimitRecord { recent: vec![10, 70], version: 2 }));
        assert_eq!(stored.pk, "ratelimit#c");
    }
}
