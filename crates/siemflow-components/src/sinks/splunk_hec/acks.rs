//! Requests HEC has taken but not yet confirmed as indexed, by ack id.
//!
//! Their events stay unresolved (so no source checkpoint passes them) until an ack query says
//! `true`. Requests waiting longer than the ack timeout, and all of them when the channel has to
//! change (ack ids belong to a channel), are handed back to be sent again.

use std::collections::HashMap;
use std::time::Duration;

use siemflow_core::event::Event;
use tokio::time::Instant;

#[derive(Debug)]
struct Waiting {
    events: Vec<Event>,
    sent_at: Instant,
}

/// Requests waiting for their acknowledgement.
#[derive(Debug, Default)]
pub(super) struct PendingAcks {
    waiting: HashMap<u64, Waiting>,
}

impl PendingAcks {
    /// A request HEC answered with `ack_id`. Returns the events of an earlier request under the
    /// same id (a server that started its ids over), which must be sent again.
    pub(super) fn insert(&mut self, ack_id: u64, events: Vec<Event>) -> Option<Vec<Event>> {
        let waiting = Waiting {
            events,
            sent_at: Instant::now(),
        };
        self.waiting
            .insert(ack_id, waiting)
            .map(|replaced| replaced.events)
    }

    /// The ids to ask about.
    pub(super) fn ids(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.waiting.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// The events of an indexed request.
    pub(super) fn indexed(&mut self, ack_id: u64) -> Option<Vec<Event>> {
        self.waiting.remove(&ack_id).map(|waiting| waiting.events)
    }

    /// Requests waiting longer than `timeout`, removed.
    pub(super) fn expired(&mut self, timeout: Duration) -> Vec<Vec<Event>> {
        let now = Instant::now();
        let expired: Vec<u64> = self
            .waiting
            .iter()
            .filter(|(_, waiting)| now.duration_since(waiting.sent_at) >= timeout)
            .map(|(id, _)| *id)
            .collect();
        expired
            .into_iter()
            .filter_map(|id| self.indexed(id))
            .collect()
    }

    /// Every waiting request, removed.
    pub(super) fn take_all(&mut self) -> Vec<Vec<Event>> {
        self.waiting
            .drain()
            .map(|(_, waiting)| waiting.events)
            .collect()
    }

    /// Whether nothing waits.
    pub(super) fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::json_batch;

    #[tokio::test(start_paused = true)]
    async fn hands_back_what_waits_too_long() {
        let mut pending = PendingAcks::default();
        pending.insert(0, json_batch(&["{}"]).0);
        tokio::time::advance(Duration::from_secs(10)).await;
        pending.insert(1, json_batch(&["{}", "{}"]).0);
        assert_eq!(pending.ids(), [0, 1]);
        let expired = pending.expired(Duration::from_secs(5));
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].len(), 1);
        assert_eq!(pending.indexed(1).map(|events| events.len()), Some(2));
        assert!(pending.is_empty());
    }
}
