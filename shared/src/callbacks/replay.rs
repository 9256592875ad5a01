//! Replaying the pushes the callbacks could not store (`tools/replay-unstored`). When a record still fails to be
//! written at the end of its retry budget, the callback logs it at error level with the message
//! [`NOT_STORED_MESSAGE`], the push's payload with every number masked (`fields.payload`), the record's kind
//! (`fields.kind`) and its key (the `store` span's `sessionId` and `sk`). This module reads such lines back and
//! decides, for each, whether it can be stored now through the push path ([`CallbackService::store_payload`]):
//!
//! - a voice status event, or an event type we do not know yet (stored raw), is replayed: Huawei does not re-push
//!   it, and its key (the sessionId of a voice call) carries no number, so the masking left it intact;
//! - a CDR is not: Huawei re-pushes an unacknowledged CDR (up to 6 times, hourly), and a copy with masked numbers
//!   stored first would shadow the real one (the first write of a key wins);
//! - an SMS notification is not either: Huawei re-pushes it, and this copy has its numbers masked;
//! - nor a payload whose sessionId holds a masked number (a privacy-number call: the key cannot be rebuilt), nor
//!   one that cannot be parsed.
//!
//! Input: the JSON log lines as the functions write them (`telemetry::init`: the span list, no current span),
//! the same lines prefixed by a timestamp (a CloudWatch Logs export, `aws logs tail`), lines wrapped as the
//! `message` of a JSON object, or the whole JSON output of `aws logs filter-log-events` (`{"events":[{"message":
//! …}]}`). Every other line is ignored.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

use super::nonces::NonceStore;
use super::service::{Answer, CallbackError, CallbackService, Endpoint};
use crate::huawei::{SmsNotification, VoicePush};
use crate::storage::RecordStore;
use crate::telemetry::mask_numbers;
use crate::telemetry::metrics::{self, Metric, Values};

pub use super::service::NOT_STORED_MESSAGE;

/// What marks a candidate line before it is parsed (a line holding it that cannot be read is reported, never
/// dropped silently).
const MARKER: &str = "NOT STORED";

/// How deep `message` wrappers are unwrapped (a CloudWatch event holding a Lambda JSON log record holding our
/// line is two).
const MAX_WRAPPING: usize = 3;

/// One NOT STORED line read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotStored {
    /// `sessionId/sk` of the record, as logged (numbers masked), when the line names them.
    pub key: Option<String>,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Replay(Replayable),
    NotReplayable(Reason),
}

/// A payload to store again through the push path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayable {
    pub endpoint: Endpoint,
    pub body: Vec<u8>,
}

/// Why a NOT STORED line is not replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// A CDR (`eventType` fee): Huawei re-pushes it, and a masked copy would shadow the real one.
    Cdr,
    /// A privacy-number SMS notification: Huawei re-pushes it; its numbers are masked here.
    Sms,
    /// The sessionId holds a masked number (a privacy-number call): its key cannot be rebuilt.
    MaskedSessionId,
    /// The payload is missing or is not a push the parsers accept (the text says why).
    Unparsable(String),
    /// The push path refused the payload when it was replayed (the text is its error).
    Refused(String),
}

impl Reason {
    /// A short stable name, for the totals.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Cdr => "cdr",
            Self::Sms => "sms",
            Self::MaskedSessionId => "masked_session_id",
            Self::Unparsable(_) => "unparsable",
            Self::Refused(_) => "refused",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cdr => f.write_str(
                "a CDR: Huawei re-pushes unacknowledged CDRs (up to 6 times, hourly), and a copy with masked numbers \
                 would shadow the real one",
            ),
            Self::Sms => f.write_str("an SMS notification: Huawei re-pushes it, and this copy has its numbers masked"),
            Self::MaskedSessionId => {
                f.write_str("its sessionId holds a masked number (privacy-number call): the key cannot be rebuilt")
            }
            Self::Unparsable(why) => write!(f, "unparsable: {why}"),
            Self::Refused(why) => write!(f, "refused by the push path: {why}"),
        }
    }
}

