//! Huawei's four code families as data (docs/huawei-protocol.md, "How a call ended"): one table per family, each row a
//! code (or a range), Huawei's text and what it means for the call. A code no row names is `failed`, with the raw
//! code kept.

use super::CallStatus::{self, *};

/// What a code means. Most rows name a status; a few depend on the rest of the call or pass the decision on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meaning {
    Status(CallStatus),
    /// `completed` when the callee answered, else the status given (stateCode 8105, Q.850 16 and 31).
    CompletedIfAnsweredElse(CallStatus),
    /// `no_answer` when the call rang, else `unreachable` (SIP 408, 480).
    NoAnswerIfRangElseUnreachable,
    /// The next code decides (ulFailReason 518–520: see the Q.850 cause, then the SIP status).
    NextCodeDecides,
    /// The code is a SIP status: the SIP table decides (ulFailReason 400–699).
    AsSipStatus,
    /// The code means what the same stateCode means (ulFailReason 7001–7005, 7100–7109, 8000–8001).
    AsStateCode,
}

/// One row: the codes `first..=last`, Huawei's text, the meaning.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    pub first: i64,
    pub last: i64,
    pub text: &'static str,
    pub meaning: Meaning,
}

const fn code(code: i64, text: &'static str, meaning: Meaning) -> Row {
    Row { first: code, last: code, text, meaning }
}

const fn range(first: i64, last: i64, text: &'static str, meaning: Meaning) -> Row {
    Row { first, last, text, meaning }
}

const fn to(status: CallStatus) -> Meaning {
    Meaning::Status(status)
}

/// `stateCode` of the `disconnect` event (docs/huawei-protocol.md, "`stateCode` (disconnect event)").
pub const STATE_CODES: &[Row] = &[
    code(0, "接通后主动挂机 (released after answer)", to(Completed)),
    code(7001, "开发者呼叫频次管控 (developer call-frequency control)", to(Blocked)),
    code(7002, "应用呼叫频次管控 (app call-frequency control)", to(Blocked)),
    code(7003, "显示号码呼叫频次管控 (display-number call-frequency control)", to(Blocked)),
    code(7004, "被叫黑名单呼叫管控 (callee blacklisted)", to(Blocked)),
    code(7108, "用户状态已冻结 (account frozen)", to(Failed)),
    code(7109, "语音端口不足 (no voice ports)", to(Failed)),
    code(7503, "被叫挂机/拒接 (callee hung up or declined; PrivateNumber)", to(Rejected)),
    code(8000, "内部错误 (internal error)", to(Failed)),
    code(8001, "用户未接续成功 (not connected)", to(Failed)),
    code(8002, "接续用户时对端返回失败放音 (the far end played a failure announcement)", to(Unreachable)),
    code(8003, "用户振铃超时 (ring timeout)", to(NoAnswer)),
    code(8004, "用户振铃时挂机 (hung up while ringing)", to(Rejected)),
    code(8005, "TTS转换失败 (TTS conversion failed)", to(Failed)),
    code(8006, "放音文件不存在 (voice file missing)", to(Failed)),
    code(8007, "放音失败 (playback failed)", to(Failed)),
    code(8008, "收号失败 (digit collection failed)", to(Failed)),
    code(8009, "接通前主叫用户主动挂机 (caller hung up before connection)", to(Failed)),
    code(8010, "超过通话最大时长挂机 (maximum call duration reached)", to(Completed)),
    code(8012, "应用appKey不存在 (app key missing)", to(Failed)),
    code(8015, "录音失败 (recording failed)", to(Failed)),
    code(8017, "用户指示挂机 (released on the user's instruction)", to(Completed)),
    code(8018, "无权限 (no permission)", to(Failed)),
    code(8020, "业务异常 (service error)", to(Failed)),
    code(8035, "被叫无应答, 振铃超时未响应 (no answer, ring timeout; PrivateNumber)", to(NoAnswer)),
    code(8059, "运营商拦截 (carrier interception; PrivateNumber)", to(Blocked)),
    code(8100, "被叫号码不存在 (callee number does not exist)", to(InvalidNumber)),
    code(8101, "被叫无应答 (callee does not answer)", to(NoAnswer)),
    code(8102, "被叫用户正忙 (callee busy)", to(Busy)),
    code(8103, "被叫用户暂时无法接通 (callee temporarily unreachable)", to(Unreachable)),
    code(8104, "被叫已关机 (callee powered off)", to(Unreachable)),
    code(8105, "被叫挂机或被叫已停机 (callee hung up or suspended)", Meaning::CompletedIfAnsweredElse(Unreachable)),
    // The caller-side twins of 8100–8105, from an older copy of the table.
    code(8106, "主叫号码不存在 (twin of 8100)", to(InvalidNumber)),
    code(8107, "主叫无应答 (twin of 8101)", to(NoAnswer)),
    code(8108, "主叫用户正忙 (twin of 8102)", to(Busy)),
    code(8109, "主叫用户暂时无法接通 (twin of 8103)", to(Unreachable)),
    code(8110, "主叫已关机 (twin of 8104)", to(Unreachable)),
    code(8111, "主叫挂机或主叫已停机 (twin of 8105)", Meaning::CompletedIfAnsweredElse(Unreachable)),
];

