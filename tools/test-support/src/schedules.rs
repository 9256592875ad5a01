//! The stand-in for EventBridge Scheduler firing one-time schedules: moto stores the schedules the trigger
//! creates (group, `at(…)` expression, target input) but never fires them. This reads them back from moto and
//! fires the ones due, in time order, then deletes each (`ActionAfterCompletion: DELETE`). Tests say what time
//! it is, so close-out deadlines of minutes take no time to reach.

use std::future::Future;

use aws_sdk_scheduler::Client;
use serde_json::Value;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::moto::MotoServer;

pub struct ScheduleRunner {
    client: Client,
    pub group: String,
}

/// A schedule as stored: when it is due and the event it delivers.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSchedule {
    pub name: String,
    pub due: OffsetDateTime,
    pub input: Value,
}

impl ScheduleRunner {
    /// A new schedule group on `moto`.
    pub async fn create(moto: &MotoServer) -> Self {
        Self::open(&moto.sdk_config().await, &crate::unique_name("closeouts")).await
    }

    /// The schedule group `group`, created unless it exists (`make run`).
    pub async fn open(config: &aws_config::SdkConfig, group: &str) -> Self {
        let client = Client::new(config);
        if let Err(e) = client.create_schedule_group().name(group).send().await {
            assert!(e.as_service_error().is_some_and(|e| e.is_conflict_exception()), "create schedule group: {e:?}");
        }
        Self { client, group: group.to_owned() }
    }

    /// Every schedule of the group, by due time.
    pub async fn schedules(&self) -> Vec<StoredSchedule> {
        let listed = self.client.list_schedules().group_name(&self.group).send().await.expect("list schedules");
        let mut schedules = Vec::new();
        for summary in listed.schedules() {
            let Some(name) = summary.name() else { continue };
            let schedule =
                self.client.get_schedule().group_name(&self.group).name(name).send().await.expect("get schedule");
            let expression = schedule.schedule_expression().unwrap_or_default();
            let due = parse_at(expression).unwrap_or_else(|| panic!("not a one-time schedule: {expression}"));
            let input = schedule.target().map(|t| t.input().unwrap_or("null")).unwrap_or("null");
            schedules.push(StoredSchedule {
                name: name.to_owned(),
                due,
                input: serde_json::from_str(input).expect("the input is JSON"),
            });
        }
        schedules.sort_by_key(|s| (s.due, s.name.clone()));
        schedules
    }

    /// Fires every schedule due at `now` (in time order) through `fire`, deleting each once fired. Returns the
    /// inputs fired.
    pub async fn fire_due<F, Fut>(&self, now: OffsetDateTime, mut fire: F) -> Vec<Value>
    where
        F: FnMut(Value) -> Fut,
        Fut: Future<Output = ()>,
    {
        let mut fired = Vec::new();
        for schedule in self.schedules().await.into_iter().filter(|s| s.due <= now) {
            fire(schedule.input.clone()).await;
            self.client.delete_schedule().group_name(&self.group).name(&schedule.name).send().await.expect("delete");
            fired.push(schedule.input);
        }
        fired
    }
}

/// `at(yyyy-mm-ddThh:mm:ss)` in UTC.
fn parse_at(expression: &str) -> Option<OffsetDateTime> {
    let inner = expression.strip_prefix("at(")?.strip_suffix(')')?;
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    Some(PrimitiveDateTime::parse(inner, format).ok()?.assume_utc())
}
