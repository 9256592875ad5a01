//! Every integration and end-to-end test in one binary: one link, and one shared DynamoDB Local (started and
//! warmed up once per run, each test on its own table). The other binaries of this crate, and why each is one
//! (TESTING.md): `chaos` (`tests/chaos.rs`) runs alone at full size under `make test-chaos` and kills and restarts
//! DynamoDB Local instances of its own; `make_run` (`tests/make_run.rs`) drives the real `make run` script, a
//! whole second stack. The harness is tools/test-support (re-exported as `integration_tests`).
//!
//! The end-to-end modules run the binaries `cargo build --workspace --all-targets` built (`make test` builds them
//! first).

mod callbacks_dynamodb;
mod cold_start_harness;
mod fraud_guard;
mod guarantees;
mod hostile_input;
mod openapi;
mod operations_e2e;
mod outcome_events;
mod outcome_properties;
mod properties;
mod push_authentication;
mod replay;
mod schemas;
mod signatures;
mod storage_outage;
mod tls_trust;
mod trigger_concurrency;
mod trigger_e2e;
mod verifications;
mod watch_http;
mod write_cost;
