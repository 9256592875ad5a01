//! Privacy-number SMS notifications: `SmsNotification::parse` on arbitrary body bytes never panics, and what it
//! accepts has a bounded, printable identifier and mode and becomes a record.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use voice_core::records::{sms_record, Stamp};
use voice_core::huawei::sms::{MAX_NOTIFICATION_MODE_LEN, MAX_SMS_IDENTIFIER_LEN};
use voice_core::huawei::{SmsNotification, SmsPush};
use voice_core::telemetry::mask_numbers;

fuzz_target!(|body: &[u8]| {
    match SmsNotification::parse(body) {
        Err(error) => {
            let _ = (error.code(), error.to_string());
        }
        Ok(SmsPush::Quarantined(element)) => assert_eq!(element.raw.as_bytes(), body),
        Ok(SmsPush::Notification(sms)) => {
            let id = &sms.event.sms_identifier;
            let mode = &sms.event.notification_mode;
            assert!(!id.trim().is_empty() && id.len() <= MAX_SMS_IDENTIFIER_LEN);
            assert!(!mode.trim().is_empty() && mode.len() <= MAX_NOTIFICATION_MODE_LEN);
            let stamp = Stamp::new(time::OffsetDateTime::UNIX_EPOCH, Duration::from_secs(60), "fuzz");
            let record = sms_record(&sms, &stamp);
            assert_eq!(record.pk, format!("sms#{id}"));
            let _ = mask_numbers(&record.raw);
        }
    }
});
