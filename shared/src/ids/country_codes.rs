//! The E.164 country calling codes in service: ITU-T, "List of ITU-T Recommendation E.164 assigned country codes"
//! (the complement to E.164, kept up to date by the ITU Operational Bulletin), as of 2026-12-07. Global services
//! (`800` freephone, `808`, `870` Inmarsat, `881`–`883` satellite and international networks, `888`, `979`
//! premium rate) are listed too: they are where pumped traffic goes.
//!
//! A table rather than a numbering-plan crate: the bundle needs only the country calling code (metrics, the
//! fraud guard's country list), not number validation or formatting, and a table of 1–3 digit prefixes costs
//! nothing at cold start. The codes form a prefix-free set (no code starts another), so the first match of 1, 2
//! or 3 leading digits is the code; a test holds that.

/// Every assigned code, shortest first.
const CODES: &[&str] = &[
    "1", "7", //
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47", "48", "49", "51",
    "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66", "81", "82", "84", "86", "90",
    "91", "92", "93", "94", "95", "98", //
    "211", "212", "213", "216", "218", "220", "221", "222", "223", "224", "225", "226", "227", "228", "229", "230",
    "231", "232", "233", "234", "235", "236", "237", "238", "239", "240", "241", "242", "243", "244", "245", "246",
    "247", "248", "249", "250", "251", "252", "253", "254", "255", "256", "257", "258", "260", "261", "262", "263",
    "264", "265", "266", "267", "268", "269", "290", "291", "297", "298", "299", "350", "351", "352", "353", "354",
    "355", "356", "357", "358", "359", "370", "371", "372", "373", "374", "375", "376", "377", "378", "379", "380",
    "381", "382", "383", "385", "386", "387", "389", "420", "421", "423", "500", "501", "502", "503", "504", "505",
    "506", "507", "508", "509", "590", "591", "592", "593", "594", "595", "596", "597", "598", "599", "670", "672",
    "673", "674", "675", "676", "677", "678", "679", "680", "681", "682", "683", "685", "686", "687", "688", "689",
    "690", "691", "692", "800", "808", "850", "852", "853", "855", "856", "870", "880", "881", "882", "883", "886",
    "888", "960", "961", "962", "963", "964", "965", "966", "967", "968", "970", "971", "972", "973", "974", "975",
    "976", "977", "979", "992", "993", "994", "995", "996", "998",
];

/// The country calling code `digits` (a number without its `+`) starts with.
pub(super) fn of(digits: &str) -> Option<&'static str> {
    (1..=3).filter_map(|len| digits.get(..len)).find_map(|prefix| CODES.iter().copied().find(|code| *code == prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codes_are_prefix_free_and_sorted_by_length() {
        for (i, code) in CODES.iter().enumerate() {
            assert!(code.bytes().all(|b| b.is_ascii_digit()) && (1..=3).contains(&code.len()), "{code}");
            for other in &CODES[i + 1..] {
                assert!(!other.starts_with(code) && !code.starts_with(other), "{code} and {other}");
                assert!(other.len() >= code.len(), "{other} after {code}");
            }
        }
    }

    #[test]
    fn a_number_gets_the_code_it_starts_with() {
        for (number, code) in [
            ("8613800000001", Some("86")),
            ("14155550100", Some("1")),
            ("79161234567", Some("7")),
            ("447700900123", Some("44")),
            ("2348031234567", Some("234")),
            ("88213456789", Some("882")),
            ("85291234567", Some("852")),
            ("2591234", None),
            ("", None),
        ] {
            assert_eq!(of(number), code, "{number}");
        }
    }
}
