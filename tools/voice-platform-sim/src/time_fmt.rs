//! The handful of timestamp shapes Huawei uses on the wire, all in UTC.

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

const NOTIFICATION: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
const COMPACT: &[BorrowedFormatItem<'static>] = format_description!("[year][month][day][hour][minute][second]");
const CREATED: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
const ISO_MILLIS: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// Beijing time: Huawei's `icid` embeds the platform's local (UTC+8) time.
const BEIJING: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(offset) => offset,
    Err(_) => UtcOffset::UTC,
};

fn format_in(t: OffsetDateTime, offset: UtcOffset, items: &[BorrowedFormatItem<'static>]) -> String {
    // Formatting only fails for years outside 0..=9999, which no wall clock produces.
    t.to_offset(offset).format(items).unwrap_or_default()
}

/// `yyyy-MM-dd HH:mm:ss` (UTC): status `timestamp` and every CDR time.
pub fn notification_time(t: OffsetDateTime) -> String {
    format_in(t, UtcOffset::UTC, NOTIFICATION)
}

/// `yyyyMMddHHmmss` (UTC), as embedded in sessionIds.
pub fn compact_utc(t: OffsetDateTime) -> String {
    format_in(t, UtcOffset::UTC, COMPACT)
}

/// `yyyyMMddHHmmss` in Beijing time, as embedded in `icid` (`CAE-20190124110424-…` for 03:04:24 UTC).
pub fn compact_beijing(t: OffsetDateTime) -> String {
    format_in(t, BEIJING, COMPACT)
}

/// X-AKSK `Created`: `yyyy-MM-ddTHH:mm:ssZ` (UTC).
pub fn created(t: OffsetDateTime) -> String {
    format_in(t, UtcOffset::UTC, CREATED)
}

/// PrivateNumber SMS `timeStamp`: ISO-8601 with milliseconds and `Z`.
pub fn iso_millis(t: OffsetDateTime) -> String {
    format_in(t, UtcOffset::UTC, ISO_MILLIS)
}

/// Parses an X-AKSK `Created`; `None` for anything but the documented shape.
pub fn parse_created(text: &str) -> Option<OffsetDateTime> {
    PrimitiveDateTime::parse(text, CREATED).ok().map(PrimitiveDateTime::assume_utc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn formats_match_huawei_examples() {
        let t = datetime!(2019-01-24 03:04:24.450 UTC);
        assert_eq!(notification_time(t), "2019-01-24 03:04:24");
        assert_eq!(compact_utc(t), "20190124030424");
        assert_eq!(compact_beijing(t), "20190124110424");
        assert_eq!(created(t), "2019-01-24T03:04:24Z");
        assert_eq!(iso_millis(t), "2019-01-24T03:04:24.450Z");
    }

    #[test]
    fn created_round_trips_and_rejects_other_shapes() {
        let parsed = parse_created("2018-02-12T15:30:20Z");
        assert_eq!(parsed, Some(datetime!(2018-02-12 15:30:20 UTC)));
        assert_eq!(parse_created("2018-02-12 15:30:20"), None);
        assert_eq!(parse_created("2018-02-12T15:30:20+08:00"), None);
    }
}