/// Where an entry was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A line of the input, from 1.
    Line(usize),
    /// An event of `aws logs filter-log-events` output, from 1.
    Event(usize),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Line(n) => write!(f, "line {n}"),
            Self::Event(n) => write!(f, "event {n}"),
        }
    }
}

/// The NOT STORED entries of one input, in input order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub entries: Vec<(Origin, NotStored)>,
    /// Lines (or events) read, NOT STORED or not.
    pub scanned: usize,
}

/// Reads one input: the whole output of `aws logs filter-log-events` (one JSON document, `events[].message`), or
/// else lines (JSON log lines, or lines with a prefix before their JSON).
pub fn read_input(text: &str) -> Input {
    if let Some(events) = filter_log_events(text) {
        let messages = events.iter().map(|event| event.get("message").and_then(Value::as_str).unwrap_or(""));
        return collect(messages.enumerate().map(|(i, message)| (Origin::Event(i + 1), message)));
    }
    collect(text.lines().enumerate().map(|(i, line)| (Origin::Line(i + 1), line)))
}

fn collect<'a>(items: impl Iterator<Item = (Origin, &'a str)>) -> Input {
    let mut input = Input { entries: Vec::new(), scanned: 0 };
    for (origin, text) in items {
        input.scanned += 1;
        input.entries.extend(read_line(text).map(|entry| (origin, entry)));
    }
    input
}

/// `{"events":[…], …}`, the shape of `aws logs filter-log-events` output.
fn filter_log_events(text: &str) -> Option<Vec<Value>> {
    let trimmed = text.trim_start();
    if !trimmed.starts_with('{') {
        return None;
    }
    match serde_json::from_str::<Value>(trimmed).ok()? {
        Value::Object(mut document) => match document.remove("events")? {
            Value::Array(events) => Some(events),
            _ => None,
        },
        _ => None,
    }
}

/// One line: `None` when it is not a NOT STORED line, else what to do with it.
pub fn read_line(line: &str) -> Option<NotStored> {
    read_wrapped(line, 0)
}

fn read_wrapped(line: &str, depth: usize) -> Option<NotStored> {
    if !line.contains(MARKER) {
        return None;
    }
    // A JSON log line, or one behind a prefix (`<timestamp> {…}` of a CloudWatch Logs export).
    let json = line.find('{').map(|at| line[at..].trim_end());
    let Some(Value::Object(object)) = json.and_then(|json| serde_json::from_str::<Value>(json).ok()) else {
        let why = "a line naming NOT STORED that is not a JSON log line".to_owned();
        return Some(NotStored { key: None, verdict: Verdict::NotReplayable(Reason::Unparsable(why)) });
    };
    match object.get("fields").and_then(Value::as_object) {
        Some(fields) => {
            let message = fields.get("message").and_then(Value::as_str);
            (message == Some(NOT_STORED_MESSAGE)).then(|| not_stored(&object, fields))
        }
        // A line wrapped as the `message` of another JSON object (Lambda's JSON log format, a log event).
        None if depth < MAX_WRAPPING => read_wrapped(object.get("message").and_then(Value::as_str)?, depth + 1),
        None => None,
    }
}

fn not_stored(line: &Map<String, Value>, fields: &Map<String, Value>) -> NotStored {
    let verdict = match fields.get("payload").and_then(Value::as_str) {
        None => Verdict::NotReplayable(Reason::Unparsable("the line has no `fields.payload`".into())),
        Some(payload) => verdict(fields.get("kind").and_then(Value::as_str), payload),
    };
    NotStored { key: logged_key(line), verdict }
}

