//! What a `defender_hunting` source remembers between windows and runs, in
//! `DATA_DIR/checkpoints/<pipeline>/<source>.json`: where the next window starts, and a digest of
//! each row already delivered that a later window can read again (those within `overlap` of the
//! last window's end), so that re-read rows are dropped rather than sent twice.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The stored state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HuntingState {
    /// The end of the last window whose rows were all acknowledged (RFC 3339).
    #[serde(default)]
    pub window_end: Option<String>,
    /// Rows delivered whose `Timestamp` is within `overlap` of `window_end`: the row's digest
    /// (hex) to its `Timestamp` in microseconds since the Unix epoch.
    #[serde(default)]
    pub delivered: BTreeMap<String, i64>,
}

/// A time in microseconds since the Unix epoch.
pub fn micros(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        i64::try_from(since.as_micros()).unwrap_or(i64::MAX)
    })
}

impl HuntingState {
    /// Where the next window starts: the last one's end, or `start`.
    pub fn window_start(&self, start: SystemTime) -> SystemTime {
        self.window_end
            .as_deref()
            .and_then(|text| humantime::parse_rfc3339_weak(text.trim_end_matches('Z')).ok())
            .unwrap_or(start)
    }

    /// Whether the row with `digest` was delivered already.
    pub fn was_delivered(&self, digest: &str) -> bool {
        self.delivered.contains_key(digest)
    }

    /// Records delivered rows: `(digest, Timestamp in microseconds)`.
    pub fn delivered<'a>(&mut self, rows: impl IntoIterator<Item = &'a (String, i64)>) {
        for (digest, timestamp) in rows {
            self.delivered.insert(digest.clone(), *timestamp);
        }
    }

    /// Every row up to `end` was acknowledged: the next window starts there, and rows too old to
    /// be read again (`Timestamp` at or before `end - overlap`) are forgotten.
    pub fn advance(&mut self, end: SystemTime, overlap: Duration) {
        self.window_end = Some(humantime::format_rfc3339_micros(end).to_string());
        let floor = micros(end.checked_sub(overlap).unwrap_or(UNIX_EPOCH));
        self.delivered.retain(|_, timestamp| *timestamp > floor);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_kept_while_a_window_can_read_them_again() {
        let start = humantime::parse_rfc3339("2026-12-07T10:00:00Z").unwrap();
        let mut state = HuntingState::default();
        assert_eq!(state.window_start(start), start);
        let minute = Duration::from_secs(60);
        state.delivered(&[
            ("old".to_string(), micros(start + minute)),
            ("recent".to_string(), micros(start + 9 * minute)),
        ]);
        state.advance(start + 10 * minute, 5 * minute);
        assert_eq!(state.window_start(start), start + 10 * minute);
        assert!(!state.was_delivered("old") && state.was_delivered("recent"));
        let stored = serde_json::to_string(&state).unwrap();
        assert_eq!(
            serde_json::from_str::<HuntingState>(&stored).unwrap(),
            state
        );
    }
}
