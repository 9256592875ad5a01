//! The fraud guard's settings (docs/operations.md, "Fraud guard") and the per-callee windows (`CALLEE_LIMITS`).

use std::collections::{BTreeMap, BTreeSet};

use super::{integer, ConfigError, Env};
use crate::guard::{AutoBlock, GeoMode, GuardPolicy};
use crate::ids::CalleeNumber;
use crate::rate_limit::{Limit, RateLimits};

/// Huawei's advice for one number: at most 1 call a minute, 3 a day and 10 in 30 days.
pub const DEFAULT_CALLEE_LIMITS: &str = "1/60s,3/24h,10/30d";

/// The guard's settings; `safe_from_secret` is the secret's `safeNumbers` (joined to `SAFE_NUMBERS`).
pub fn guard_policy(env: &impl Env, safe_from_secret: Option<&str>) -> Result<GuardPolicy, ConfigError> {
    let defaults = GuardPolicy::default();
    let allowed_countries = match env.get("ALLOWED_COUNTRY_CODES") {
        None => defaults.allowed_countries,
        Some(text) => {
            let codes: BTreeSet<String> = list(&text).map(str::to_owned).collect();
            if codes.is_empty() || !codes.iter().all(|code| is_country_code(code)) {
                return Err(ConfigError::invalid(
                    "ALLOWED_COUNTRY_CODES",
                    "a comma list of country calling codes (86,852)",
                ));
            }
            codes
        }
    };
    let geo_mode = match env.get("GEO_MODE").as_deref().map(str::trim) {
        None | Some("enforce") => GeoMode::Enforce,
        Some("monitor") => GeoMode::Monitor,
        Some(_) => return Err(ConfigError::invalid("GEO_MODE", "enforce or monitor")),
    };
    let prefix_digits = integer(env, "PREFIX_DIGITS", defaults.prefix_digits, 1)?;
    if prefix_digits > 15 {
        return Err(ConfigError::invalid("PREFIX_DIGITS", "at most 15 (an E.164 number's length)"));
    }
    let mut country_limits = BTreeMap::new();
    for pair in list(&env.get("COUNTRY_LIMITS").unwrap_or_default()) {
        let parsed = pair.split_once(':').and_then(|(code, count)| Some((code, count.trim().parse::<u32>().ok()?)));
        match parsed {
            Some((code, count)) if is_country_code(code.trim()) && count > 0 => {
                country_limits.insert(code.trim().to_owned(), count);
            }
            _ => return Err(ConfigError::invalid("COUNTRY_LIMITS", "a comma list of code:count (86:500,852:50)")),
        }
    }
    let mut safe_numbers = BTreeSet::new();
    let safe_text = [env.get("SAFE_NUMBERS").unwrap_or_default(), safe_from_secret.unwrap_or_default().to_owned()];
    for number in safe_text.iter().flat_map(|text| list(text)) {
        let number = CalleeNumber::parse(number)
            .map_err(|_| ConfigError::invalid("SAFE_NUMBERS", "a comma list of numbers in E.164 (+8613800000001)"))?;
        safe_numbers.insert(number.expose().to_owned());
    }
    let max_conversion = match env.get("AUTO_BLOCK_MAX_CONVERSION") {
        None => defaults.auto_block.max_conversion,
        Some(text) => match text.trim().parse::<f64>() {
            Ok(ratio) if (0.0..=1.0).contains(&ratio) => ratio,
            _ => return Err(ConfigError::invalid("AUTO_BLOCK_MAX_CONVERSION", "a ratio from 0 to 1")),
        },
    };
    Ok(GuardPolicy {
        allowed_countries,
        geo_mode,
        prefix_digits,
        prefix_limit: integer(env, "PREFIX_LIMIT", defaults.prefix_limit, 0)?,
        country_limits,
        daily_cap: integer(env, "DAILY_CALL_CAP", defaults.daily_cap, 0)?,
        safe_numbers,
        auto_block: AutoBlock {
            min_ended: integer(env, "AUTO_BLOCK_MIN_STARTS", defaults.auto_block.min_ended, 0)?,
            max_conversion,
            hours: integer(env, "AUTO_BLOCK_HOURS", defaults.auto_block.hours, 1)?,
        },
    })
}

/// The per-callee windows: `CALLEE_LIMITS` (`count/window`, window units s, m, h, d; `none` for no window).
/// `RATE_LIMIT_PER_MINUTE` and `RATE_LIMIT_PER_HOUR` are still read, with a warning, when it is not set.
pub fn callee_limits(env: &impl Env) -> Result<RateLimits, ConfigError> {
    let deprecated =
        ["RATE_LIMIT_PER_MINUTE", "RATE_LIMIT_PER_HOUR"].into_iter().filter(|name| env.get(name).is_some());
    let deprecated: Vec<&str> = deprecated.collect();
    if let Some(text) = env.get("CALLEE_LIMITS") {
        if !deprecated.is_empty() {
            tracing::warn!(ignored = ?deprecated, "CALLEE_LIMITS is set: the deprecated RATE_LIMIT_PER_* are ignored");
        }
        return parse_limits(&text).ok_or_else(|| {
            ConfigError::invalid("CALLEE_LIMITS", "a comma list of count/window, units s, m, h, d (1/60s,3/24h,10/30d)")
        });
    }
    if deprecated.is_empty() {
        return Ok(parse_limits(DEFAULT_CALLEE_LIMITS).unwrap_or_else(|| RateLimits(Vec::new())));
    }
    tracing::warn!(deprecated = ?deprecated, "RATE_LIMIT_PER_MINUTE and RATE_LIMIT_PER_HOUR are deprecated: set CALLEE_LIMITS");
    Ok(RateLimits::new(integer(env, "RATE_LIMIT_PER_MINUTE", 1, 0)?, integer(env, "RATE_LIMIT_PER_HOUR", 5, 0)?))
}

