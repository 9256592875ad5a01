//! Common crate of the Huawei voice Lambda bundle.
//!
//! The function binaries are thin wiring; every decision (parsing, authentication, dedupe keys, ordering,
//! error mapping) lives here and is unit-testable without AWS.
//!
//! # Layers
//!
//! The modules form a one-way stack: a module may use the modules of the layers below its own, never one of its
//! own layer or above (`layering.rs` fails on a back-edge, and on a cycle among the submodules of one module).
//!
//! | layer | modules | what they know |
//! |---|---|---|
//! | 9 edge | [`edge`] | the Lambda entry points: HTTP requests, invoke events, deadlines |
//! | 8 configuration | [`config`] | the environment and the credentials secret, read once per cold start |
//! | 7 adapters | [`adapters`] | DynamoDB, Secrets Manager, Huawei's HTTP API: the ports' implementations |
//! | 6 domain | [`callbacks`], [`calls`], [`outcome`], [`verification`] | the decisions, and the ports they need beside them |
//! | 5 shared domain | [`idempotency`], [`rate_limit`], [`verification_state`] | the idempotency claim, the sliding-log rate limit, and what a verification record means (code hashes, its fold, its port), which more than one domain uses |
//! | 4 storage | [`storage`], [`auth`] | the storage port every domain writes through; callback auth |
//! | 3 records | [`records`] | the one table: keys, reserved prefixes, item builders, the typed read side |
//! | 2 wire | [`huawei`] | Huawei's payloads, callVerify body, `UsernameToken` signing |
//! | 1 ids | [`ids`] | typed ids (`SessionId`, `IdempotencyKey`, `VerificationId`, `CalleeNumber`, `VerificationCode`) that mask any number or code in them when printed |
//! | 0 leaf | [`telemetry`] | logging and the masking of phone numbers |

pub mod telemetry;

pub mod ids;

pub mod huawei;

pub mod records;

pub mod auth;
pub mod guard;
pub mod idempotency;
pub mod rate_limit;
pub mod storage;
pub mod verification_state;

pub mod callbacks;
pub mod calls;
pub mod outcome;
pub mod verification;

pub mod adapters;

pub mod config;

pub mod edge;

#[cfg(test)]
mod layering;
