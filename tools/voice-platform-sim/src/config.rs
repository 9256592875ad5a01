//! Configuration from environment variables and CLI flags (flags win). One table drives parsing and `--help`,
//! so the two cannot drift apart.

use std::collections::BTreeSet;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use time::OffsetDateTime;

use crate::time_fmt;

/// Whether pushes carry `Authorization` + `X-AKSK` (Huawei's docs disagree on this, docs/huawei-protocol.md, "What the
/// sources say").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushAuth {
    /// Same scheme as requests: `Base64(HMAC-SHA256(secret, Nonce + Created))`.
    Aksk,
    /// No auth headers, as the 2021 FAQ describes.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

#[derive(Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub app_key: String,
    pub app_secret: String,
    pub max_clock_skew: Duration,
    /// Voice files that count as "uploaded and approved" for `preTone` / `posTone`.
    pub tones: BTreeSet<String>,
    /// Pause before each status event (callout, alerting, …); also advances the simulated call clock.
    pub event_delay: Duration,
    /// Pause between the disconnect event and queuing the CDR.
    pub cdr_delay: Duration,
    /// Pause between the disconnect event and queuing the CDR in the `late-cdr` scenario (instead of `cdr_delay`).
    pub late_cdr_delay: Duration,
    /// CDRs queued within one window are merged when their `callEndTime` (and feeUrl) are equal.
    pub merge_window: Duration,
    pub max_cdrs_per_push: usize,
    pub repush_interval: Duration,
    pub max_repushes: u32,
    /// Every push (status, CDR, SMS) is sent this many times in a row.
    pub duplicates: u32,
    pub push_auth: PushAuth,
    pub push_timeout: Duration,
    /// Off by default so a stray callback URL never makes the sim call a real endpoint.
    pub allow_remote_push: bool,
    /// How long the `timeout` scenario holds the callVerify request before answering.
    pub timeout_hang: Duration,
    /// Whether a `timeout` call is still placed (and pushed) — the "outcome unknown" case.
    pub timeout_places_call: bool,
    /// HTTP status of the `throttled` answer (1010010 flow control; Huawei pairs no status with it).
    pub throttle_http_status: u16,
    pub idle_ports: u16,
    /// Console-configured URLs, used when a request carries no statusUrl / feeUrl.
    pub default_status_url: Option<String>,
    pub default_fee_url: Option<String>,
    /// Pins every call's start time (deterministic timestamps and CDR merging in tests).
    pub fixed_call_time: Option<OffsetDateTime>,
    pub sp_id: String,
    pub host_name: String,
    pub log_format: LogFormat,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 9100)),
            app_key: "local-app-key".into(),
            app_secret: "local-app-secret".into(),
            max_clock_skew: Duration::from_secs(300),
            tones: ["welcome.wav", "bye.wav", "pretone.wav", "postone.wav"].into_iter().map(String::from).collect(),
            event_delay: Duration::from_millis(500),
            cdr_delay: Duration::from_millis(500),
            late_cdr_delay: Duration::from_secs(3),
            merge_window: Duration::from_millis(200),
            max_cdrs_per_push: 50,
            repush_interval: Duration::from_secs(3600),
            max_repushes: 6,
            duplicates: 1,
            push_auth: PushAuth::Aksk,
            push_timeout: Duration::from_secs(10),
            allow_remote_push: false,
            timeout_hang: Duration::from_secs(30),
            timeout_places_call: true,
            throttle_http_status: 200,
            idle_ports: 100,
            default_status_url: None,
            default_fee_url: None,
            fixed_call_time: None,
            sp_id: "CaaS_Test_01".into(),
            host_name: "callenabler245.huaweicaas.com".into(),
            log_format: LogFormat::Json,
        }
    }
}

/// The secret stays out of every `{:?}`, so it cannot leak into logs.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("app_key", &self.app_key)
            .field("app_secret", &"<redacted>")
            .field("max_clock_skew", &self.max_clock_skew)
            .field("tones", &self.tones)
            .field("event_delay", &self.event_delay)
            .field("cdr_delay", &self.cdr_delay)
            .field("late_cdr_delay", &self.late_cdr_delay)
            .field("merge_window", &self.merge_window)
            .field("repush_interval", &self.repush_interval)
            .field("max_repushes", &self.max_repushes)
            .field("duplicates", &self.duplicates)
            .field("push_auth", &self.push_auth)
            .field("push_timeout", &self.push_timeout)
            .field("allow_remote_push", &self.allow_remote_push)
            .field("timeout_hang", &self.timeout_hang)
            .field("timeout_places_call", &self.timeout_places_call)
            .field("throttle_http_status", &self.throttle_http_status)
            .field("fixed_call_time", &self.fixed_call_time)
            .finish_non_exhaustive()
    }
}

