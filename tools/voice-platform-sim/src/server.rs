//! The HTTP side: callVerify plus the `/sim/*` control endpoints, and the handle to a running sim.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header::AUTHORIZATION, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::api_error::{json_response, ApiError};
use crate::auth::{self, Credentials};
use crate::call_flow::{self, CallContext, PlacedCall};
use crate::calls::{CallLog, CallRecord};
use crate::cdr_queue;
use crate::config::Config;
use crate::heard::{HeardCode, HeardLog, SpokenCode};
use crate::ids::IdGenerator;
use crate::mask::mask_phone;
use crate::push::Pusher;
use crate::scenario::{CallScript, PlatformAnswer, Scenario, CALLEE_SUFFIXES};
use crate::sms::{self, SmsRequest};
use crate::stats::{PushKind, SharedStats, Stats};
use crate::time_fmt::notification_time;
use crate::validate::{self, CallVerifyRequest};

pub const CALL_VERIFY_PATH: &str = "/rest/httpsessions/callVerify/v1.0";

/// A scenario forced by `POST /sim/scenario`; `remaining: None` means until cleared.
#[derive(Debug, Clone, Copy)]
struct ScenarioOverride {
    scenario: Scenario,
    remaining: Option<u32>,
}

struct AppState {
    config: Arc<Config>,
    stats: Arc<SharedStats>,
    calls: CallLog,
    ids: IdGenerator,
    forced: Mutex<Option<ScenarioOverride>>,
    ctx: CallContext,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CallVerifyAnswer<'a> {
    resultcode: &'a str,
    resultdesc: &'a str,
    session_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    idle_port: Option<u16>,
}

impl AppState {
    fn forced(&self) -> std::sync::MutexGuard<'_, Option<ScenarioOverride>> {
        self.forced.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A forced scenario wins over the callee suffix; a counted one is used up call by call.
    fn next_scenario(&self, callee: &str) -> Scenario {
        let mut forced = self.forced();
        let Some(current) = forced.as_mut() else {
            return Scenario::for_callee(callee);
        };
        let scenario = current.scenario;
        if let Some(remaining) = current.remaining.as_mut() {
            *remaining = remaining.saturating_sub(1);
            if *remaining == 0 {
                *forced = None;
            }
        }
        scenario
    }

    fn place_call(
        &self,
        req: &CallVerifyRequest,
        scenario: Scenario,
        script: CallScript,
        now: OffsetDateTime,
    ) -> String {
        let start = self.config.fixed_call_time.unwrap_or(now);
        let session_id = self.ids.session_id(start, &self.config.host_name);
        let call = PlacedCall {
            session_id: session_id.clone(),
            icid: self.ids.icid(start),
            scenario,
            display_nbr: req.display_nbr.clone(),
            callee_nbr: req.callee_nbr.clone(),
            verify_code: SpokenCode::new(req.verify_code.clone()),
            user_data: req.user_data.clone(),
            status_url: req.status_url.clone().or_else(|| self.config.default_status_url.clone()),
            fee_url: req.fee_url.clone().or_else(|| self.config.default_fee_url.clone()),
            start,
        };
        self.calls.record(CallRecord {
            session_id: session_id.clone(),
            scenario,
            callee: mask_phone(&req.callee_nbr),
            display_nbr: req.display_nbr.clone(),
            placed_at: notification_time(start),
            user_data: req.user_data.clone(),
        });
        self.stats.lock().call_verify.calls_placed += 1;
        info!(
            session_id = %session_id,
            scenario = scenario.name(),
            callee = %mask_phone(&req.callee_nbr),
            has_status_url = call.status_url.is_some(),
            has_fee_url = call.fee_url.is_some(),
            "call placed"
        );
        tokio::spawn(call_flow::run(self.ctx.clone(), call, script));
        session_id
    }

    fn success(&self, session_id: &str, return_idle_port: bool) -> Response {
        let answer = CallVerifyAnswer {
            resultcode: "0",
            resultdesc: "Success",
            session_id,
            idle_port: return_idle_port.then_some(self.config.idle_ports),
        };
        json_response(StatusCode::OK, &answer)
    }

