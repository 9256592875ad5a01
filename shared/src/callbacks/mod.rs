//! The callbacks' decisions: authenticate, parse, store exactly once, answer Huawei. Pure over the
//! [`crate::storage::RecordStore`] port. How a call ended is [`crate::outcome`]'s.

pub mod error;
pub mod health;
pub mod nonces;
pub mod replay;
pub mod service;

pub use health::{
    check as check_health, Health, HealthProbe, HealthRequest, HealthRoute, HEALTH_PATH, HEALTH_TIMEOUT,
    HEALTH_TOKEN_ROUTE,
};
pub use nonces::{InstanceNoncesOnly, NoncePut, NonceStore, SharedNonces};
pub use service::{Answer, CallbackError, CallbackService, CallbackSettings, Endpoint, InboundPush, MAX_BODY_BYTES};