/// What the command line asked for.
#[derive(Debug)]
pub enum Invocation {
    Run(Box<Config>),
    Help(String),
}

type Apply = fn(&mut Config, &str) -> Result<(), String>;

struct Opt {
    flag: &'static str,
    env: &'static [&'static str],
    value: &'static str,
    help: &'static str,
    apply: Apply,
}

const OPTIONS: &[Opt] = &[
    Opt {
        flag: "--listen",
        env: &["SIM_LISTEN"],
        value: "ADDR",
        help: "listen address, loopback only [127.0.0.1:9100]",
        apply: |c, v| {
            let addr: SocketAddr = v.parse().map_err(|_| format!("not a socket address: {v}"))?;
            if !addr.ip().is_loopback() {
                return Err(format!("refusing to listen on non-loopback address {addr}"));
            }
            c.listen = addr;
            Ok(())
        },
    },
    Opt {
        flag: "--app-key",
        env: &["SIM_APP_KEY", "VOICE_APP_KEY"],
        value: "KEY",
        help: "expected X-AKSK Username [local-app-key]",
        apply: |c, v| {
            c.app_key = non_empty(v)?;
            Ok(())
        },
    },
    Opt {
        flag: "--app-secret",
        env: &["SIM_APP_SECRET", "VOICE_APP_SECRET"],
        value: "SECRET",
        help: "HMAC key for digests [local-app-secret]",
        apply: |c, v| {
            c.app_secret = non_empty(v)?;
            Ok(())
        },
    },
    Opt {
        flag: "--max-clock-skew",
        env: &["SIM_MAX_CLOCK_SKEW"],
        value: "DUR",
        help: "allowed |now - Created| [5m]",
        apply: |c, v| {
            c.max_clock_skew = parse_duration(v)?;
            Ok(())
        },
    },
    Opt {
        flag: "--tones",
        env: &["SIM_TONES"],
        value: "LIST",
        help: "comma-separated uploaded voice files [welcome.wav,bye.wav,pretone.wav,postone.wav]",
        apply: |c, v| {
            c.tones = v.split(',').map(str::trim).filter(|t| !t.is_empty()).map(String::from).collect();
            Ok(())
        },
    },
    Opt {
        flag: "--event-delay",
        env: &["SIM_EVENT_DELAY"],
        value: "DUR",
        help: "pause before each status event [500ms]",
        apply: |c, v| {
            c.event_delay = parse_duration(v)?;
            Ok(())
        },
    },
    Opt {
        flag: "--cdr-delay",
        env: &["SIM_CDR_DELAY"],
        value: "DUR",
        help: "pause between disconnect and the CDR [500ms]",
        apply: |c, v| {
            c.cdr_delay = parse_duration(v)?;
            Ok(())
        },
    },
    Opt {
        flag: "--late-cdr-delay",
        env: &["SIM_LATE_CDR_DELAY"],
        value: "DUR",
        help: "pause between disconnect and the CDR in the late-cdr scenario [3s]",
        apply: |c, v| {
            c.late_cdr_delay = parse_duration(v)?;
            Ok(())
        },
    },
    Opt {
        flag: "--merge-window",
        env: &["SIM_MERGE_WINDOW"],
        value: "DUR",
        help: "CDRs queued within it with equal callEndTime share one push [200ms]",
        apply: |c, v| {
            c.merge_window = parse_duration(v)?;
            Ok(())
        },
    },
    Opt {
        flag: "--repush-interval",
        env: &["SIM_REPUSH_INTERVAL"],
        value: "DUR",
        help: "wait between CDR/SMS re-pushes [1h]",
        apply: |c, v| {
            c.repush_interval = parse_duration(v)?;
            Ok(())
        },
    },
    Opt {
        flag: "--max-repushes",
        env: &["SIM_MAX_REPUSHES"],
        value: "N",
        help: "re-pushes after a failed CDR/SMS push [6]",
        apply: |c, v| {
            c.max_repushes = parse_num(v)?;
            Ok(())
        },
    },
    Opt {
        flag: "--duplicates",
        env: &["SIM_DUPLICATES"],
        value: "N",
        help: "send every push N times [1]",
        apply: |c, v| {
            c.duplicates = parse_num(v)?;
            if c.duplicates == 0 {
                return Err("--duplicates must be at least 1".into());
            }
            Ok(())
        },
    },
    Opt {
        flag: "--push-auth",
        env: &["SIM_PUSH_AUTH"],
        value: "aksk|none",
        help: "sign pushes with Authorization + X-AKSK [aksk]",
        apply: |c, v| {
            c.push_auth = match v {
                "aksk" => PushAuth::Aksk,
                "none" => PushAuth::None,
                _ => return Err(format!("--push-auth: expected aksk or none, got {v}")),
            };
            Ok(())
        },
    },
    Opt {
        flag: "--push-timeout",
        env: &["SIM_PUSH_TIMEOUT"],
        value: "DUR",
        help: "HTTP timeout of one push [10s]",
        apply: |c, v| {
            c.push_timeout = parse_duration(v)?;
            Ok(())
        },
    },
    Opt {
        flag: "--allow-remote-push",
        env: &["SIM_ALLOW_REMOTE_PUSH"],
        value: "BOOL",
        help: "allow pushes to non-loopback hosts [false]",
        apply: |c, v| {
            c.allow_remote_push = parse_bool(v)?;
            Ok(())
        },
    },
    Opt {
        flag: "--timeout-hang",
        env: &["SIM_TIMEOUT_HANG"],
        value: "DUR",
        help: "how long the timeout scenario holds callVerify [30s]",
        apply: |c, v| {
            c.timeout_hang = parse_duration(v)?;
            Ok(())
        },
    },
    Opt {
        flag: "--timeout-places-call",
        env: &["SIM_TIMEOUT_PLACES_CALL"],
        value: "BOOL",
        help: "timeout scenario still places the call and pushes [true]",
        apply: |c, v| {
            c.timeout_places_call = parse_bool(v)?;
            Ok(())
        },
    },
    Opt {
        flag: "--throttle-http-status",
        env: &["SIM_THROTTLE_HTTP_STATUS"],
        value: "CODE",
        help: "HTTP status of the throttled (1010010) answer [200]",
        apply: |c, v| {
            let code: u16 = parse_num(v)?;
            if !(100..=599).contains(&code) {
                return Err(format!("not an HTTP status: {v}"));
            }
            c.throttle_http_status = code;
            Ok(())
        },
    },
    Opt {
        flag: "--idle-ports",
        env: &["SIM_IDLE_PORTS"],
        value: "N",
        help: "idlePort answered when returnIdlePort is \"true\" [100]",
        apply: |c, v| {
            c.idle_ports = parse_num(v)?;
            Ok(())
        },
    },
    Opt {
        flag: "--default-status-url",
        env: &["SIM_DEFAULT_STATUS_URL"],
        value: "URL",
        help: "console status URL, used when a request has no statusUrl (plain, not Base64)",
        apply: |c, v| {
            c.default_status_url = Some(non_empty(v)?);
            Ok(())
        },
    },
    Opt {
        flag: "--default-fee-url",
        env: &["SIM_DEFAULT_FEE_URL"],
        value: "URL",
        help: "console CDR URL, used when a request has no feeUrl (plain, not Base64)",
        apply: |c, v| {
            c.default_fee_url = Some(non_empty(v)?);
            Ok(())
        },
    },
    Opt {
        flag: "--fixed-call-time",
        env: &["SIM_FIXED_CALL_TIME"],
        value: "TIME",
        help: "pin every call's start, e.g. 2019-01-24T03:04:24Z [unset: wall clock]",
        apply: |c, v| {
            c.fixed_call_time =
                Some(time_fmt::parse_created(v).ok_or_else(|| format!("expected yyyy-MM-ddTHH:mm:ssZ, got {v}"))?);
            Ok(())
        },
    },
    Opt {
        flag: "--sp-id",
        env: &["SIM_SP_ID"],
        value: "ID",
        help: "spId in CDRs [CaaS_Test_01]",
        apply: |c, v| {
            c.sp_id = non_empty(v)?;
            Ok(())
        },
    },
    Opt {
        flag: "--host-name",
        env: &["SIM_HOST_NAME"],
        value: "HOST",
        help: "hostName in CDRs and sessionIds [callenabler245.huaweicaas.com]",
        apply: |c, v| {
            c.host_name = non_empty(v)?;
            Ok(())
        },
    },
    Opt {
        flag: "--log-format",
        env: &["SIM_LOG_FORMAT"],
        value: "json|text",
        help: "log output format [json]; filter with RUST_LOG",
        apply: |c, v| {
            c.log_format = match v {
                "json" => LogFormat::Json,
                "text" => LogFormat::Text,
                _ => return Err(format!("--log-format: expected json or text, got {v}")),
            };
            Ok(())
        },
    },
];

