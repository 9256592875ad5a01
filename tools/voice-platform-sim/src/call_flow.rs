//! A placed call unfolding: status events in order, then its CDR into the merge queue.
//!
//! Event times come from a simulated clock that starts at the call's start and advances by the configured
//! delays, so with the wall clock they match when the pushes happen, and with `--fixed-call-time` they are
//! deterministic.

use std::sync::Arc;

use time::OffsetDateTime;
use tracing::info;

use crate::cdr_queue::{CdrQueue, QueuedCdr};
use crate::config::Config;
use crate::heard::{HeardCode, HeardLog, SpokenCode};
use crate::mask::mask_phone;
use crate::payloads::{FeeInfo, StatusInfo, StatusNotification};
use crate::push::Pusher;
use crate::scenario::{CallScript, Scenario};
use crate::stats::PushKind;
use crate::time_fmt::notification_time;

#[derive(Debug, Clone)]
pub struct PlacedCall {
    pub session_id: String,
    pub icid: String,
    pub scenario: Scenario,
    pub display_nbr: String,
    pub callee_nbr: String,
    /// What the callee hears when they answer.
    pub verify_code: SpokenCode,
    pub user_data: Option<String>,
    pub status_url: Option<String>,
    pub fee_url: Option<String>,
    pub start: OffsetDateTime,
}

/// What the call flow needs from the running sim.
#[derive(Clone)]
pub struct CallContext {
    pub config: Arc<Config>,
    pub pusher: Pusher,
    pub cdrs: CdrQueue,
    /// The codes the callees heard (`GET /sim/heard`).
    pub heard: Arc<HeardLog>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    Callout,
    Alerting,
    Answer,
    Disconnect,
}

impl Event {
    fn name(self) -> &'static str {
        match self {
            Event::Callout => "callout",
            Event::Alerting => "alerting",
            Event::Answer => "answer",
            Event::Disconnect => "disconnect",
        }
    }
}

fn events(script: &CallScript) -> Vec<Event> {
    let mut events = vec![Event::Callout];
    if script.rings {
        events.push(Event::Alerting);
    }
    if script.answered {
        events.push(Event::Answer);
    }
    events.push(Event::Disconnect);
    events
}

/// When each event happened on the simulated clock.
#[derive(Debug, Default)]
struct Timeline {
    callout: Option<OffsetDateTime>,
    alerting: Option<OffsetDateTime>,
    answer: Option<OffsetDateTime>,
    disconnect: Option<OffsetDateTime>,
}

impl Timeline {
    fn record(&mut self, event: Event, at: OffsetDateTime) {
        let slot = match event {
            Event::Callout => &mut self.callout,
            Event::Alerting => &mut self.alerting,
            Event::Answer => &mut self.answer,
            Event::Disconnect => &mut self.disconnect,
        };
        *slot = Some(at);
    }
}

fn status_body(call: &PlacedCall, script: &CallScript, event: Event, at: OffsetDateTime) -> Vec<u8> {
    let is_disconnect = event == Event::Disconnect;
    let notification = StatusNotification {
        event_type: event.name(),
        status_info: StatusInfo {
            session_id: call.session_id.clone(),
            timestamp: notification_time(at),
            caller: call.display_nbr.clone(),
            called: call.callee_nbr.clone(),
            state_code: is_disconnect.then_some(script.disconnect.state_code),
            state_desc: is_disconnect.then(|| script.disconnect.state_desc.to_string()),
            user_data: call.user_data.clone(),
        },
    };
    serde_json::to_vec(&notification).unwrap_or_default()
}

fn fee_info(config: &Config, call: &PlacedCall, script: &CallScript, timeline: &Timeline) -> FeeInfo {
    let end = timeline.disconnect.unwrap_or(call.start);
    FeeInfo {
        direction: 0,
        sp_id: config.sp_id.clone(),
        app_key: config.app_key.clone(),
        icid: call.icid.clone(),
        bind_num: call.display_nbr.clone(),
        session_id: call.session_id.clone(),
        caller_num: call.display_nbr.clone(),
        callee_num: call.callee_nbr.clone(),
        call_out_start_time: notification_time(timeline.callout.unwrap_or(call.start)),
        call_out_alerting_time: timeline.alerting.map(notification_time),
        call_out_answer_time: timeline.answer.map(notification_time),
        call_end_time: notification_time(end),
        fail_time: (!script.answered).then(|| notification_time(end)),
        call_out_unasw_rsn: script.call_out_unasw_rsn,
        fwd_unasw_rsn: 0,
        ul_fail_reason: script.ul_fail_reason,
        sip_status_code: script.sip_status_code,
        record_flag: 0,
        tts_play_times: 0,
        tts_trans_duration: 0,
        service_type: "001".into(),
        host_name: config.host_name.clone(),
        user_data: call.user_data.clone(),
    }
}

