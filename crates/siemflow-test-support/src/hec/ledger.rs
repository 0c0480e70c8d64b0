//! Accepted requests and their indexer acknowledgements, per channel.
//!
//! With acknowledgement on, an accepted request gets the channel's next ack id (from 0) and
//! becomes indexed when its delay has passed, or never (an indexer that lost it). An ack query
//! answers `true` once for an indexed request, then forgets the id, as Splunk does.

use std::collections::HashMap;
use std::time::Instant;

use serde_json::Value;

/// Everything the server accepted.
#[derive(Debug, Default)]
pub struct Ledger {
    channels: HashMap<String, Channel>,
    requests: Vec<Accepted>,
}

#[derive(Debug, Default)]
struct Channel {
    next_ack: u64,
    waiting: HashMap<u64, usize>,
}

#[derive(Debug)]
struct Accepted {
    indexed_at: Option<Instant>,
    events: Vec<Value>,
}

impl Ledger {
    /// Records an accepted request; returns its ack id when it came on a channel with
    /// acknowledgement on. `indexed_at: None` is a request that will never be indexed.
    pub fn accept(
        &mut self,
        channel: Option<&str>,
        events: Vec<Value>,
        indexed_at: Option<Instant>,
    ) -> Option<u64> {
        let index = self.requests.len();
        self.requests.push(Accepted { indexed_at, events });
        let channel = self.channels.entry(channel?.to_string()).or_default();
        let id = channel.next_ack;
        channel.next_ack += 1;
        channel.waiting.insert(id, index);
        Some(id)
    }

    /// Answers an ack query: `true` for each id indexed by `now` (then forgotten).
    pub fn query(&mut self, channel: &str, ids: &[u64], now: Instant) -> Vec<(u64, bool)> {
        let Some(channel) = self.channels.get_mut(channel) else {
            return ids.iter().map(|id| (*id, false)).collect();
        };
        ids.iter()
            .map(|id| {
                let indexed = channel.waiting.get(id).is_some_and(|index| {
                    self.requests[*index].indexed_at.is_some_and(|at| at <= now)
                });
                if indexed {
                    channel.waiting.remove(id);
                }
                (*id, indexed)
            })
            .collect()
    }

    /// The events of every request indexed by `now`, in the order they were accepted.
    pub fn indexed(&self, now: Instant) -> Vec<Value> {
        self.requests
            .iter()
            .filter(|request| request.indexed_at.is_some_and(|at| at <= now))
            .flat_map(|request| request.events.iter().cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;

    #[test]
    fn acks_once_indexed_then_forgets_and_never_acks_a_lost_request() {
        let mut ledger = Ledger::default();
        let now = Instant::now();
        let later = now + Duration::from_secs(5);
        assert_eq!(
            ledger.accept(Some("c"), vec![json!(1)], Some(later)),
            Some(0)
        );
        assert_eq!(ledger.accept(Some("c"), vec![json!(2)], None), Some(1));
        assert_eq!(ledger.accept(None, vec![json!(3)], Some(now)), None);
        assert_eq!(ledger.query("c", &[0, 1], now), [(0, false), (1, false)]);
        assert_eq!(ledger.indexed(now), [json!(3)]);
        assert_eq!(
            ledger.query("c", &[0, 1, 7], later),
            [(0, true), (1, false), (7, false)]
        );
        assert_eq!(ledger.query("c", &[0], later), [(0, false)]);
        assert_eq!(ledger.indexed(later), [json!(1), json!(3)]);
        assert_eq!(ledger.query("unknown", &[0], later), [(0, false)]);
    }
}
