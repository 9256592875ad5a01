//! One place for logging and metrics: JSON lines through `tracing-subscriber`, EMF metric lines ([`metrics`]),
//! and masking of phone numbers so that no log line carries a full number (`+8613800000021` → `+86138****0021`).

pub mod metrics;

use tracing_subscriber::{fmt, EnvFilter};

/// Installs the JSON subscriber once per process (at cold start). `RUST_LOG` filters, default `info`. Every line
/// lists its spans from the outermost: the runtime's (`requestId`, and `xrayTraceId` when X-Ray traces the
/// invocation), then ours (`sessionId`), so each line can be found from a request, a trace or a call.
pub fn init() {
    init_with(std::io::stdout, "info");
}

/// The same format on `writer`, `RUST_LOG` or else `default_filter` filtering: a command whose stdout is its
/// report logs to stderr (`replay-unstored`).
pub fn init_with<W>(writer: W, default_filter: &str)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let _ = fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(true)
        .with_target(false)
        .without_time()
        .with_writer(writer)
        .try_init();
}

/// Test support (this crate's tests and the `test-util` feature): a log writer that keeps what is written, to read
/// the JSON lines back.
#[cfg(any(test, feature = "test-util"))]
#[derive(Clone, Default)]
pub struct CapturedLogs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

#[cfg(any(test, feature = "test-util"))]
impl CapturedLogs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

#[cfg(any(test, feature = "test-util"))]
impl std::io::Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An error and every error behind it, on one line (`a: b: c`), for log lines; a cause whose text the line
/// already holds is not repeated.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Masks every phone number in a text, so that no log line carries one (docs/operations.md, "Logs"):
/// - a `+` followed by 6 or more digits keeps its first digits and last 4 (`+8613800000021` → `+86138****0021`);
/// - a run of [`MIN_BARE_NUMBER_DIGITS`] or more digits without `+` (`8613800000021`, `13800000021`, a JSON
///   number) that stands alone keeps its last 4 and at most 5 first digits, never fewer than 4 hidden
///   (`13800000021` → `138****0021`).
///
/// A run that touches a letter, `_`, `@`, `.` or `-` is part of an identifier and left as it is: the digit runs of
/// a Huawei sessionId (`1201_612_4294967295_20261121030424@callenabler245.huaweicaas.com`), an `icid`, a file name
/// or a date. Those sessionIds hold no number, and must stay whole in logs (to find a call) and in a logged payload
/// (the replay tool rebuilds the key from it). A privacy-number sessionId embeds its numbers after `+`, masked by
/// the first rule. Applied to anything Huawei sent before it is logged.
pub fn mask_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    let mut previous: Option<char> = None;
    while let Some((start, c)) = chars.next() {
        let plus = c == '+';
        if !plus && !c.is_ascii_digit() {
            out.push(c);
            previous = Some(c);
            continue;
        }
        let digits_start = if plus { start + 1 } else { start };
        let mut end = if plus { start + 1 } else { start + c.len_utf8() };
        while let Some(&(i, d)) = chars.peek() {
            if !d.is_ascii_digit() {
                break;
            }
            end = i + 1;
            chars.next();
        }
        let digits = &text[digits_start..end];
        let next = chars.peek().map(|&(_, c)| c);
        if plus {
            out.push_str(&mask_digits(digits));
        } else if digits.len() >= MIN_BARE_NUMBER_DIGITS && !joins_identifier(previous) && !joins_identifier(next) {
            out.push_str(&mask_bare_digits(digits));
        } else {
            out.push_str(digits);
        }
        previous = text[..end].chars().next_back();
    }
    out
}

/// The shortest run of digits without `+` read as a phone number: a local number without its area code has 7.
/// Huawei's 7-digit result codes are never passed through [`mask_numbers`] (they come from callVerify answers).
pub const MIN_BARE_NUMBER_DIGITS: usize = 7;

