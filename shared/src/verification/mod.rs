//! check-verification: the user types the code back (or the app reports it checked its own code, or cancels),
//! and the verification answers where it stands. Each request is one conditional write of the verification
//! record ([`crate::verification_state`]); the decisions here are pure over that port.

pub mod error;
pub mod request;
pub mod service;

pub use error::CheckError;
pub use request::CheckRequest;
pub use service::{CheckService, CheckSettings};
