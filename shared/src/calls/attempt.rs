//! What one callVerify attempt means (docs/huawei-protocol.md, "callVerify result codes"): a sessionId, or a failure
//! with its errorType and
//! whether another attempt may be made now. Huawei bans IPs that keep failing, so only failures that certainly placed
//! no call and may pass soon are retried, and never in a tight loop.

use serde_json::Value;

use super::TriggerError;
use crate::ids::SessionId;

/// How one HTTP attempt ended, as the client observed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Huawei answered with this status and body.
    Answered { status: u16, body: String },
    /// The request certainly did not leave (connection refused, DNS, TLS handshake): safe to send again.
    NotSent(String),
    /// The request may have been received but no complete answer came back (timeout, reset).
    NoAnswer(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub error: TriggerError,
    /// Worth another attempt within this invocation (a transient failure, and no call was placed).
    pub retry_now: bool,
}

/// Interprets one attempt: the sessionId of the placed call, or the failure.
pub fn interpret(attempt: &Attempt) -> Result<SessionId, Failure> {
    let (status, body) = match attempt {
        Attempt::NotSent(reason) => {
            return Err(Failure {
                error: TriggerError::ProviderUnavailable(format!("Huawei unreachable: {reason}")),
                retry_now: true,
            })
        }
        Attempt::NoAnswer(reason) => return Err(unknown(format!("no answer from Huawei after sending: {reason}"))),
        Attempt::Answered { status, body } => (*status, body),
    };
    let answer: Option<Value> = serde_json::from_str(body).ok();
    let field = |name: &str| -> Option<String> {
        match answer.as_ref()?.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let Some(code) = field("resultcode") else {
        // No result code: a 5xx gateway page placed no call; anything else might have.
        return Err(match status {
            500..=599 => Failure {
                error: TriggerError::ProviderUnavailable(format!("HTTP {status} without a result code")),
                retry_now: true,
            },
            _ => unknown(format!("HTTP {status} with an unreadable answer")),
        });
    };
    let desc = field("resultdesc").unwrap_or_default();
    if code == "0" {
        return match field("sessionId").and_then(|id| SessionId::parse(id).ok()) {
            Some(session_id) if (200..300).contains(&status) => Ok(session_id),
            _ => Err(unknown(format!("success code without a usable sessionId (HTTP {status})"))),
        };
    }
    Err(classify(status, &code, &desc))
}

fn classify(status: u16, code: &str, desc: &str) -> Failure {
    let message = format!("{code} {desc} (HTTP {status})");
    let fail = |error: TriggerError, retry_now: bool| Failure { error, retry_now };
    match code {
        // 1010010 is both "Invalid digest" (HTTP 401) and platform flow control: tell them apart by status/text.
        "1010010" if status == 401 || desc.to_ascii_lowercase().contains("digest") => {
            fail(TriggerError::ConfigurationError(format!("Huawei refused our credentials: {message}")), false)
        }
        // Flow control: Huawei asks to wait a minute, longer than an invocation should.
        "1010010" | "1013002" | "1013003" => fail(TriggerError::ProviderThrottled(message), false),
        // Concurrent-call port quota: may free up within seconds.
        "1020165" => fail(TriggerError::ProviderThrottled(message), true),
        "1010001" | "1020002" => {
            fail(TriggerError::ProviderUnavailable(format!("Huawei internal error: {message}")), true)
        }
        // Authentication, app and IP configuration: fix the config, do not retry (repeated auth failures get the
        // caller IP blacklisted for 30 minutes, 1020176).
        c if c.starts_with("1023")
            || ["1010003", "1010006", "1010008", "1010011", "1010013", "1010021", "1020150", "1020166", "1020176"]
                .contains(&c) =>
        {
            fail(TriggerError::ConfigurationError(format!("Huawei refused our configuration: {message}")), false)
        }
        _ if status >= 500 => fail(TriggerError::ProviderUnavailable(message), true),
        _ => fail(TriggerError::ProviderRejected(message), false),
    }
}

fn unknown(reason: String) -> Failure {
    Failure {
        error: TriggerError::ProviderOutcomeUnknown(format!(
            "{reason}; the call may ring: wait for its status/CDR callbacks instead of calling again"
        )),
        retry_now: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::sid;

    fn answered(status: u16, body: &str) -> Result<SessionId, Failure> {
        interpret(&Attempt::Answered { status, body: body.into() })
    }

    fn error_type(result: Result<SessionId, Failure>) -> (&'static str, bool) {
        let failure = result.expect_err("a failure");
        (failure.error.error_type(), failure.retry_now)
    }

    #[test]
    fn success_returns_the_session_id() {
        let body = r#"{"resultcode":"0","resultdesc":"Success","sessionId":"1200_366_0_20161228102743@callenabler.home1.com"}"#;
        assert_eq!(answered(200, body).unwrap(), sid("1200_366_0_20161228102743@callenabler.home1.com"));
        assert_eq!(
            error_type(answered(200, r#"{"resultcode":"0","sessionId":""}"#)),
            ("ProviderOutcomeUnknown", false)
        );
    }

    #[test]
    fn result_codes_map_to_error_types() {
        let cases = [
            (403, "1010002", "Invalid request.lastMinVoice.wav does not exist", ("ProviderRejected", false)),
            (200, "1010023", "Display number invalid", ("ProviderRejected", false)),
            (200, "1010007", "account in arrears", ("ProviderRejected", false)),
            (200, "1010010", "The flow control upper limit is reached on the platform", ("ProviderThrottled", false)),
            (401, "1010010", "Invalid digest", ("ConfigurationError", false)),
            (400, "1023006", "Authorization not contained in the HTTP header", ("ConfigurationError", false)),
            (401, "1010013", "Time out limit", ("ConfigurationError", false)),
            (200, "1020176", "Authentication failed, try again later", ("ConfigurationError", false)),
            (200, "1013002", "Calls exceed the APP limit", ("ProviderThrottled", false)),
            (200, "1020165", "call port exceeds the limit", ("ProviderThrottled", true)),
            (500, "1010001", "Internal system error", ("ProviderUnavailable", true)),
            (503, "9999999", "whatever", ("ProviderUnavailable", true)),
            (200, "9999999", "a code nobody documented", ("ProviderRejected", false)),
        ];
        for (status, code, desc, expected) in cases {
            let body = serde_json::json!({"resultcode": code, "resultdesc": desc}).to_string();
            assert_eq!(error_type(answered(status, &body)), expected, "{status} {code}");
        }
        // Some clients' models send the code as a number.
        assert_eq!(
            error_type(answered(403, r#"{"resultcode":1010002,"resultdesc":"x"}"#)),
            ("ProviderRejected", false)
        );
    }

    #[test]
    fn transport_failures_distinguish_not_sent_from_unknown() {
        assert_eq!(
            error_type(interpret(&Attempt::NotSent("connection refused".into()))),
            ("ProviderUnavailable", true)
        );
        assert_eq!(error_type(interpret(&Attempt::NoAnswer("timed out".into()))), ("ProviderOutcomeUnknown", false));
        assert_eq!(error_type(answered(502, "<html>Bad Gateway</html>")), ("ProviderUnavailable", true));
        assert_eq!(error_type(answered(200, "not json")), ("ProviderOutcomeUnknown", false));
    }
}
