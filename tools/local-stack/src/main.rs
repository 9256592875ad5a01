//! `local-stack`: small helper for the local stack (`make run`, `make records`). A workspace member of its own,
//! so that `make test` does not build it.
//!
//! ```text
//! local-stack create-table          create TABLE_NAME in DynamoDB Local (idempotent)
//! local-stack records [PK]          print every record (or one call's / SMS's) as JSON lines
//! local-stack outcome SESSION_ID    how the call ended (or how far it has come): its CallOutcome as JSON
//! local-stack outcome-bus           create the outcome bus (EVENT_BUS_NAME), its rule, the app's SQS queue of the
//!                                   same name and the close-out schedule group (CLOSE_OUT_SCHEDULE_GROUP) on moto
//! local-stack events-pump           forever: hand the table's new stream records to outcome-publisher, as Lambda's
//!                                   event source mapping would, and fire the close-out schedules that are due
//! local-stack events SESSION_ID [S] print the outcome events read from the app's queue as they arrive, until the
//!                                   call's final event (or S seconds, default 60)
//! local-stack invoke-front LISTEN UPSTREAM
//!                                   the Lambda Invoke API at LISTEN (loopback) as AWS answers it, forwarded to the
//!                                   `cargo lambda watch` at UPSTREAM: a function error is 200 + X-Amz-Function-Error
//! ```
//! Reads the same environment as the functions: TABLE_NAME, AWS_ENDPOINT_URL_DYNAMODB, AWS_REGION, credentials,
//! EVENT_BUS_NAME, AWS_ENDPOINT_URL_EVENTBRIDGE (moto), CLOSE_OUT_SCHEDULE_GROUP, and LOCAL_INVOKE_URL (the
//! `cargo lambda watch` that serves outcome-publisher).

use std::process::ExitCode;

use serde_json::Value;
use voice_core::adapters::DynamoStore;
use voice_core::ids::sid;
use voice_core::outcome::fold;

mod events;
mod invoke_front;

const USAGE: &str =
    "usage: local-stack create-table | records [PK] | outcome SESSION_ID | outcome-bus | events-pump | events SESSION_ID [SECONDS] | invoke-front LISTEN UPSTREAM";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The invoke front needs no table.
    if let [command, listen, upstream] = args.as_slice() {
        if command == "invoke-front" {
            return match invoke_front::serve(listen, upstream).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("local-stack: {e}");
                    ExitCode::FAILURE
                }
            };
        }
    }
    let Ok(table) = std::env::var("TABLE_NAME") else {
        eprintln!("TABLE_NAME is not set");
        return ExitCode::FAILURE;
    };
    let store = DynamoStore::new(DynamoStore::client_from_env(), table);
    let result: Result<(), Box<dyn std::error::Error>> =
        match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
            ["create-table"] => store
                .create_table_if_missing()
                .await
                .map(|()| println!("table {} ready", store.table()))
                .map_err(Into::into),
            ["records"] => store.all_records().await.map(print_records).map_err(Into::into),
            ["records", pk] => store.records_of(pk).await.map(print_records).map_err(Into::into),
            ["outcome", session_id] => store
                .records_under(session_id)
                .await
                .map(|records| {
                    println!("{}", serde_json::to_string(&fold(&sid(session_id), &records)).unwrap_or_default())
                })
                .map_err(Into::into),
            ["outcome-bus"] => events::create_bus().await,
            ["events-pump"] => events::pump_forever(store.table()).await,
            ["events", session_id] => events::follow(session_id, 60).await,
            ["events", session_id, seconds] => match seconds.parse() {
                Ok(seconds) => events::follow(session_id, seconds).await,
                Err(_) => Err("SECONDS must be a whole number".into()),
            },
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("local-stack: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One line per record: the key and typed fields, with the raw payload shortened. Stops quietly when the
/// reader goes away (`| head`, `| grep -q`).
fn print_records(mut records: Vec<Value>) {
    use std::io::Write;
    records.sort_by(|a, b| (a["pk"].as_str(), a["sk"].as_str()).cmp(&(b["pk"].as_str(), b["sk"].as_str())));
    let count = records.len();
    let mut out = std::io::stdout().lock();
    for mut record in records {
        if let Some(raw) = record.get_mut("raw") {
            let text = raw.as_str().unwrap_or_default();
            *raw = format!("{}… ({} bytes)", text.chars().take(60).collect::<String>(), text.len()).into();
        }
        if writeln!(out, "{record}").is_err() {
            return;
        }
    }
    let _ = writeln!(out, "-- {count} record(s)");
}
