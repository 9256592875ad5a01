//! `get-call-outcome`: by sessionId (one consistent Query) or by idempotencyKey (its `request#…` record gives the
//! sessionId: one GetItem more), optionally waiting for the final outcome with bounded re-reads.

use std::future::Future;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use tokio::time::Instant;

use super::{fold, CallOutcome, CallStatus};
use crate::ids::{IdempotencyKey, SessionId};
use crate::records::{RequestRecord, StoredRecord, REQUEST_COMPLETED, REQUEST_OUTCOME_REQUESTED};
use crate::storage::{retry, StoreError};
use crate::telemetry::{error_chain, mask_numbers};

/// The longest wait a caller may ask for.
pub const MAX_WAIT: Duration = Duration::from_millis(20_000);
/// Re-reads while waiting: the first after 250 ms, then doubling up to 1 s; never two reads closer than 250 ms.
pub const FIRST_REREAD: Duration = Duration::from_millis(250);
pub const MAX_REREAD: Duration = Duration::from_millis(1000);
/// Time kept before the invocation's deadline for a last read and the answer.
const READ_RESERVE: Duration = Duration::from_millis(2000);
/// Deadline assumed when the runtime gives none (tests).
const DEFAULT_BUDGET: Duration = Duration::from_secs(25);

/// The invoke event: exactly one of `sessionId` and `idempotencyKey`, and an optional wait. A field may also be
/// `null` (as if absent).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(title = "get-call-outcome request", transform = session_or_key))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OutcomeRequest {
    /// The call's sessionId, as the trigger answered it.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Option<SessionId>"))]
    pub session_id: Option<String>,
    /// The idempotency key the call was requested with.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(with = "Option<IdempotencyKey>"))]
    pub idempotency_key: Option<String>,
    /// Re-read (at most once per 250 ms) until the outcome is final or this time is up, never past the
    /// invocation's deadline; then answer the latest.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(range(max = 20_000)))]
    pub wait_for_final_ms: Option<u64>,
}

/// Exactly one of `sessionId` and `idempotencyKey` is given (a string: `null` counts as absent).
#[cfg(feature = "schema")]
fn session_or_key(schema: &mut schemars::Schema) {
    let given = |field: &str| serde_json::json!({"required": [field], "properties": {field: {"type": "string"}}});
    schema.insert("oneOf".into(), serde_json::json!([given("sessionId"), given("idempotencyKey")]));
}

/// What is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutcomeQuery {
    Session(SessionId),
    IdempotencyKey(IdempotencyKey),
}

/// Every failure of a read. The variant name is the `errorType` the caller sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutcomeError {
    /// The event is not one of the accepted shapes. Nothing was read.
    #[error("{0}")]
    InvalidRequest(String),
    /// No record under that sessionId or idempotencyKey.
    #[error("{0}")]
    NotFound(String),
    /// DynamoDB failed past the retry budget.
    #[error("{0}")]
    StorageUnavailable(String),
}

impl OutcomeError {
    /// Every `errorType` of get-call-outcome, as [`OutcomeError::error_type`] names them (the schema's enum).
    pub const ALL: [&'static str; 3] = ["InvalidRequest", "NotFound", "StorageUnavailable"];

    pub fn error_type(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "InvalidRequest",
            Self::NotFound(_) => "NotFound",
            Self::StorageUnavailable(_) => "StorageUnavailable",
        }
    }
}

impl OutcomeRequest {
    /// Validates an invoke event into the query and the wait.
    pub fn parse(event: Value) -> Result<(OutcomeQuery, Duration), OutcomeError> {
        let invalid = |message: String| OutcomeError::InvalidRequest(message);
        check_field_types(&event)?;
        // Every field's type is checked above; a serde message would quote the value, so none is passed on.
        let request: Self = serde_json::from_value(event).map_err(|_| invalid("invalid event".into()))?;
        let wait = Duration::from_millis(request.wait_for_final_ms.unwrap_or(0));
        if wait > MAX_WAIT {
            return Err(invalid(format!("waitForFinalMs must be 0 to {}", MAX_WAIT.as_millis())));
        }
        let query = match (request.session_id, request.idempotency_key) {
            (Some(id), None) => OutcomeQuery::Session(SessionId::parse(id).map_err(|e| invalid(e.to_string()))?),
            (None, Some(key)) => {
                OutcomeQuery::IdempotencyKey(IdempotencyKey::parse(key).map_err(|e| invalid(e.to_string()))?)
            }
            _ => return Err(invalid("give exactly one of sessionId and idempotencyKey".into())),
        };
        Ok((query, wait))
    }
}

