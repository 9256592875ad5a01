//! What the callee's phone heard: the `verifyCode` of each answered call, behind `GET /sim/heard/<sessionId>`
//! and `GET /sim/heard?calleeNbr=…`. A real user hears the code spoken when they pick up; a local demo or test
//! reads it here, as the user would type it into the app. Bounded (the last [`MAX_HEARD`] answered calls).

use std::collections::VecDeque;
use std::fmt;
use std::sync::Mutex;

use serde::Serialize;

/// Enough for any test run or local session without growing forever.
pub const MAX_HEARD: usize = 10_000;

/// The code a call speaks. Its `Debug` hides the digits: the code is never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct SpokenCode(String);

impl SpokenCode {
    pub fn new(code: impl Into<String>) -> Self {
        Self(code.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SpokenCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SpokenCode(****)")
    }
}

/// One answered call's code, as `GET /sim/heard` answers it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeardCode {
    pub session_id: String,
    /// Masked, like everywhere else the sim shows a number.
    pub callee_nbr: String,
    #[serde(serialize_with = "expose_code")]
    pub verify_code: SpokenCode,
    /// When the callee answered (the call's simulated clock), `yyyy-MM-dd HH:mm:ss` UTC.
    pub heard_at: String,
}

fn expose_code<S: serde::Serializer>(code: &SpokenCode, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(code.expose())
}

struct Entry {
    /// The full number, as the request gave it, without a leading `+`: the key of the callee lookup.
    callee_key: String,
    heard: HeardCode,
}

#[derive(Default)]
pub struct HeardLog(Mutex<VecDeque<Entry>>);

/// `+8613800000021`, `8613800000021` and ` 8613800000021` (a `+` left unencoded in a query string reads as a
/// space) name the same phone.
fn callee_key(number: &str) -> &str {
    let number = number.trim();
    number.strip_prefix('+').unwrap_or(number)
}

impl HeardLog {
    /// Records what the phone of `callee_nbr` (in full) heard; `heard.callee_nbr` is the masked form shown.
    pub fn record(&self, callee_nbr: &str, heard: HeardCode) {
        let mut entries = self.lock();
        if entries.len() == MAX_HEARD {
            entries.pop_front();
        }
        entries.push_back(Entry { callee_key: callee_key(callee_nbr).to_owned(), heard });
    }

    pub fn by_session(&self, session_id: &str) -> Option<HeardCode> {
        self.lock().iter().rev().find(|e| e.heard.session_id == session_id).map(|e| e.heard.clone())
    }

    /// The latest code the phone of `callee_nbr` heard.
    pub fn latest_for(&self, callee_nbr: &str) -> Option<HeardCode> {
        let key = callee_key(callee_nbr);
        self.lock().iter().rev().find(|e| e.callee_key == key).map(|e| e.heard.clone())
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Entry>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heard(session_id: &str, code: &str) -> HeardCode {
        HeardCode {
            session_id: session_id.into(),
            callee_nbr: "+86138****0021".into(),
            verify_code: SpokenCode::new(code),
            heard_at: "2019-01-24 03:04:25".into(),
        }
    }

    #[test]
    fn latest_by_callee_and_exact_by_session() {
        let log = HeardLog::default();
        log.record("+8613800000021", heard("s1", "111111"));
        log.record("+8613800000022", heard("s2", "222222"));
        log.record("+8613800000021", heard("s3", "333333"));
        assert_eq!(log.by_session("s1").unwrap().verify_code.expose(), "111111");
        assert!(log.by_session("s4").is_none());
        for form in ["+8613800000021", "8613800000021", " 8613800000021"] {
            assert_eq!(log.latest_for(form).unwrap().session_id, "s3", "{form:?}");
        }
        assert!(log.latest_for("+8613800000023").is_none());
    }

    #[test]
    fn bounded_to_the_latest_entries() {
        let log = HeardLog::default();
        for n in 0..MAX_HEARD + 5 {
            log.record("+8613800000021", heard(&format!("s{n}"), "4829"));
        }
        assert_eq!(log.len(), MAX_HEARD);
        assert!(log.by_session("s4").is_none(), "the oldest are forgotten");
        assert!(log.by_session("s5").is_some());
    }

    #[test]
    fn the_code_shows_in_json_but_not_in_debug() {
        let entry = heard("s1", "482913");
        assert!(!format!("{entry:?}").contains("482913"));
        let json = serde_json::to_value(&entry).unwrap();
        assert_eq!(json["verifyCode"], "482913");
        assert_eq!(json["calleeNbr"], "+86138****0021");
        assert_eq!(json["heardAt"], "2019-01-24 03:04:25");
    }
}
