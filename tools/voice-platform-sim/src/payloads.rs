//! Push bodies. Structs (not `json!`) so the field order matches Huawei's examples.

use serde::Serialize;

/// Status notification (docs/huawei-protocol.md, "The call-status push"): `{"eventType":"callout","statusInfo":{…}}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusNotification {
    pub event_type: &'static str,
    pub status_info: StatusInfo,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusInfo {
    pub session_id: String,
    pub timestamp: String,
    pub caller: String,
    pub called: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_desc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
}

/// CDR notification (docs/huawei-protocol.md, "The CDR push"): `{"eventType":"fee","feeLst":[…]}`, at most 50 entries.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeeNotification {
    pub event_type: &'static str,
    pub fee_lst: Vec<FeeInfo>,
}

impl FeeNotification {
    pub fn new(fee_lst: Vec<FeeInfo>) -> Self {
        Self { event_type: "fee", fee_lst }
    }
}

/// The voice-verification FeeInfo fields of docs/huawei-protocol.md, "CDR push body".
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct FeeInfo {
    pub direction: u8,
    pub sp_id: String,
    pub app_key: String,
    pub icid: String,
    pub bind_num: String,
    pub session_id: String,
    pub caller_num: String,
    pub callee_num: String,
    pub call_out_start_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_out_alerting_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_out_answer_time: Option<String>,
    pub call_end_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_time: Option<String>,
    pub call_out_unasw_rsn: i32,
    pub fwd_unasw_rsn: i32,
    pub ul_fail_reason: i32,
    pub sip_status_code: i32,
    pub record_flag: u8,
    pub tts_play_times: u32,
    pub tts_trans_duration: u32,
    pub service_type: String,
    pub host_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
}

/// PrivateNumber SMS notification (docs/huawei-protocol.md, "Privacy Number SMS notifications").
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SmsNotification {
    pub app_key: String,
    pub sms_event: SmsEvent,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SmsEvent {
    pub sms_identifier: String,
    pub notification_mode: String,
    pub calling: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub called: Option<String>,
    pub virtual_number: String,
    pub event: String,
    pub time_stamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sms_content: Option<String>,
    pub ext_info: ExtInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_result: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtInfo {
    pub ext_paras: Vec<ExtPara>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExtPara {
    pub key: String,
    pub value: String,
}