fn non_empty(v: &str) -> Result<String, String> {
    if v.trim().is_empty() {
        Err("value must not be empty".into())
    } else {
        Ok(v.to_string())
    }
}

fn parse_num<T: std::str::FromStr>(v: &str) -> Result<T, String> {
    v.trim().parse().map_err(|_| format!("not a valid number: {v}"))
}

fn parse_bool(v: &str) -> Result<bool, String> {
    match v.trim() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(format!("expected true or false, got {v}")),
    }
}

/// `250ms`, `5s`, `5m`, `1h`; the unit is required so `--repush-interval 200` is not silently 200 hours or ms.
pub fn parse_duration(v: &str) -> Result<Duration, String> {
    let v = v.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (number, unit) = v.split_at(split);
    let n: u64 = number.parse().map_err(|_| format!("not a duration: {v} (use e.g. 200ms, 5s, 5m, 1h)"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n.saturating_mul(60))),
        "h" => Ok(Duration::from_secs(n.saturating_mul(3600))),
        _ => Err(format!("not a duration: {v} (use e.g. 200ms, 5s, 5m, 1h)")),
    }
}

pub fn usage() -> String {
    let mut text = String::from(
        "voice-platform-sim: local stand-in for Huawei Cloud's voice platform\n\n\
         USAGE: voice-platform-sim [--flag VALUE | --flag=VALUE]...\n\n\
         Every flag can also be set by the environment variable(s) shown; flags win.\n\
         DUR is a number with a unit: ms, s, m or h.\n\n",
    );
    for opt in OPTIONS {
        let left = format!("{} {}", opt.flag, opt.value);
        text.push_str(&format!("  {left:<34} {}\n", opt.help));
        text.push_str(&format!("  {:<34} env: {}\n", "", opt.env.join(" or ")));
    }
    text.push_str(&format!("  {:<34} print this text\n", "--help"));
    text
}