/// Records asked for per page of a call's read: a call has about ten records (its call record, up to six events,
/// its bill, two close-outs), so one request reads it whole.
pub const CALL_READ_PAGE_SIZE: i32 = 100;

/// The most records one read of a call takes (three pages). Past it, the read stops and the outcome is folded
/// from what was read: in sort-key order `call`, `cdr#…` and `closeout#…` come before `conflict#…` and
/// `event#…`, so a flood of unknown event types (or of conflicting payloads) under one sessionId leaves out only
/// events of its own kind, never the records that decide a final outcome. Counted (`CallReadsTruncated`) and
/// logged.
pub const MAX_CALL_RECORDS: usize = 300;

/// The event's shape, refused with a message that names the field and the type it needs but never its value
/// (a caller may put a phone number where the sessionId goes; the message is logged and returned).
fn check_field_types(event: &Value) -> Result<(), OutcomeError> {
    let invalid = |message: String| Err(OutcomeError::InvalidRequest(message));
    let Some(fields) = event.as_object() else { return invalid("the event must be a JSON object".into()) };
    for (name, value) in fields {
        let (expected, admitted) = match name.as_str() {
            "sessionId" | "idempotencyKey" => ("a string", value.is_string()),
            "waitForFinalMs" => ("a non-negative integer", value.is_u64()),
            _ if (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphabetic()) => {
                return invalid(format!("unknown field `{name}`"))
            }
            _ => return invalid("an unknown field (its name is not repeated)".into()),
        };
        if !admitted && !value.is_null() {
            return invalid(format!("{name} must be {expected}"));
        }
    }
    Ok(())
}

/// The reads `get-call-outcome` needs.
pub trait OutcomeStore: Send + Sync {
    /// The records of one call, at most [`MAX_CALL_RECORDS`] in sort-key order: consistent Query pages of
    /// [`CALL_READ_PAGE_SIZE`] on its partition key.
    fn call_records(
        &self,
        session_id: &SessionId,
    ) -> impl Future<Output = Result<Vec<StoredRecord>, StoreError>> + Send;

    /// The trigger's record of an idempotency key: one consistent GetItem.
    fn request_record(
        &self,
        key: &IdempotencyKey,
    ) -> impl Future<Output = Result<Option<RequestRecord>, StoreError>> + Send;
}

pub struct OutcomeReader<S> {
    store: S,
    /// How long one read keeps retrying transient errors (the callbacks' `STORE_RETRY_BUDGET_MS`).
    retry_budget: Duration,
}

