//! The callbacks' decisions: which key a notification is stored under, what a call's state is, and what to
//! answer Huawei. Pure over the [`crate::store::RecordStore`] port.

pub mod records;
pub mod service;
pub mod state;

pub use service::{Answer, CallbackError, CallbackService, Endpoint, InboundPush, MAX_BODY_BYTES};
pub use state::{CallProgress, CallSummary};
