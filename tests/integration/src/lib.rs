//! What the tests of this crate share. The harness itself (loopback servers, events, the load workload, the
//! bench's measurements) is tools/test-support, which the bench and the local stack use too; it is re-exported
//! here whole, so a test reads `integration_tests::DynamoLocal` whichever crate holds it. Only what nothing but
//! a test needs lives here.

pub use test_support::*;

pub mod contract;
pub mod log_scan;
