//! Distinct Huawei pushes for the benchmarks, made from the fixtures: a run's pushes never repeat a key, so
//! each one is a new notification unless the bench delivers it again on purpose.

use serde_json::Value;
use time::OffsetDateTime;
use voice_core::huawei::notification::{FeeList, VoicePush};
use voice_core::records::Record;
use voice_core::records::{cdr_record, event_record, Stamp};

use test_support::fixture;

#[derive(Clone)]
/// Pushes whose keys start with `run` (e.g. from [`test_support::unique_name`]).
pub struct Pushes {
    run: String,
}

impl Pushes {
    pub fn new(run: impl Into<String>) -> Self {
        Self { run: run.into() }
    }

    pub fn session_id(&self, n: usize) -> String {
        format!("1201_612_{n}_{}@callenabler245.huaweicaas.com", self.run)
    }

    /// A `callout` status event of call `n`.
    pub fn status(&self, n: usize) -> String {
        let mut push = json_fixture("huawei/status-callout.json");
        push["statusInfo"]["sessionId"] = self.session_id(n).into();
        push.to_string()
    }

    /// A fee push of one CDR per call in `calls`.
    pub fn fee(&self, calls: std::ops::Range<usize>) -> String {
        let mut push = json_fixture("huawei/fee-verification.json");
        let template = push["feeLst"][0].take();
        let cdrs: Vec<Value> = calls
            .map(|n| {
                let mut cdr = template.clone();
                cdr["sessionId"] = self.session_id(n).into();
                cdr
            })
            .collect();
        push["feeLst"] = cdrs.into();
        push.to_string()
    }

    /// A privacy-number SMS notification.
    pub fn sms(&self, n: usize) -> String {
        let mut push = json_fixture("huawei/sms-notify.json");
        push["smsEvent"]["smsIdentifier"] = format!("sms-{}-{n}", self.run).into();
        push.to_string()
    }
}

/// The records the callback stores for a status or fee push: what raw `PutItem`s of "the same items" write.
pub fn records(body: &str) -> Vec<Record> {
    let stamp = Stamp::new(OffsetDateTime::now_utc(), std::time::Duration::from_secs(7 * 86_400), "eu-west-1");
    match VoicePush::parse(body.as_bytes()) {
        Ok(VoicePush::Status(event)) => vec![event_record(&event, &stamp)],
        Ok(VoicePush::Fee(FeeList { cdrs, .. })) => cdrs.iter().map(|cdr| cdr_record(cdr, &stamp)).collect(),
        other => panic!("not a status or fee push: {other:?}"),
    }
}

fn json_fixture(name: &str) -> Value {
    serde_json::from_str(&fixture(name)).expect("fixture is JSON")
}
