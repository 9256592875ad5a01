//! Status events and CDR (fee) pushes share one parser: `VoicePush::parse` on the raw body bytes. Whatever the
//! bytes, it returns a value or a `PayloadError`, never panics; what it accepts satisfies the key invariants
//! and turns into storable records.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use voice_core::records::{cdr_record, event_record, quarantine_record, unrecognised_record, Stamp};
use voice_core::huawei::notification::{MAX_CDRS_PER_PUSH, MAX_SESSION_ID_LEN};
use voice_core::huawei::{FeeList, VoicePush};
use voice_core::telemetry::mask_numbers;

fn check_session_id(id: &str) {
    assert!(!id.is_empty() && id.len() <= MAX_SESSION_ID_LEN, "sessionId length {}", id.len());
    assert!(!id.chars().any(char::is_control));
}

fuzz_target!(|body: &[u8]| {
    let stamp = Stamp::new(time::OffsetDateTime::UNIX_EPOCH, Duration::from_secs(86_400), "fuzz");
    match VoicePush::parse(body) {
        Err(error) => {
            let _ = (error.code(), error.to_string());
        }
        Ok(VoicePush::Status(event)) => {
            check_session_id(&event.info.session_id);
            let record = event_record(&event, &stamp);
            assert_eq!(record.pk, event.info.session_id);
            let _ = mask_numbers(&record.raw);
        }
        Ok(VoicePush::Fee(FeeList { cdrs, quarantined })) => {
            assert!((1..=MAX_CDRS_PER_PUSH).contains(&(cdrs.len() + quarantined.len())) || cdrs.is_empty());
            for cdr in &cdrs {
                check_session_id(&cdr.cdr.session_id);
                let record = cdr_record(cdr, &stamp);
                assert!(record.sk.starts_with("cdr#"));
                let _ = mask_numbers(&record.raw);
            }
        }
        Ok(VoicePush::Quarantined(element)) => {
            let record = quarantine_record(&element, &stamp);
            assert!(record.pk.starts_with("quarantine#"));
        }
        Ok(VoicePush::Unrecognised(event)) => {
            check_session_id(&event.session_id);
            let record = unrecognised_record(&event, &stamp);
            assert_eq!(record.sk, format!("event#{}", event.event_type));
        }
    }
});
