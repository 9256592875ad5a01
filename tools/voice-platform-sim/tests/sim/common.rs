//! Shared test harness: a sim on an ephemeral loopback port, a recording push receiver, signed requests,
//! and bounded waits (no test can hang).
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};
use time::OffsetDateTime;
use voice_platform_sim::{sign, Config, RunningSim};

pub const APP_KEY: &str = "test-app-key";
pub const APP_SECRET: &str = "test-app-secret";
pub const DISPLAY_NBR: &str = "+8675528000088";
/// Ends in none of the scenario suffixes, so it is `answered`.
pub const CALLEE_ANSWERED: &str = "+8613800000021";

/// Upper bound for any single test body.
const TEST_BUDGET: Duration = Duration::from_secs(40);
/// Upper bound for waiting on pushes.
const WAIT_BUDGET: Duration = Duration::from_secs(15);

pub async fn bounded<T>(test: impl Future<Output = T>) -> T {
    tokio::time::timeout(TEST_BUDGET, test).await.expect("test exceeded its time budget")
}

/// Fast timings so a whole call (4 events + CDR) takes ~150 ms.
pub fn fast_config() -> Config {
    Config {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        app_key: APP_KEY.into(),
        app_secret: APP_SECRET.into(),
        event_delay: Duration::from_millis(20),
        cdr_delay: Duration::from_millis(20),
        merge_window: Duration::from_millis(50),
        repush_interval: Duration::from_millis(100),
        push_timeout: Duration::from_secs(2),
        timeout_hang: Duration::from_secs(3),
        ..Config::default()
    }
}

pub async fn start_sim(config: Config) -> RunningSim {
    voice_platform_sim::start(config).await.expect("sim starts")
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(5)).build().expect("client builds")
}

/// A push the receiver got.
#[derive(Debug, Clone)]
pub struct Push {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
    pub at: Instant,
    /// The HTTP status the receiver answered with.
    pub answered: u16,
}

impl Push {
    pub fn event_type(&self) -> &str {
        self.body["eventType"].as_str().unwrap_or("")
    }
}

#[derive(Debug, Clone, Copy)]
pub enum FeeFailure {
    Http500,
    /// 200 with `{"resultcode":"1"}`: Huawei counts it as a failure.
    ResultCodeNotZero,
}

struct ReceiverState {
    pushes: Mutex<Vec<Push>>,
    fail_fee: AtomicUsize,
    fee_failure: Mutex<FeeFailure>,
    fail_status: AtomicBool,
}

