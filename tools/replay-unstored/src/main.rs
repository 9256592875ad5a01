//! `replay-unstored [FILE…]`: stores again, through the push path, the pushes the callbacks logged as
//! `NOT STORED: replay this payload once storage is back` (stdin when no FILE, or for `-`).
//!
//! Input: the functions' JSON log lines, CloudWatch Logs export lines (`<timestamp> <json>`), or the whole JSON
//! output of `aws logs filter-log-events`. Only voice status events (and unknown event types) are replayed; CDRs,
//! SMS notifications, privacy-number events (masked sessionId) and unparsable payloads are reported as not
//! replayable, with the reason (`voice_core::callbacks::replay`). Idempotent: a record already there is left as it
//! is, so a second run stores nothing.
//!
//! Configuration as the callback functions read it (`TABLE_NAME`, `AWS_REGION`, credentials,
//! `STORE_RETRY_BUDGET_MS`, `AWS_ENDPOINT_URL_DYNAMODB`, `PEER_REGION`, …). The report goes to stdout, one line per
//! NOT STORED line, then the totals; logs go to stderr as JSON lines (`RUST_LOG`, default `warn`), in the
//! functions' format, so the NOT STORED lines of a replay that failed again can be fed back to it. Exit status 1
//! when a payload still failed to store, an input could not be read or the configuration is invalid; else 0.

use std::io::Read;
use std::process::ExitCode;

use voice_core::callbacks::replay::{self, Outcome, Tally, Verdict};
use voice_core::edge::http::service_from_env;
use voice_core::telemetry::error_chain;

const USAGE: &str = "usage: replay-unstored [FILE…]   (stdin when no FILE, or for -)";

#[tokio::main]
async fn main() -> ExitCode {
    // The functions' log format, on stderr: stdout is the report.
    voice_core::telemetry::init_with(std::io::stderr, "warn");
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|arg| arg == "-h" || arg == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let sources = if args.is_empty() { vec!["-".to_owned()] } else { args };
    // Every input is read before anything is stored: a wrong path stops the run with nothing half done.
    let mut inputs = Vec::new();
    for source in sources {
        match read_source(&source) {
            Ok(text) => inputs.push((source, text)),
            Err(error) => {
                eprintln!("replay-unstored: cannot read {source}: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    let service = match service_from_env().await {
        Ok(service) => service,
        Err(error) => {
            eprintln!("replay-unstored: bad configuration: {}", error_chain(&error));
            return ExitCode::FAILURE;
        }
    };
    let mut tally = Tally::default();
    for (source, text) in &inputs {
        let input = replay::read_input(text);
        for (origin, entry) in &input.entries {
            let outcome = match &entry.verdict {
                Verdict::Replay(payload) => replay::replay(&service, payload).await,
                Verdict::NotReplayable(reason) => Outcome::NotReplayable(reason.clone()),
            };
            println!("{}", replay::report_line(source, *origin, entry, &outcome));
            tally.add(&outcome);
        }
        if input.entries.is_empty() {
            println!("{source}: nothing to replay ({} read)", input.scanned);
        }
    }
    println!("{tally}");
    if tally.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn read_source(source: &str) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    match source {
        "-" => std::io::stdin().lock().read_to_end(&mut bytes)?,
        path => std::fs::File::open(path)?.read_to_end(&mut bytes)?,
    };
    // Log text is UTF-8; a stray invalid byte must not hide the lines around it.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
