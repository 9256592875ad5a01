use std::process::ExitCode;
use std::time::Duration;

use tracing::info;
use voice_platform_sim::config::{Config, Invocation};
use voice_platform_sim::{start, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_env_and_args(std::env::args().skip(1), |name| std::env::var(name).ok()) {
        Ok(Invocation::Run(config)) => *config,
        Ok(Invocation::Help(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("voice-platform-sim: {message}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    info!(config = ?config, "starting");
    let sim = match start(config).await {
        Ok(sim) => sim,
        Err(error) => {
            eprintln!("voice-platform-sim: {error}");
            return ExitCode::FAILURE;
        }
    };
    info!(addr = %sim.addr(), call_verify = %sim.call_verify_url(), "listening");
    wait_for_stop_signal().await;
    info!("stopping");
    sim.shutdown(Duration::from_secs(2)).await;
    ExitCode::SUCCESS
}

/// Ctrl-C or SIGTERM (what `make run` and process managers send).
async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