/// An axum server on 127.0.0.1:0 that records every POST; `/fee…` and `/status…` can be told to fail.
pub struct Receiver {
    addr: SocketAddr,
    state: Arc<ReceiverState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(State(state): State<Arc<ReceiverState>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_string();
    let (status, answer) = if path.starts_with("/fee") {
        let fail = state.fail_fee.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
        let how = *state.fee_failure.lock().unwrap();
        match (fail, how) {
            (true, FeeFailure::Http500) => (StatusCode::INTERNAL_SERVER_ERROR, json!({})),
            (true, FeeFailure::ResultCodeNotZero) => {
                (StatusCode::OK, json!({"resultcode":"1","resultdesc":"store failed"}))
            }
            (false, _) => (StatusCode::OK, json!({"resultcode":"0","resultdesc":"Success"})),
        }
    } else if path.starts_with("/status") && state.fail_status.load(Ordering::SeqCst) {
        (StatusCode::SERVICE_UNAVAILABLE, json!({}))
    } else {
        (StatusCode::OK, json!({}))
    };
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    state.pushes.lock().unwrap().push(Push { path, headers, body, at: Instant::now(), answered: status.as_u16() });
    (status, axum::Json(answer)).into_response()
}

impl Receiver {
    pub async fn start() -> Receiver {
        let state = Arc::new(ReceiverState {
            pushes: Mutex::new(Vec::new()),
            fail_fee: AtomicUsize::new(0),
            fee_failure: Mutex::new(FeeFailure::Http500),
            fail_status: AtomicBool::new(false),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("receiver binds");
        let addr = listener.local_addr().expect("receiver addr");
        let app = Router::new().fallback(record).with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { addr, state, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// What a client puts in statusUrl / feeUrl.
    pub fn b64(&self, path: &str) -> String {
        STANDARD.encode(self.url(path))
    }

    pub fn fail_first_fee(&self, n: usize, how: FeeFailure) {
        *self.state.fee_failure.lock().unwrap() = how;
        self.state.fail_fee.store(n, Ordering::SeqCst);
    }

    pub fn fail_status(&self, fail: bool) {
        self.state.fail_status.store(fail, Ordering::SeqCst);
    }

    pub fn pushes(&self) -> Vec<Push> {
        self.state.pushes.lock().unwrap().clone()
    }

    pub fn pushes_to(&self, prefix: &str) -> Vec<Push> {
        self.pushes().into_iter().filter(|p| p.path.starts_with(prefix)).collect()
    }

    /// Polls until `done` holds; panics (naming `what`) after the wait budget.
    pub async fn wait_until(&self, what: &str, done: impl Fn(&[Push]) -> bool) -> Vec<Push> {
        let deadline = Instant::now() + WAIT_BUDGET;
        loop {
            let pushes = self.pushes();
            if done(&pushes) {
                return pushes;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; got {} pushes: {pushes:#?}",
                pushes.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Lets late (unexpected) pushes arrive, then returns everything received.
    pub async fn settle(&self, quiet: Duration) -> Vec<Push> {
        tokio::time::sleep(quiet).await;
        self.pushes()
    }
}

/// A valid callVerify body whose callbacks point at `receiver` (`/status`, `/fee`).
pub fn call_body(callee: &str, receiver: &Receiver) -> Value {
    json!({
        "displayNbr": DISPLAY_NBR,
        "calleeNbr": callee,
        "languageType": 2,
        "preTone": "welcome.wav",
        "posTone": "bye.wav",
        "verifyCode": "482913",
        "times": 2,
        "statusUrl": receiver.b64("/status"),
        "feeUrl": receiver.b64("/fee"),
        "returnIdlePort": "false",
        "userData": "req-7f3a9c"
    })
}

/// POSTs to callVerify with exactly these headers; returns (HTTP status, JSON body).
pub async fn call_verify_raw(
    sim: &RunningSim,
    body: &Value,
    authorization: Option<&str>,
    x_aksk: Option<&str>,
) -> (u16, Value) {
    let mut request = http()
        .post(sim.call_verify_url())
        .header("Content-Type", "application/json;charset=UTF-8")
        .body(body.to_string());
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    if let Some(value) = x_aksk {
        request = request.header("X-AKSK", value);
    }
    let response = request.send().await.expect("callVerify answers");
    let status = response.status().as_u16();
    let json = response.json::<Value>().await.expect("callVerify answers JSON");
    (status, json)
}

/// A correctly signed callVerify.
pub async fn call_verify(sim: &RunningSim, body: &Value) -> (u16, Value) {
    call_verify_using(&http(), sim, body).await
}

/// A correctly signed callVerify on a given client (building a client costs ~20 ms in debug builds).
pub async fn call_verify_using(client: &reqwest::Client, sim: &RunningSim, body: &Value) -> (u16, Value) {
    let signed = sign(APP_KEY, APP_SECRET, OffsetDateTime::now_utc());
    let response = client
        .post(sim.call_verify_url())
        .header("Content-Type", "application/json;charset=UTF-8")
        .header("Authorization", signed.authorization)
        .header("X-AKSK", signed.x_aksk)
        .body(body.to_string())
        .send()
        .await
        .expect("callVerify answers");
    let status = response.status().as_u16();
    (status, response.json::<Value>().await.expect("callVerify answers JSON"))
}

pub async fn get_json(sim: &RunningSim, path: &str) -> Value {
    let response = http().get(format!("{}{path}", sim.base_url())).send().await.expect("sim answers");
    response.json().await.expect("JSON")
}

pub async fn post_json(sim: &RunningSim, path: &str, body: &Value) -> (u16, Value) {
    let response = http().post(format!("{}{path}", sim.base_url())).json(body).send().await.expect("sim answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON"))
}

/// `1201_<n>_4294967295_<yyyyMMddHHmmss>@callenabler245.huaweicaas.com`
pub fn assert_huawei_session_id(session_id: &str) {
    let (left, host) = session_id.split_once('@').expect("sessionId has @");
    assert_eq!(host, "callenabler245.huaweicaas.com", "{session_id}");
    let parts: Vec<&str> = left.split('_').collect();
    assert_eq!(parts.len(), 4, "{session_id}");
    assert_eq!(parts[0], "1201");
    assert!(!parts[1].is_empty() && parts[1].bytes().all(|b| b.is_ascii_digit()), "{session_id}");
    assert_eq!(parts[2], "4294967295");
    assert!(parts[3].len() == 14 && parts[3].bytes().all(|b| b.is_ascii_digit()), "{session_id}");
}

/// `yyyy-MM-dd HH:mm:ss`
pub fn assert_notification_time(text: &str) {
    let ok = text.len() == 19
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b' ',
            13 | 16 => b == b':',
            _ => b.is_ascii_digit(),
        });
    assert!(ok, "not yyyy-MM-dd HH:mm:ss: {text:?}");
}

/// Checks a push's X-AKSK the way a receiver in `enforce` mode would.
pub fn assert_signed_push(push: &Push) {
    let header = |name: &str| push.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    assert_eq!(header("content-type"), "application/json;charset=UTF-8");
    assert_eq!(header("authorization"), voice_platform_sim::AUTHORIZATION_VALUE);
    let x_aksk = header("x-aksk");
    let token = voice_platform_sim::auth::parse_x_aksk(Some(&x_aksk)).expect("X-AKSK parses");
    assert_eq!(token.username, APP_KEY);
    assert_eq!(token.password_digest, voice_platform_sim::password_digest(APP_SECRET, token.nonce, token.created));
}
