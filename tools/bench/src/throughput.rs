//! Section 5: callback throughput over HTTP through `cargo lambda watch` (its Function URL emulation and runtime
//! API) with the release binaries, at 16 and 64 requests in flight, against the same emulator serving an
//! empty `lambda_http` handler — the emulator's own ceiling. Runs alternate (empty, status, at each level).

use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::pushes::Pushes;
use crate::release_binary;
use test_support::{free_port, DynamoLocal, FunctionStack};

pub const IN_FLIGHT: [usize; 2] = [16, 64];
const WARM_UP_REQUESTS: usize = 200;

#[derive(Debug, Clone)]
pub struct Throughput {
    pub in_flight: usize,
    pub requests: usize,
    /// Requests per second with the empty handler.
    pub empty: f64,
    /// New status events per second stored by status-callback.
    pub status: f64,
}

pub async fn measure(dynamodb: &DynamoLocal, requests: usize) -> Vec<Throughput> {
    let store = dynamodb.fresh_store().await;
    let env = test_support::measure::function_env(store.table(), &dynamodb.endpoint());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let functions = ["status-callback", "bench-empty-http"].map(|bin| (bin, release_binary(bin)));
    let stack = FunctionStack::start_binaries(free_port(), &env, &functions);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(128)
        .build()
        .expect("HTTP client");
    let pushes = Pushes::new(test_support::unique_name("throughput"));
    let status_url = stack.url(&format!("/lambda-url/status-callback/{}", test_support::measure::TOKEN));
    let empty_url = stack.url("/lambda-url/bench-empty-http/");
    let mut next_call = 0;
    let mut bodies = |count: usize| {
        next_call += count;
        (next_call - count..next_call).map(|n| pushes.status(n)).collect::<Vec<_>>()
    };
    run(&http, &status_url, bodies(WARM_UP_REQUESTS), 16, &stack).await;
    run(&http, &empty_url, vec![String::new(); WARM_UP_REQUESTS], 16, &stack).await;
    let mut results = Vec::new();
    for in_flight in IN_FLIGHT {
        let empty = run(&http, &empty_url, vec![String::new(); requests], in_flight, &stack).await;
        let status = run(&http, &status_url, bodies(requests), in_flight, &stack).await;
        results.push(Throughput { in_flight, requests, empty, status });
    }
    results
}

/// POSTs every body with `in_flight` requests at a time; each must be answered 200. Returns requests per second.
async fn run(http: &reqwest::Client, url: &str, bodies: Vec<String>, in_flight: usize, stack: &FunctionStack) -> f64 {
    let count = bodies.len();
    let started = Instant::now();
    let answers = futures::stream::iter(bodies)
        .map(|body| async move {
            let sent = http.post(url).header("content-type", "application/json;charset=UTF-8").body(body).send().await;
            match sent {
                Ok(response) => response.status().as_u16(),
                Err(_) => 0,
            }
        })
        .buffer_unordered(in_flight);
    let failures = answers.filter(|status| std::future::ready(*status != 200)).count().await;
    let elapsed = started.elapsed();
    assert_eq!(
        failures,
        0,
        "{failures} of {count} requests to {url} not answered 200; logs in {}",
        stack.log_dir.display()
    );
    count as f64 / elapsed.as_secs_f64()
}