/// Whether a character next to a digit run makes it part of an identifier rather than a number of its own.
fn joins_identifier(neighbour: Option<char>) -> bool {
    neighbour.is_some_and(|c| c.is_alphabetic() || matches!(c, '_' | '@' | '.' | '-'))
}

/// A number without `+`: its last 4 digits (2 when shorter than 10) and up to 5 first ones, at least 4 hidden
/// (an 11-digit mobile number without country code shows 3 + 4).
fn mask_bare_digits(digits: &str) -> String {
    let n = digits.len();
    let tail = if n >= 10 { 4 } else { 2 };
    let head = n.saturating_sub(tail + 4).clamp(1, 5);
    format!("{}****{}", &digits[..head], &digits[n - tail..])
}

/// Masks one number, with or without its leading `+`.
pub fn mask_phone(number: &str) -> String {
    match number.strip_prefix('+') {
        Some(_) => mask_numbers(number),
        None => mask_numbers(&format!("+{number}"))[1..].to_owned(),
    }
}

fn mask_digits(digits: &str) -> String {
    let n = digits.len();
    let (head, tail) = match n {
        0..=5 => return format!("+{digits}"),
        6..=9 => (2, 2),
        _ => (5, 4),
    };
    format!("+{}****{}", &digits[..head], &digits[n - tail..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_chains_name_every_cause_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let error = Outer(std::io::Error::other("inner"));
        assert_eq!(error_chain(&error), "outer: inner");
        let repeated = Outer(std::io::Error::other("outer"));
        assert_eq!(error_chain(&repeated), "outer");
    }

    #[test]
    fn masks_the_middle_of_numbers() {
        assert_eq!(mask_phone("+8613800000021"), "+86138****0021");
        assert_eq!(mask_phone("8613800000021"), "86138****0021");
        assert_eq!(mask_phone("+8696520"), "+86****20");
        assert_eq!(mask_phone("+110"), "+110");
    }

    #[test]
    fn masks_numbers_inside_text_and_json() {
        let sid = "+8613400007762_+8615000002131_4_627e5c1f_963036_669_1_0";
        assert_eq!(mask_numbers(sid), "+86134****7762_+86150****2131_4_627e5c1f_963036_669_1_0");
        let json = r#"{"caller":"+8613800000022","called":"+8613800000021","sessionId":"1201_612@x"}"#;
        let masked = mask_numbers(json);
        assert!(!masked.contains("8613800000022") && !masked.contains("8613800000021"), "{masked}");
        assert!(masked.contains("1201_612@x"));
        assert_eq!(mask_numbers("a+b ++ é+12"), "a+b ++ é+12");
    }

    #[test]
    fn masks_numbers_without_a_plus_and_leaves_identifiers_whole() {
        assert_eq!(mask_numbers("callee 8613800000001 and 13800000001"), "callee 86138****0001 and 138****0001");
        assert_eq!(
            mask_numbers(r#"{"calleeNbr":8613800000001,"to":"1380000","x":"123456"}"#),
            r#"{"calleeNbr":86138****0001,"to":"1****00","x":"123456"}"#
        );
        assert_eq!(mask_numbers("tel:075528000088;"), "tel:0755****0088;");
        // A voice sessionId, an icid and a recording name are identifiers: whole, so they stay searchable.
        for identifier in [
            "1201_612_4294967295_20261121030424@callenabler245.huaweicaas.com",
            "CAE-20190124110424-12019775",
            "22051313251812007961340.wav",
            "2026-11-21T03:04:24Z",
        ] {
            assert_eq!(mask_numbers(identifier), identifier);
        }
        // Stable: the same number always masks the same way, and masking twice changes nothing more.
        let once = mask_numbers("13800000001");
        assert_eq!((mask_numbers("13800000001"), mask_numbers(&once)), (once.clone(), once));
        for n in MIN_BARE_NUMBER_DIGITS..=20 {
            let masked = mask_numbers(&"7".repeat(n));
            assert!(masked.chars().filter(char::is_ascii_digit).count() <= n - 4, "{n}: {masked}");
        }
    }
}
