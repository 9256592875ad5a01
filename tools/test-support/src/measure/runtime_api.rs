//! A fake Lambda Runtime API for one process, on 127.0.0.1: it hands out the invocations queued for it one per
//! `next`, holds a `next` open while none is queued (as Lambda does while it freezes the process), and reports
//! when it handed out each event (for the first: init done) and when the answer was posted
//! (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html). A cold-start round queues one invocation; a
//! warm series queues the next only after the previous one was answered, as Lambda hands one event at a time to
//! an execution environment.

use std::io;
use std::net::SocketAddr;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// Lambda's own default function timeout is 3 s; 30 s leaves room for a debug build on a loaded 2-core machine.
pub(super) const ROUND_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a round checks whether the process has exited (only decides failures, never a measured time).
const EXIT_POLL: Duration = Duration::from_millis(10);
const API: &str = "/2018-06-01/runtime";
/// Lambda's limit for a synchronous response; anything larger is a broken client, not a body to buffer.
const MAX_BODY: usize = 6 * 1024 * 1024;

/// Times of an answered invocation, relative to the spawn.
pub(super) struct Timing {
    pub(super) ready: Duration,
    pub(super) answered: Duration,
    pub(super) body: Vec<u8>,
}

/// One invocation: its event and the ids Lambda sends with it.
pub(super) struct Invocation {
    request_id: String,
    function_arn: String,
    event: String,
}

impl Invocation {
    pub(super) fn new(name: &str, event: String) -> Self {
        let request_id = random_hex(32);
        let request_id = format!(
            "{}-{}-{}-{}-{}",
            &request_id[..8],
            &request_id[8..12],
            &request_id[12..16],
            &request_id[16..20],
            &request_id[20..]
        );
        let function_arn = format!("arn:aws:lambda:us-east-1:000000000000:function:{name}");
        Self { request_id, function_arn, event }
    }

    fn path(&self, action: &str) -> String {
        format!("{API}/invocation/{}/{action}", self.request_id)
    }

    /// The headers Lambda sends with an event (lambda_runtime requires the request id, deadline and ARN).
    fn headers(&self) -> Vec<(&'static str, String)> {
        let deadline = SystemTime::now() + ROUND_TIMEOUT;
        let deadline_ms = deadline.duration_since(UNIX_EPOCH).unwrap_or_default().as_millis();
        let trace_id = format!("Root=1-{}-{};Parent={};Sampled=0", random_hex(8), random_hex(24), random_hex(16));
        vec![
            ("Lambda-Runtime-Aws-Request-Id", self.request_id.clone()),
            ("Lambda-Runtime-Deadline-Ms", deadline_ms.to_string()),
            ("Lambda-Runtime-Invoked-Function-Arn", self.function_arn.clone()),
            ("Lambda-Runtime-Trace-Id", trace_id),
        ]
    }
}

fn random_hex(digits: usize) -> String {
    (0..digits).map(|_| char::from_digit(rand::random_range(0..16), 16).unwrap_or('0')).collect()
}

/// What the process did, as the server saw it, stamped on arrival.
enum Report {
    /// A `GET …/invocation/next` answered with an event, stamped when the event was handed out.
    Ready(Instant),
    /// `POST …/invocation/<id>/response`, body complete.
    Answered(Instant, Vec<u8>),
    /// `/invocation/<id>/error`, `/init/error`, or a request that has no place in this protocol.
    Failed(String),
}

/// A fake Lambda Runtime API for one process. Dropping it stops the server and every connection.
pub(super) struct RuntimeApi {
    pub(super) addr: SocketAddr,
    reports: mpsc::UnboundedReceiver<Report>,
    /// Where invocations are queued; `None` once closed (every later `next` is then held for good).
    queue: Option<mpsc::UnboundedSender<Arc<Invocation>>>,
    _server: JoinSet<()>,
}

/// The server's side: the queued invocations and those handed out (whose answers it accepts).
struct Shared {
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<Arc<Invocation>>>,
    delivered: Mutex<Vec<Arc<Invocation>>>,
}

impl Shared {
    fn delivered(&self, path: &str, action: &str) -> bool {
        let delivered = self.delivered.lock().unwrap_or_else(|p| p.into_inner());
        delivered.iter().any(|invocation| invocation.path(action) == path)
    }
}

impl RuntimeApi {
    /// A cold-start round: `invocation` and nothing after it.
    pub(super) async fn start(invocation: Invocation) -> io::Result<Self> {
        let mut api = Self::open().await?;
        api.queue_invocation(invocation);
        api.queue = None;
        Ok(api)
    }

