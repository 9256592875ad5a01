//! The end-to-end runs' check that no log line gives away a phone number or a verification code (docs/operations.md,
//! "Logs"): every line the functions wrote is searched for each number in every form it could take, and for each
//! code.

/// The forms a number could be logged in: as given (`+8613800000001`), its digits (`8613800000001`), and its
/// digits without a country code of 1 to 3 digits (`613800000001`, `13800000001`, `3800000001`). The shortest is
/// contained in every other, but each is named when found.
pub fn number_forms(number: &str) -> Vec<String> {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    let mut forms = vec![number.to_owned(), digits.clone()];
    forms.extend((1..=3).filter(|cc| digits.len() > cc + 6).map(|cc| digits[cc..].to_owned()));
    forms.dedup();
    forms
}

/// Where a code stands alone in `line`: not inside a longer run of letters or digits (a request id, a timestamp).
fn holds_code(line: &str, code: &str) -> bool {
    line.match_indices(code).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + code.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric()) && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

/// The first line of `logs` that holds one of `numbers` (in any of its [`number_forms`]) or one of `codes`
/// standing alone, with what it holds.
pub fn first_leak(logs: &str, numbers: &[&str], codes: &[&str]) -> Option<(String, String)> {
    let forms: Vec<String> = numbers.iter().flat_map(|number| number_forms(number)).collect();
    logs.lines().find_map(|line| {
        let number = forms.iter().find(|form| line.contains(form.as_str()));
        let code = codes.iter().find(|code| holds_code(line, code));
        number.cloned().or_else(|| code.map(|c| (*c).to_owned())).map(|found| (found, line.to_owned()))
    })
}

/// Fails the test when a line of `logs` holds one of `numbers` or `codes`; `where_logs` says where the logs are.
pub fn assert_no_number_or_code_in(logs: &str, numbers: &[&str], codes: &[&str], where_logs: &str) {
    assert!(logs.lines().count() > 0, "no log line to search ({where_logs})");
    if let Some((found, line)) = first_leak(logs, numbers, codes) {
        panic!("`{found}` appears in a log line ({where_logs}):\n{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_a_number_and_a_standalone_code_is_found() {
        assert_eq!(
            number_forms("+8613800000001"),
            ["+8613800000001", "8613800000001", "613800000001", "13800000001", "3800000001"]
        );
        let numbers = ["+8613800000001"];
        for line in [
            r#"{"callee":"+8613800000001"}"#,
            r#"{"callee":"8613800000001"}"#,
            "called 13800000001 twice",
            r#"{"sessionId":"+8613800000001_+8615000002131_4"}"#,
            "invalid type: integer `482913`, expected a string",
            r#"{"verifyCode":"482913"}"#,
        ] {
            assert!(first_leak(line, &numbers, &["482913"]).is_some(), "{line}");
        }
        for line in
            [r#"{"callee":"+86138****0001","requestId":"a482913b-1c2d","Timestamp":1764824829130}"#, "138****0001"]
        {
            assert_eq!(first_leak(line, &numbers, &["482913"]), None, "{line}");
        }
    }
}