/// What the next read reads.
enum Target<'a> {
    /// A call: by its sessionId, or found through an idempotency key.
    Call { session_id: SessionId, key: Option<&'a IdempotencyKey> },
    /// An idempotency key not yet resolved to a sessionId.
    Key(&'a IdempotencyKey),
}

/// Where an idempotency key stands.
enum KeyState {
    /// The call was placed under this sessionId.
    Placed(SessionId),
    /// Still being placed, or maybe placed: no sessionId to read.
    Pending(CallStatus),
}

impl<S: OutcomeStore> OutcomeReader<S> {
    pub fn new(store: S, retry_budget: Duration) -> Self {
        Self { store, retry_budget }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// One invoke. `deadline` is the Lambda deadline, when known.
    pub async fn handle(&self, event: Value, deadline: Option<Instant>) -> Result<CallOutcome, OutcomeError> {
        let (query, wait) = OutcomeRequest::parse(event)
            .inspect_err(|e| tracing::warn!(errorType = e.error_type(), reason = %e, "read refused"))?;
        let deadline = deadline.unwrap_or_else(|| Instant::now() + DEFAULT_BUDGET);
        let result = self.read_until_final(&query, wait, deadline).await;
        let (asked_session_id, asked_key) = match &query {
            OutcomeQuery::Session(id) => (Some(id), None),
            OutcomeQuery::IdempotencyKey(key) => (None, Some(key)),
        };
        match &result {
            Ok(outcome) => tracing::info!(
                sessionId = %mask_numbers(outcome.session_id.as_deref().unwrap_or("")),
                status = outcome.status.as_str(),
                r#final = outcome.is_final,
                version = outcome.version,
                "outcome read"
            ),
            // The sessionId or key asked for (a caller may pass a number in it) is logged masked, never whole;
            // no error message quotes it.
            Err(e) => tracing::warn!(
                errorType = e.error_type(),
                reason = %e,
                sessionId = %asked_session_id.map(ToString::to_string).unwrap_or_default(),
                idempotencyKey = %asked_key.map(ToString::to_string).unwrap_or_default(),
                "read failed"
            ),
        }
        result
    }

    async fn read_until_final(
        &self,
        query: &OutcomeQuery,
        wait: Duration,
        deadline: Instant,
    ) -> Result<CallOutcome, OutcomeError> {
        let started = Instant::now();
        let wait_until = (started + wait).min(deadline.checked_sub(READ_RESERVE).unwrap_or(started));
        let mut target = match query {
            OutcomeQuery::Session(id) => Target::Call { session_id: id.clone(), key: None },
            OutcomeQuery::IdempotencyKey(key) => Target::Key(key),
        };
        let mut pause = FIRST_REREAD;
        loop {
            let read_started = Instant::now();
            let outcome = match &target {
                Target::Call { session_id, key } => self.read_call(session_id, *key, deadline).await?,
                &Target::Key(key) => match self.read_key(key, deadline).await? {
                    KeyState::Placed(session_id) => {
                        let outcome = self.read_call(&session_id, Some(key), deadline).await?;
                        // Later reads go straight to the call.
                        target = Target::Call { session_id, key: Some(key) };
                        outcome
                    }
                    KeyState::Pending(status) => CallOutcome { status, ..CallOutcome::unknown_for_key(key) },
                },
            };
            // Waiting is over: the answer is final, nobody can tell more (an unknown key), or time is up.
            let unknowable = matches!(target, Target::Key(_)) && outcome.status == CallStatus::Unknown;
            let next_read = (read_started + pause).min(wait_until);
            if outcome.is_final || unknowable || next_read < read_started + FIRST_REREAD {
                return Ok(outcome);
            }
            tokio::time::sleep_until(next_read).await;
            pause = (pause * 2).min(MAX_REREAD);
        }
    }

    /// The outcome of a placed call. No record at all: `NotFound` when asked by sessionId; asked by idempotency
    /// key, the call was placed but its record is not there (yet): `requested`.
    async fn read_call(
        &self,
        session_id: &SessionId,
        idempotency_key: Option<&IdempotencyKey>,
        deadline: Instant,
    ) -> Result<CallOutcome, OutcomeError> {
        let records = retry::until_deadline(retry::deadline_within(self.retry_budget, Some(deadline)), || {
            self.store.call_records(session_id)
        })
        .await
        .map_err(unavailable)?;
        if records.is_empty() && idempotency_key.is_none() {
            return Err(OutcomeError::NotFound("no record of a call under this sessionId".into()));
        }
        let mut outcome = fold(session_id, &records);
        if let Some(key) = idempotency_key {
            outcome.idempotency_key.get_or_insert_with(|| key.as_str().to_owned());
        }
        Ok(outcome)
    }

    async fn read_key(&self, key: &IdempotencyKey, deadline: Instant) -> Result<KeyState, OutcomeError> {
        let record = retry::until_deadline(retry::deadline_within(self.retry_budget, Some(deadline)), || {
            self.store.request_record(key)
        })
        .await
        .map_err(unavailable)?
        .ok_or_else(|| OutcomeError::NotFound("no call was requested with this idempotencyKey".into()))?;
        // A stored sessionId that is not one (empty: no call placed) reads as none.
        let session_id = record.session_id.and_then(|id| SessionId::parse(id).ok());
        Ok(match (record.status.as_str(), record.outcome.as_deref(), session_id) {
            (REQUEST_COMPLETED, Some(REQUEST_OUTCOME_REQUESTED), Some(session_id)) => KeyState::Placed(session_id),
            // The call may or may not ring (ProviderOutcomeUnknown): no sessionId will ever say.
            (REQUEST_COMPLETED, _, _) => KeyState::Pending(CallStatus::Unknown),
            // An invocation is placing it right now.
            _ => KeyState::Pending(CallStatus::Requested),
        })
    }
}

fn unavailable(error: StoreError) -> OutcomeError {
    OutcomeError::StorageUnavailable(error_chain(&error))
}

#[cfg(test)]
mod tests;
