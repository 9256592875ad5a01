//! Placing a call (trigger-verification-call): validating the invoke, calling Huawei's callVerify and mapping its
//! answer, over the shared idempotency claim ([`crate::idempotency`]) and per-callee rate limit
//! ([`crate::rate_limit`]). Decisions here are pure; `service` runs them over the ports.

pub mod attempt;
pub mod error;
pub mod ports;
pub mod request;
pub mod service;

pub use error::TriggerError;
pub use ports::{CloseOutScheduler, NoCloseOuts, ScheduleError, TriggerStore, VoiceApi};
pub use request::{CallRequest, Defaults, TriggerEvent};
pub use service::{CloseOutDelays, TriggerAnswer, TriggerService, TriggerSettings, VerificationPolicy};
