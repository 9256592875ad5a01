//! callVerify body validation (docs/huawei-protocol.md, "callVerify request body"). Every failure is 403 1010002 naming
//! the parameter.

use std::collections::BTreeSet;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::api_error::ApiError;

/// A request that passed validation; callback URLs are already Base64-decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallVerifyRequest {
    pub display_nbr: String,
    pub callee_nbr: String,
    pub language_type: i64,
    pub pre_tone: String,
    pub pos_tone: Option<String>,
    pub verify_code: String,
    pub times: u8,
    pub status_url: Option<String>,
    pub fee_url: Option<String>,
    pub return_idle_port: bool,
    pub user_data: Option<String>,
}

type Obj = Map<String, Value>;

/// Absent and `null` both mean "not given".
fn get<'a>(obj: &'a Obj, name: &str) -> Option<&'a Value> {
    obj.get(name).filter(|v| !v.is_null())
}

fn string_field<'a>(obj: &'a Obj, name: &str, min: usize, max: usize) -> Result<Option<&'a str>, ApiError> {
    let Some(value) = get(obj, name) else {
        return Ok(None);
    };
    let text = value.as_str().ok_or_else(|| ApiError::invalid_request(format!("{name} must be a string")))?;
    let len = text.chars().count();
    if len < min || len > max {
        return Err(ApiError::invalid_request(format!("{name} length must be {min}-{max}")));
    }
    Ok(Some(text))
}

fn required<'a>(obj: &'a Obj, name: &str, min: usize, max: usize) -> Result<&'a str, ApiError> {
    string_field(obj, name, min, max)?.ok_or_else(|| ApiError::invalid_request(format!("{name} is missing")))
}

/// Global format (`+{cc}{number}`); the `+` is tolerated missing because Huawei's console lists numbers both ways.
fn phone_number(obj: &Obj, name: &str) -> Result<String, ApiError> {
    let text = required(obj, name, 4, 31)?;
    let digits = text.strip_prefix('+').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::invalid_request(format!("{name} is not a valid number")));
    }
    Ok(text.to_string())
}

fn tone(obj: &Obj, name: &str, tones: &BTreeSet<String>, is_required: bool) -> Result<Option<String>, ApiError> {
    let file = if is_required { Some(required(obj, name, 1, 128)?) } else { string_field(obj, name, 1, 128)? };
    match file {
        // Same wording as Huawei's FAQ example: `Invalid request.lastMinVoice.wav does not exist`.
        Some(file) if !tones.contains(file) => Err(ApiError::invalid_request(format!("{file} does not exist"))),
        other => Ok(other.map(String::from)),
    }
}

fn integer(obj: &Obj, name: &str) -> Result<Option<i64>, ApiError> {
    match get(obj, name) {
        None => Ok(None),
        Some(value) => {
            value.as_i64().map(Some).ok_or_else(|| ApiError::invalid_request(format!("{name} must be an integer")))
        }
    }
}

/// Characters Huawei lists for callback URLs (letters, digits, `-`, `:`, `.`, and — the list is cut off in
/// the source — `/` and `_`). Anything else (`?`, `=`, `%`, …) is refused so clients find out locally.
fn url_char_allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | '.' | '/' | '_')
}

/// statusUrl / feeUrl: standard Base64 (≤128 chars) of an http(s) URL.
fn callback_url(obj: &Obj, name: &str) -> Result<Option<String>, ApiError> {
    let Some(encoded) = string_field(obj, name, 1, 128)? else {
        return Ok(None);
    };
    let invalid = || ApiError::invalid_request(format!("{name} is not a Base64-encoded http(s) URL"));
    let bytes = STANDARD.decode(encoded).map_err(|_| invalid())?;
    let url = String::from_utf8(bytes).map_err(|_| invalid())?;
    let parsed = reqwest::Url::parse(&url).map_err(|_| invalid())?;
    let scheme_ok = matches!(parsed.scheme(), "http" | "https");
    if !scheme_ok || parsed.host_str().is_none() {
        return Err(invalid());
    }
    if !url.chars().all(url_char_allowed) {
        return Err(ApiError::invalid_request(format!("{name} contains characters a callback URL may not have")));
    }
    Ok(Some(url))
}

