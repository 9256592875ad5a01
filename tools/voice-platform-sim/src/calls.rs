//! The call log behind `GET /sim/calls` (bounded; callee masked).

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Serialize;

use crate::scenario::Scenario;

/// Enough for any test run or local session without growing forever.
const MAX_CALLS: usize = 1000;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRecord {
    pub session_id: String,
    pub scenario: Scenario,
    pub callee: String,
    pub display_nbr: String,
    pub placed_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
}

#[derive(Debug, Default)]
pub struct CallLog(Mutex<VecDeque<CallRecord>>);

impl CallLog {
    pub fn record(&self, call: CallRecord) {
        let mut calls = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if calls.len() == MAX_CALLS {
            calls.pop_front();
        }
        calls.push_back(call);
    }

    pub fn list(&self) -> Vec<CallRecord> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect()
    }
}
