//! The Lambda edges, on top of everything: each function's `main` builds its service here once per cold start
//! and hands every invocation to it.

pub mod http;
pub mod outcome;
pub mod publisher;
pub mod trigger;
pub mod verification;

use std::time::SystemTime;

use lambda_runtime::Diagnostic;
use tokio::time::Instant;

/// The invocation's deadline as a monotonic instant (`None` when already past). Used by every edge.
pub fn invocation_deadline(context: &lambda_runtime::Context) -> Option<Instant> {
    context.deadline().duration_since(SystemTime::now()).ok().map(|left| Instant::now() + left)
}

/// A function error as the invoke contracts define them: the `errorType`, and the error's text as the message.
pub fn diagnostic(error_type: &str, error: &impl std::fmt::Display) -> Diagnostic {
    Diagnostic { error_type: error_type.to_owned(), error_message: error.to_string() }
}
