//! Counters behind `GET /sim/stats`.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushKind {
    Status,
    Fee,
    Sms,
}

impl PushKind {
    pub fn name(self) -> &'static str {
        match self {
            PushKind::Status => "status",
            PushKind::Fee => "fee",
            PushKind::Sms => "sms",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CallVerifyStats {
    /// Every POST to the callVerify URI, whatever became of it.
    pub received: u64,
    /// Answered `200 resultcode 0` (hung `timeout` requests are not in here).
    pub accepted: u64,
    /// Answered with an error, by resultcode.
    pub rejected: u64,
    pub rejected_by_resultcode: BTreeMap<String, u64>,
    /// Requests of the `timeout` scenario: held past the client's timeout.
    pub hung: u64,
    /// Calls that went on to ring (accepted + hung-but-placed).
    pub calls_placed: u64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct KindStats {
    /// HTTP POSTs attempted (duplicates and re-pushes included).
    pub sent: u64,
    /// Answered with what Huawei treats as success.
    pub acknowledged: u64,
    /// Anything else: non-200, a non-"0" resultcode (CDRs), a transport error, a refused target.
    pub failed: u64,
    /// Of `sent`, how many were re-pushes after an earlier failure.
    pub repushes: u64,
    /// Deliveries given up after the last re-push failed.
    pub abandoned: u64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PushStats {
    pub status: KindStats,
    pub fee: KindStats,
    pub sms: KindStats,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub call_verify: CallVerifyStats,
    pub pushes: PushStats,
    /// Deliveries (CDR batches, SMS) waiting for their next re-push.
    pub pending_repushes: u64,
    /// CDRs waiting in the merge window.
    pub queued_cdrs: u64,
    /// CDRs delivered (acknowledged) in total, counting each merged entry.
    pub cdrs_delivered: u64,
}

impl PushStats {
    pub fn kind_mut(&mut self, kind: PushKind) -> &mut KindStats {
        match kind {
            PushKind::Status => &mut self.status,
            PushKind::Fee => &mut self.fee,
            PushKind::Sms => &mut self.sms,
        }
    }
}

/// Shared counters; the lock is never held across an await.
#[derive(Debug, Default)]
pub struct SharedStats(Mutex<Stats>);

impl SharedStats {
    /// A panic elsewhere must not take the stats endpoint down with it, so poisoning is ignored.
    pub fn lock(&self) -> MutexGuard<'_, Stats> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn snapshot(&self) -> Stats {
        self.lock().clone()
    }

    pub fn rejected(&self, resultcode: &str) {
        let mut stats = self.lock();
        stats.call_verify.rejected += 1;
        *stats.call_verify.rejected_by_resultcode.entry(resultcode.to_string()).or_default() += 1;
    }

    pub fn push_result(&self, kind: PushKind, is_repush: bool, ok: bool) {
        let mut stats = self.lock();
        let k = stats.pushes.kind_mut(kind);
        k.sent += 1;
        if is_repush {
            k.repushes += 1;
        }
        if ok {
            k.acknowledged += 1;
        } else {
            k.failed += 1;
        }
    }
}