    /// A server with nothing queued yet: queue invocations with [`Self::queue_invocation`].
    pub(super) async fn open() -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (sender, reports) = mpsc::unbounded_channel();
        let (queue, queued) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared { queue: tokio::sync::Mutex::new(queued), delivered: Mutex::new(Vec::new()) });
        let mut server = JoinSet::new();
        server.spawn(accept(listener, shared, sender));
        Ok(Self { addr, reports, queue: Some(queue), _server: server })
    }

    /// Queues one invocation for the process's next `next`; false when the queue is closed.
    pub(super) fn queue_invocation(&mut self, invocation: Invocation) -> bool {
        self.queue.as_ref().is_some_and(|queue| queue.send(Arc::new(invocation)).is_ok())
    }

    /// Waits for the answer of the process spawned at `started`, or for the way it failed.
    pub(super) async fn await_answer(&mut self, child: &mut Child, started: Instant) -> Result<Timing, String> {
        let timeout = tokio::time::sleep(ROUND_TIMEOUT);
        tokio::pin!(timeout);
        let mut exit_poll = tokio::time::interval(EXIT_POLL);
        let mut ready = None;
        loop {
            tokio::select! {
                biased;
                report = self.reports.recv() => match report {
                    Some(report) => {
                        if let Some(end) = Self::judge(report, started, &mut ready) {
                            return end;
                        }
                    }
                    None => return Err("the fake runtime API stopped".into()),
                },
                _ = exit_poll.tick() => {
                    if let Some(status) = child.try_wait().map_err(|e| format!("waiting for the process: {e}"))? {
                        return self.after_exit(status, started, &mut ready);
                    }
                }
                _ = &mut timeout => return Err(format!("no answer within {} s", ROUND_TIMEOUT.as_secs())),
            }
        }
    }

    /// A process posts `/init/error` and waits for our 202 before exiting, so its report is queued by the time the
    /// exit is seen; take it, so the failure says what was posted.
    fn after_exit(
        &mut self,
        status: std::process::ExitStatus,
        started: Instant,
        ready: &mut Option<Duration>,
    ) -> Result<Timing, String> {
        while let Ok(report) = self.reports.try_recv() {
            if let Some(end) = Self::judge(report, started, ready) {
                return end;
            }
        }
        let stage = if ready.is_some() { "after asking for the invocation" } else { "during init" };
        Err(format!("exited ({status}) {stage} without answering"))
    }

    /// `Some` once the round is decided.
    fn judge(report: Report, started: Instant, ready: &mut Option<Duration>) -> Option<Result<Timing, String>> {
        match report {
            Report::Ready(at) => {
                *ready = Some(at.saturating_duration_since(started));
                None
            }
            Report::Answered(at, body) => Some(match *ready {
                Some(ready) => Ok(Timing { ready, answered: at.saturating_duration_since(started), body }),
                None => Err("answered before asking for the invocation".into()),
            }),
            Report::Failed(what) => Some(Err(what)),
        }
    }
}

/// Connections are tasks of this task's set, so they end with it (a held `next` included).
async fn accept(listener: TcpListener, shared: Arc<Shared>, reports: mpsc::UnboundedSender<Report>) {
    let mut connections = JoinSet::new();
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                connections.spawn(serve(stream, shared.clone(), reports.clone()));
            }
            Err(e) => {
                let _ = reports.send(Report::Failed(format!("fake runtime API accept: {e}")));
                return;
            }
        }
        // Finished connections would otherwise pile up in the set until the round ends.
        while connections.try_join_next().is_some() {}
    }
}