fn parse_limits(text: &str) -> Option<RateLimits> {
    if text.trim() == "none" {
        return Some(RateLimits(Vec::new()));
    }
    let limits = list(text).map(|pair| {
        let (count, window) = pair.split_once('/')?;
        let calls = count.trim().parse::<u32>().ok().filter(|n| *n > 0)?;
        let window = window.trim();
        let unit = match window.chars().last()? {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return None,
        };
        let amount = window[..window.len() - 1].parse::<i64>().ok().filter(|n| *n > 0)?;
        Some(Limit { calls, window_secs: amount * unit })
    });
    let limits = limits.collect::<Option<Vec<_>>>()?;
    (!limits.is_empty()).then_some(RateLimits(limits))
}

fn list(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim).filter(|item| !item.is_empty())
}

fn is_country_code(code: &str) -> bool {
    (1..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_huaweis_advice_and_the_design() {
        let empty: [(&str, &str); 0] = [];
        let limits = callee_limits(&empty).unwrap();
        let windows: Vec<(u32, i64)> = limits.0.iter().map(|l| (l.calls, l.window_secs)).collect();
        assert_eq!(windows, [(1, 60), (3, 86_400), (10, 30 * 86_400)]);
        assert_eq!(guard_policy(&empty, None).unwrap(), GuardPolicy::default());
    }

    #[test]
    fn every_setting_is_read_and_a_bad_one_refused() {
        let env = [
            ("ALLOWED_COUNTRY_CODES", "86, 852"),
            ("GEO_MODE", "monitor"),
            ("PREFIX_DIGITS", "6"),
            ("PREFIX_LIMIT", "0"),
            ("COUNTRY_LIMITS", "86:500,852:5"),
            ("DAILY_CALL_CAP", "1000"),
            ("SAFE_NUMBERS", "+8613800000001"),
            ("AUTO_BLOCK_MIN_STARTS", "10"),
            ("AUTO_BLOCK_MAX_CONVERSION", "0.5"),
            ("AUTO_BLOCK_HOURS", "2"),
            ("CALLEE_LIMITS", "2/10m, 5/1d"),
        ];
        let policy = guard_policy(&env, Some("+8613800000002")).unwrap();
        assert_eq!(policy.allowed_countries, BTreeSet::from(["86".to_owned(), "852".to_owned()]));
        assert_eq!(
            (policy.geo_mode, policy.prefix_digits, policy.prefix_limit, policy.daily_cap),
            (GeoMode::Monitor, 6, 0, 1000)
        );
        assert_eq!(policy.country_limits, BTreeMap::from([("86".to_owned(), 500), ("852".to_owned(), 5)]));
        assert_eq!(policy.safe_numbers.len(), 2, "the secret's and the environment's");
        assert_eq!(policy.auto_block, AutoBlock { min_ended: 10, max_conversion: 0.5, hours: 2 });
        let windows: Vec<(u32, i64)> =
            callee_limits(&env).unwrap().0.iter().map(|l| (l.calls, l.window_secs)).collect();
        assert_eq!(windows, [(2, 600), (5, 86_400)]);
        for (name, value) in [
            ("ALLOWED_COUNTRY_CODES", "+86"),
            ("GEO_MODE", "warn"),
            ("PREFIX_DIGITS", "16"),
            ("COUNTRY_LIMITS", "86=5"),
            ("SAFE_NUMBERS", "13800000001"),
            ("AUTO_BLOCK_MAX_CONVERSION", "1.5"),
            ("CALLEE_LIMITS", "3/24x"),
            ("CALLEE_LIMITS", "0/60s"),
        ] {
            let env = [(name, value)];
            let result = if name == "CALLEE_LIMITS" {
                callee_limits(&env).map(|_| ())
            } else {
                guard_policy(&env, None).map(|_| ())
            };
            assert!(matches!(result, Err(ConfigError::Invalid { .. })), "{name}={value}");
        }
    }

    #[test]
    fn the_deprecated_rate_limits_still_count_when_callee_limits_is_not_set() {
        let old = [("RATE_LIMIT_PER_MINUTE", "2"), ("RATE_LIMIT_PER_HOUR", "0")];
        assert_eq!(callee_limits(&old).unwrap(), RateLimits::new(2, 0));
        let both = [("RATE_LIMIT_PER_MINUTE", "2"), ("CALLEE_LIMITS", "none")];
        assert_eq!(callee_limits(&both).unwrap(), RateLimits(Vec::new()));
    }
}
