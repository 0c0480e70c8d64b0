//! What a Defender polling source remembers between polls and runs.
//!
//! The high-water mark is the latest last-update time among changes delivered in a complete
//! poll; the next poll asks for changes at or after it minus the overlap. The changes delivered
//! inside that overlap are remembered by key (`id@lastUpdate`), so the re-read ones are dropped
//! instead of sent again. Both move only after the changes are acknowledged, and are stored in
//! `DATA_DIR/checkpoints/<pipeline>/<source>.json`.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// The stored state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PollState {
    /// Latest last-update time of a complete, delivered poll (RFC 3339).
    #[serde(default)]
    pub high_water_mark: Option<String>,
    /// Delivered changes whose last update is within the overlap: key to last-update time.
    #[serde(default)]
    pub delivered: BTreeMap<String, String>,
}

/// The key of one change of an item.
pub fn change_key(id: &str, last_update: &str) -> String {
    format!("{id}@{last_update}")
}

/// Parses a Defender/Graph DateTimeOffset (0 to 7 fractional digits, `Z` or not).
pub fn parse_time(text: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(text.trim().trim_end_matches('Z')).ok()
}

/// Formats a time for an OData `$filter` (microseconds; rounding down only widens a `ge`).
pub fn filter_time(time: SystemTime) -> String {
    humantime::format_rfc3339_micros(time).to_string()
}

impl PollState {
    /// The lower bound of the next poll: the mark minus `overlap`, or `start` before any.
    pub fn since(&self, start: SystemTime, overlap: Duration) -> SystemTime {
        self.high_water_mark
            .as_deref()
            .and_then(parse_time)
            .map_or(start, |mark| {
                mark.checked_sub(overlap).unwrap_or(SystemTime::UNIX_EPOCH)
            })
    }

    /// Whether this change was delivered already.
    pub fn was_delivered(&self, key: &str) -> bool {
        self.delivered.contains_key(key)
    }

    /// Records delivered changes.
    pub fn delivered<'a>(&mut self, changes: impl IntoIterator<Item = &'a (String, String)>) {
        for (key, last_update) in changes {
            self.delivered.insert(key.clone(), last_update.clone());
        }
    }

    /// Moves the mark to `mark` if later, and forgets changes too old to be read again.
    pub fn advance(&mut self, mark: SystemTime, overlap: Duration) {
        let current = self.high_water_mark.as_deref().and_then(parse_time);
        if current.is_none_or(|current| mark > current) {
            self.high_water_mark = Some(humantime::format_rfc3339_nanos(mark).to_string());
        }
        let Some(mark) = self.high_water_mark.as_deref().and_then(parse_time) else {
            return;
        };
        let floor = mark.checked_sub(overlap).unwrap_or(SystemTime::UNIX_EPOCH);
        self.delivered
            .retain(|_, last_update| parse_time(last_update).is_none_or(|time| time >= floor));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mark_moves_forward_only_and_old_keys_are_forgotten() {
        let mut state = PollState::default();
        let start = parse_time("2026-11-01T00:00:00Z").unwrap();
        let overlap = Duration::from_secs(300);
        assert_eq!(state.since(start, overlap), start);
        let changes = vec![
            (
                change_key("a", "2026-11-24T08:00:00Z"),
                "2026-11-24T08:00:00Z".to_string(),
            ),
            (
                change_key("b", "2026-11-24T08:59:00.1234567Z"),
                "2026-11-24T08:59:00.1234567Z".to_string(),
            ),
        ];
        state.delivered(&changes);
        state.advance(parse_time("2026-11-24T09:00:00Z").unwrap(), overlap);
        assert!(
            !state.was_delivered(&changes[0].0),
            "older than mark - overlap"
        );
        assert!(state.was_delivered(&changes[1].0));
        assert_eq!(
            filter_time(state.since(start, overlap)),
            "2026-11-24T08:55:00.000000Z"
        );
        state.advance(parse_time("2026-11-24T08:00:00Z").unwrap(), overlap);
        assert_eq!(
            state.high_water_mark.as_deref(),
            Some("2026-11-24T09:00:00.000000000Z")
        );
    }
}
