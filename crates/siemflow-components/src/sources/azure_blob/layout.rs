//! The streaming API's storage layout: one container per table
//! (`insights-logs-advancedhunting-<table>`), one blob per hour
//! (`tenantId=<id>/y=YYYY/m=MM/d=DD/h=HH/m=00/PT1H.json`).

use std::time::{Duration, SystemTime};

/// The hour a blob holds, from its name; `None` for names outside the layout.
pub fn blob_hour(name: &str) -> Option<SystemTime> {
    let field = |key: &str| -> Option<&str> {
        name.split('/')
            .find_map(|part| part.strip_prefix(key).filter(|value| !value.is_empty()))
    };
    let (year, month, day, hour) = (field("y=")?, field("m=")?, field("d=")?, field("h=")?);
    let text = format!("{year}-{month:0>2}-{day:0>2}T{hour:0>2}:00:00Z");
    humantime::parse_rfc3339(&text).ok()
}

/// The listing prefix of `day` (any time in it) below a tenant prefix (`tenantId=<id>/`).
pub fn day_prefix(tenant: &str, day: SystemTime) -> String {
    let text = humantime::format_rfc3339_seconds(day).to_string();
    // 2026-12-03T09:00:00Z
    format!(
        "{tenant}y={}/m={}/d={}/",
        &text[0..4],
        &text[5..7],
        &text[8..10]
    )
}

/// The days from `from` to `to`, one instant in each, in order.
pub fn days(from: SystemTime, to: SystemTime) -> Vec<SystemTime> {
    let day = Duration::from_secs(86_400);
    let start = truncate(from, day);
    let mut days = Vec::new();
    let mut current = start;
    while current <= to {
        days.push(current);
        current += day;
    }
    days
}

/// `time` rounded down to a multiple of `unit` since the epoch.
pub fn truncate(time: SystemTime, unit: Duration) -> SystemTime {
    let since = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    SystemTime::UNIX_EPOCH + Duration::from_secs(since - since % unit.as_secs().max(1))
}

/// The container of a table: `<prefix><table in lower case>`.
pub fn container_of(prefix: &str, table: &str) -> String {
    format!("{prefix}{}", table.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_days_and_containers_of_the_layout() {
        let hour = blob_hour("tenantId=4f6d/y=2026/m=11/d=24/h=08/m=00/PT1H.json").unwrap();
        assert_eq!(
            humantime::format_rfc3339(hour).to_string(),
            "2026-11-24T08:00:00Z"
        );
        assert_eq!(blob_hour("other/file.json"), None);
        assert_eq!(
            day_prefix("tenantId=a/", hour),
            "tenantId=a/y=2026/m=11/d=24/"
        );
        let later = hour + Duration::from_secs(2 * 86_400 + 3600);
        assert_eq!(days(hour, later).len(), 3);
        assert_eq!(
            container_of("insights-logs-advancedhunting-", "DeviceProcessEvents"),
            "insights-logs-advancedhunting-deviceprocessevents"
        );
    }
}
