//! CDR merging: CDRs that reach the queue within one merge window and share feeUrl and `callEndTime` go out
//! together, at most `max_cdrs_per_push` per push (Huawei: "callEndTime相同…合并…最多不超过50条").

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::info;

use crate::payloads::{FeeInfo, FeeNotification};
use crate::push::Pusher;
use crate::stats::{PushKind, SharedStats};

#[derive(Debug, Clone)]
pub struct QueuedCdr {
    pub fee_url: String,
    pub info: FeeInfo,
}

/// One push: a feeUrl and the CDRs it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdrBatch {
    pub fee_url: String,
    pub fee_lst: Vec<FeeInfo>,
}

/// Groups by (feeUrl, callEndTime) in order of first appearance, then splits each group into chunks.
pub fn group_for_push(queued: Vec<QueuedCdr>, max_per_push: usize) -> Vec<CdrBatch> {
    let mut groups: Vec<CdrBatch> = Vec::new();
    for cdr in queued {
        let same_group = |batch: &&mut CdrBatch| {
            batch.fee_url == cdr.fee_url
                && batch.fee_lst.first().is_some_and(|first| first.call_end_time == cdr.info.call_end_time)
        };
        match groups.iter_mut().find(same_group) {
            Some(batch) => batch.fee_lst.push(cdr.info),
            None => groups.push(CdrBatch { fee_url: cdr.fee_url, fee_lst: vec![cdr.info] }),
        }
    }
    let max = max_per_push.max(1);
    groups
        .into_iter()
        .flat_map(|group| {
            let fee_url = group.fee_url;
            group
                .fee_lst
                .chunks(max)
                .map(|chunk| CdrBatch { fee_url: fee_url.clone(), fee_lst: chunk.to_vec() })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The sending side of the merge queue.
#[derive(Clone)]
pub struct CdrQueue {
    tx: mpsc::UnboundedSender<QueuedCdr>,
    stats: Arc<SharedStats>,
}

impl CdrQueue {
    pub fn enqueue(&self, cdr: QueuedCdr) {
        self.stats.lock().queued_cdrs += 1;
        if self.tx.send(cdr).is_err() {
            // Only after shutdown; the CDR is dropped like the rest of the sim's state.
            self.stats.lock().queued_cdrs -= 1;
        }
    }
}

/// Starts the merger task: the first CDR opens a window, everything arriving before it closes is merged.
pub fn start(
    pusher: Pusher,
    stats: Arc<SharedStats>,
    merge_window: Duration,
    max_per_push: usize,
) -> (CdrQueue, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<QueuedCdr>();
    let queue = CdrQueue { tx, stats: stats.clone() };
    let task = tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut window = vec![first];
            let deadline = tokio::time::Instant::now() + merge_window;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep_until(deadline) => break,
                    next = rx.recv() => match next {
                        Some(cdr) => window.push(cdr),
                        None => break,
                    },
                }
            }
            stats.lock().queued_cdrs -= window.len() as u64;
            for batch in group_for_push(window, max_per_push) {
                let pusher = pusher.clone();
                let stats = stats.clone();
                tokio::spawn(async move { deliver(pusher, stats, batch).await });
            }
        }
    });
    (queue, task)
}

async fn deliver(pusher: Pusher, stats: Arc<SharedStats>, batch: CdrBatch) {
    let count = batch.fee_lst.len();
    let body = serde_json::to_vec(&FeeNotification::new(batch.fee_lst)).unwrap_or_default();
    info!(cdrs = count, "pushing CDR batch");
    if pusher.deliver_with_repush(PushKind::Fee, &batch.fee_url, &body).await {
        stats.lock().cdrs_delivered += count as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cdr(url: &str, end: &str, n: usize) -> QueuedCdr {
        QueuedCdr {
            fee_url: url.into(),
            info: FeeInfo {
                direction: 0,
                sp_id: "sp".into(),
                app_key: "k".into(),
                icid: format!("icid-{n}"),
                bind_num: "+1".into(),
                session_id: format!("s{n}"),
                caller_num: "+1".into(),
                callee_num: "+2".into(),
                call_out_start_time: end.into(),
                call_out_alerting_time: None,
                call_out_answer_time: None,
                call_end_time: end.into(),
                fail_time: None,
                call_out_unasw_rsn: 0,
                fwd_unasw_rsn: 0,
                ul_fail_reason: 0,
                sip_status_code: 0,
                record_flag: 0,
                tts_play_times: 0,
                tts_trans_duration: 0,
                service_type: "001".into(),
                host_name: "h".into(),
                user_data: None,
            },
        }
    }

    #[test]
    fn groups_by_url_and_end_time_and_caps_size() {
        let mut queued: Vec<QueuedCdr> = (0..120).map(|n| cdr("u1", "2019-01-24 03:04:49", n)).collect();
        queued.push(cdr("u1", "2019-01-24 03:04:50", 200));
        queued.push(cdr("u2", "2019-01-24 03:04:49", 201));
        let batches = group_for_push(queued, 50);
        let sizes: Vec<(&str, usize)> = batches.iter().map(|b| (b.fee_url.as_str(), b.fee_lst.len())).collect();
        assert_eq!(sizes, vec![("u1", 50), ("u1", 50), ("u1", 20), ("u1", 1), ("u2", 1)]);
        assert_eq!(batches[3].fee_lst[0].session_id, "s200");
    }
}
