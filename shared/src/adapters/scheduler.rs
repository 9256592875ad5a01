//! EventBridge Scheduler adapter of [`CloseOutScheduler`]: one one-time schedule per check (`at(…)` in UTC, no
//! flexible window), deleted by Scheduler once it has run, invoking outcome-publisher with the check's event.
//! Its name is derived from the call and the stage, so a second attempt to schedule the same check is a
//! conflict, treated as done.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_sdk_scheduler::types::{ActionAfterCompletion, FlexibleTimeWindow, FlexibleTimeWindowMode, Target};
use aws_sdk_scheduler::Client;
use sha2::{Digest, Sha256};
use time::macros::format_description;
use time::OffsetDateTime;

use super::aws_env;
use crate::calls::{CloseOutScheduler, ScheduleError};
use crate::ids::SessionId;
use crate::records::CloseoutStage;

pub struct SchedulerCloseOuts {
    client: Client,
    group: String,
    target_arn: String,
    role_arn: String,
}

impl SchedulerCloseOuts {
    pub fn new(
        client: Client,
        group: impl Into<String>,
        target_arn: impl Into<String>,
        role_arn: impl Into<String>,
    ) -> Self {
        Self { client, group: group.into(), target_arn: target_arn.into(), role_arn: role_arn.into() }
    }

    /// The trigger's client (`AWS_ENDPOINT_URL_SCHEDULER` locally). Short timeouts: the call is already ringing
    /// and the app backend waits for its answer.
    pub fn client_from_env() -> Client {
        let mut config = aws_sdk_scheduler::config::Builder::from(&aws_env::sdk_config());
        config.set_endpoint_url(aws_env::endpoint_url("SCHEDULER"));
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_millis(1000))
            .operation_attempt_timeout(Duration::from_millis(1500))
            .operation_timeout(Duration::from_millis(3000))
            .build();
        Client::from_conf(config.timeout_config(timeouts).build())
    }
}

/// `closeout-<stage>-<40 hex of SHA-256(sessionId)>`: within Scheduler's 64 characters of `[0-9A-Za-z-_.]`,
/// whatever the sessionId holds.
pub fn schedule_name(session_id: &str, stage: CloseoutStage) -> String {
    let digest = hex::encode(Sha256::digest(session_id.as_bytes()));
    format!("closeout-{}-{}", stage.as_str(), &digest[..40])
}

/// Scheduler's `at(yyyy-mm-ddThh:mm:ss)`, in UTC, rounded up to the next second.
pub fn at_expression(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let at = if at.nanosecond() > 0 { at.replace_nanosecond(0).unwrap_or(at) + time::Duration::SECOND } else { at };
    let text = at.format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]")).unwrap_or_default();
    format!("at({text})")
}

impl CloseOutScheduler for SchedulerCloseOuts {
    async fn schedule(
        &self,
        session_id: &SessionId,
        stage: CloseoutStage,
        at: OffsetDateTime,
    ) -> Result<(), ScheduleError> {
        let session_id = session_id.as_str();
        let input = serde_json::json!({"closeOut": stage.as_str(), "sessionId": session_id}).to_string();
        let build = |e: aws_sdk_scheduler::error::BuildError| ScheduleError(e.into());
        let target =
            Target::builder().arn(&self.target_arn).role_arn(&self.role_arn).input(input).build().map_err(build)?;
        let window = FlexibleTimeWindow::builder().mode(FlexibleTimeWindowMode::Off).build().map_err(build)?;
        let result = self
            .client
            .create_schedule()
            .name(schedule_name(session_id, stage))
            .group_name(&self.group)
            .schedule_expression(at_expression(at))
            .schedule_expression_timezone("UTC")
            .flexible_time_window(window)
            .target(target)
            .action_after_completion(ActionAfterCompletion::Delete)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conflict_exception()) => Ok(()),
            Err(e) => Err(ScheduleError(e.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn names_fit_schedulers_rules_whatever_the_session_id() {
        let name =
            schedule_name("1201_612_4294967295_20261121030424@callenabler245.huaweicaas.com", CloseoutStage::Final);
        assert!(name.len() <= 64, "{name}");
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)), "{name}");
        assert_ne!(schedule_name("a", CloseoutStage::Final), schedule_name("b", CloseoutStage::Final));
        assert_ne!(schedule_name("a", CloseoutStage::Final), schedule_name("a", CloseoutStage::Provisional));
    }

    #[test]
    fn at_is_utc_and_never_early() {
        assert_eq!(at_expression(datetime!(2026-11-21 03:14:23 UTC)), "at(2026-11-21T03:14:23)");
        assert_eq!(at_expression(datetime!(2026-11-21 03:14:23.2 UTC)), "at(2026-11-21T03:14:24)");
        assert_eq!(at_expression(datetime!(2026-11-21 11:14:23 +8)), "at(2026-11-21T03:14:23)");
    }
}