/// What to do with a payload of a record of `kind` (`Debug` of the record kind: `Event`, `Unrecognised`, `Cdr`,
/// `Sms`; read from the payload when absent or unknown).
pub fn verdict(kind: Option<&str>, payload: &str) -> Verdict {
    match kind {
        Some("Cdr") => return Verdict::NotReplayable(Reason::Cdr),
        Some("Sms") => return Verdict::NotReplayable(Reason::Sms),
        Some("Quarantine") => return quarantine_verdict(payload),
        _ => {}
    }
    let session_id = match VoicePush::parse(payload.as_bytes()) {
        Ok(VoicePush::Fee(_)) => return Verdict::NotReplayable(Reason::Cdr),
        Ok(VoicePush::Status(event)) => event.info.session_id,
        Ok(VoicePush::Unrecognised(event)) => event.session_id,
        Ok(VoicePush::Quarantined(_)) => return quarantine_verdict(payload),
        // Only a line without a known kind may hold an SMS notification.
        Err(_)
            if !matches!(kind, Some("Event" | "Unrecognised"))
                && SmsNotification::parse(payload.as_bytes()).is_ok() =>
        {
            return Verdict::NotReplayable(Reason::Sms)
        }
        Err(error) => return Verdict::NotReplayable(Reason::Unparsable(error.to_string())),
    };
    if session_id.as_str().contains("****") {
        return Verdict::NotReplayable(Reason::MaskedSessionId);
    }
    Verdict::Replay(Replayable { endpoint: Endpoint::Voice, body: payload.as_bytes().to_vec() })
}

/// A quarantine record left unstored: its element is a whole status push (replayed: Huawei does not re-push
/// one; it goes to quarantine again, or to a record of its own once it parses), or a `feeLst` element or an SMS
/// push, which Huawei re-pushes like any unacknowledged bill or SMS.
fn quarantine_verdict(payload: &str) -> Verdict {
    let Ok(Value::Object(element)) = serde_json::from_str::<Value>(payload) else {
        return Verdict::NotReplayable(Reason::Cdr);
    };
    let is_fee_push = element.get("eventType").and_then(Value::as_str).is_some_and(|t| t.trim() == "fee")
        || element.contains_key("feeLst");
    match () {
        _ if element.contains_key("smsEvent") => Verdict::NotReplayable(Reason::Sms),
        _ if is_fee_push => Verdict::NotReplayable(Reason::Cdr),
        _ if element.contains_key("eventType") || element.contains_key("statusInfo") => {
            Verdict::Replay(Replayable { endpoint: Endpoint::Voice, body: payload.as_bytes().to_vec() })
        }
        // A `feeLst` element on its own.
        _ => Verdict::NotReplayable(Reason::Cdr),
    }
}

/// `sessionId/sk` of the `store` span: in the span list (`telemetry::init`), else the current span.
fn logged_key(line: &Map<String, Value>) -> Option<String> {
    let mut spans = line.get("spans").and_then(Value::as_array).into_iter().flatten().chain(line.get("span"));
    let store = spans.rfind(|span| span.get("name").and_then(Value::as_str) == Some("store"))?;
    let text = |name: &str| store.get(name).and_then(Value::as_str);
    // Masked again: the report must never show a number, whatever wrote the line.
    Some(mask_numbers(&format!("{}/{}", text("sessionId")?, text("sk").unwrap_or("?"))))
}

/// What became of one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new record was written.
    Stored,
    /// The record was already there (an earlier replay, or the push came through after all).
    AlreadyThere,
    /// Storage still fails: replay it again later.
    Failed,
    NotReplayable(Reason),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stored => f.write_str("stored"),
            Self::AlreadyThere => f.write_str("already there"),
            Self::Failed => f.write_str("FAILED: storage still failing, replay again later"),
            Self::NotReplayable(reason) => write!(f, "not replayable: {reason}"),
        }
    }
}

/// Stores a replayable payload through the push path (parse, records, conditional write, retries within the
/// service's budget, metrics) and tells whether it wrote a new record: from the `Pushes` count of the call.
pub async fn replay<S: RecordStore, N: NonceStore>(service: &CallbackService<S, N>, payload: &Replayable) -> Outcome {
    let (answer, values) = metrics::collect(service.store_payload(payload.endpoint, &payload.body, None)).await;
    outcome_of(answer, &values)
}

