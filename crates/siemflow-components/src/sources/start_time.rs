//! `start_time:` of the sources that can go back in time (the Defender APIs, the storage
//! export): an RFC 3339 time, or a duration back from now; one day back when unset.

use std::time::{Duration, SystemTime};

/// Resolves `start_time` against `now`.
pub(crate) fn resolve(text: Option<&str>, now: SystemTime) -> Result<SystemTime, String> {
    let Some(text) = text.map(str::trim) else {
        return Ok(now - Duration::from_secs(86_400));
    };
    if text.contains('T') {
        return humantime::parse_rfc3339_weak(text.trim_end_matches('Z'))
            .map_err(|_| format!("`start_time` `{text}` is not an RFC 3339 time"));
    }
    let ago = humantime::parse_duration(text).map_err(|_| {
        format!("`start_time` must be an RFC 3339 time or a duration such as `7d`, not `{text}`")
    })?;
    now.checked_sub(ago)
        .ok_or_else(|| format!("`start_time` `{text}` is before 1970"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_durations() {
        let now = humantime::parse_rfc3339("2026-12-03T12:00:00Z").unwrap();
        let at = |text| humantime::format_rfc3339(resolve(text, now).unwrap()).to_string();
        assert_eq!(at(None), "2026-12-02T12:00:00Z");
        assert_eq!(at(Some("7d")), "2026-11-26T12:00:00Z");
        assert_eq!(
            at(Some("2026-11-01T00:00:00.5Z")),
            "2026-11-01T00:00:00.500000000Z"
        );
        assert!(
            resolve(Some("yesterday"), now)
                .unwrap_err()
                .contains("start_time")
        );
    }
}
