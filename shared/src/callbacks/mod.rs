//! The callbacks' decisions: authenticate, parse, store exactly once, answer Huawei. Pure over the
//! [`crate::storage::RecordStore`] port. How a call ended is [`crate::outcome`]'s.

pub mod service;

pub use service::{Answer, CallbackError, CallbackService, CallbackSettings, Endpoint, InboundPush, MAX_BODY_BYTES};
