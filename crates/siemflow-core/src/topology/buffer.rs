//! Bounded, event-counted channels: every transform input and every sink buffer.
//!
//! Capacity is counted in events, not batches, so memory stays bounded whatever the batch size.
//! A sender takes one permit per event (a batch larger than the whole capacity takes all of it)
//! and the permits go back when the receiver takes the batch out. With [`WhenFull::Block`] a full
//! buffer makes the sender wait, which is how backpressure reaches the source; with
//! [`WhenFull::DropNewest`] the incoming batch is dropped, counted, and acknowledged as dropped.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use crate::config::WhenFull;
use crate::event::{EventBatch, EventStatus, resolve_batch};
use crate::telemetry::ComponentMetrics;

/// The receiving component is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the downstream component stopped")]
pub struct Closed;

/// Creates a buffer holding at most `max_events` events.
pub fn channel(
    max_events: usize,
    when_full: WhenFull,
    metrics: ComponentMetrics,
) -> (BufferSender, BufferReceiver) {
    counted_channel(max_events, when_full, Some(metrics))
}

/// A blocking buffer that counts nothing: between a disk buffer and its sink, where the events
/// were already counted on their way into the disk buffer.
pub fn relay(max_events: usize) -> (BufferSender, BufferReceiver) {
    counted_channel(max_events, WhenFull::Block, None)
}

fn counted_channel(
    max_events: usize,
    when_full: WhenFull,
    metrics: Option<ComponentMetrics>,
) -> (BufferSender, BufferReceiver) {
    let max_events = max_events.clamp(1, Semaphore::MAX_PERMITS) as u32;
    let semaphore = Arc::new(Semaphore::new(max_events as usize));
    let (sender, receiver) = mpsc::unbounded_channel();
    (
        BufferSender {
            sender,
            semaphore: semaphore.clone(),
            max_events,
            when_full,
            metrics: metrics.clone(),
        },
        BufferReceiver {
            receiver,
            semaphore,
            metrics,
        },
    )
}

type Item = (EventBatch, OwnedSemaphorePermit);

/// The sending side; cloned once per upstream component (fan-in).
#[derive(Debug, Clone)]
pub struct BufferSender {
    sender: mpsc::UnboundedSender<Item>,
    semaphore: Arc<Semaphore>,
    max_events: u32,
    when_full: WhenFull,
    metrics: Option<ComponentMetrics>,
}

impl BufferSender {
    /// Sends a batch, waiting for room (`block`) or dropping it when full (`drop_newest`).
    ///
    /// On [`Closed`] the batch is dropped unresolved, so its events count as not delivered.
    pub async fn send(&self, batch: EventBatch) -> Result<(), Closed> {
        if batch.is_empty() {
            return Ok(());
        }
        let wanted = (batch.len() as u64).min(u64::from(self.max_events)) as u32;
        let permit = match self.when_full {
            WhenFull::Block => self
                .semaphore
                .clone()
                .acquire_many_owned(wanted)
                .await
                .map_err(|_| Closed)?,
            WhenFull::DropNewest => match self.semaphore.clone().try_acquire_many_owned(wanted) {
                Ok(permit) => permit,
                Err(tokio::sync::TryAcquireError::Closed) => return Err(Closed),
                Err(tokio::sync::TryAcquireError::NoPermits) => {
                    if let Some(metrics) = &self.metrics {
                        metrics.discarded(batch.len(), "buffer_full");
                    }
                    resolve_batch(batch, EventStatus::Dropped);
                    return Ok(());
                }
            },
        };
        let events = batch.len() as i64;
        self.sender.send((batch, permit)).map_err(|_| Closed)?;
        if let Some(metrics) = &self.metrics {
            metrics.buffer_changed(events);
        }
        Ok(())
    }
}

/// The receiving side, owned by the component.
#[derive(Debug)]
pub struct BufferReceiver {
    receiver: mpsc::UnboundedReceiver<Item>,
    semaphore: Arc<Semaphore>,
    metrics: Option<ComponentMetrics>,
}

impl BufferReceiver {
    /// The next batch, or `None` once every sender is gone and the buffer is empty.
    pub async fn recv(&mut self) -> Option<EventBatch> {
        let item = self.receiver.recv().await?;
        Some(self.taken(item))
    }

    /// The next batch if one is waiting now.
    pub fn try_recv(&mut self) -> Option<EventBatch> {
        let item = self.receiver.try_recv().ok()?;
        Some(self.taken(item))
    }

    fn taken(&self, (batch, permit): Item) -> EventBatch {
        drop(permit);
        if let Some(metrics) = &self.metrics {
            metrics.buffer_changed(-(batch.len() as i64));
            metrics.received(batch.len(), 0);
        }
        batch
    }
}

impl Drop for BufferReceiver {
    fn drop(&mut self) {
        // Wake senders blocked on a full buffer: they get `Closed` instead of waiting forever.
        self.semaphore.close();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::event::test_support::metadata;
    use crate::event::{BatchNotifier, BatchStatus, Event};
    use crate::telemetry::{ComponentLabels, Telemetry};

    fn metrics() -> ComponentMetrics {
        Telemetry::new().component(ComponentLabels {
            pipeline: "p".into(),
            component_id: "c".into(),
            component_kind: "sink".into(),
            component_type: "test".into(),
        })
    }

    fn batch(n: u64) -> EventBatch {
        (0..n)
            .map(|i| Event::json(bytes::Bytes::from_static(b"{}"), metadata(i)))
            .collect()
    }

    #[tokio::test]
    async fn block_waits_for_room() {
        let (sender, mut receiver) = channel(4, WhenFull::Block, metrics());
        sender.send(batch(3)).await.unwrap();
        let blocked = tokio::time::timeout(Duration::from_millis(50), sender.send(batch(2))).await;
        assert!(blocked.is_err(), "a full buffer must block");
        assert_eq!(receiver.recv().await.unwrap().len(), 3);
        sender.send(batch(2)).await.unwrap();
        assert_eq!(receiver.recv().await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn drop_newest_drops_and_acknowledges() {
        let metrics = metrics();
        let (sender, _receiver) = channel(2, WhenFull::DropNewest, metrics.clone());
        sender.send(batch(2)).await.unwrap();
        let (notifier, status) = BatchNotifier::new();
        let mut dropped = batch(1);
        dropped[0].add_finalizer(notifier.finalizer());
        drop(notifier);
        sender.send(dropped).await.unwrap();
        assert_eq!(status.await, BatchStatus::Delivered);
        assert_eq!(metrics.discarded_count("buffer_full"), 1);
    }

    #[tokio::test]
    async fn closed_receiver_fails_blocked_senders() {
        let (sender, receiver) = channel(1, WhenFull::Block, metrics());
        sender.send(batch(1)).await.unwrap();
        let pending = tokio::spawn({
            let sender = sender.clone();
            async move { sender.send(batch(1)).await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        drop(receiver);
        assert_eq!(pending.await.unwrap(), Err(Closed));
    }

    #[tokio::test]
    async fn oversized_batch_takes_the_whole_buffer() {
        let (sender, mut receiver) = channel(2, WhenFull::Block, metrics());
        sender.send(batch(5)).await.unwrap();
        assert_eq!(receiver.recv().await.unwrap().len(), 5);
    }
}
