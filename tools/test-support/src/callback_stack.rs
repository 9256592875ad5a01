//! The seven functions served by `cargo lambda watch` (its Lambda emulator: HTTP in, Function URL event to the
//! runtime API; Invoke API for the trigger), running the binaries `cargo build --workspace --all-targets`
//! built. `--only-lambda-apis` keeps watch from compiling them again.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::processes;

pub const FUNCTION_BINS: [&str; 7] = [
    "status-callback",
    "fee-callback",
    "sms-callback",
    "trigger-verification-call",
    "get-call-outcome",
    "outcome-publisher",
    "check-verification",
];

pub struct FunctionStack {
    port: u16,
    watch: Child,
    functions: Vec<Child>,
    names: Vec<String>,
    /// Where each function's stdout+stderr goes (JSON log lines), for log assertions.
    pub log_dir: PathBuf,
}

impl FunctionStack {
    /// Starts the emulator on `port` (from [`crate::free_port`]) and the functions with `env` (TABLE_NAME,
    /// AWS_ENDPOINT_URL_DYNAMODB, …).
    pub fn start(port: u16, env: &[(&str, &str)]) -> Self {
        Self::start_binaries(port, env, &FUNCTION_BINS.map(|bin| (bin, crate::debug_binary(bin))))
    }

    /// The same with other binaries (`make bench`: the release build, an empty handler), each served as the
    /// function of its name.
    pub fn start_binaries(port: u16, env: &[(&str, &str)], functions: &[(&str, PathBuf)]) -> Self {
        let root = crate::workspace_root();
        let log_dir = std::env::temp_dir().join(crate::unique_name("callback-logs"));
        std::fs::create_dir_all(&log_dir).expect("log dir");
        let mut watch = Command::new(cargo_lambda());
        watch
            .current_dir(&root)
            .args(["lambda", "watch", "--only-lambda-apis", "--invoke-address", "127.0.0.1", "--invoke-port"])
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(log_file(&log_dir, "watch"));
        let watch = processes::spawn(watch).expect("start cargo lambda watch");
        let names = functions.iter().map(|(name, _)| (*name).to_owned()).collect();
        let mut stack = Self { port, watch, functions: Vec::new(), names, log_dir };
        stack.wait_for_port(Duration::from_secs(60));
        for (bin, binary) in functions {
            let mut function = Command::new(binary);
            function
                .envs(env.iter().copied())
                .env("AWS_LAMBDA_RUNTIME_API", format!("http://127.0.0.1:{port}/.rt/{bin}"))
                .env("AWS_LAMBDA_FUNCTION_NAME", bin)
                .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
                .stdout(log_file(&stack.log_dir, bin))
                .stderr(log_file(&stack.log_dir, bin));
            stack.functions.push(processes::spawn(function).expect("start function binary"));
        }
        stack
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Invokes a function through the emulator's Lambda Invoke API: `Ok(answer)` or `Err((errorType, message))`.
    pub async fn invoke(
        &self,
        function: &str,
        event: &serde_json::Value,
    ) -> Result<serde_json::Value, (String, String)> {
        let (failed, body) = self.invoke_raw(function, event).await;
        function_result(failed, body)
    }

    /// The same, as the Invoke API answered: whether it is a function error, and the body.
    pub async fn invoke_raw(&self, function: &str, event: &serde_json::Value) -> (bool, serde_json::Value) {
        let url = self.url(&format!("/2015-03-31/functions/{function}/invocations"));
        let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("HTTP client");
        let response = client.post(&url).json(event).send().await.unwrap_or_else(|e| panic!("invoke {function}: {e}"));
        let failed = !response.status().is_success() || response.headers().contains_key("x-amz-function-error");
        (failed, response.json().await.expect("invoke answers JSON"))
    }

    /// Everything the functions logged so far.
    pub fn function_logs(&self) -> String {
        self.names
            .iter()
            .map(|bin| std::fs::read_to_string(self.log_dir.join(format!("{bin}.log"))).unwrap_or_default())
            .collect()
    }

    fn wait_for_port(&mut self, limit: Duration) {
        let what = format!("cargo lambda watch (see {})", self.log_dir.display());
        processes::wait_for_port(&mut self.watch, self.port, limit, &what);
    }
}

impl Drop for FunctionStack {
    fn drop(&mut self) {
        for function in &mut self.functions {
            processes::kill_group(function);
        }
        processes::kill_group(&mut self.watch);
    }
}

/// An Invoke API answer as `Ok(answer)` or `Err((errorType, message))`.
pub fn function_result(failed: bool, body: serde_json::Value) -> Result<serde_json::Value, (String, String)> {
    match body.get("errorType").and_then(|t| t.as_str()) {
        Some(error_type) => Err((error_type.to_owned(), body["errorMessage"].as_str().unwrap_or_default().to_owned())),
        None if failed => Err(("<unknown>".into(), body.to_string())),
        None => Ok(body),
    }
}

fn log_file(dir: &std::path::Path, name: &str) -> std::fs::File {
    std::fs::OpenOptions::new().create(true).append(true).open(dir.join(format!("{name}.log"))).expect("log file")
}

/// `cargo-lambda` from the project venv (`make setup`), else from PATH.
fn cargo_lambda() -> PathBuf {
    let venv = crate::workspace_root().join(".venv/bin/cargo-lambda");
    if venv.is_file() {
        venv
    } else {
        PathBuf::from("cargo-lambda")
    }
}
