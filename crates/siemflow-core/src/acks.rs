//! Acknowledgements back at the source, in the order batches were sent.
//!
//! A source pushes each batch's [`BatchStatusReceiver`] with the checkpoint the batch reaches, and
//! reads them back in send order. A checkpoint may only move to a batch's position once that batch
//! and every batch before it are done: [`OrderedAcks::next`] yields in order, so the source commits
//! exactly the contiguous delivered prefix.

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesOrdered;

use crate::event::{BatchStatus, BatchStatusReceiver};

/// Pending batches of one source, oldest first.
pub struct OrderedAcks<T> {
    pending: FuturesOrdered<BoxFuture<'static, (T, BatchStatus)>>,
}

impl<T> std::fmt::Debug for OrderedAcks<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderedAcks")
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl<T: Send + 'static> Default for OrderedAcks<T> {
    fn default() -> Self {
        Self {
            pending: FuturesOrdered::new(),
        }
    }
}

impl<T: Send + 'static> OrderedAcks<T> {
    /// Tracks a sent batch and the position it reaches.
    pub fn push(&mut self, receiver: BatchStatusReceiver, position: T) {
        self.pending
            .push_back(Box::pin(async move { (position, receiver.await) }));
    }

    /// The oldest batch's position and status, once it is resolved; `None` when nothing is pending.
    pub async fn next(&mut self) -> Option<(T, BatchStatus)> {
        self.pending.next().await
    }

    /// Batches not yet resolved.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{BatchNotifier, EventStatus};

    #[tokio::test]
    async fn yields_in_send_order() {
        let mut acks = OrderedAcks::default();
        let (first, first_status) = BatchNotifier::new();
        let (second, second_status) = BatchNotifier::new();
        let first_event = first.finalizer();
        let second_event = second.finalizer();
        drop((first, second));
        acks.push(first_status, 1);
        acks.push(second_status, 2);
        second_event.resolve(EventStatus::Delivered);
        let early = tokio::time::timeout(std::time::Duration::from_millis(20), acks.next()).await;
        assert!(early.is_err(), "the second batch must wait for the first");
        first_event.resolve(EventStatus::Errored);
        assert_eq!(acks.next().await, Some((1, BatchStatus::Errored)));
        assert_eq!(acks.next().await, Some((2, BatchStatus::Delivered)));
        assert_eq!(acks.next().await, None);
    }
}
