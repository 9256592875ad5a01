//! Common crate of the Huawei voice Lambda bundle.
//!
//! The function binaries are thin wiring; every decision (parsing, authentication, dedupe keys, ordering,
//! error mapping) lives here and is unit-testable without AWS.

pub mod auth;
pub mod aws_env;
pub mod callbacks;
pub mod config;
pub mod http;
pub mod huawei;
pub mod store;
pub mod telemetry;
pub mod verification;