/// One keep-alive connection of the runtime client: requests one after another until it closes.
async fn serve(stream: TcpStream, shared: Arc<Shared>, reports: mpsc::UnboundedSender<Report>) {
    let mut stream = BufReader::new(stream);
    loop {
        let request = match read_request(&mut stream).await {
            Ok(Some(request)) => request,
            Ok(None) => return,
            Err(e) => {
                let _ = reports.send(Report::Failed(format!("unreadable request to the runtime API: {e}")));
                return;
            }
        };
        let at = Instant::now();
        match route(&request, &shared, at) {
            Reply::Next => {
                // Waits for the next queued invocation; a closed, empty queue holds this `next` for good.
                let next = shared.queue.lock().await.recv().await;
                let Some(invocation) = next else { return hold(&mut stream).await };
                shared.delivered.lock().unwrap_or_else(|p| p.into_inner()).push(invocation.clone());
                let _ = reports.send(Report::Ready(Instant::now()));
                let headers = invocation.headers();
                let _ = respond(&mut stream, "200 OK", &headers, invocation.event.as_bytes()).await;
            }
            Reply::Accepted(report) => {
                let _ = reports.send(report);
                let _ = respond(&mut stream, "202 Accepted", &[], br#"{"status":"OK"}"#).await;
            }
            Reply::NotFound(report) => {
                let _ = reports.send(report);
                let _ = respond(&mut stream, "404 Not Found", &[], br#"{"errorType":"NotFound"}"#).await;
            }
        }
    }
}

enum Reply {
    /// Answer the `next` with the next queued event, when there is one.
    Next,
    /// 202 to a response or error post.
    Accepted(Report),
    NotFound(Report),
}

/// The Runtime API endpoints (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html).
fn route(request: &Request, shared: &Shared, at: Instant) -> Reply {
    let posted = || String::from_utf8_lossy(&request.body).into_owned();
    let path = request.path.as_str();
    match request.method.as_str() {
        "GET" if path == format!("{API}/invocation/next") => Reply::Next,
        "POST" if shared.delivered(path, "response") => Reply::Accepted(Report::Answered(at, request.body.clone())),
        "POST" if shared.delivered(path, "error") || path == format!("{API}/init/error") => {
            Reply::Accepted(Report::Failed(format!("posted {path}: {}", posted())))
        }
        method => Reply::NotFound(Report::Failed(format!("unexpected {method} {path}: {}", posted()))),
    }
}

/// Keeps a `next` open until the process goes away (the round's end kills it, or drops this task).
async fn hold(stream: &mut BufReader<TcpStream>) {
    let mut sink = [0u8; 512];
    while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
}

struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
}

/// One HTTP/1.1 request: request line, headers, then a body by Content-Length or chunked (lambda_runtime streams
/// chunked responses). `None` when the client closed the connection between requests.
async fn read_request(stream: &mut BufReader<TcpStream>) -> io::Result<Option<Request>> {
    let mut line = String::new();
    if stream.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    let mut words = line.split_whitespace();
    let (Some(method), Some(path)) = (words.next(), words.next()) else {
        return Err(invalid(format!("request line {line:?}")));
    };
    let (method, path) = (method.to_owned(), path.to_owned());
    let (length, chunked) = read_headers(stream).await?;
    let body = match chunked {
        true => read_chunked(stream).await?,
        false => read_exact(stream, length).await?,
    };
    Ok(Some(Request { method, path, body }))
}

/// Content-Length (0 when absent) and whether the body is chunked.
async fn read_headers(stream: &mut BufReader<TcpStream>) -> io::Result<(usize, bool)> {
    let (mut length, mut chunked) = (0, false);
    loop {
        let line = read_line(stream).await?;
        if line.is_empty() {
            return Ok((length, chunked));
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(invalid(format!("header {line:?}")));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse().map_err(|_| invalid(format!("content-length {value:?}")))?;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        }
    }
}

async fn read_chunked(stream: &mut BufReader<TcpStream>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(stream).await?;
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16).map_err(|_| invalid(format!("chunk size {size:?}")))?;
        if size == 0 {
            // Trailers (lambda_runtime reports mid-stream errors there), then the empty line.
            while !read_line(stream).await?.is_empty() {}
            return Ok(body);
        }
        body.extend(read_exact(stream, size).await?);
        if body.len() > MAX_BODY {
            return Err(invalid(format!("body over {MAX_BODY} bytes")));
        }
        read_line(stream).await?;
    }
}

async fn read_exact(stream: &mut BufReader<TcpStream>, length: usize) -> io::Result<Vec<u8>> {
    if length > MAX_BODY {
        return Err(invalid(format!("body of {length} bytes")));
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await?;
    Ok(body)
}

/// A line without its CRLF; end of stream in the middle of a request is an error.
async fn read_line(stream: &mut BufReader<TcpStream>) -> io::Result<String> {
    let mut line = String::new();
    if stream.read_line(&mut line).await? == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

async fn respond(
    stream: &mut BufReader<TcpStream>,
    status: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut message = head.into_bytes();
    message.extend_from_slice(body);
    let stream = stream.get_mut();
    stream.write_all(&message).await?;
    stream.flush().await
}

fn invalid(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}