/// Pushes the call's status events (never re-pushed, like Huawei) and then queues its CDR.
pub async fn run(ctx: CallContext, call: PlacedCall, script: CallScript) {
    let mut clock = call.start;
    let mut timeline = Timeline::default();
    for event in events(&script) {
        tokio::time::sleep(ctx.config.event_delay).await;
        clock += ctx.config.event_delay;
        timeline.record(event, clock);
        if event == Event::Answer {
            // The callee picked up and hears the code, whether or not the status pushes get through.
            ctx.heard.record(
                &call.callee_nbr,
                HeardCode {
                    session_id: call.session_id.clone(),
                    callee_nbr: mask_phone(&call.callee_nbr),
                    verify_code: call.verify_code.clone(),
                    heard_at: notification_time(clock),
                },
            );
        }
        match &call.status_url {
            Some(url) if script.push_status => {
                let body = status_body(&call, &script, event, clock);
                ctx.pusher.send(PushKind::Status, url, &body, false).await;
            }
            // Lost on the way: never sent, so it counts in no push statistic (and is never re-pushed:
            // docs/huawei-protocol.md, "What Huawei expects back from a status push").
            Some(_) => info!(session_id = %call.session_id, event = event.name(), "status push lost (scenario)"),
            None => {}
        }
    }
    info!(
        session_id = %call.session_id,
        scenario = call.scenario.name(),
        callee = %mask_phone(&call.callee_nbr),
        state_code = script.disconnect.state_code,
        "call ended"
    );
    let cdr_delay = if script.late_cdr { ctx.config.late_cdr_delay } else { ctx.config.cdr_delay };
    tokio::time::sleep(cdr_delay).await;
    if let Some(fee_url) = call.fee_url.clone().filter(|_| script.push_cdr) {
        let info = fee_info(&ctx.config, &call, &script, &timeline);
        ctx.cdrs.enqueue(QueuedCdr { fee_url, info });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::PlatformAnswer;
    use axum::http::StatusCode;

    fn call(scenario: Scenario) -> PlacedCall {
        PlacedCall {
            session_id: "s".into(),
            icid: "CAE-1".into(),
            scenario,
            display_nbr: "+8675528000088".into(),
            callee_nbr: "+8613800000021".into(),
            verify_code: SpokenCode::new("482913"),
            user_data: None,
            status_url: None,
            fee_url: None,
            start: OffsetDateTime::UNIX_EPOCH,
        }
    }

    /// Events and CDR agree for every placed scenario: alerting iff it rang, answer iff answered, and the CDR's
    /// alerting / answer / fail times follow the same rule.
    #[test]
    fn events_and_cdr_times_follow_the_script() {
        let config = Config::default();
        for scenario in Scenario::ALL {
            let PlatformAnswer::Place(script) = scenario.platform_answer(StatusCode::OK) else {
                continue;
            };
            let name = scenario.name();
            let events = events(&script);
            assert_eq!(events.first(), Some(&Event::Callout), "{name}");
            assert_eq!(events.last(), Some(&Event::Disconnect), "{name}");
            assert_eq!(events.contains(&Event::Alerting), script.rings, "{name}");
            assert_eq!(events.contains(&Event::Answer), script.answered, "{name}");
            let mut timeline = Timeline::default();
            let mut clock = OffsetDateTime::UNIX_EPOCH;
            for event in &events {
                clock += std::time::Duration::from_secs(1);
                timeline.record(*event, clock);
            }
            let info = fee_info(&config, &call(scenario), &script, &timeline);
            assert_eq!(info.call_out_alerting_time.is_some(), script.rings, "{name}");
            assert_eq!(info.call_out_answer_time.is_some(), script.answered, "{name}");
            assert_eq!(info.fail_time.is_some(), !script.answered, "{name}");
            assert_eq!(
                (info.call_out_unasw_rsn, info.ul_fail_reason, info.sip_status_code),
                (script.call_out_unasw_rsn, script.ul_fail_reason, script.sip_status_code),
                "{name}"
            );
        }
    }
}
