//! `BENCH_ONLY=metrics`: what the EMF metrics cost a push. In process over the in-memory store (no DynamoDB, so
//! the handler's own CPU time is what is compared): a new status push through the callback service, against the
//! same kind of push with its metrics collected, formatted as EMF lines and written (to a sink, as stdout would
//! take them). Rounds interleave the two, alternating which goes first.

use std::io::Write;
use std::time::{Duration, Instant};

use http::Method;
use test_support::callback_config;
use test_support::measure::{Samples, TOKEN};
use voice_core::adapters::MemoryStore;
use voice_core::auth::SignatureMode;
use voice_core::callbacks::{Answer, CallbackService, Endpoint, InboundPush};
use voice_core::telemetry::metrics;

use crate::pushes::Pushes;

const WARM_UP_ROUNDS: usize = 200;

pub struct MetricsCost {
    pub without: Samples,
    pub with_metrics: Samples,
    /// Bytes of EMF lines a new status push writes.
    pub bytes_per_push: usize,
}

pub async fn measure(rounds: usize) -> MetricsCost {
    let service = CallbackService::new(MemoryStore::default(), callback_config(TOKEN, SignatureMode::Off));
    let pushes = Pushes::new(test_support::unique_name("metrics"));
    let path = format!("/voice/status/{TOKEN}");
    let (mut without, mut with_metrics, mut bytes_per_push) = (Vec::new(), Vec::new(), 0);
    for round in 0..WARM_UP_ROUNDS + rounds {
        let (plain_body, measured_body) = (pushes.status(2 * round), pushes.status(2 * round + 1));
        let mut timings = [Duration::ZERO; 2];
        for series in if round % 2 == 0 { [0, 1] } else { [1, 0] } {
            let started = Instant::now();
            if series == 0 {
                let answer = service.handle(Endpoint::Voice, push(&path, &plain_body)).await;
                assert_eq!(answer, Answer::EventStored);
            } else {
                let (answer, values) =
                    metrics::collect(service.handle(Endpoint::Voice, push(&path, &measured_body))).await;
                let lines = metrics::emf_lines("status-callback", &values, 1_800_000_000_000);
                let mut text = lines.join("\n");
                text.push('\n');
                std::io::sink().write_all(text.as_bytes()).expect("sink");
                assert_eq!(answer, Answer::EventStored);
                bytes_per_push = text.len();
            }
            timings[series] = started.elapsed();
        }
        if round >= WARM_UP_ROUNDS {
            without.push(timings[0]);
            with_metrics.push(timings[1]);
        }
    }
    MetricsCost { without: Samples::new(without), with_metrics: Samples::new(with_metrics), bytes_per_push }
}

fn push<'a>(path: &'a str, body: &'a str) -> InboundPush<'a> {
    static POST: Method = Method::POST;
    InboundPush { method: &POST, path, signature_header: None, body: body.as_bytes(), deadline: None }
}

pub fn render(cost: &MetricsCost) -> String {
    let us = |d: Duration| format!("{:.1} µs", d.as_secs_f64() * 1e6);
    format!(
        "| status push in process (in-memory store) | p50 | p99 |\n|---|---|---|\n\
         | without metrics | {} | {} |\n| with its EMF lines collected, formatted and written | {} | {} |\n\
         | ratio | {:.2}× | {:.2}× |\n\nEMF bytes per new status push: {}; samples: {} each.\n",
        us(cost.without.p50()),
        us(cost.without.p99()),
        us(cost.with_metrics.p50()),
        us(cost.with_metrics.p99()),
        cost.with_metrics.p50().as_secs_f64() / cost.without.p50().as_secs_f64(),
        cost.with_metrics.p99().as_secs_f64() / cost.without.p99().as_secs_f64(),
        cost.bytes_per_push,
        cost.without.len(),
    )
}
