//! Settings of trigger-verification-call.

use std::time::Duration;

use super::guard::{callee_limits, guard_policy};
use super::{
    integer, load_secret, positive, record_ttl, region, table_name, tokens_and_credentials, verification_policy,
    ConfigError, Env,
};
use crate::adapters::secrets::SecretDocument;
use crate::calls::{CloseOutDelays, Defaults, VerificationPolicy};
use crate::guard::GuardPolicy;
use crate::huawei::call_verify::encode_callback_url;
use crate::huawei::AppCredentials;
use crate::ids::GENERATED_CODE_DIGITS;
use crate::rate_limit::RateLimits;

pub const DEFAULT_VOICE_API_BASE_URL: &str = "https://rtccall.cn-north-1.myhuaweicloud.cn:443";

/// Routes that Huawei pushes to (the API's and `cargo lambda watch`'s router).
pub const STATUS_ROUTE: &str = "/voice/status";
pub const FEE_ROUTE: &str = "/voice/fee";

#[derive(Debug, Clone)]
pub struct TriggerConfig {
    pub table_name: String,
    pub record_ttl: Duration,
    pub voice_api_base_url: String,
    pub credentials: AppCredentials,
    /// Standard base64 of the status and CDR callback URLs (with the current token), ≤ 128 characters each.
    pub status_url: String,
    pub fee_url: String,
    pub defaults: Defaults,
    pub rate_limits: RateLimits,
    /// Bound of one callVerify attempt (also kept below the invocation's remaining time).
    pub voice_api_timeout: Duration,
    pub region: String,
    pub close_out_delays: CloseOutDelays,
    /// Where close-out checks are scheduled; `None` (no `CLOSE_OUT_SCHEDULE_GROUP`) schedules none.
    pub close_out_schedules: Option<CloseOutSchedules>,
    pub verifications: VerificationPolicy,
    pub guard: GuardPolicy,
}

/// `CODE_LENGTH`: digits of a generated code (default 6).
fn code_length(env: &impl Env) -> Result<u8, ConfigError> {
    let digits = integer(env, "CODE_LENGTH", 6u8, 0)?;
    match GENERATED_CODE_DIGITS.contains(&digits) {
        true => Ok(digits),
        false => Err(ConfigError::invalid("CODE_LENGTH", "must be 4 to 8")),
    }
}

/// EventBridge Scheduler settings of the close-out checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseOutSchedules {
    /// `CLOSE_OUT_SCHEDULE_GROUP`: the schedule group.
    pub group: String,
    /// `CLOSE_OUT_TARGET_ARN`: the function the checks invoke (outcome-publisher).
    pub target_arn: String,
    /// `CLOSE_OUT_ROLE_ARN`: the role Scheduler assumes to invoke it.
    pub role_arn: String,
}

/// Close-out deadlines, in minutes after the request (docs/app-backend.md, "Outcome events").
pub const DEFAULT_CLOSE_OUT_PROVISIONAL_MINUTES: u64 = 10;
pub const DEFAULT_CLOSE_OUT_FINAL_MINUTES: u64 = 420;

fn close_out_delays(env: &impl Env) -> Result<CloseOutDelays, ConfigError> {
    let provisional = positive(env, "CLOSE_OUT_PROVISIONAL_MINUTES", DEFAULT_CLOSE_OUT_PROVISIONAL_MINUTES)?;
    let last = positive(env, "CLOSE_OUT_FINAL_MINUTES", DEFAULT_CLOSE_OUT_FINAL_MINUTES)?;
    if last <= provisional {
        return Err(ConfigError::invalid(
            "CLOSE_OUT_FINAL_MINUTES",
            "must be greater than CLOSE_OUT_PROVISIONAL_MINUTES",
        ));
    }
    Ok(CloseOutDelays { provisional: Duration::from_secs(60 * provisional), last: Duration::from_secs(60 * last) })
}

fn close_out_schedules(env: &impl Env) -> Result<Option<CloseOutSchedules>, ConfigError> {
    let Some(group) = env.get("CLOSE_OUT_SCHEDULE_GROUP") else { return Ok(None) };
    let target_arn = env.get("CLOSE_OUT_TARGET_ARN").ok_or(ConfigError::Missing("CLOSE_OUT_TARGET_ARN"))?;
    let role_arn = env.get("CLOSE_OUT_ROLE_ARN").ok_or(ConfigError::Missing("CLOSE_OUT_ROLE_ARN"))?;
    Ok(Some(CloseOutSchedules { group, target_arn, role_arn }))
}

