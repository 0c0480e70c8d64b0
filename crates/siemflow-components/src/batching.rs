//! Grouping events into requests by count, bytes and time: the `batch:` options of every sink
//! that sends requests (`splunk_hec`, `http`).
//!
//! A request is sent when it holds `max_events` events, when one more event would take it past
//! `max_bytes`, or `timeout` after its first event arrived, whichever comes first. An event larger
//! than `max_bytes` by itself goes alone. [`Batcher::next`] is cancel-safe: the events of a request
//! being built live in the batcher, so a sink can wait on it in a `select!` next to other work.

use std::collections::VecDeque;
use std::time::Duration;

use serde::Deserialize;
use siemflow_core::config::{duration, size};
use siemflow_core::event::Event;
use siemflow_core::topology::buffer::BufferReceiver;
use tokio::time::Instant;

/// `batch:` on a sink that sends requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchConfig {
    /// Events per request at most (default 1000).
    #[serde(default = "BatchConfig::default_max_events")]
    pub max_events: usize,
    /// Bytes per request at most, before compression (default `1MiB`).
    #[schemars(with = "String")]
    #[serde(
        default = "BatchConfig::default_max_bytes",
        deserialize_with = "size::deserialize"
    )]
    pub max_bytes: u64,
    /// How long the first event of a request waits for others (default `1s`).
    #[schemars(with = "String")]
    #[serde(
        default = "BatchConfig::default_timeout",
        deserialize_with = "duration::deserialize"
    )]
    pub timeout: Duration,
}

impl BatchConfig {
    fn default_max_events() -> usize {
        1000
    }

    fn default_max_bytes() -> u64 {
        1 << 20
    }

    fn default_timeout() -> Duration {
        Duration::from_secs(1)
    }

    /// Checks the limits.
    pub fn check(&self) -> Result<(), String> {
        if self.max_events == 0 {
            return Err("`batch.max_events` must be at least 1".into());
        }
        if self.max_bytes == 0 {
            return Err("`batch.max_bytes` must be at least 1".into());
        }
        Ok(())
    }
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            max_events: Self::default_max_events(),
            max_bytes: Self::default_max_bytes(),
            timeout: Self::default_timeout(),
        }
    }
}

/// Builds requests out of a sink's input.
#[derive(Debug)]
pub struct Batcher {
    config: BatchConfig,
    carry: VecDeque<Event>,
    current: Vec<Event>,
    bytes: u64,
    deadline: Option<Instant>,
    closed: bool,
}

impl Batcher {
    /// A batcher with these limits.
    pub fn new(config: BatchConfig) -> Self {
        Self {
            config,
            carry: VecDeque::new(),
            current: Vec::new(),
            bytes: 0,
            deadline: None,
            closed: false,
        }
    }

    /// The next request's events, `size` giving each event's encoded size; `None` once the input
    /// is closed and everything has been handed out.
    pub async fn next(
        &mut self,
        input: &mut BufferReceiver,
        size: impl Fn(&Event) -> usize,
    ) -> Option<Vec<Event>> {
        loop {
            while let Some(event) = self.carry.pop_front() {
                let bytes = size(&event) as u64;
                if !self.current.is_empty() && self.bytes + bytes > self.config.max_bytes {
                    self.carry.push_front(event);
                    return Some(self.take());
                }
                if self.current.is_empty() {
                    self.deadline = Some(Instant::now() + self.config.timeout);
                }
                self.current.push(event);
                self.bytes += bytes;
                if self.current.len() >= self.config.max_events
                    || self.bytes >= self.config.max_bytes
                {
                    return Some(self.take());
                }
            }
            if self.closed {
                return (!self.current.is_empty()).then(|| self.take());
            }
            let received = match self.deadline {
                Some(deadline) => tokio::select! {
                    received = input.recv() => received,
                    () = tokio::time::sleep_until(deadline) => return Some(self.take()),
                },
                None => input.recv().await,
            };
            match received {
                Some(batch) => self.carry.extend(batch),
                None => self.closed = true,
            }
        }
    }

    /// Whether the input is closed and nothing is left to hand out.
    pub fn is_done(&self) -> bool {
        self.closed && self.carry.is_empty() && self.current.is_empty()
    }

    fn take(&mut self) -> Vec<Event> {
        self.bytes = 0;
        self.deadline = None;
        std::mem::take(&mut self.current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{context, json_batch};
    use siemflow_core::config::WhenFull;
    use siemflow_core::telemetry::ComponentMetrics;
    use siemflow_core::topology::buffer::channel;

    fn metrics() -> ComponentMetrics {
        context("batch").metrics
    }

    fn config(max_events: usize, max_bytes: u64, timeout_ms: u64) -> BatchConfig {
        BatchConfig {
            max_events,
            max_bytes,
            timeout: Duration::from_millis(timeout_ms),
        }
    }

    fn events(n: usize) -> Vec<Event> {
        json_batch(&vec!["{\"a\":1}"; n]).0
    }

    #[tokio::test]
    async fn splits_by_count_and_hands_out_the_rest_when_the_input_closes() {
        let (sender, mut input) = channel(100, WhenFull::Block, metrics());
        sender.send(events(25)).await.unwrap();
        drop(sender);
        let mut batcher = Batcher::new(config(10, 1 << 20, 60_000));
        let mut sizes = Vec::new();
        while let Some(batch) = batcher.next(&mut input, |_| 7).await {
            sizes.push(batch.len());
        }
        assert_eq!(sizes, [10, 10, 5]);
        assert!(batcher.is_done());
    }

    #[tokio::test]
    async fn splits_by_bytes_and_sends_an_oversized_event_alone() {
        let (sender, mut input) = channel(100, WhenFull::Block, metrics());
        sender.send(events(5)).await.unwrap();
        drop(sender);
        let mut batcher = Batcher::new(config(100, 20, 60_000));
        let mut sizes = Vec::new();
        // 8 bytes each except the third, which alone is over the limit.
        let size = |event: &Event| if event.id().as_u128() == 2 { 50 } else { 8 };
        while let Some(batch) = batcher.next(&mut input, size).await {
            sizes.push(batch.len());
        }
        assert_eq!(sizes, [2, 1, 2]);
    }

    #[tokio::test(start_paused = true)]
    async fn sends_a_partial_request_after_the_timeout() {
        let (sender, mut input) = channel(100, WhenFull::Block, metrics());
        sender.send(events(3)).await.unwrap();
        let mut batcher = Batcher::new(config(100, 1 << 20, 500));
        let started = Instant::now();
        let batch = batcher.next(&mut input, |_| 1).await.unwrap();
        assert_eq!(batch.len(), 3);
        assert_eq!(started.elapsed(), Duration::from_millis(500));
        drop(sender);
        assert!(batcher.next(&mut input, |_| 1).await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_wait_keeps_the_events_it_had_taken() {
        let (sender, mut input) = channel(100, WhenFull::Block, metrics());
        sender.send(events(4)).await.unwrap();
        let mut batcher = Batcher::new(config(100, 1 << 20, 1000));
        let cancelled =
            tokio::time::timeout(Duration::from_millis(100), batcher.next(&mut input, |_| 1)).await;
        assert!(cancelled.is_err());
        drop(sender);
        assert_eq!(batcher.next(&mut input, |_| 1).await.unwrap().len(), 4);
    }
}