/// The outcome of one `store_payload`, from its answer and the `result` of the `Pushes` it counted.
pub fn outcome_of(answer: Answer, values: &Values) -> Outcome {
    let counted = values.iter().find(|(_, metrics)| metrics.contains_key(&Metric::Pushes));
    match (answer, counted.and_then(|(dimensions, _)| dimensions.result.as_deref())) {
        (Answer::Refused(CallbackError::StorageFailed { .. }), _) => Outcome::Failed,
        (Answer::Refused(refusal), _) => Outcome::NotReplayable(Reason::Refused(refusal.to_string())),
        (_, Some("stored")) => Outcome::Stored,
        (_, Some("duplicate")) => Outcome::AlreadyThere,
        // Not counted as a new write: never report "stored" for what may not be new.
        (_, _) => Outcome::AlreadyThere,
    }
}

/// The totals of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub stored: usize,
    pub already_there: usize,
    pub failed: usize,
    /// Per [`Reason::code`].
    pub not_replayable: BTreeMap<&'static str, usize>,
}

impl Tally {
    pub fn add(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Stored => self.stored += 1,
            Outcome::AlreadyThere => self.already_there += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::NotReplayable(reason) => *self.not_replayable.entry(reason.code()).or_default() += 1,
        }
    }

    pub fn not_replayable_total(&self) -> usize {
        self.not_replayable.values().sum()
    }
}

impl fmt::Display for Tally {
    /// `stored N, already there N, not replayable N, failed N`, then the reasons when there are some.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stored {}, already there {}, not replayable {}, failed {}",
            self.stored,
            self.already_there,
            self.not_replayable_total(),
            self.failed
        )?;
        if !self.not_replayable.is_empty() {
            let reasons: Vec<String> = self.not_replayable.iter().map(|(code, n)| format!("{code} {n}")).collect();
            write!(f, "\nnot replayable by reason: {}", reasons.join(", "))?;
        }
        Ok(())
    }
}

