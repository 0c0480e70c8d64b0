//! How many receivers read each partition at once, so tests can check that instances sharing a
//! consumer group never read one partition twice at the same time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The receivers of one partition in one consumer group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Readers {
    /// Receive links delivering now.
    pub now: usize,
    /// The most that delivered at once since the start or the last reset.
    pub peak: usize,
}

type Key = (String, String, usize);

/// Counts of active receivers by hub, consumer group and partition.
#[derive(Debug, Default)]
pub(crate) struct ReaderCounts {
    counts: Mutex<HashMap<Key, Readers>>,
}

impl ReaderCounts {
    fn update<R>(&self, work: impl FnOnce(&mut HashMap<Key, Readers>) -> R) -> R {
        work(
            &mut self
                .counts
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// Counts a receiver until the returned guard drops.
    pub(crate) fn enter(self: &Arc<Self>, hub: &str, group: &str, partition: usize) -> Reading {
        let key = (hub.to_string(), group.to_string(), partition);
        self.update(|counts| {
            let entry = counts.entry(key.clone()).or_default();
            entry.now += 1;
            entry.peak = entry.peak.max(entry.now);
        });
        Reading {
            counts: self.clone(),
            key,
        }
    }

    /// The receivers of `partitions` partitions of `hub` in `group`.
    pub(crate) fn get(&self, hub: &str, group: &str, partitions: usize) -> Vec<Readers> {
        self.update(|counts| {
            (0..partitions)
                .map(|partition| {
                    counts
                        .get(&(hub.to_string(), group.to_string(), partition))
                        .copied()
                        .unwrap_or_default()
                })
                .collect()
        })
    }

    /// Starts every peak again from the receivers delivering now.
    pub(crate) fn reset_peaks(&self) {
        self.update(|counts| {
            for readers in counts.values_mut() {
                readers.peak = readers.now;
            }
        });
    }
}

/// One receiver, counted while it lives.
#[derive(Debug)]
pub(crate) struct Reading {
    counts: Arc<ReaderCounts>,
    key: Key,
}

impl Drop for Reading {
    fn drop(&mut self) {
        self.counts.update(|counts| {
            if let Some(entry) = counts.get_mut(&self.key) {
                entry.now = entry.now.saturating_sub(1);
            }
        });
    }
}