pub fn validate(body: &[u8], tones: &BTreeSet<String>) -> Result<CallVerifyRequest, ApiError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|_| ApiError::invalid_request("request body is not valid JSON"))?;
    let obj = value.as_object().ok_or_else(|| ApiError::invalid_request("request body must be a JSON object"))?;

    let display_nbr = phone_number(obj, "displayNbr")?;
    let callee_nbr = phone_number(obj, "calleeNbr")?;
    let language_type =
        integer(obj, "languageType")?.ok_or_else(|| ApiError::invalid_request("languageType is missing"))?;
    let pre_tone = tone(obj, "preTone", tones, true)?.unwrap_or_default();
    let verify_code = required(obj, "verifyCode", 2, 8)?;
    if !verify_code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::invalid_request("verifyCode must contain digits only"));
    }
    let pos_tone = tone(obj, "posTone", tones, false)?;
    let times = match integer(obj, "times")? {
        None => 3,
        Some(n @ 0..=9) => n as u8,
        Some(_) => return Err(ApiError::invalid_request("times must be 0-9")),
    };
    let status_url = callback_url(obj, "statusUrl")?;
    let fee_url = callback_url(obj, "feeUrl")?;
    let return_idle_port = match get(obj, "returnIdlePort") {
        None => false,
        Some(Value::String(s)) if s == "true" => true,
        Some(Value::String(s)) if s == "false" => false,
        Some(_) => return Err(ApiError::invalid_request("returnIdlePort must be \"true\" or \"false\"")),
    };
    let user_data = string_field(obj, "userData", 1, 256)?;
    if let Some(data) = user_data {
        if !data.chars().all(|c| c.is_ascii() && !c.is_ascii_control()) {
            return Err(ApiError::invalid_request("userData must be printable ASCII (Base64-encode other text)"));
        }
    }

    Ok(CallVerifyRequest {
        display_nbr,
        callee_nbr,
        language_type,
        pre_tone,
        pos_tone,
        verify_code: verify_code.to_string(),
        times,
        status_url,
        fee_url,
        return_idle_port,
        user_data: user_data.map(String::from),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tones() -> BTreeSet<String> {
        ["welcome.wav", "bye.wav"].into_iter().map(String::from).collect()
    }

    fn base() -> Value {
        json!({"displayNbr":"+8675528000088","calleeNbr":"+8618900000007","languageType":2,
               "preTone":"welcome.wav","verifyCode":"12345678","times":3,
               "statusUrl":"aHR0cHM6Ly9jYi5leGFtcGxlLmNvbS9odWF3ZWkvc3RhdHVz",
               "feeUrl":"aHR0cHM6Ly9jYi5leGFtcGxlLmNvbS9odWF3ZWkvZmVl",
               "returnIdlePort":"false","userData":"cwgtest"})
    }

    fn check(mutate: impl FnOnce(&mut Map<String, Value>)) -> Result<CallVerifyRequest, ApiError> {
        let mut body = base();
        if let Some(obj) = body.as_object_mut() {
            mutate(obj);
        }
        validate(body.to_string().as_bytes(), &tones())
    }

    fn desc(mutate: impl FnOnce(&mut Map<String, Value>)) -> String {
        let err = check(mutate).unwrap_err();
        assert_eq!((err.http.as_u16(), err.resultcode), (403, "1010002"));
        err.resultdesc
    }

    #[test]
    fn fixture_request_is_valid_and_urls_are_decoded() {
        let req = check(|_| {}).unwrap();
        assert_eq!(req.status_url.as_deref(), Some("https://cb.example.com/huawei/status"));
        assert_eq!(req.fee_url.as_deref(), Some("https://cb.example.com/huawei/fee"));
        assert_eq!(req.times, 3);
    }

    #[test]
    fn each_rule_names_its_parameter() {
        assert_eq!(
            desc(|o| {
                o.remove("displayNbr");
            }),
            "Invalid request.displayNbr is missing"
        );
        assert!(desc(|o| {
            o.insert("calleeNbr".into(), json!("+86"));
        })
        .contains("calleeNbr"));
        assert!(desc(|o| {
            o.insert("languageType".into(), json!("2"));
        })
        .contains("languageType"));
        assert_eq!(
            desc(|o| {
                o.insert("preTone".into(), json!("x.wav"));
            }),
            "Invalid request.x.wav does not exist"
        );
        assert!(desc(|o| {
            o.insert("verifyCode".into(), json!("12a4"));
        })
        .contains("verifyCode"));
        assert!(desc(|o| {
            o.insert("verifyCode".into(), json!("123456789"));
        })
        .contains("verifyCode"));
        assert!(desc(|o| {
            o.insert("times".into(), json!(10));
        })
        .contains("times"));
        assert!(desc(|o| {
            o.insert("statusUrl".into(), json!("not base64!"));
        })
        .contains("statusUrl"));
        assert!(desc(|o| {
            o.insert("feeUrl".into(), json!(STANDARD.encode("ftp://x/fee")));
        })
        .contains("feeUrl"));
        assert!(desc(|o| {
            o.insert("statusUrl".into(), json!(STANDARD.encode("http://h/s?t=1")));
        })
        .contains("statusUrl"));
        assert!(desc(|o| {
            o.insert("statusUrl".into(), json!("QUFB".repeat(33)));
        })
        .contains("statusUrl length"));
        assert!(desc(|o| {
            o.insert("userData".into(), json!("用户"));
        })
        .contains("userData"));
        assert!(desc(|o| {
            o.insert("returnIdlePort".into(), json!(true));
        })
        .contains("returnIdlePort"));
        assert!(desc(|o| {
            o.insert("posTone".into(), json!("gone.wav"));
        })
        .contains("gone.wav does not exist"));
    }
}
