//! The callbacks' decisions: authenticate, parse, store exactly once, answer Huawei; and what a call's state is.
//! Pure over the [`crate::storage::RecordStore`] port.

pub mod service;
pub mod state;

pub use service::{Answer, CallbackError, CallbackService, CallbackSettings, Endpoint, InboundPush, MAX_BODY_BYTES};
pub use state::{CallProgress, CallSummary};