    async fn answer_call_verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<Response, ApiError> {
        let now = OffsetDateTime::now_utc();
        let header = |name| headers.get(name).and_then(|value: &axum::http::HeaderValue| value.to_str().ok());
        let expected = Credentials {
            app_key: &self.config.app_key,
            app_secret: &self.config.app_secret,
            max_clock_skew: self.config.max_clock_skew,
        };
        auth::verify(header(AUTHORIZATION.as_str()), header("x-aksk"), expected, now)?;
        let req = validate::validate(body, &self.config.tones)?;
        let scenario = self.next_scenario(&req.callee_nbr);
        let throttle_status = StatusCode::from_u16(self.config.throttle_http_status).unwrap_or(StatusCode::OK);
        match scenario.platform_answer(throttle_status) {
            PlatformAnswer::Refuse(error) => Err(error),
            PlatformAnswer::Place(script) => {
                let session_id = self.place_call(&req, scenario, script, now);
                self.stats.lock().call_verify.accepted += 1;
                Ok(self.success(&session_id, req.return_idle_port))
            }
            PlatformAnswer::Hang => {
                // Counted and (optionally) placed before hanging: if the client gives up, hyper drops this
                // future and nothing after the sleep runs.
                self.stats.lock().call_verify.hung += 1;
                let placed = self
                    .config
                    .timeout_places_call
                    .then(|| self.place_call(&req, scenario, Scenario::hung_call_script(), now));
                warn!(hang_ms = self.config.timeout_hang.as_millis() as u64, "timeout scenario: holding callVerify");
                tokio::time::sleep(self.config.timeout_hang).await;
                match placed {
                    Some(session_id) => Ok(self.success(&session_id, req.return_idle_port)),
                    None => Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "1010001", "Internal system error")),
                }
            }
        }
    }
}

async fn call_verify(State(st): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    st.stats.lock().call_verify.received += 1;
    match st.answer_call_verify(&headers, &body).await {
        Ok(response) => response,
        Err(error) => {
            st.stats.rejected(error.resultcode);
            warn!(
                http = error.http.as_u16(),
                resultcode = error.resultcode,
                resultdesc = %error.resultdesc,
                "callVerify rejected"
            );
            error.into_response()
        }
    }
}

fn control_error(status: StatusCode, message: impl Into<String>) -> Response {
    json_response(status, &json!({ "error": message.into() }))
}

async fn invalid_rest_api() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "1010006", "Invalid Rest API").into_response()
}

async fn invalid_method() -> Response {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "1010006", "Invalid Rest API").into_response()
}

async fn stats(State(st): State<Arc<AppState>>) -> Response {
    json_response(StatusCode::OK, &st.stats.snapshot())
}

async fn calls(State(st): State<Arc<AppState>>) -> Response {
    json_response(StatusCode::OK, &st.calls.list())
}

fn heard_answer(heard: Option<HeardCode>) -> Response {
    match heard {
        Some(heard) => json_response(StatusCode::OK, &heard),
        None => control_error(StatusCode::NOT_FOUND, "nothing heard"),
    }
}

/// `GET /sim/heard/<sessionId>`: the code the callee of that call heard when they answered.
async fn heard_by_session(State(st): State<Arc<AppState>>, Path(session_id): Path<String>) -> Response {
    heard_answer(st.ctx.heard.by_session(&session_id))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HeardQuery {
    callee_nbr: Option<String>,
}

/// `GET /sim/heard?calleeNbr=%2B8613800000021`: the latest code that phone heard.
async fn heard_by_callee(State(st): State<Arc<AppState>>, Query(query): Query<HeardQuery>) -> Response {
    match query.callee_nbr.filter(|n| !n.trim().is_empty()) {
        Some(callee) => heard_answer(st.ctx.heard.latest_for(&callee)),
        None => control_error(
            StatusCode::BAD_REQUEST,
            "give ?calleeNbr=<number> (its + as %2B), or use /sim/heard/<sessionId>",
        ),
    }
}

async fn health() -> Response {
    json_response(StatusCode::OK, &json!({ "status": "ok" }))
}

fn scenario_view(forced: Option<ScenarioOverride>) -> serde_json::Value {
    let suffixes: serde_json::Map<String, serde_json::Value> =
        CALLEE_SUFFIXES.iter().map(|(suffix, s)| (suffix.to_string(), json!(s.name()))).collect();
    json!({
        "scenario": forced.map(|f| f.scenario.name()),
        "remainingCalls": forced.and_then(|f| f.remaining),
        "calleeSuffixes": suffixes,
        "default": Scenario::Answered.name(),
    })
}

async fn get_scenario(State(st): State<Arc<AppState>>) -> Response {
    let forced = *st.forced();
    json_response(StatusCode::OK, &scenario_view(forced))
}

async fn clear_scenario(State(st): State<Arc<AppState>>) -> Response {
    *st.forced() = None;
    json_response(StatusCode::OK, &scenario_view(None))
}

#[derive(Deserialize)]
struct ScenarioRequest {
    /// A scenario name, or `"auto"` / null to go back to choosing by callee number.
    scenario: Option<String>,
    /// How many following calls it applies to; absent = until changed.
    calls: Option<u32>,
}

async fn set_scenario(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
    let request: ScenarioRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => return control_error(StatusCode::BAD_REQUEST, format!("invalid body: {error}")),
    };
    let forced = match request.scenario.as_deref() {
        None | Some("auto") => None,
        Some(name) => {
            let Some(scenario) = Scenario::parse(name) else {
                let known: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
                return control_error(
                    StatusCode::BAD_REQUEST,
                    format!("unknown scenario {name:?}; expected auto or one of {}", known.join(", ")),
                );
            };
            if request.calls == Some(0) {
                return control_error(StatusCode::BAD_REQUEST, "calls must be at least 1");
            }
            Some(ScenarioOverride { scenario, remaining: request.calls })
        }
    };
    *st.forced() = forced;
    info!(scenario = forced.map(|f| f.scenario.name()).unwrap_or("auto"), "scenario set");
    json_response(StatusCode::OK, &scenario_view(forced))
}

