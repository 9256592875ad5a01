//! Per-callee rate limit: a sliding log of recent call times, checked against every configured window
//! (defaults: 1 call per 60 s and 5 per hour). Exact for any limits, unlike fixed windows that let a burst
//! through at a window boundary. The store makes it atomic ([`RateLimitStore::take_rate_slot`]). Below the
//! domains, so that any of them may limit what it does per subject.

use std::future::Future;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::storage::StoreError;

/// Where rate-limit logs are kept.
pub trait RateLimitStore: Send + Sync {
    /// Atomically records a call to `callee_key` if `limits` allow it now; otherwise the seconds to wait.
    fn take_rate_slot(
        &self,
        callee_key: &str,
        limits: &RateLimits,
        now: i64,
    ) -> impl Future<Output = Result<Result<(), u64>, StoreError>> + Send;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub calls: u32,
    pub window_secs: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits(pub Vec<Limit>);

impl RateLimits {
    /// `per_minute` / `per_hour` of 0 disable that window.
    pub fn new(per_minute: u32, per_hour: u32) -> Self {
        let windows = [(per_minute, 60), (per_hour, 3600)];
        Self(
            windows
                .into_iter()
                .filter(|(n, _)| *n > 0)
                .map(|(calls, window_secs)| Limit { calls, window_secs })
                .collect(),
        )
    }

    /// How long the log must remember a call.
    pub fn longest_window(&self) -> i64 {
        self.0.iter().map(|l| l.window_secs).max().unwrap_or(0)
    }

    /// With the calls already made (epoch seconds, any order), either the new log including `now`, or how
    /// many seconds until a call would be allowed.
    pub fn admit(&self, now: i64, recent: &[i64]) -> Result<Vec<i64>, u64> {
        let horizon = now - self.longest_window();
        let mut kept: Vec<i64> = recent.iter().copied().filter(|&t| t > horizon).collect();
        kept.sort_unstable();
        let mut wait = 0i64;
        for limit in &self.0 {
            // The `calls`-th most recent call must have left the window before one more fits; when it already
            // has (or there are fewer calls), this gives no wait.
            let nth_latest = kept.len().checked_sub(limit.calls as usize).and_then(|i| kept.get(i));
            if let Some(&must_expire) = nth_latest {
                wait = wait.max(must_expire + limit.window_secs - now);
            }
        }
        if wait > 0 {
            return Err(wait as u64);
        }
        kept.push(now);
        Ok(kept)
    }
}

/// The rate-limit key of a number: HMAC-SHA256 keyed by the app secret, so the stored key reveals nothing
/// without the secret (a plain hash of a phone number is brute-forced in minutes).
pub fn callee_key(secret: &[u8], callee: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(callee.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_as_old_as_the_longest_window_is_forgotten() {
        let limits = RateLimits::new(1, 5);
        assert_eq!(limits.admit(10_000, &[10_000 - 3600, 10_000 - 3599]), Ok(vec![10_000 - 3599, 10_000]));
    }

    #[test]
    fn one_per_minute_and_five_per_hour() {
        let limits = RateLimits::new(1, 5);
        let mut log = Vec::new();
        let mut t = 1_000_000;
        for i in 0..5 {
            log = limits.admit(t, &log).expect("allowed");
            // Within the minute the wait is the minute's rest; after the fifth call the hour is full too, and the
            // longer wait wins.
            let expected = if i < 4 { 30 } else { 3600 - 240 - 30 };
            assert_eq!(limits.admit(t + 30, &log), Err(expected), "call {i}");
            t += 60;
        }
        // Five calls at t0, +60, …, +240: the sixth waits until the first leaves the hour.
        assert_eq!(limits.admit(t, &log), Err(3600 - 300));
        assert!(limits.admit(1_000_000 + 3600, &log).is_ok());
    }

    #[test]
    fn old_entries_are_forgotten_and_zero_disables() {
        let limits = RateLimits::new(1, 5);
        let log = limits.admit(10_000, &[1, 2, 3, 4, 5, 6, 7]).unwrap();
        assert_eq!(log, vec![10_000]);
        assert!(RateLimits::new(0, 0).admit(5, &[5, 5, 5]).is_ok());
    }

    #[test]
    fn keys_hide_the_number_and_depend_on_the_secret() {
        let key = callee_key(b"secret", "+8613800000001");
        assert_eq!(key.len(), 32);
        assert!(!key.contains("13800000001"));
        assert_ne!(key, callee_key(b"other", "+8613800000001"));
        assert_eq!(key, callee_key(b"secret", "+8613800000001"));
    }
}
