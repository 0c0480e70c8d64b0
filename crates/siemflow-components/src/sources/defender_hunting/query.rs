//! The query a `defender_hunting` source sends for one window, and what its rows become.
//!
//! The user's KQL has no time filter; the source appends one for the window `(from, to]`:
//!
//! ```text
//! DeviceProcessEvents | where ActionType == "ProcessCreated"
//! | where Timestamp > datetime(2026-12-07T10:00:00.000000Z) and Timestamp <= datetime(2026-12-07T10:01:00.000000Z)
//! ```
//!
//! and sends a `Timespan` one second wider on each side, so that Graph's own time range (which
//! applies too, "the shorter time span") never cuts a row the filter keeps. Each row is wrapped
//! as the streaming API would send it, `{"time", "tenantId", "category":
//! "AdvancedHunting-<Table>", "properties": <row>}`, so that the built-in mappings treat a
//! `DeviceProcessEvents` row from hunting like the streaming record of that table.

use std::time::{Duration, SystemTime};

use bytes::Bytes;

/// KQL's first word when a query does not start by naming its table.
const NOT_A_TABLE: &[&str] = &[
    "let",
    "union",
    "search",
    "find",
    "print",
    "range",
    "datatable",
    "evaluate",
    "externaldata",
    "set",
    "declare",
    "materialize",
    "view",
];

/// The table a query reads, when its first word names one (`DeviceProcessEvents | where ...`);
/// `None` for `let`, `union`, `search` and the like. Leading `//` comment lines are skipped.
pub fn table_of(query: &str) -> Option<String> {
    let text = query
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("//"))
        .collect::<Vec<_>>()
        .join(" ");
    let word: String = text
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let first = word.chars().next()?;
    let rest = &text[word.len()..];
    let next = rest.trim_start().chars().next();
    (first.is_ascii_alphabetic()
        && !NOT_A_TABLE.contains(&word.as_str())
        && matches!(next, None | Some('|')))
    .then_some(word)
}

/// Checks a query as far as can be done without running it.
pub fn check(query: &str) -> Result<(), String> {
    let trimmed = query.trim();
    if trimmed.is_empty() {
        return Err("`query` is empty".into());
    }
    if trimmed.ends_with('|') || trimmed.ends_with(';') {
        return Err(
            "`query` must not end with `|` or `;`: the source appends its time filter as another `| where`"
                .into(),
        );
    }
    Ok(())
}

/// A time as a KQL `datetime()` literal and in `Timespan`: UTC, microseconds.
fn literal(time: SystemTime) -> String {
    humantime::format_rfc3339_micros(time).to_string()
}

/// The KQL sent for the window `(from, to]`.
pub fn windowed(query: &str, from: SystemTime, to: SystemTime) -> String {
    format!(
        "{}\n| where Timestamp > datetime({}) and Timestamp <= datetime({})",
        query.trim(),
        literal(from),
        literal(to)
    )
}

/// The `Timespan` sent for the window `(from, to]`: a second wider on each side.
pub fn timespan(from: SystemTime, to: SystemTime) -> String {
    let from = from.checked_sub(Duration::from_secs(1)).unwrap_or(from);
    format!("{}/{}", literal(from), literal(to + Duration::from_secs(1)))
}

/// What a row becomes: the streaming API's envelope around it when the table is known, the row
/// itself otherwise.
pub fn envelope(row: &[u8], category: Option<&str>, tenant: &str, read_at: &str) -> Bytes {
    let Some(category) = category else {
        return Bytes::copy_from_slice(row);
    };
    let head = serde_json::json!({"time": read_at, "tenantId": tenant, "category": category});
    let head = head.to_string();
    let mut out = Vec::with_capacity(head.len() + row.len() + 16);
    out.extend_from_slice(&head.as_bytes()[..head.len() - 1]);
    out.extend_from_slice(b",\"properties\":");
    out.extend_from_slice(row);
    out.push(b'}');
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_the_first_word_when_it_names_one() {
        assert_eq!(
            table_of("DeviceProcessEvents | where ActionType == \"ProcessCreated\"").as_deref(),
            Some("DeviceProcessEvents")
        );
        assert_eq!(
            table_of("// creations\n  DeviceProcessEvents\n| take 5").as_deref(),
            Some("DeviceProcessEvents")
        );
        assert_eq!(table_of("EmailEvents").as_deref(), Some("EmailEvents"));
        assert_eq!(table_of("let x = 1; DeviceEvents | take 1"), None);
        assert_eq!(table_of("union DeviceEvents, DeviceFileEvents"), None);
        assert_eq!(table_of("search \"x\""), None);
        assert!(check("DeviceEvents |").is_err() && check("  ").is_err());
        assert!(check("DeviceEvents | take 5").is_ok());
    }

    #[test]
    fn the_window_is_a_filter_and_a_wider_timespan() {
        let from = humantime::parse_rfc3339("2026-12-07T10:00:00Z").unwrap();
        let to = humantime::parse_rfc3339("2026-12-07T10:01:00.5Z").unwrap();
        assert_eq!(
            windowed("DeviceEvents | where A == 1 ", from, to),
            "DeviceEvents | where A == 1\n| where Timestamp > datetime(2026-12-07T10:00:00.000000Z) and Timestamp <= datetime(2026-12-07T10:01:00.500000Z)"
        );
        assert_eq!(
            timespan(from, to),
            "2026-12-07T09:59:59.000000Z/2026-12-07T10:01:01.500000Z"
        );
        let wrapped = envelope(
            br#"{"Timestamp":"2026-12-07T10:00:01Z","ReportId":9007199254740993}"#,
            Some("AdvancedHunting-DeviceEvents"),
            "t1",
            "2026-12-07T10:02:00Z",
        );
        let value: serde_json::Value = serde_json::from_slice(&wrapped).unwrap();
        assert_eq!(value["category"], "AdvancedHunting-DeviceEvents");
        assert_eq!(value["tenantId"], "t1");
        assert!(
            std::str::from_utf8(&wrapped)
                .unwrap()
                .contains("\"ReportId\":9007199254740993"),
            "the row's bytes are kept as Graph wrote them"
        );
    }
}