async fn push_sms(State(st): State<Arc<AppState>>, body: Bytes) -> Response {
    let request: SmsRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => return control_error(StatusCode::BAD_REQUEST, format!("invalid body: {error}")),
    };
    let (url, notification) = match sms::build(request, &st.config, &st.ids, OffsetDateTime::now_utc()) {
        Ok(built) => built,
        Err(message) => return control_error(StatusCode::BAD_REQUEST, message),
    };
    let body = serde_json::to_vec(&notification).unwrap_or_default();
    let pusher = st.ctx.pusher.clone();
    let delivered = pusher.send(PushKind::Sms, &url, &body, false).await;
    if !delivered {
        tokio::spawn(async move { pusher.repush_until_delivered(PushKind::Sms, &url, &body).await });
    }
    json_response(StatusCode::OK, &json!({ "delivered": delivered, "notification": notification }))
}

fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route(CALL_VERIFY_PATH, post(call_verify).fallback(invalid_method))
        .route("/sim/stats", get(stats))
        .route("/sim/calls", get(calls))
        .route("/sim/heard", get(heard_by_callee))
        .route("/sim/heard/{session_id}", get(heard_by_session))
        .route("/sim/health", get(health))
        .route("/sim/scenario", get(get_scenario).post(set_scenario).delete(clear_scenario))
        .route("/sim/sms", post(push_sms))
        .fallback(invalid_rest_api)
        .with_state(state)
}

#[derive(Debug)]
pub enum StartError {
    NotLoopback(SocketAddr),
    Bind(std::io::Error),
    HttpClient(reqwest::Error),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::NotLoopback(addr) => {
                write!(f, "refusing to listen on non-loopback address {addr}")
            }
            StartError::Bind(error) => write!(f, "cannot listen: {error}"),
            StartError::HttpClient(error) => write!(f, "cannot build the push client: {error}"),
        }
    }
}

impl std::error::Error for StartError {}

/// A sim serving on `addr()`. Dropping it stops the server and the CDR merger.
pub struct RunningSim {
    addr: SocketAddr,
    state: Arc<AppState>,
    shutdown: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
    merger: JoinHandle<()>,
}

impl RunningSim {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`: what a client uses as VOICE_API_BASE_URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn call_verify_url(&self) -> String {
        format!("{}{CALL_VERIFY_PATH}", self.base_url())
    }

    pub fn stats(&self) -> Stats {
        self.state.stats.snapshot()
    }

    pub fn calls(&self) -> Vec<CallRecord> {
        self.state.calls.list()
    }

    /// The code the callee of `session_id` heard, once they answered (the same as `GET /sim/heard/<sessionId>`).
    pub fn heard(&self, session_id: &str) -> Option<HeardCode> {
        self.state.ctx.heard.by_session(session_id)
    }

    /// Stops accepting, lets in-flight requests finish for up to `grace`, then aborts.
    pub async fn shutdown(mut self, grace: Duration) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = tokio::time::timeout(grace, &mut self.server).await;
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.server.abort();
        self.merger.abort();
    }
}

/// Binds (loopback only) and serves in the background.
pub async fn start(config: Config) -> Result<RunningSim, StartError> {
    if !config.listen.ip().is_loopback() {
        return Err(StartError::NotLoopback(config.listen));
    }
    let listener = tokio::net::TcpListener::bind(config.listen).await.map_err(StartError::Bind)?;
    let addr = listener.local_addr().map_err(StartError::Bind)?;
    let config = Arc::new(config);
    let stats = Arc::new(SharedStats::default());
    let pusher = Pusher::new(config.clone(), stats.clone()).map_err(StartError::HttpClient)?;
    let (cdrs, merger) = cdr_queue::start(pusher.clone(), stats.clone(), config.merge_window, config.max_cdrs_per_push);
    let state = Arc::new(AppState {
        config: config.clone(),
        stats,
        calls: CallLog::default(),
        ids: IdGenerator::default(),
        forced: Mutex::new(None),
        ctx: CallContext { config, pusher, cdrs, heard: Arc::new(HeardLog::default()) },
    });
    let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
    let app = router(state.clone());
    let server = tokio::spawn(async move {
        let serving = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = shutdown_rx.await;
        });
        if let Err(error) = serving.await {
            warn!(%error, "server stopped with an error");
        }
    });
    Ok(RunningSim { addr, state, shutdown: Some(shutdown_tx), server, merger })
}