impl TriggerConfig {
    pub async fn load(env: &impl Env) -> Result<Self, ConfigError> {
        Self::from_parts(env, load_secret(env).await?)
    }

    fn from_parts(env: &impl Env, secret: Option<SecretDocument>) -> Result<Self, ConfigError> {
        let guard = guard_policy(env, secret.as_ref().and_then(|s| s.safe_numbers.as_deref()))?;
        let (tokens, credentials) = tokens_and_credentials(env, secret)?;
        let credentials = credentials
            .ok_or(ConfigError::Missing("VOICE_CREDENTIALS_SECRET_ID (or VOICE_APP_KEY and VOICE_APP_SECRET)"))?;
        let base = env.get("CALLBACK_BASE_URL").ok_or(ConfigError::Missing("CALLBACK_BASE_URL"))?;
        let base = base.trim_end_matches('/');
        if !base.starts_with("https://") && !base.starts_with("http://") {
            return Err(ConfigError::invalid("CALLBACK_BASE_URL", "must start with https:// (or http://)"));
        }
        let callback_url = |route: &str| {
            let url = match tokens.current() {
                Some(token) => format!("{base}{route}/{token}"),
                None => format!("{base}{route}"),
            };
            encode_callback_url(&url).map_err(|too_long| {
                let reason = too_long.to_string().replace(tokens.current().unwrap_or("\u{0}"), "<token>");
                ConfigError::invalid("CALLBACK_BASE_URL", reason)
            })
        };
        Ok(Self {
            table_name: table_name(env)?,
            record_ttl: record_ttl(env)?,
            voice_api_base_url: env.get("VOICE_API_BASE_URL").unwrap_or_else(|| DEFAULT_VOICE_API_BASE_URL.into()),
            credentials,
            status_url: callback_url(STATUS_ROUTE)?,
            fee_url: callback_url(FEE_ROUTE)?,
            defaults: Defaults {
                display_nbr: env.get("DISPLAY_NBR"),
                pre_tone: env.get("PRE_TONE"),
                language_type: integer(env, "LANGUAGE_TYPE", 2, 1)?,
                allow_endless_playback: matches!(env.get("ALLOW_ENDLESS_PLAYBACK").as_deref(), Some("true")),
                code_length: code_length(env)?,
            },
            rate_limits: callee_limits(env)?,
            voice_api_timeout: Duration::from_millis(positive(env, "VOICE_API_TIMEOUT_MS", 8000)?),
            region: region(env)?,
            close_out_delays: close_out_delays(env)?,
            close_out_schedules: close_out_schedules(env)?,
            verifications: verification_policy(env)?,
            guard,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRIGGER_ENV: [(&str, &str); 6] = [
        ("TABLE_NAME", "t"),
        ("VOICE_APP_KEY", "k"),
        ("VOICE_APP_SECRET", "s"),
        ("CALLBACK_BASE_URL", "https://cb.example.com/"),
        ("CALLBACK_TOKENS", "tok-new,tok-old"),
        ("AWS_REGION", "eu-west-1"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        TRIGGER_ENV.iter().chain(extra).copied().collect()
    }

    #[test]
    fn close_outs_default_to_10_and_420_minutes_and_need_a_group_to_be_scheduled() {
        let config = TriggerConfig::from_parts(&TRIGGER_ENV, None).unwrap();
        let minutes = |d: Duration| d.as_secs() / 60;
        assert_eq!((minutes(config.close_out_delays.provisional), minutes(config.close_out_delays.last)), (10, 420));
        assert_eq!(config.close_out_schedules, None);
        assert_eq!(config.region, "eu-west-1");
        let scheduled = with(&[
            ("CLOSE_OUT_SCHEDULE_GROUP", "g"),
            ("CLOSE_OUT_TARGET_ARN", "arn:t"),
            ("CLOSE_OUT_ROLE_ARN", "arn:r"),
            ("CLOSE_OUT_PROVISIONAL_MINUTES", "2"),
            ("CLOSE_OUT_FINAL_MINUTES", "3"),
        ]);
        let config = TriggerConfig::from_parts(&scheduled.as_slice(), None).unwrap();
        let schedules = config.close_out_schedules.expect("scheduled");
        assert_eq!(
            (schedules.group.as_str(), schedules.target_arn.as_str(), schedules.role_arn.as_str()),
            ("g", "arn:t", "arn:r")
        );
        assert_eq!(config.close_out_delays.last, Duration::from_secs(180));
        let no_target = with(&[("CLOSE_OUT_SCHEDULE_GROUP", "g"), ("CLOSE_OUT_ROLE_ARN", "arn:r")]);
        assert!(matches!(
            TriggerConfig::from_parts(&no_target.as_slice(), None),
            Err(ConfigError::Missing("CLOSE_OUT_TARGET_ARN"))
        ));
        let backwards = with(&[("CLOSE_OUT_PROVISIONAL_MINUTES", "30"), ("CLOSE_OUT_FINAL_MINUTES", "20")]);
        assert!(matches!(TriggerConfig::from_parts(&backwards.as_slice(), None), Err(ConfigError::Invalid { .. })));
    }

    #[test]
    fn trigger_encodes_callback_urls_with_the_current_token() {
        use base64::{engine::general_purpose::STANDARD, Engine as _};
        let config = TriggerConfig::from_parts(&TRIGGER_ENV, None).unwrap();
        let decode = |b64: &str| String::from_utf8(STANDARD.decode(b64).unwrap()).unwrap();
        assert_eq!(decode(&config.status_url), "https://cb.example.com/voice/status/tok-new");
        assert_eq!(decode(&config.fee_url), "https://cb.example.com/voice/fee/tok-new");
        let windows: Vec<(u32, i64)> = config.rate_limits.0.iter().map(|l| (l.calls, l.window_secs)).collect();
        assert_eq!(windows, [(1, 60), (3, 86_400), (10, 30 * 86_400)], "CALLEE_LIMITS' default");
        assert_eq!(config.voice_api_base_url, DEFAULT_VOICE_API_BASE_URL);
        assert_eq!((config.defaults.code_length, config.verifications), (6, VerificationPolicy::default()));
        let set =
            with(&[("CODE_LENGTH", "8"), ("CODE_TTL_SECONDS", "300"), ("MAX_SENDS", "2"), ("MAX_CHECK_ATTEMPTS", "3")]);
        let config = TriggerConfig::from_parts(&set.as_slice(), None).unwrap();
        let expected = VerificationPolicy { code_ttl: Duration::from_secs(300), max_sends: 2, max_checks: 3 };
        assert_eq!((config.defaults.code_length, config.verifications), (8, expected));
        for (name, value) in [("CODE_LENGTH", "3"), ("CODE_LENGTH", "9"), ("MAX_SENDS", "0"), ("CODE_TTL_SECONDS", "0")]
        {
            let bad = with(&[(name, value)]);
            assert!(TriggerConfig::from_parts(&bad.as_slice(), None).is_err(), "{name}={value}");
        }
    }

    #[test]
    fn trigger_refuses_to_start_when_a_callback_url_is_too_long() {
        let mut env = TRIGGER_ENV;
        env[4] = ("CALLBACK_TOKENS", "a-very-long-token-that-pushes-the-url-past-ninety-six-bytes-0123456789");
        let error = TriggerConfig::from_parts(&env, None).unwrap_err().to_string();
        assert!(error.contains("at most 128"), "{error}");
        assert!(!error.contains("a-very-long-token"), "the token is not echoed: {error}");
        for (name, value) in [("LANGUAGE_TYPE", "0"), ("RATE_LIMIT_PER_HOUR", "-1"), ("VOICE_API_TIMEOUT_MS", "x")] {
            let mut bad = TRIGGER_ENV;
            bad[4] = (name, value);
            assert!(
                matches!(TriggerConfig::from_parts(&bad, None), Err(ConfigError::Invalid { .. })),
                "{name}={value}"
            );
        }
        let mut no_creds = TRIGGER_ENV;
        no_creds[1] = ("X", "");
        assert!(matches!(TriggerConfig::from_parts(&no_creds, None), Err(ConfigError::Missing(_))));
    }
}