/// `callOutUnaswRsn` of the CDR, an ITU-T Q.850 cause (docs/huawei-protocol.md,
/// "`callOutUnaswRsn` (Q.850 cause, CDR)"). 0 = not applicable.
pub const Q850_CAUSES: &[Row] = &[
    code(1, "无法找到号码 (unallocated number)", to(InvalidNumber)),
    code(16, "正常呼叫清除 (normal call clearing)", Meaning::CompletedIfAnsweredElse(NoAnswer)),
    code(17, "用户忙 (user busy)", to(Busy)),
    code(18, "无应答 (no user responding)", to(NoAnswer)),
    code(19, "无用户应答 (alerted, no answer)", to(NoAnswer)),
    code(20, "用户不可及 (subscriber absent)", to(Unreachable)),
    code(21, "拒绝呼叫 (call rejected)", to(Rejected)),
    code(22, "号码已改变 (number changed)", to(InvalidNumber)),
    code(27, "目标无序 (destination out of order)", to(Unreachable)),
    code(28, "非法号码格式 (invalid number format)", to(InvalidNumber)),
    code(31, "正常, 未指定 (normal, unspecified)", Meaning::CompletedIfAnsweredElse(NoAnswer)),
    code(34, "无电路/通路可用 (no circuit available)", to(Failed)),
    code(38, "网络故障 (network out of order)", to(Failed)),
    code(41, "临时故障 (temporary failure)", to(Failed)),
    code(42, "交换设备拥塞 (switching equipment congestion)", to(Failed)),
    code(47, "资源不可用 (resource unavailable)", to(Failed)),
];

/// `ulFailReason` of the CDR, where the call failed (docs/huawei-protocol.md, "`ulFailReason` (CDR)"). 0 = released
/// normally after answer.
pub const UL_FAIL_REASONS: &[Row] = &[
    range(400, 699, "SIP 状态码 (a SIP status itself)", Meaning::AsSipStatus),
    code(513, "呼叫超时 (call timeout)", to(NoAnswer)),
    code(514, "振铃超时 (ring timeout)", to(NoAnswer)),
    code(515, "远端用户主动Cancel (the far end cancelled)", to(Rejected)),
    code(517, "平台超时 (platform timeout)", to(Failed)),
    code(518, "呼叫失败 (call failed: see the Q.850 cause)", Meaning::NextCodeDecides),
    code(519, "呼叫失败 (call failed: see the Q.850 cause)", Meaning::NextCodeDecides),
    code(520, "呼叫失败 (call failed: see the Q.850 cause)", Meaning::NextCodeDecides),
    code(521, "远端呼叫还未振铃已经拆线 (released before ringing)", to(Unreachable)),
    code(522, "语音端口不足 (no voice ports)", to(Failed)),
    code(524, "放音文件不存在 (voice file missing)", to(Failed)),
    code(528, "限制呼叫非特定前缀的号码 (number prefix not allowed)", to(Blocked)),
    code(529, "应用appKey不存在 (app key missing)", to(Failed)),
    range(7001, 7005, "呼叫管控 (as stateCode)", Meaning::AsStateCode),
    range(7100, 7109, "账号或资源异常 (as stateCode)", Meaning::AsStateCode),
    range(8000, 8001, "内部错误或未接续 (as stateCode)", Meaning::AsStateCode),
];

