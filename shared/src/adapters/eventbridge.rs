//! EventBridge adapter of [`EventSink`]: one `PutEvents` per chunk of events (calls' outcomes, verifications'
//! ends), on this region's outcome bus. Entries EventBridge refuses come back with their error code, so the publisher re-delivers only those.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;

use super::aws_env;
use crate::outcome::{BusEvent, EventSink, SinkError, EVENT_SOURCE};

pub struct EventBridgeSink {
    client: Client,
    bus_name: String,
}

impl EventBridgeSink {
    pub fn new(client: Client, bus_name: impl Into<String>) -> Self {
        Self { client, bus_name: bus_name.into() }
    }

    /// The function's client (`AWS_ENDPOINT_URL_EVENTBRIDGE` for a local emulator), with the SDK's standard
    /// retries: a stream batch has time for them, and a failure only means the records come again.
    pub fn client_from_env() -> Client {
        let mut config = aws_sdk_eventbridge::config::Builder::from(&aws_env::sdk_config());
        config.set_endpoint_url(aws_env::endpoint_url("EVENTBRIDGE"));
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(1))
            .operation_attempt_timeout(Duration::from_secs(3))
            .build();
        Client::from_conf(config.timeout_config(timeouts).build())
    }
}

impl EventSink for EventBridgeSink {
    async fn put_events(&self, events: &[BusEvent]) -> Result<Vec<Option<String>>, SinkError> {
        let entries = events
            .iter()
            .map(|event| {
                let detail = serde_json::to_string(event).map_err(|e| SinkError(e.into()))?;
                Ok(PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus_name)
                    .source(EVENT_SOURCE)
                    .detail_type(event.detail_type())
                    .detail(detail)
                    .build())
            })
            .collect::<Result<Vec<_>, SinkError>>()?;
        let answer =
            self.client.put_events().set_entries(Some(entries)).send().await.map_err(|e| SinkError(e.into()))?;
        Ok(answer.entries().iter().map(|entry| entry.error_code().map(str::to_owned)).collect())
    }
}
