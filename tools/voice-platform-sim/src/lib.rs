//! `voice-platform-sim`: a local stand-in for Huawei Cloud's voice platform.
//!
//! Serves `POST /rest/httpsessions/callVerify/v1.0` with the real X-AKSK and body checks, then pushes the
//! status events and CDR of a scenario to the Base64-decoded statusUrl / feeUrl, re-pushing CDRs like Huawei.
//! See README.md for flags, endpoints and the scenario table.

pub mod api_error;
pub mod auth;
pub mod call_flow;
pub mod calls;
pub mod cdr_queue;
pub mod config;
pub mod heard;
pub mod ids;
pub mod mask;
pub mod payloads;
pub mod push;
pub mod scenario;
pub mod server;
pub mod sms;
pub mod stats;
pub mod telemetry;
pub mod time_fmt;
pub mod validate;

pub use auth::{password_digest, sign, sign_with, SignedHeaders, AUTHORIZATION_VALUE};
pub use config::{Config, PushAuth};
pub use scenario::Scenario;
pub use server::{start, RunningSim, StartError, CALL_VERIFY_PATH};
pub use stats::Stats;
