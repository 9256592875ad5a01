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

/// Masks every phone number in a text: a `+` followed by 6 or more digits keeps its first digits and last 4.
/// Applied to anything Huawei sent before it is logged (sessionIds of privacy numbers embed the numbers).
pub fn mask_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if c != '+' {
            out.push(c);
            continue;
        }
        let mut end = start + 1;
        while let Some(&(i, d)) = chars.peek() {
            if !d.is_ascii_digit() {
                break;
            }
            end = i + 1;
            chars.next();
        }
        out.push_str(&mask_digits(&text[start + 1..end]));
    }
    out
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
}