impl Config {
    /// Environment first (first listed variable that is set wins), then flags in order.
    pub fn from_env_and_args<I, F>(args: I, env: F) -> Result<Invocation, String>
    where
        I: IntoIterator<Item = String>,
        F: Fn(&str) -> Option<String>,
    {
        let mut config = Config::default();
        for opt in OPTIONS {
            if let Some((name, value)) = opt.env.iter().find_map(|name| env(name).map(|v| (*name, v))) {
                (opt.apply)(&mut config, &value).map_err(|e| format!("{name}: {e}"))?;
            }
        }
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            if arg == "--help" || arg == "-h" {
                return Ok(Invocation::Help(usage()));
            }
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) => (flag.to_string(), Some(value.to_string())),
                None => (arg.clone(), None),
            };
            let opt = OPTIONS
                .iter()
                .find(|opt| opt.flag == flag)
                .ok_or_else(|| format!("unknown argument {arg} (see --help)"))?;
            let value = match inline {
                Some(value) => value,
                None => args.next().ok_or_else(|| format!("{flag} needs a value ({})", opt.value))?,
            };
            (opt.apply)(&mut config, &value).map_err(|e| format!("{flag}: {e}"))?;
        }
        Ok(Invocation::Run(Box::new(config)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], env: &[(&str, &str)]) -> Result<Config, String> {
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let lookup = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        match Config::from_env_and_args(args.iter().map(|s| s.to_string()), lookup)? {
            Invocation::Run(config) => Ok(*config),
            Invocation::Help(_) => Err("help".into()),
        }
    }

    #[test]
    fn flags_override_env_and_voice_vars_are_a_fallback() {
        let c = parse(
            &["--repush-interval", "200ms", "--app-key=flag-key"],
            &[("VOICE_APP_KEY", "env-key"), ("VOICE_APP_SECRET", "env-secret"), ("SIM_DUPLICATES", "3")],
        )
        .unwrap();
        assert_eq!(c.app_key, "flag-key");
        assert_eq!(c.app_secret, "env-secret");
        assert_eq!(c.duplicates, 3);
        assert_eq!(c.repush_interval, Duration::from_millis(200));
    }

    #[test]
    fn late_cdr_delay_from_flag_and_env() {
        assert_eq!(Config::default().late_cdr_delay, Duration::from_secs(3));
        assert_eq!(parse(&["--late-cdr-delay", "750ms"], &[]).unwrap().late_cdr_delay, Duration::from_millis(750));
        assert_eq!(parse(&[], &[("SIM_LATE_CDR_DELAY", "10s")]).unwrap().late_cdr_delay, Duration::from_secs(10));
        assert!(parse(&["--late-cdr-delay=5"], &[]).is_err());
        assert!(usage().contains("--late-cdr-delay"));
    }

    #[test]
    fn refuses_non_loopback_listen_and_unitless_durations() {
        assert!(parse(&["--listen", "0.0.0.0:9100"], &[]).unwrap_err().contains("non-loopback"));
        assert!(parse(&["--event-delay", "200"], &[]).is_err());
        assert!(parse(&["--bogus", "1"], &[]).is_err());
        assert_eq!(parse(&["--listen", "[::1]:0"], &[]).unwrap().listen.port(), 0);
    }

    #[test]
    fn debug_redacts_the_secret() {
        let text = format!("{:?}", Config::default());
        assert!(!text.contains("local-app-secret"));
    }
}
