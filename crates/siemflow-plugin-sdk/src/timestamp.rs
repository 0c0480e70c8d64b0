//! Defender timestamps in, SIEM date formats out.
//!
//! Defender writes ISO 8601 times with 0 to 7 fractional digits, usually with a `Z`, sometimes
//! without a zone at all (`_TimeReceivedBySvc`), which means UTC. Strict RFC 3339 parsers (the
//! `time` crate's among them) reject the zone-less form, so this module parses the tolerant form
//! itself and formats what CEF and LEEF accept: epoch milliseconds, and the Java
//! `MMM dd yyyy HH:mm:ss.SSS zzz` pattern.

use std::fmt;

/// A point in time, UTC, with nanosecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    /// Whole seconds since 1970-01-01T00:00:00Z.
    seconds: i64,
    /// Nanoseconds within the second.
    nanos: u32,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

impl Timestamp {
    /// A timestamp from seconds and nanoseconds since the Unix epoch.
    pub fn from_unix(seconds: i64, nanos: u32) -> Self {
        Self {
            seconds: seconds + i64::from(nanos / 1_000_000_000),
            nanos: nanos % 1_000_000_000,
        }
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction][Z|±HH:MM]` (a space may replace the `T`; no zone
    /// means UTC; fractions beyond nanoseconds are cut). `None` when the text is not such a time.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = text.trim().as_bytes();
        let number = |range: std::ops::Range<usize>| -> Option<u32> {
            let digits = bytes.get(range)?;
            digits.iter().try_fold(0u32, |total, &digit| {
                digit
                    .is_ascii_digit()
                    .then(|| total * 10 + u32::from(digit - b'0'))
            })
        };
        let separator =
            |at: usize, expected: &[u8]| bytes.get(at).is_some_and(|b| expected.contains(b));
        if !(separator(4, b"-")
            && separator(7, b"-")
            && separator(10, b"Tt ")
            && separator(13, b":")
            && separator(16, b":"))
        {
            return None;
        }
        let year = i64::from(number(0..4)?);
        let month = number(5..7)?;
        let day = number(8..10)?;
        let hour = number(11..13)?;
        let minute = number(14..16)?;
        let second = number(17..19)?;
        if !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return None;
        }
        let mut at = 19;
        let mut nanos = 0u32;
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            let start = at;
            while bytes.get(at).is_some_and(u8::is_ascii_digit) {
                if at - start < 9 {
                    nanos = nanos * 10 + u32::from(bytes[at] - b'0');
                }
                at += 1;
            }
            if at == start {
                return None;
            }
            for _ in (at - start)..9 {
                nanos *= 10;
            }
        }
        let offset_seconds: i64 = match bytes.get(at) {
            None => 0,
            Some(b'Z' | b'z') if at + 1 == bytes.len() => 0,
            Some(&sign @ (b'+' | b'-')) if bytes.len() == at + 6 && bytes[at + 3] == b':' => {
                let hours = i64::from(number(at + 1..at + 3)?);
                let minutes = i64::from(number(at + 4..at + 6)?);
                let offset = hours * 3600 + minutes * 60;
                if sign == b'+' { offset } else { -offset }
            }
            _ => return None,
        };
        let days = days_from_civil(year, month, day);
        let seconds =
            days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second)
                - offset_seconds;
        Some(Self { seconds, nanos })
    }

    /// Milliseconds since the Unix epoch: CEF's recommended date form and LEEF's 13-digit
    /// `devTime`.
    pub fn unix_millis(&self) -> i64 {
        self.seconds * 1000 + i64::from(self.nanos / 1_000_000)
    }

    /// Whole seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> i64 {
        self.seconds
    }

    /// Nanoseconds within the second.
    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }

    /// `Oct 20 2023 09:51:39.515 UTC`: CEF's `MMM dd yyyy HH:mm:ss.SSS zzz` and LEEF's
    /// `devTimeFormat=MMM dd yyyy HH:mm:ss.SSS z`.
    pub fn java_date(&self) -> impl fmt::Display + '_ {
        JavaDate(self)
    }

    /// `2023-10-20T09:51:39.515Z`: RFC 3339 with milliseconds, as syslog and OCSF want.
    pub fn rfc3339_millis(&self) -> impl fmt::Display + '_ {
        Rfc3339(self)
    }

    fn civil(&self) -> (i64, u32, u32, u32, u32, u32) {
        let days = self.seconds.div_euclid(86_400);
        let in_day = self.seconds.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        (
            year,
            month,
            day,
            in_day / 3600,
            in_day / 60 % 60,
            in_day % 60,
        )
    }
}

struct JavaDate<'a>(&'a Timestamp);

impl fmt::Display for JavaDate<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day, hour, minute, second) = self.0.civil();
        let month = MONTHS[(month - 1) as usize];
        let millis = self.0.nanos / 1_000_000;
        write!(
            f,
            "{month} {day:02} {year:04} {hour:02}:{minute:02}:{second:02}.{millis:03} UTC"
        )
    }
}

struct Rfc3339<'a>(&'a Timestamp);

impl fmt::Display for Rfc3339<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day, hour, minute, second) = self.0.civil();
        let millis = self.0.nanos / 1_000_000;
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{millis:03}Z"
        )
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(text: &str) -> Option<i64> {
        Timestamp::parse(text).map(|t| t.unix_millis())
    }

    #[test]
    fn parses_every_defender_spelling() {
        // The epoch milliseconds of format vector C1 (2023-10-20T09:53:07.503Z).
        assert_eq!(millis("2023-10-20T09:53:07.503Z"), Some(1_697_795_587_503));
        assert_eq!(
            millis("2023-10-20T09:53:07.5031234Z"),
            Some(1_697_795_587_503)
        );
        assert_eq!(millis("2023-10-20T09:53:07Z"), Some(1_697_795_587_000));
        assert_eq!(
            millis("2023-10-20T09:53:07.5"),
            Some(1_697_795_587_500),
            "no zone is UTC"
        );
        assert_eq!(millis("2023-10-20 09:53:07.503Z"), Some(1_697_795_587_503));
        assert_eq!(
            millis("2023-10-20T11:53:07.503+02:00"),
            Some(1_697_795_587_503)
        );
        assert_eq!(
            millis("2023-10-20T04:53:07.503-05:00"),
            Some(1_697_795_587_503)
        );
        let nanos = Timestamp::parse("2026-11-24T08:15:02.1234567Z").map(|t| t.subsec_nanos());
        assert_eq!(nanos, Some(123_456_700));
    }

    #[test]
    fn rejects_what_is_not_a_time() {
        for text in [
            "",
            "yesterday",
            "2023-10-20",
            "2023-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2023-10-20T24:00:00Z",
            "2023-10-20T09:53:07.Z",
            "2023-10-20T09:53:07Zjunk",
            "2023-10-20T09:53:07+0200",
            "２０２３-10-20T09:53:07Z",
        ] {
            assert_eq!(Timestamp::parse(text), None, "{text}");
        }
        assert!(
            Timestamp::parse("2024-02-29T00:00:00Z").is_some(),
            "a leap day"
        );
    }

    #[test]
    fn formats_the_cef_and_rfc3339_dates() {
        let time = Timestamp::parse("2023-10-20T09:51:39.515Z").expect("a time");
        assert_eq!(time.java_date().to_string(), "Oct 20 2023 09:51:39.515 UTC");
        assert_eq!(
            time.rfc3339_millis().to_string(),
            "2023-10-20T09:51:39.515Z"
        );
        let early = Timestamp::parse("1969-12-31T23:59:59.250Z").expect("before the epoch");
        assert_eq!(early.unix_millis(), -750);
        assert_eq!(
            early.rfc3339_millis().to_string(),
            "1969-12-31T23:59:59.250Z"
        );
        assert_eq!(Timestamp::from_unix(0, 1_500_000_000).unix_millis(), 1500);
    }

    #[test]
    fn civil_conversion_round_trips_across_four_centuries() {
        for days in (-146_097 * 2..146_097 * 2).step_by(7) {
            let (year, month, day) = civil_from_days(days);
            assert_eq!(days_from_civil(year, month, day), days);
        }
    }
}
