//! A fault-injecting HTTP/1.1 proxy on 127.0.0.1 in front of DynamoDB Local, for the chaos tests.
//!
//! The AWS SDK speaks HTTP/1.1 + JSON to DynamoDB (`X-Amz-Target: DynamoDB_20120810.PutItem`, a
//! `Content-Length` body, keep-alive), so the proxy reads requests off plain TCP, forwards them upstream with
//! reqwest, and writes the answer back — or not. Per request, decided by a seeded RNG over the request's
//! sequence number (so a run's fault mix is reproducible; which request gets which number depends on
//! scheduling), it may:
//!
//! - add latency (uniform in `0..=max_latency`) before forwarding;
//! - **reject**: answer `500 InternalServerError` (DynamoDB's JSON error) without forwarding — nothing written;
//! - **lose the answer**: forward (the write happens), then answer `500` — the client sees a failure for a
//!   write that is durable (the case for "idempotent retries" and "no 200 without a durable write");
//! - **drop**: forward, then close the connection without a byte of answer;
//! - **stall**: forward, then hold the answer for `stall` (past the SDK's 1.5 s attempt timeout).
//!
//! Every request is counted by its `X-Amz-Target` operation (`PutItem`, …) and every fault by kind: the suite
//! reports DynamoDB requests per stored notification from these counts. With `meter_capacity`, the proxy also
//! asks DynamoDB for `ReturnConsumedCapacity: TOTAL` on every request and sums the capacity units it reports
//! (DynamoDB Local, like DynamoDB, reports none for a failed conditional write or a canceled transaction; a
//! transaction's or a batch's list of them is summed), for `make bench`. With `count_items`, requests on one item
//! (`GetItem`, `PutItem`, `UpdateItem`, `DeleteItem`) are also counted by the kind of item they name
//! ([`item_kind`]: `UpdateItem verification#`, …), and a transaction by the kinds of its items
//! (`TransactWriteItems guard#`) and by its actions ([`transact_actions`]: `ConditionCheck guard#`,
//! `Update guard#`), so that a run can tell which of a function's writes went where. An upstream that cannot be reached (DynamoDB Local killed) is seen by the client
//! as a dropped connection.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does to traffic. Probabilities are per request and exclusive (checked in this order).
#[derive(Debug, Clone)]
pub struct FaultConfig {
    pub seed: u64,
    pub max_latency: Duration,
    /// 500 without forwarding.
    pub reject: f64,
    /// Forward, then 500.
    pub lose_answer: f64,
    /// Forward, then close the connection without answering.
    pub drop_answer: f64,
    /// Forward, then hold the answer for `stall`.
    pub stall: f64,
    pub stall_for: Duration,
    /// Add `ReturnConsumedCapacity: TOTAL` to each request and sum what the answers report.
    pub meter_capacity: bool,
    /// Faults only on requests of this operation (`PutItem`, …); `None`: on every request.
    pub only_operation: Option<&'static str>,
    /// No fault on a request whose body holds this text (e.g. `nonce#`: the nonce writes pass, the records' fail).
    pub spare_bodies_containing: Option<&'static str>,
    /// Count requests on one item by operation and [`item_kind`] too (`ProxyStats::requests_by_item`).
    pub count_items: bool,
}

impl FaultConfig {
    /// Forwards everything untouched (counting only).
    pub fn pass_through() -> Self {
        Self {
            seed: 0,
            max_latency: Duration::ZERO,
            reject: 0.0,
            lose_answer: 0.0,
            drop_answer: 0.0,
            stall: 0.0,
            stall_for: Duration::ZERO,
            meter_capacity: false,
            only_operation: None,
            spare_bodies_containing: None,
            count_items: false,
        }
    }
}

/// Counters, readable while the proxy runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Requests received, by `X-Amz-Target` operation (`PutItem`, `Scan`, …; `?` when absent).
    pub requests: BTreeMap<String, u64>,
    /// Capacity units reported in answers, in thousandths, by operation (only with `meter_capacity`).
    pub capacity_milli_units: BTreeMap<String, u64>,
    pub forwarded: u64,
    pub rejected: u64,
    pub lost_answers: u64,
    pub dropped: u64,
    pub stalled: u64,
    /// Forwarding failed (upstream down): the client connection was closed.
    pub upstream_errors: u64,
    /// The last forwarding error, for the report.
    pub last_upstream_error: Option<String>,
    /// Requests by the X-Ray trace they carried (the `Root=…` of `X-Amzn-Trace-Id`; `-` when absent).
    pub trace_roots: BTreeMap<String, u64>,
    /// With `count_items`: requests on one item by `"<operation> <item kind>"` (`"UpdateItem verification#"`).
    pub requests_by_item: BTreeMap<String, u64>,
    /// With `count_items` and `meter_capacity`: the capacity units of those requests, in thousandths.
    pub capacity_milli_units_by_item: BTreeMap<String, u64>,
    /// With `count_items`: the actions inside transactions (`TransactWriteItems`, `TransactGetItems`) by
    /// `"<action> <item kind>"` (`"ConditionCheck guard#"`, `"Update guard#"`).
    pub transact_actions: BTreeMap<String, u64>,
}