/// One line of the report: where the entry was read, the record's key when logged, what became of it.
pub fn report_line(source: &str, origin: Origin, entry: &NotStored, outcome: &Outcome) -> String {
    match &entry.key {
        Some(key) => format!("{source} {origin}: {key}: {outcome}"),
        None => format!("{source} {origin}: {outcome}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    use crate::adapters::MemoryStore;
    use crate::auth::{CallbackTokens, SignatureMode};
    use crate::callbacks::CallbackSettings;
    use crate::telemetry::metrics::Dimensions;

    const CALLOUT: &str = r#"{"eventType":"callout","statusInfo":{"sessionId":"1201_612@callenabler245.huaweicaas.com","caller":"+8613800000022","called":"+8613800000021"}}"#;
    const UNKNOWN: &str = r#"{"eventType":"recordReady","statusInfo":{"sessionId":"rec-1","caller":"+8613800000022"}}"#;
    const FEE: &str =
        r#"{"eventType":"fee","feeLst":[{"sessionId":"1201_612@x","icid":"c1","callerNum":"+8613800000022"}]}"#;
    const SMS: &str = r#"{"smsEvent":{"smsIdentifier":"m1","notificationMode":"Notify","calling":"+8613800000001"}}"#;
    const CALLIN: &str = r#"{"eventType":"callin","statusInfo":{"sessionId":"+8613400007762_+8615000002131_4_627e5c1f","caller":"+8615000002131"}}"#;

    fn settings() -> CallbackSettings {
        CallbackSettings {
            record_ttl: Duration::from_secs(86_400),
            region: "eu-west-1".into(),
            tokens: CallbackTokens::parse("").unwrap(),
            signature_mode: SignatureMode::Off,
            store_retry_budget: Duration::from_millis(200),
            callback_base_url: None,
            credentials: None,
        }
    }

    /// The log lines written while `f` runs, in the functions' format (`telemetry::init`: span list, no current
    /// span), inside a span standing in for the Lambda runtime's.
    async fn function_logs_of<F: std::future::Future>(f: F) -> (F::Output, String) {
        use tracing::Instrument;
        let buffer = crate::telemetry::CapturedLogs::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_current_span(false)
            .with_span_list(true)
            .with_target(false)
            .without_time()
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let runtime = tracing::info_span!("Lambda runtime invoke", requestId = "req-1", xrayTraceId = "Root=1-a-b");
        let output = f.instrument(runtime).await;
        let text = buffer.text();
        (output, text)
    }

    /// The NOT STORED lines the service logs for `body` when storage is down.
    async fn not_stored_lines(endpoint: Endpoint, body: &str) -> Vec<String> {
        let service = CallbackService::new(MemoryStore::default(), settings());
        service.store().set_unavailable(true);
        let (answer, logs) = function_logs_of(service.store_payload(endpoint, body.as_bytes(), None)).await;
        assert!(matches!(answer, Answer::Refused(CallbackError::StorageFailed { .. })), "{answer:?}");
        logs.lines().filter(|line| line.contains(NOT_STORED_MESSAGE)).map(str::to_owned).collect()
    }

    async fn one_line(endpoint: Endpoint, body: &str) -> String {
        let mut lines = not_stored_lines(endpoint, body).await;
        assert_eq!(lines.len(), 1, "{lines:?}");
        lines.remove(0)
    }

    #[tokio::test(start_paused = true)]
    async fn a_status_event_logged_by_the_service_is_replayable_with_its_masked_payload() {
        let line = one_line(Endpoint::Voice, CALLOUT).await;
        let parsed: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["spans"][0]["requestId"], "req-1", "{line}");
        assert_eq!(parsed["spans"][1]["name"], "store", "{line}");
        let entry = read_line(&line).expect("a NOT STORED line");
        assert_eq!(entry.key.as_deref(), Some("1201_612@callenabler245.huaweicaas.com/event#callout"));
        let Verdict::Replay(payload) = entry.verdict else { panic!("{entry:?}") };
        assert_eq!(payload.endpoint, Endpoint::Voice);
        let body = String::from_utf8(payload.body).unwrap();
        assert_eq!(body, mask_numbers(CALLOUT), "the payload as logged");
        assert!(body.contains("+86138****0022") && !body.contains("13800000022"));
    }

    #[tokio::test(start_paused = true)]
    async fn an_unknown_event_type_is_replayable() {
        let entry = read_line(&one_line(Endpoint::Voice, UNKNOWN).await).unwrap();
        assert_eq!(entry.key.as_deref(), Some("rec-1/event#recordReady"));
        assert!(matches!(entry.verdict, Verdict::Replay(_)), "{entry:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_cdr_is_not_replayable() {
        let line = one_line(Endpoint::Voice, FEE).await;
        let entry = read_line(&line).unwrap();
        assert_eq!(entry.key.as_deref(), Some("1201_612@x/cdr#c1"));
        assert_eq!(entry.verdict, Verdict::NotReplayable(Reason::Cdr));
        // A whole fee push, whatever its kind says.
        assert_eq!(verdict(Some("Event"), FEE), Verdict::NotReplayable(Reason::Cdr));
        assert_eq!(verdict(None, FEE), Verdict::NotReplayable(Reason::Cdr));
    }

    #[tokio::test(start_paused = true)]
    async fn every_cdr_of_a_merged_push_is_reported() {
        let merged = r#"{"eventType":"fee","feeLst":[{"sessionId":"a","icid":"1"},{"sessionId":"b","icid":"2"}]}"#;
        let lines = not_stored_lines(Endpoint::Voice, merged).await;
        let input = read_input(&lines.join("\n"));
        let mut keys: Vec<_> = input.entries.iter().map(|(_, e)| e.key.clone().unwrap()).collect();
        keys.sort();
        assert_eq!(keys, ["a/cdr#1", "b/cdr#2"]);
        assert!(input.entries.iter().all(|(_, e)| e.verdict == Verdict::NotReplayable(Reason::Cdr)));
    }

    #[tokio::test(start_paused = true)]
    async fn an_sms_notification_is_not_replayable() {
        let entry = read_line(&one_line(Endpoint::Sms, SMS).await).unwrap();
        assert_eq!(entry.key.as_deref(), Some("sms#m1/mode#Notify"));
        assert_eq!(entry.verdict, Verdict::NotReplayable(Reason::Sms));
        assert_eq!(verdict(None, SMS), Verdict::NotReplayable(Reason::Sms), "recognised without its kind");
    }

    #[tokio::test(start_paused = true)]
    async fn a_privacy_number_event_whose_session_id_was_masked_is_not_replayable() {
        let line = one_line(Endpoint::Voice, CALLIN).await;
        assert!(!line.contains("13400007762"), "{line}");
        let entry = read_line(&line).unwrap();
        assert_eq!(entry.key.as_deref(), Some("+86134****7762_+86150****2131_4_627e5c1f/event#callin"));
        assert_eq!(entry.verdict, Verdict::NotReplayable(Reason::MaskedSessionId));
        let unknown = r#"{"eventType":"x","sessionId":"+86134****7762_+86150****2131_4"}"#;
        assert_eq!(verdict(Some("Unrecognised"), unknown), Verdict::NotReplayable(Reason::MaskedSessionId));
    }

    #[test]
    fn an_unparsable_payload_or_line_is_not_replayable() {
        let line =
            |fields: &str| format!(r#"{{"level":"ERROR","fields":{{"message":"{NOT_STORED_MESSAGE}"{fields}}}}}"#);
        let unparsable = |line: &str| match read_line(line) {
            Some(NotStored { verdict: Verdict::NotReplayable(Reason::Unparsable(why)), .. }) => why,
            other => panic!("{other:?} for {line}"),
        };
        assert!(unparsable(&line(r#","kind":"Event","payload":"{\"eventType\":""#)).contains("not valid JSON"));
        assert!(unparsable(&line(r#","kind":"Event","payload":"{\"eventType\":\"answer\"}""#)).contains("statusInfo"));
        assert!(unparsable(&line(r#","kind":"Event""#)).contains("no `fields.payload`"));
        // A NOT STORED line cut short: reported, never dropped silently.
        let cut = line(r#","kind":"Event","payload":"{}""#);
        assert!(unparsable(&cut).contains("missing required field `eventType`"), "{cut}");
        assert!(unparsable(&cut[..cut.len() - 3]).contains("not a JSON log line"));
        assert!(unparsable("NOT STORED: replay this payload once storage is back").contains("not a JSON log line"));
    }

    #[test]
    fn other_lines_are_ignored() {
        for line in [
            "",
            "plain text",
            r#"{"level":"INFO","fields":{"message":"stored"},"spans":[{"name":"store","sessionId":"s","sk":"k"}]}"#,
            r#"{"level":"WARN","fields":{"message":"NOT STORED IN PEER REPLICA"}}"#,
            r#"{"_aws":{"CloudWatchMetrics":[]},"Pushes":1.0,"result":"storage_failed"}"#,
            r#"{"level":"INFO","fields":{"message":"a note about NOT STORED lines"}}"#,
        ] {
            assert_eq!(read_line(line), None, "{line}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn each_input_form_gives_the_same_entries() {
        let status = one_line(Endpoint::Voice, CALLOUT).await;
        let fee = one_line(Endpoint::Voice, FEE).await;
        let noise = r#"{"level":"INFO","fields":{"message":"stored"}}"#;
        let expected = |origins: [Origin; 2]| {
            vec![(origins[0], read_line(&status).unwrap()), (origins[1], read_line(&fee).unwrap())]
        };

        // (1) JSON log lines, as the functions write them.
        let lines = read_input(&format!("{noise}\n{status}\n{noise}\n{fee}\n"));
        assert_eq!(lines.entries, expected([Origin::Line(2), Origin::Line(4)]));
        assert_eq!(lines.scanned, 4);

        // (2) A CloudWatch Logs export: `<timestamp> <json>` (and `aws logs tail`: `<timestamp> <stream> <json>`).
        let export =
            format!("2024-05-01T10:00:00.000Z {status}\n2024-05-01T10:00:01.000Z 2024/05/01/[$LATEST]0a1b {fee}\r\n");
        assert_eq!(read_input(&export).entries, expected([Origin::Line(1), Origin::Line(2)]));

        // (3) The whole JSON output of `aws logs filter-log-events` (pretty-printed, messages ending in \n).
        let event = |id: &str, message: &str| {
            serde_json::json!({"logStreamName": "2024/05/01/[$LATEST]0a1b", "timestamp": 1_714_557_600_000_i64,
                "message": format!("{message}\n"), "ingestionTime": 1_714_557_600_100_i64, "eventId": id})
        };
        let output = serde_json::json!({
            "events": [event("1", noise), event("2", &status), event("3", &fee)],
            "searchedLogStreams": [], "nextToken": "abc"
        });
        let events = read_input(&serde_json::to_string_pretty(&output).unwrap());
        assert_eq!(events.entries, expected([Origin::Event(2), Origin::Event(3)]));
        assert_eq!(events.scanned, 3);

        // A line wrapped as the `message` of a JSON log record (Lambda's JSON log format).
        let wrapped = serde_json::json!({"timestamp": "2024-05-01T10:00:00Z", "level": "ERROR", "message": status});
        assert_eq!(read_input(&wrapped.to_string()).entries, vec![(Origin::Line(1), read_line(&status).unwrap())]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_replay_stores_once_then_finds_it_there_and_fails_while_storage_is_down() {
        let line = one_line(Endpoint::Voice, CALLOUT).await;
        let Some(NotStored { verdict: Verdict::Replay(payload), .. }) = read_line(&line) else { panic!("{line}") };
        let service = CallbackService::new(MemoryStore::default(), settings());
        service.store().set_unavailable(true);
        assert_eq!(replay(&service, &payload).await, Outcome::Failed);
        service.store().set_unavailable(false);
        assert_eq!(replay(&service, &payload).await, Outcome::Stored);
        assert_eq!(replay(&service, &payload).await, Outcome::AlreadyThere);
        let records = service.store().records();
        assert_eq!(records.len(), 1);
        assert_eq!(
            (records[0].pk.as_str(), records[0].sk.as_str()),
            ("1201_612@callenabler245.huaweicaas.com", "event#callout")
        );
        assert_eq!(records[0].raw, mask_numbers(CALLOUT));
    }

    #[test]
    fn outcomes_follow_the_counted_result_and_a_refusal_is_not_replayable() {
        let counted = |result: &str| {
            let mut values = Values::new();
            values.entry(Dimensions::kind_result("status", result)).or_default().insert(Metric::Pushes, 1.0);
            values
        };
        assert_eq!(outcome_of(Answer::EventStored, &counted("stored")), Outcome::Stored);
        assert_eq!(outcome_of(Answer::EventStored, &counted("duplicate")), Outcome::AlreadyThere);
        assert_eq!(outcome_of(Answer::EventStored, &Values::new()), Outcome::AlreadyThere, "never a guessed stored");
        let failed = Answer::Refused(CallbackError::StorageFailed { failed: 1, total: 1 });
        assert_eq!(outcome_of(failed, &counted("storage_failed")), Outcome::Failed);
        let refused = outcome_of(Answer::Refused(CallbackError::RecordTooLarge), &counted("refused"));
        assert!(matches!(&refused, Outcome::NotReplayable(Reason::Refused(why)) if why.contains("item limit")));
    }

    #[test]
    fn the_tally_counts_each_outcome_and_names_the_reasons() {
        let mut tally = Tally::default();
        for outcome in [
            Outcome::Stored,
            Outcome::Stored,
            Outcome::AlreadyThere,
            Outcome::NotReplayable(Reason::Cdr),
            Outcome::NotReplayable(Reason::Sms),
            Outcome::NotReplayable(Reason::Cdr),
            Outcome::Failed,
        ] {
            tally.add(&outcome);
        }
        assert_eq!(
            tally.to_string(),
            "stored 2, already there 1, not replayable 3, failed 1\nnot replayable by reason: cdr 2, sms 1"
        );
        assert_eq!(Tally::default().to_string(), "stored 0, already there 0, not replayable 0, failed 0");
        let entry = NotStored { key: Some("s/event#answer".into()), verdict: Verdict::NotReplayable(Reason::Sms) };
        assert_eq!(
            report_line("logs.txt", Origin::Line(7), &entry, &Outcome::Stored),
            "logs.txt line 7: s/event#answer: stored"
        );
    }
}
