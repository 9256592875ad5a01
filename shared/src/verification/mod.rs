//! trigger-verification-call: validating the invoke, caller idempotency, per-callee rate limiting, calling
//! Huawei's callVerify and mapping its answer. Decisions here are pure; `service` wires them to the ports.

pub mod error;
pub mod idempotency;
pub mod lambda;
pub mod outcome;
pub mod rate_limit;
pub mod request;
pub mod service;

pub use error::TriggerError;
pub use request::{CallRequest, Defaults, TriggerEvent};
pub use service::{TriggerAnswer, TriggerService, TriggerSettings};
