//! moto's server mode (PyPI `moto[server]`, pinned in requirements-dev.txt, installed by `make setup`) on a
//! loopback port: EventBridge, SQS and Scheduler for the outcome events. An outcome bus gets a rule and an SQS
//! target, so tests read the events back the way an app backend would.

use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::config::Credentials;
use serde_json::Value;

use crate::processes;

pub struct MotoServer {
    port: u16,
    child: Child,
}

impl MotoServer {
    /// One server per test binary, started on first use; bus and queue names isolate the tests.
    pub fn shared() -> &'static MotoServer {
        static SHARED: OnceLock<MotoServer> = OnceLock::new();
        SHARED.get_or_init(MotoServer::start)
    }

    pub fn start() -> Self {
        let binary = crate::workspace_root().join(".venv/bin/moto_server");
        assert!(binary.exists(), "{} is missing: run `make setup`", binary.display());
        let port = crate::free_port();
        let mut command = Command::new(binary);
        command.args(["-H", "127.0.0.1", "-p", &port.to_string()]).stdout(Stdio::null()).stderr(Stdio::null());
        let child = processes::spawn(command).expect("start moto_server");
        let mut server = Self { port, child };
        server.wait_ready(Duration::from_secs(60));
        server
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The functions' settings that point EventBridge and Scheduler at this server.
    pub fn function_env(&self) -> Vec<(&'static str, String)> {
        vec![("AWS_ENDPOINT_URL_EVENTBRIDGE", self.endpoint()), ("AWS_ENDPOINT_URL_SCHEDULER", self.endpoint())]
    }

    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        sdk_config_at(&self.endpoint()).await
    }

    fn wait_ready(&mut self, limit: Duration) {
        processes::wait_for_port(&mut self.child, self.port, limit, "moto_server");
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        processes::kill_group(&mut self.child);
    }
}

/// An SDK configuration for a moto server at `endpoint` (loopback only), with local credentials.
pub async fn sdk_config_at(endpoint: &str) -> aws_config::SdkConfig {
    assert!(endpoint.starts_with("http://127.0.0.1:"), "loopback only: {endpoint}");
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(crate::HOME_REGION))
        .credentials_provider(Credentials::new("local", "local", None, None, "moto"))
        .endpoint_url(endpoint)
        .load()
        .await
}

/// An outcome bus with a rule sending every `Call Outcome Changed` event to an SQS queue.
pub struct OutcomeBus {
    pub name: String,
    pub queue_url: String,
    sqs: aws_sdk_sqs::Client,
}

impl OutcomeBus {
    /// A bus of a new name (and its queue) on `moto`.
    pub async fn create(moto: &MotoServer) -> Self {
        Self::create_named(&moto.sdk_config().await, &crate::unique_name("outcomes")).await
    }

    /// The bus `name`, its rule and the queue of the same name, created unless they exist (`make run`).
    pub async fn create_named(config: &aws_config::SdkConfig, name: &str) -> Self {
        let (events, sqs) = (aws_sdk_eventbridge::Client::new(config), aws_sdk_sqs::Client::new(config));
        let name = name.to_owned();
        let created = events.create_event_bus().name(&name).send().await;
        if let Err(e) = created {
            let exists = e.as_service_error().is_some_and(|e| e.is_resource_already_exists_exception());
            assert!(exists, "create bus: {e:?}");
        }
        let queue_url =
            sqs.create_queue().queue_name(&name).send().await.expect("create queue").queue_url.expect("url");
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("queue arn");
        let queue_arn = attributes.attributes().and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn));
        let pattern =
            r#"{"source":["huawei-voice"],"detail-type":["Call Outcome Changed","Verification Status Changed"]}"#;
        events
            .put_rule()
            .name("to-app-backend")
            .event_bus_name(&name)
            .event_pattern(pattern)
            .send()
            .await
            .expect("rule");
        let target = aws_sdk_eventbridge::types::Target::builder()
            .id("app-backend-queue")
            .arn(queue_arn.expect("queue arn").clone())
            .build()
            .expect("target");
        events.put_targets().rule("to-app-backend").event_bus_name(&name).targets(target).send().await.expect("target");
        Self { name, queue_url, sqs }
    }

    /// Every event the queue holds now (each an EventBridge envelope), removed from the queue.
    pub async fn drain(&self) -> Vec<Value> {
        let mut events = Vec::new();
        loop {
            let answer = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("receive");
            let messages = answer.messages.unwrap_or_default();
            if messages.is_empty() {
                return events;
            }
            let mut deletes = Vec::new();
            for (n, message) in messages.iter().enumerate() {
                events.push(serde_json::from_str(message.body().unwrap_or("null")).expect("an event envelope"));
                let handle = message.receipt_handle().unwrap_or_default();
                let entry = aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                    .id(n.to_string())
                    .receipt_handle(handle);
                deletes.push(entry.build().expect("delete entry"));
            }
            let batch = self.sqs.delete_message_batch().queue_url(&self.queue_url).set_entries(Some(deletes));
            batch.send().await.expect("delete");
        }
    }
}
