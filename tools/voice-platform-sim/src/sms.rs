//! On-demand PrivateNumber SMS notification (docs/huawei-protocol.md, "Privacy Number SMS notifications"), built from
//! `POST /sim/sms`.

use serde::Deserialize;
use time::OffsetDateTime;

use crate::config::Config;
use crate::ids::IdGenerator;
use crate::payloads::{ExtInfo, ExtPara, SmsEvent, SmsNotification};
use crate::time_fmt::iso_millis;

/// Control request; everything but `url` defaults to the Notify example of docs/huawei-protocol.md, "Privacy Number SMS
/// notifications".
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SmsRequest {
    /// Plain (not Base64) URL to push to.
    pub url: Option<String>,
    pub app_key: Option<String>,
    pub sms_identifier: Option<String>,
    pub notification_mode: Option<String>,
    pub calling: Option<String>,
    pub called: Option<String>,
    pub virtual_number: Option<String>,
    pub event: Option<String>,
    pub time_stamp: Option<String>,
    pub subscription_id: Option<String>,
    pub sms_content: Option<String>,
    pub split_num: Option<String>,
    pub direction: Option<String>,
    pub send_result: Option<i64>,
}

/// Returns the target URL and the body to push, or a message for a 400.
pub fn build(
    request: SmsRequest,
    config: &Config,
    ids: &IdGenerator,
    now: OffsetDateTime,
) -> Result<(String, SmsNotification), String> {
    let url = request.url.ok_or("url is required")?;
    let parsed = reqwest::Url::parse(&url).map_err(|_| format!("url is not a URL: {url}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("url must be http or https".into());
    }
    let mode = request.notification_mode.unwrap_or_else(|| "Notify".into());
    // The Notify example carries sendResult 2; the Block example carries none.
    let send_result = request.send_result.or((mode == "Notify").then_some(2));
    let notification = SmsNotification {
        app_key: request.app_key.unwrap_or_else(|| config.app_key.clone()),
        sms_event: SmsEvent {
            sms_identifier: request.sms_identifier.unwrap_or_else(|| ids.sms_identifier(now)),
            notification_mode: mode,
            calling: request.calling.unwrap_or_else(|| "+8613800000001".into()),
            called: request.called,
            virtual_number: request.virtual_number.unwrap_or_else(|| "+8613800000000".into()),
            // Huawei's own example has the inner and the trailing space; receivers must cope with it.
            event: request.event.unwrap_or_else(|| "Text SMS ".into()),
            time_stamp: request.time_stamp.unwrap_or_else(|| iso_millis(now)),
            subscription_id: request.subscription_id,
            sms_content: request.sms_content,
            ext_info: ExtInfo {
                ext_paras: vec![
                    ExtPara { key: "splitNum".into(), value: request.split_num.unwrap_or_else(|| "0".into()) },
                    ExtPara { key: "direction".into(), value: request.direction.unwrap_or_else(|| "2".into()) },
                ],
            },
            send_result,
        },
    };
    Ok((url, notification))
}
