//! `start_time:` of the sources that can go back in time (the Defender APIs, the storage
//! export, Event Hubs' `start_position`): an RFC 3339 time, or a duration back from now.
//!
//! The text is read into a [`StartTime`] when the pipeline file is, so a mistake is reported at
//! the value, with what is accepted.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Deserializer};

/// A start as written: a moment, or how far back from when the source starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartTime {
    /// An RFC 3339 time.
    At(SystemTime),
    /// A duration back from now (`7d`).
    Ago(Duration),
}

impl StartTime {
    /// Reads `2026-11-01T00:00:00Z` or `7d`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.contains('T') {
            return humantime::parse_rfc3339_weak(text.trim_end_matches('Z'))
                .map(Self::At)
                .map_err(|_| format!("`{text}` is not an RFC 3339 time"));
        }
        let ago = humantime::parse_duration(text).map_err(|_| {
            format!("an RFC 3339 time or a duration such as `7d` is expected, not `{text}`")
        })?;
        let start = SystemTime::now().checked_sub(ago);
        if start.is_none_or(|start| start < SystemTime::UNIX_EPOCH) {
            return Err(format!("`{text}` back from now is before 1970"));
        }
        Ok(Self::Ago(ago))
    }

    /// The moment, for a source starting at `now`.
    pub fn resolve(self, now: SystemTime) -> SystemTime {
        match self {
            Self::At(time) => time,
            Self::Ago(ago) => now
                .checked_sub(ago)
                .map_or(SystemTime::UNIX_EPOCH, |start| {
                    start.max(SystemTime::UNIX_EPOCH)
                }),
        }
    }
}

impl<'de> Deserialize<'de> for StartTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text)
            .map_err(|error| serde::de::Error::custom(format!("`start_time`: {error}")))
    }
}

/// `start_time` or, unset, `default` back from `now`.
pub(crate) fn resolve(start: Option<StartTime>, default: Duration, now: SystemTime) -> SystemTime {
    start.unwrap_or(StartTime::Ago(default)).resolve(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_durations() {
        let now = humantime::parse_rfc3339("2026-12-03T12:00:00Z").unwrap();
        let day = Duration::from_secs(86_400);
        let at = |text: Option<&str>| {
            let start = text.map(|text| StartTime::parse(text).unwrap());
            humantime::format_rfc3339(resolve(start, day, now)).to_string()
        };
        assert_eq!(at(None), "2026-12-02T12:00:00Z");
        assert_eq!(at(Some("7d")), "2026-11-26T12:00:00Z");
        assert_eq!(
            at(Some("2026-11-01T00:00:00.5Z")),
            "2026-11-01T00:00:00.500000000Z"
        );
        assert!(
            StartTime::parse("yesterday")
                .unwrap_err()
                .contains("duration such as `7d`")
        );
        assert!(
            StartTime::parse("3000y")
                .unwrap_err()
                .contains("before 1970")
        );
    }
}

siemflow_core::string_option_schema!(StartTime);