impl ProxyStats {
    pub fn requests_of(&self, operation: &str) -> u64 {
        self.requests.get(operation).copied().unwrap_or(0)
    }

    /// Faults injected on purpose (not counting upstream errors).
    pub fn faults(&self) -> u64 {
        self.rejected + self.lost_answers + self.dropped + self.stalled
    }
}

#[derive(Default)]
struct Shared {
    stats: Mutex<ProxyStats>,
    sequence: AtomicU64,
    faults_enabled: AtomicBool,
}

pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Clone, Copy)]
enum Fault {
    None,
    Reject,
    LoseAnswer,
    Drop,
    Stall,
}

impl FaultProxy {
    /// Starts the proxy on a free 127.0.0.1 port, forwarding to `upstream` (`http://127.0.0.1:<port>`), on its
    /// own thread and runtime (independent of the test's runtime). Faults are enabled.
    pub fn start(upstream: &str, config: FaultConfig) -> Self {
        assert!(upstream.starts_with("http://127.0.0.1:"), "loopback only: {upstream}");
        let shared = Arc::new(Shared::default());
        shared.faults_enabled.store(true, Ordering::SeqCst);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("nonblocking listener");
        let addr = listener.local_addr().expect("local addr");
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let upstream = upstream.trim_end_matches('/').to_owned();
        let state = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("fault-proxy".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("proxy runtime");
                runtime.block_on(async move {
                    let listener = TcpListener::from_std(listener).expect("tokio listener");
                    let client = reqwest::Client::builder()
                        .timeout(Duration::from_secs(30))
                        .pool_max_idle_per_host(256)
                        // Well under Jetty's idle timeout, so a pooled connection is not reused as it closes.
                        .pool_idle_timeout(Duration::from_secs(5))
                        .build()
                        .expect("proxy HTTP client");
                    let config = Arc::new(config);
                    let accept = async {
                        loop {
                            let Ok((stream, _)) = listener.accept().await else {
                                // Out of descriptors or similar: back off instead of spinning.
                                tokio::time::sleep(Duration::from_millis(10)).await;
                                continue;
                            };
                            let _ = stream.set_nodelay(true);
                            tokio::spawn(serve_connection(
                                stream,
                                client.clone(),
                                upstream.clone(),
                                Arc::clone(&config),
                                Arc::clone(&state),
                            ));
                        }
                    };
                    tokio::select! {
                        _ = accept => {}
                        _ = stop => {}
                    }
                });
                // Dropping the runtime cancels every connection task.
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .expect("spawn proxy thread");
        Self { addr, shared, shutdown: Some(shutdown), thread: Some(thread) }
    }

    /// The endpoint to give the SDK (`endpoint_url`, `AWS_ENDPOINT_URL_DYNAMODB`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn stats(&self) -> ProxyStats {
        self.shared.stats.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Turns fault injection (and added latency) on or off; counting goes on.
    pub fn set_faults(&self, enabled: bool) {
        self.shared.faults_enabled.store(enabled, Ordering::SeqCst);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One client connection: requests one after the other (HTTP/1.1 keep-alive), until EOF or a dropped answer.
async fn serve_connection(
    stream: TcpStream,
    client: reqwest::Client,
    upstream: String,
    config: Arc<FaultConfig>,
    shared: Arc<Shared>,
) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    // Bounded: a connection serves at most this many requests (the SDK opens a new one when it is closed).
    for _ in 0..100_000 {
        let Some(request) = read_request(&mut reader).await else { return };
        let target = request
            .header("x-amz-target")
            .map(|t| t.rsplit('.').next().unwrap_or(t).to_owned())
            .unwrap_or_else(|| "?".to_owned());
        let sequence = shared.sequence.fetch_add(1, Ordering::SeqCst);
        let spared = config
            .spare_bodies_containing
            .is_some_and(|text| request.body.windows(text.len()).any(|window| window == text.as_bytes()));
        let faulty = shared.faults_enabled.load(Ordering::SeqCst)
            && config.only_operation.is_none_or(|operation| operation == target)
            && !spared;
        let (latency, fault) = decide(&config, sequence, faulty);
        let trace_root = request
            .header("x-amzn-trace-id")
            .and_then(|header| header.split(';').find_map(|part| part.trim().strip_prefix("Root=")))
            .unwrap_or("-")
            .to_owned();
        let item =
            config.count_items.then(|| item_kind(&request.body)).flatten().map(|kind| format!("{target} {kind}"));
        let actions = if config.count_items { transact_actions(&request.body) } else { Vec::new() };
        {
            let mut stats = shared.stats.lock().unwrap_or_else(|p| p.into_inner());
            *stats.requests.entry(target.clone()).or_default() += 1;
            *stats.trace_roots.entry(trace_root).or_default() += 1;
            if let Some(item) = &item {
                *stats.requests_by_item.entry(item.clone()).or_default() += 1;
            }
            for action in actions {
                *stats.transact_actions.entry(action).or_default() += 1;
            }
        }
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        if let Fault::Reject = fault {
            bump(&shared, |s| s.rejected += 1);
            let _ = write.write_all(&internal_server_error()).await;
            continue;
        }
        // Forwarded in its own task, so the write reaches DynamoDB even if the client gives up meanwhile.
        let request = if config.meter_capacity { ask_for_consumed_capacity(request) } else { request };
        let forward = tokio::spawn(forward(client.clone(), upstream.clone(), request, config.meter_capacity));
        let answer = match forward.await {
            Ok(Ok((answer, units))) => {
                if let Some(units) = units {
                    bump(&shared, |s| {
                        *s.capacity_milli_units.entry(target.clone()).or_default() += units;
                        if let Some(item) = &item {
                            *s.capacity_milli_units_by_item.entry(item.clone()).or_default() += units;
                        }
                    });
                }
                answer
            }
            failed => {
                let error = match failed {
                    Ok(Err(e)) => format!("{e:?}"),
                    Err(e) => e.to_string(),
                    Ok(Ok(_)) => unreachable!(),
                };
                bump(&shared, |s| {
                    s.upstream_errors += 1;
                    s.last_upstream_error = Some(error);
                });
                return; // closes the connection: what a client of a crashed server sees
            }
        };
        bump(&shared, |s| s.forwarded += 1);
        match fault {
            Fault::None | Fault::Reject => {}
            Fault::LoseAnswer => {
                bump(&shared, |s| s.lost_answers += 1);
                let _ = write.write_all(&internal_server_error()).await;
                continue;
            }
            Fault::Drop => {
                bump(&shared, |s| s.dropped += 1);
                return;
            }
            Fault::Stall => {
                bump(&shared, |s| s.stalled += 1);
                tokio::time::sleep(config.stall_for).await;
            }
        }
        if write.write_all(&answer).await.is_err() {
            return;
        }
    }
}

fn bump(shared: &Shared, update: impl FnOnce(&mut ProxyStats)) {
    update(&mut shared.stats.lock().unwrap_or_else(|p| p.into_inner()));
}

fn decide(config: &FaultConfig, sequence: u64, enabled: bool) -> (Duration, Fault) {
    if !enabled {
        return (Duration::ZERO, Fault::None);
    }
    let mut rng = StdRng::seed_from_u64(config.seed ^ sequence.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let latency = match config.max_latency.as_micros() as u64 {
        0 => Duration::ZERO,
        max => Duration::from_micros(rng.random_range(0..=max)),
    };
    let roll: f64 = rng.random();
    let mut threshold = 0.0;
    let mut fault = Fault::None;
    for (probability, kind) in [
        (config.reject, Fault::Reject),
        (config.lose_answer, Fault::LoseAnswer),
        (config.drop_answer, Fault::Drop),
        (config.stall, Fault::Stall),
    ] {
        threshold += probability;
        if roll < threshold {
            fault = kind;
            break;
        }
    }
    (latency, fault)
}

struct HttpRequest {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Reads one request (head + `Content-Length` body). `None` on EOF or anything unexpected.
async fn read_request(reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<HttpRequest> {
    let mut line = String::new();
    if reader.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = Vec::new();
    for _ in 0..200 {
        line.clear();
        if reader.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let trimmed = line.trim_end_matches(['\r', '\n']);
        if trimmed.is_empty() {
            break;
        }
        let (name, value) = trimmed.split_once(':')?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let request = HttpRequest { method, path, headers, body: Vec::new() };
    if request.header("transfer-encoding").is_some() {
        return None; // the SDK always sends Content-Length for DynamoDB's JSON bodies
    }
    let length: usize = request.header("content-length").map_or(Some(0), |v| v.parse().ok())?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.ok()?;
    Some(HttpRequest { body, ..request })
}

/// The kind of the one item a request names (its `Key`, or a `PutItem`'s `Item`): the `pk`'s prefix up to and with
/// its first `#` (`request#`, `ratelimit#`, `verification#`, …), or for a `pk` without one, a call's partition
/// (its sessionId), `<sessionId>/` and the `sk`'s prefix the same way (`<sessionId>/call`, `<sessionId>/event#`).
/// For a transaction, the kinds of its items, each once, joined by `+` in the order they first appear (`guard#`).
/// `None` for a request on no single item and no transaction (`Query`, `Scan`, batches).
pub fn item_kind(body: &[u8]) -> Option<String> {
    let request: serde_json::Value = serde_json::from_slice(body).ok()?;
    if let Some(items) = request.get("TransactItems").and_then(|items| items.as_array()) {
        let mut kinds: Vec<String> = Vec::new();
        for (_, item) in items.iter().filter_map(transact_action) {
            let kind = kind_of(item)?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        return (!kinds.is_empty()).then(|| kinds.join("+"));
    }
    kind_of(request.get("Key").or_else(|| request.get("Item"))?)
}

/// The actions of a transaction's body by `"<action> <item kind>"` (`ConditionCheck guard#`, `Update guard#`), one
/// entry per action; empty for any other request.
pub fn transact_actions(body: &[u8]) -> Vec<String> {
    let Ok(request) = serde_json::from_slice::<serde_json::Value>(body) else { return Vec::new() };
    let Some(items) = request.get("TransactItems").and_then(|items| items.as_array()) else { return Vec::new() };
    items
        .iter()
        .filter_map(transact_action)
        .map(|(action, item)| format!("{action} {}", kind_of(item).unwrap_or_else(|| "?".into())))
        .collect()
}

/// One element of `TransactItems`: its action (`ConditionCheck`, `Put`, `Update`, `Delete`, `Get`) and the key or
/// item it names.
fn transact_action(element: &serde_json::Value) -> Option<(&str, &serde_json::Value)> {
    let (action, body) = element.as_object()?.iter().next()?;
    Some((action.as_str(), body.get("Key").or_else(|| body.get("Item"))?))
}

/// The kind of a key or an item ([`item_kind`]).
fn kind_of(item: &serde_json::Value) -> Option<String> {
    let text = |name: &str| item.get(name).and_then(|v| v.get("S")).and_then(|v| v.as_str());
    let prefix = |text: &str| text.find('#').map_or(text.to_owned(), |at| text[..=at].to_owned());
    let pk = text("pk")?;
    Some(match pk.contains('#') {
        true => prefix(pk),
        false => format!("<sessionId>/{}", prefix(text("sk").unwrap_or("?"))),
    })
}

/// The request with `"ReturnConsumedCapacity": "TOTAL"` added to its JSON body (DynamoDB Local does not check
/// the SigV4 signature this invalidates).
fn ask_for_consumed_capacity(request: HttpRequest) -> HttpRequest {
    match serde_json::from_slice::<serde_json::Value>(&request.body) {
        Ok(serde_json::Value::Object(mut fields)) => {
            fields.insert("ReturnConsumedCapacity".into(), "TOTAL".into());
            let body = serde_json::to_vec(&fields).unwrap_or(request.body);
            HttpRequest { body, ..request }
        }
        _ => request,
    }
}

/// `ConsumedCapacity.CapacityUnits` of an answer, in thousandths; for a transaction or a batch, whose
/// `ConsumedCapacity` is a list (one entry per table), their sum.
fn consumed_capacity(body: &[u8]) -> Option<u64> {
    let answer: serde_json::Value = serde_json::from_slice(body).ok()?;
    let units = |capacity: &serde_json::Value| capacity.get("CapacityUnits").and_then(|units| units.as_f64());
    let units = match answer.get("ConsumedCapacity")? {
        serde_json::Value::Array(tables) => tables.iter().map(units).sum::<Option<f64>>()?,
        capacity => units(capacity)?,
    };
    Some((units * 1000.0).round() as u64)
}

/// Sends the request upstream; returns the complete HTTP/1.1 answer to write back and, when `meter`, the
/// capacity units it reports.
async fn forward(
    client: reqwest::Client,
    upstream: String,
    request: HttpRequest,
    meter: bool,
) -> Result<(Vec<u8>, Option<u64>), reqwest::Error> {
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap_or(reqwest::Method::POST);
    let mut builder = client.request(method, format!("{upstream}{}", request.path));
    for (name, value) in &request.headers {
        let skip = ["host", "content-length", "connection", "transfer-encoding", "expect"];
        if !skip.iter().any(|s| name.eq_ignore_ascii_case(s)) {
            builder = builder.header(name.as_str(), value.as_str());
        }
    }
    let response = builder.body(request.body).send().await?;
    let status = response.status();
    let mut head = format!("HTTP/1.1 {} {}\r\n", status.as_u16(), status.canonical_reason().unwrap_or("Unknown"));
    for (name, value) in response.headers() {
        let skip = ["content-length", "connection", "transfer-encoding", "keep-alive"];
        if !skip.iter().any(|s| name.as_str().eq_ignore_ascii_case(s)) {
            head.push_str(&format!("{}: {}\r\n", name, value.to_str().unwrap_or_default()));
        }
    }
    let body = response.bytes().await?;
    head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut answer = head.into_bytes();
    answer.extend_from_slice(&body);
    Ok((answer, meter.then(|| consumed_capacity(&body)).flatten()))
}

fn internal_server_error() -> Vec<u8> {
    let body =
        r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"injected by fault proxy"}"#;
    format!(
        "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/x-amz-json-1.0\r\n\
         x-amzn-requestid: fault-proxy\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_on_one_item_is_counted_by_the_kind_of_its_key() {
        let update = br#"{"TableName":"t","Key":{"pk":{"S":"verification#v-1"},"sk":{"S":"verification"}}}"#;
        assert_eq!(item_kind(update).as_deref(), Some("verification#"));
        let put = br#"{"TableName":"t","Item":{"sk":{"S":"call"},"pk":{"S":"1201_1@x.example"},"raw":{"S":"{}"}}}"#;
        assert_eq!(item_kind(put).as_deref(), Some("<sessionId>/call"));
        let event = br#"{"Item":{"pk":{"S":"1201_1@x.example"},"sk":{"S":"event#callout#1"}}}"#;
        assert_eq!(item_kind(event).as_deref(), Some("<sessionId>/event#"));
        let query = br#"{"TableName":"t","KeyConditionExpression":"pk = :pk"}"#;
        assert_eq!(item_kind(query), None);
        assert_eq!(item_kind(b"not json"), None);
        assert!(transact_actions(update).is_empty());
    }

    #[test]
    fn a_transaction_is_counted_by_the_kinds_of_its_items_and_by_its_actions() {
        let transaction = br#"{"TransactItems":[
            {"ConditionCheck":{"TableName":"t","Key":{"pk":{"S":"guard#block#8613800"},"sk":{"S":"block"}}}},
            {"Update":{"TableName":"t","Key":{"pk":{"S":"guard#prefix#8613800#2026120713"},"sk":{"S":"counter"}}}},
            {"Update":{"TableName":"t","Key":{"pk":{"S":"guard#day#20261207"},"sk":{"S":"counter"}}}},
            {"Put":{"TableName":"t","Item":{"pk":{"S":"verification#v-1"},"sk":{"S":"verification"}}}}]}"#;
        assert_eq!(item_kind(transaction).as_deref(), Some("guard#+verification#"));
        assert_eq!(
            transact_actions(transaction),
            ["ConditionCheck guard#", "Update guard#", "Update guard#", "Put verification#"]
        );
    }

    #[test]
    fn the_capacity_of_a_transaction_is_the_sum_of_its_tables() {
        assert_eq!(consumed_capacity(br#"{"ConsumedCapacity":{"TableName":"t","CapacityUnits":1.0}}"#), Some(1000));
        let transaction =
            br#"{"ConsumedCapacity":[{"TableName":"t","CapacityUnits":6.0},{"TableName":"u","CapacityUnits":0.5}]}"#;
        assert_eq!(consumed_capacity(transaction), Some(6500));
        assert_eq!(consumed_capacity(br#"{"__type":"TransactionCanceledException"}"#), None);
    }
}