/// `sipStatusCode` of the CDR (docs/huawei-protocol.md, "`sipStatusCode` (CDR)"): Huawei gives no text, so the standard
/// SIP reason phrase stands in.
pub const SIP_STATUSES: &[Row] = &[
    code(404, "Not Found", to(InvalidNumber)),
    code(408, "Request Timeout", Meaning::NoAnswerIfRangElseUnreachable),
    code(410, "Gone", to(Unreachable)),
    code(480, "Temporarily Unavailable", Meaning::NoAnswerIfRangElseUnreachable),
    code(484, "Address Incomplete", to(InvalidNumber)),
    code(486, "Busy Here", to(Busy)),
    code(502, "Bad Gateway", to(Unreachable)),
    code(503, "Service Unavailable", to(Unreachable)),
    code(504, "Server Time-out", to(Unreachable)),
    code(600, "Busy Everywhere", to(Busy)),
    code(603, "Decline", to(Rejected)),
    code(604, "Does Not Exist Anywhere", to(InvalidNumber)),
];

/// The row naming `code`, if any. A row of one code wins over a range around it (ulFailReason 513–529 are
/// Huawei's own codes inside the SIP range 400–699).
pub fn row(table: &[Row], code: i64) -> Option<&Row> {
    let single = table.iter().find(|row| row.first == code && row.last == code);
    single.or_else(|| table.iter().find(|row| (row.first..=row.last).contains(&code)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_code_wins_over_a_range_that_starts_or_ends_at_it() {
        let table = [
            range(400, 699, "range", Meaning::AsSipStatus),
            code(400, "single 400", to(CallStatus::Busy)),
            code(699, "single 699", to(CallStatus::Busy)),
        ];
        assert_eq!(row(&table, 400).map(|r| r.text), Some("single 400"));
        assert_eq!(row(&table, 699).map(|r| r.text), Some("single 699"));
        assert_eq!(row(&table, 500).map(|r| r.text), Some("range"));
    }

    #[test]
    fn no_code_has_two_rows_of_the_same_width() {
        let tables = [
            ("stateCode", STATE_CODES),
            ("Q.850", Q850_CAUSES),
            ("ulFailReason", UL_FAIL_REASONS),
            ("SIP", SIP_STATUSES),
        ];
        for (name, table) in tables {
            for (i, a) in table.iter().enumerate() {
                assert!(a.first <= a.last, "{name} {}", a.first);
                for b in &table[i + 1..] {
                    let single = |r: &Row| r.first == r.last;
                    let disjoint = a.last < b.first || b.last < a.first;
                    assert!(
                        disjoint || single(a) != single(b),
                        "{name}: {}–{} and {}–{}",
                        a.first,
                        a.last,
                        b.first,
                        b.last
                    );
                }
            }
        }
    }

    #[test]
    fn every_documented_code_has_its_row() {
        let status_of = |table: &[Row], code: i64| row(table, code).map(|r| r.meaning);
        assert_eq!(status_of(STATE_CODES, 8102), Some(to(Busy)));
        assert_eq!(status_of(STATE_CODES, 7005), None, "not in the release-reason table: failed with the raw code");
        assert_eq!(status_of(Q850_CAUSES, 19), Some(to(NoAnswer)));
        assert_eq!(status_of(UL_FAIL_REASONS, 480), Some(Meaning::AsSipStatus));
        assert_eq!(status_of(UL_FAIL_REASONS, 603), Some(Meaning::AsSipStatus));
        assert_eq!(status_of(UL_FAIL_REASONS, 519), Some(Meaning::NextCodeDecides));
        assert_eq!(status_of(UL_FAIL_REASONS, 7104), Some(Meaning::AsStateCode));
        assert_eq!(status_of(UL_FAIL_REASONS, 514), Some(to(NoAnswer)), "Huawei's code wins over the SIP range");
        assert_eq!(status_of(UL_FAIL_REASONS, 516), Some(Meaning::AsSipStatus));
        assert_eq!(status_of(UL_FAIL_REASONS, 700), None);
        assert_eq!(status_of(SIP_STATUSES, 486), Some(to(Busy)));
    }
}
