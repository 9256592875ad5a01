//! trigger-verification-call: validating the invoke, caller idempotency, per-callee rate limiting, calling
//! Huawei's callVerify and mapping its answer. Decisions here are pure; `service` runs them over the ports.

pub mod attempt;
pub mod error;
pub mod idempotency;
pub mod ports;
pub mod rate_limit;
pub mod request;
pub mod service;

pub use error::TriggerError;
pub use ports::{CloseOutScheduler, NoCloseOuts, ScheduleError, TriggerStore, VoiceApi};
pub use request::{CallRequest, Defaults, TriggerEvent};
pub use service::{CloseOutDelays, TriggerAnswer, TriggerService, TriggerSettings};
