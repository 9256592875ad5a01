//! Phone numbers never reach the logs or the control endpoints in full.

/// `+8613800000021` → `+86138****0021`: keeps the prefix that identifies the carrier and the last four digits.
pub fn mask_phone(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() >= 10 {
        let head: String = chars[..6].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}****{tail}")
    } else if chars.len() > 4 {
        let tail: String = chars[chars.len() - 2..].iter().collect();
        format!("****{tail}")
    } else {
        "****".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::mask_phone;

    #[test]
    fn masks_like_the_spec() {
        assert_eq!(mask_phone("+8613800000021"), "+86138****0021");
        assert_eq!(mask_phone("+8675528000088"), "+86755****0088");
        assert_eq!(mask_phone("12345"), "****45");
        assert_eq!(mask_phone("123"), "****");
    }
}
