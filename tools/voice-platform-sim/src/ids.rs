//! Identifiers in Huawei's shapes: sessionId, icid, smsIdentifier.

use std::sync::atomic::{AtomicU64, Ordering};

use rand::Rng as _;
use time::OffsetDateTime;

use crate::time_fmt;

/// Sequence numbers start at a random point so two sim runs on one day do not repeat sessionIds.
#[derive(Debug)]
pub struct IdGenerator {
    next: AtomicU64,
}

impl Default for IdGenerator {
    fn default() -> Self {
        Self { next: AtomicU64::new(rand::rng().random_range(100..9000)) }
    }
}

impl IdGenerator {
    fn next(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// `1201_612_4294967295_20190124030424@callenabler245.huaweicaas.com`
    pub fn session_id(&self, start: OffsetDateTime, host_name: &str) -> String {
        format!("1201_{}_4294967295_{}@{host_name}", self.next(), time_fmt::compact_utc(start))
    }

    /// `CAE-20190124110424-12019775` (Beijing time, as in Huawei's CDR example).
    pub fn icid(&self, start: OffsetDateTime) -> String {
        format!("CAE-{}-{}", time_fmt::compact_beijing(start), 12_000_000 + self.next())
    }

    /// Real identifiers are masked in every published example; this follows the fixtures' shape.
    pub fn sms_identifier(&self, at: OffsetDateTime) -> String {
        format!("sms-{}-{:06}", time_fmt::compact_utc(at), self.next() % 1_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn session_ids_are_huawei_shaped_and_unique() {
        let ids = IdGenerator::default();
        let t = datetime!(2019-01-24 03:04:24 UTC);
        let a = ids.session_id(t, "callenabler245.huaweicaas.com");
        let b = ids.session_id(t, "callenabler245.huaweicaas.com");
        assert_ne!(a, b);
        assert!(a.starts_with("1201_"));
        assert!(a.ends_with("_4294967295_20190124030424@callenabler245.huaweicaas.com"));
        assert!(ids.icid(t).starts_with("CAE-20190124110424-"));
    }
}
