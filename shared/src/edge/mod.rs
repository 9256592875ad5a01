//! The Lambda edges, on top of everything: each function's `main` builds its service here once per cold start
//! and hands every invocation to it.

pub mod http;
pub mod outcome;
pub mod trigger;

use std::time::SystemTime;

use tokio::time::Instant;

/// The invocation's deadline as a monotonic instant (`None` when already past). Used by every edge.
pub fn invocation_deadline(context: &lambda_runtime::Context) -> Option<Instant> {
    context.deadline().duration_since(SystemTime::now()).ok().map(|left| Instant::now() + left)
}
