//! The simulator's own tests, one binary (one link instead of four): each runs a simulator on an ephemeral
//! loopback port in-process and needs nothing else (no DynamoDB Local, no built binaries), so nothing is gained by
//! a process of its own. `cargo test --workspace --exclude bench --test sim` runs them alone.

mod call_verify;
mod common;
mod delivery;
mod heard;
mod scenarios;
mod sms_and_stats;
