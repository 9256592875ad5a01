//! The outcome events of the local stack: moto's bus and the app's queue, the stream pump and the close-out
//! schedule stand-in running against `cargo lambda watch`, and a reader that follows a call's events.

use std::time::{Duration, Instant};

use serde_json::Value;
use test_support::moto::sdk_config_at;
use test_support::{OutcomeBus, ScheduleRunner, StreamPump};
use time::OffsetDateTime;

type Error = Box<dyn std::error::Error>;

fn var(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

async fn moto_config() -> Result<aws_config::SdkConfig, Error> {
    Ok(sdk_config_at(&var("AWS_ENDPOINT_URL_EVENTBRIDGE")?).await)
}

pub async fn create_bus() -> Result<(), Error> {
    let config = moto_config().await?;
    let bus = OutcomeBus::create_named(&config, &var("EVENT_BUS_NAME")?).await;
    let group = ScheduleRunner::open(&config, &var("CLOSE_OUT_SCHEDULE_GROUP")?).await;
    println!("outcome bus {} → queue {}; schedule group {}", bus.name, bus.queue_url, group.group);
    Ok(())
}

/// Invokes outcome-publisher through the emulator's Invoke API; the function's answer.
async fn invoke_publisher(client: &reqwest::Client, event: &Value) -> Value {
    let url = format!(
        "{}/2015-03-31/functions/outcome-publisher/invocations",
        std::env::var("LOCAL_INVOKE_URL").unwrap_or_default()
    );
    match client.post(&url).json(event).send().await {
        Ok(response) => response.json().await.unwrap_or(Value::Null),
        Err(e) => {
            eprintln!("events-pump: invoke outcome-publisher: {e}");
            Value::Null
        }
    }
}

pub async fn pump_forever(table: &str) -> Result<(), Error> {
    let config = moto_config().await?;
    let schedules = ScheduleRunner::open(&config, &var("CLOSE_OUT_SCHEDULE_GROUP")?).await;
    let mut pump = StreamPump::open(&var("AWS_ENDPOINT_URL_DYNAMODB")?, table, &var("AWS_REGION")?).await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(120)).build()?;
    let client = &client;
    loop {
        let report = pump.pump(|batch| async move { invoke_publisher(client, &batch).await }).await;
        if report.invocations > 0 {
            eprintln!("events-pump: {report:?}");
        }
        let fired = schedules.fire_due(OffsetDateTime::now_utc(), |check| async move {
            invoke_publisher(client, &check).await;
        });
        for check in fired.await {
            eprintln!("events-pump: close-out check fired: {check}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Prints each event on the app's queue as it arrives; stops at `session_id`'s final event.
pub async fn follow(session_id: &str, seconds: u64) -> Result<(), Error> {
    let bus = OutcomeBus::create_named(&moto_config().await?, &var("EVENT_BUS_NAME")?).await;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(seconds) {
        for envelope in bus.drain().await {
            let detail = &envelope["detail"];
            println!(
                "   {} {:<16} final={:<5} version={:<3} outcomeId={}",
                envelope["detail-type"].as_str().unwrap_or("?"),
                detail["status"].as_str().unwrap_or("?"),
                detail["final"].as_bool().unwrap_or(false),
                detail["version"],
                detail["outcomeId"].as_str().unwrap_or("?")
            );
            if detail["sessionId"] == session_id && detail["final"] == true {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("no final event for {session_id} within {seconds} s").into())
}
