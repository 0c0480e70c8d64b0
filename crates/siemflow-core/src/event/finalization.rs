//! End-to-end acknowledgements: how a source learns that a batch it emitted was delivered.
//!
//! A source wraps every batch it reads in a [`BatchNotifier`] and gives each event an
//! [`EventFinalizer`] pointing at it. Finalizers travel with events through transforms (an output
//! derived from an input takes over the input's finalizers) and are cloned on fan-out, so that each
//! copy of an event reports on its own. When a component is done with a copy it *resolves* the
//! finalizer with an [`EventStatus`]; once every finalizer of the batch is gone, the batch's
//! [`BatchStatusReceiver`] yields the worst status reported.
//!
//! One deliberate difference from Vector: a finalizer dropped without being resolved reports
//! [`BatchStatus::Errored`]. A copy that vanishes (a task aborted at shutdown, a closed channel) is
//! therefore never mistaken for a delivery, and the source does not move its checkpoint past it.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};

use smallvec::SmallVec;
use tokio::sync::oneshot;

/// What became of one copy of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventStatus {
    /// A sink wrote the event to its destination.
    Delivered,
    /// A transform dropped the event on purpose (filter, dedupe, a full `drop_newest` buffer).
    Dropped,
    /// The event was written to the pipeline's dead-letter file.
    DeadLettered,
    /// Delivery failed; the source must not consider the batch done.
    Errored,
    /// The destination refused the event permanently and it could not be dead-lettered.
    Rejected,
}

impl EventStatus {
    /// The batch-level meaning of this status: dropped and dead-lettered events are done.
    pub fn batch_status(self) -> BatchStatus {
        match self {
            EventStatus::Delivered | EventStatus::Dropped | EventStatus::DeadLettered => {
                BatchStatus::Delivered
            }
            EventStatus::Errored => BatchStatus::Errored,
            EventStatus::Rejected => BatchStatus::Rejected,
        }
    }
}

/// The outcome of a whole source batch: the worst status of any of its events.
///
/// The precedence `Rejected` > `Errored` > `Delivered` is the order of the variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum BatchStatus {
    /// Every event was delivered, dropped on purpose or dead-lettered.
    Delivered = 0,
    /// At least one event failed to be delivered.
    Errored = 1,
    /// At least one event was rejected by its destination.
    Rejected = 2,
}

impl BatchStatus {
    fn from_u8(value: u8) -> Self {
        match value {
            0 => BatchStatus::Delivered,
            1 => BatchStatus::Errored,
            _ => BatchStatus::Rejected,
        }
    }

    /// Whether the source may commit the batch's checkpoint.
    pub fn is_delivered(self) -> bool {
        self == BatchStatus::Delivered
    }
}

/// What became of a whole batch: its status, and why any of its events was dead-lettered
/// (what a source that must answer for its events, such as a webhook, tells its caller).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchOutcome {
    /// The worst status.
    pub status: BatchStatus,
    /// The reasons of the events dead-lettered (the first [`MAX_REASONS`]).
    pub dead_lettered: Vec<Arc<str>>,
}

/// Reasons kept per batch.
pub const MAX_REASONS: usize = 10;

#[derive(Debug)]
struct Shared {
    status: AtomicU8,
    reasons: Mutex<Vec<Arc<str>>>,
    sender: Option<oneshot::Sender<BatchOutcome>>,
}

impl Shared {
    fn update(&self, status: BatchStatus) {
        self.status.fetch_max(status as u8, Ordering::AcqRel);
    }

    fn note(&self, reason: &str) {
        let mut reasons = self
            .reasons
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if reasons.len() < MAX_REASONS {
            reasons.push(Arc::from(reason));
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(sender) = self.sender.take() {
            let status = BatchStatus::from_u8(*self.status.get_mut());
            let dead_lettered = std::mem::take(
                self.reasons
                    .get_mut()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            );
            // The source may have stopped listening (shutdown); nothing to do then.
            let _ = sender.send(BatchOutcome {
                status,
                dead_lettered,
            });
        }
    }
}

/// The handle a source keeps while it hands out finalizers for one batch.
///
/// Dropping the notifier itself reports nothing: only the finalizers count.
#[derive(Debug)]
pub struct BatchNotifier {
    shared: Arc<Shared>,
}

impl BatchNotifier {
    /// Creates a notifier and the receiver that resolves once all finalizers are gone.
    pub fn new() -> (Self, BatchStatusReceiver) {
        let (sender, receiver) = oneshot::channel();
        let shared = Arc::new(Shared {
            status: AtomicU8::new(BatchStatus::Delivered as u8),
            reasons: Mutex::new(Vec::new()),
            sender: Some(sender),
        });
        (Self { shared }, BatchStatusReceiver { receiver })
    }

    /// A finalizer for one event of this batch.
    pub fn finalizer(&self) -> EventFinalizer {
        EventFinalizer {
            shared: Some(self.shared.clone()),
        }
    }
}

/// A batch seen from outside, without keeping it alive: pending while its notifier or any of
/// its events' finalizers exist. What the pipeline's oldest-unacknowledged gauge watches.
#[derive(Clone, Debug)]
pub struct PendingBatch(Weak<Shared>);

impl PendingBatch {
    /// Whether the batch still waits for some of its events' fates.
    pub fn is_pending(&self) -> bool {
        self.0.strong_count() > 0
    }

    fn is(&self, shared: &Arc<Shared>) -> bool {
        std::ptr::eq(self.0.as_ptr(), Arc::as_ptr(shared))
    }
}

/// Resolves to the status of a batch once every event of it has been resolved or dropped.
#[derive(Debug)]
pub struct BatchStatusReceiver {
    receiver: oneshot::Receiver<BatchOutcome>,
}

/// The sender lives in `Shared` and always sends on drop, so an error cannot happen; if it ever
/// did, not-delivered is the only safe answer.
fn received(result: Result<BatchOutcome, oneshot::error::RecvError>) -> BatchOutcome {
    result.unwrap_or(BatchOutcome {
        status: BatchStatus::Errored,
        dead_lettered: Vec::new(),
    })
}

impl BatchStatusReceiver {
    /// The status if the batch is already resolved, without waiting.
    pub fn try_status(&mut self) -> Option<BatchStatus> {
        self.receiver.try_recv().ok().map(|outcome| outcome.status)
    }

    /// The whole outcome, with the reasons of dead-lettered events.
    pub async fn outcome(self) -> BatchOutcome {
        received(self.receiver.await)
    }
}

impl Future for BatchStatusReceiver {
    type Output = BatchStatus;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<BatchStatus> {
        Pin::new(&mut self.receiver)
            .poll(cx)
            .map(|result| received(result).status)
    }
}

/// One event copy's link to its source batch.
///
/// Cloning gives a new, unresolved link (one per copy on fan-out). Dropping it unresolved reports
/// [`BatchStatus::Errored`].
#[derive(Debug)]
pub struct EventFinalizer {
    shared: Option<Arc<Shared>>,
}

impl EventFinalizer {
    /// Reports this copy's fate to its batch.
    pub fn resolve(mut self, status: EventStatus) {
        if let Some(shared) = self.shared.take() {
            shared.update(status.batch_status());
        }
    }

    /// Reports that this copy was dead-lettered, and why.
    pub fn dead_lettered(mut self, reason: &str) {
        if let Some(shared) = self.shared.take() {
            shared.note(reason);
            shared.update(EventStatus::DeadLettered.batch_status());
        }
    }
}

impl Clone for EventFinalizer {
    fn clone(&self) -> Self {
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for EventFinalizer {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            shared.update(BatchStatus::Errored);
        }
    }
}

/// The finalizers an event carries: usually one, more after aggregation.
#[derive(Debug, Default, Clone)]
pub struct EventFinalizers(SmallVec<[EventFinalizer; 1]>);

impl EventFinalizers {
    /// Adds a finalizer (a source does this once per event).
    pub fn push(&mut self, finalizer: EventFinalizer) {
        self.0.push(finalizer);
    }

    /// Takes over another event's finalizers (a transform output derived from several inputs).
    pub fn merge(&mut self, other: EventFinalizers) {
        self.0.extend(other.0);
    }

    /// Resolves every finalizer with the same status.
    pub fn resolve(&mut self, status: EventStatus) {
        for finalizer in self.0.drain(..) {
            finalizer.resolve(status);
        }
    }

    /// Resolves every finalizer as dead-lettered for `reason`.
    pub fn dead_lettered(&mut self, reason: &str) {
        for finalizer in self.0.drain(..) {
            finalizer.dead_lettered(reason);
        }
    }

    /// True when the event is not tied to any batch (tests, `siemflow test` inputs).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds the batches these finalizers belong to that `into` does not end with (events of one
    /// batch come together, so comparing with the last one found is enough to list each once).
    pub fn batches_into(&self, into: &mut Vec<PendingBatch>) {
        for finalizer in &self.0 {
            let Some(shared) = &finalizer.shared else {
                continue;
            };
            if !into.last().is_some_and(|last| last.is(shared)) {
                into.push(PendingBatch(Arc::downgrade(shared)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now(receiver: &mut BatchStatusReceiver) -> Option<BatchStatus> {
        receiver.try_status()
    }

    #[test]
    fn batch_resolves_when_last_finalizer_resolves() {
        let (notifier, mut receiver) = BatchNotifier::new();
        let a = notifier.finalizer();
        let b = notifier.finalizer();
        drop(notifier);
        a.resolve(EventStatus::Delivered);
        assert_eq!(now(&mut receiver), None);
        b.resolve(EventStatus::Dropped);
        assert_eq!(now(&mut receiver), Some(BatchStatus::Delivered));
    }

    #[test]
    fn worst_status_wins() {
        let (notifier, mut receiver) = BatchNotifier::new();
        let finalizers = [
            notifier.finalizer(),
            notifier.finalizer(),
            notifier.finalizer(),
        ];
        drop(notifier);
        let [a, b, c] = finalizers;
        a.resolve(EventStatus::Rejected);
        b.resolve(EventStatus::Errored);
        c.resolve(EventStatus::Delivered);
        assert_eq!(now(&mut receiver), Some(BatchStatus::Rejected));
    }

    #[test]
    fn unresolved_copy_fails_the_batch() {
        let (notifier, mut receiver) = BatchNotifier::new();
        let original = notifier.finalizer();
        let copy = original.clone();
        drop(notifier);
        original.resolve(EventStatus::Delivered);
        drop(copy);
        assert_eq!(now(&mut receiver), Some(BatchStatus::Errored));
    }

    #[tokio::test]
    async fn the_outcome_says_why_events_were_dead_lettered() {
        let (notifier, receiver) = BatchNotifier::new();
        let mut first = EventFinalizers::default();
        first.push(notifier.finalizer());
        let second = notifier.finalizer();
        drop(notifier);
        first.dead_lettered("alert_not_found: alert x: HTTP 404 NotFound: no such alert");
        second.resolve(EventStatus::Delivered);
        let outcome = receiver.outcome().await;
        assert_eq!(
            outcome.status,
            BatchStatus::Delivered,
            "dead-lettered is done"
        );
        assert_eq!(
            outcome.dead_lettered,
            vec![Arc::from(
                "alert_not_found: alert x: HTTP 404 NotFound: no such alert"
            )]
        );
    }

    #[test]
    fn empty_batch_is_delivered() {
        let (notifier, mut receiver) = BatchNotifier::new();
        drop(notifier);
        assert_eq!(now(&mut receiver), Some(BatchStatus::Delivered));
    }

    #[test]
    fn a_pending_batch_is_pending_until_its_last_finalizer_goes() {
        let (notifier, _receiver) = BatchNotifier::new();
        let mut events = [EventFinalizers::default(), EventFinalizers::default()];
        for event in &mut events {
            event.push(notifier.finalizer());
        }
        drop(notifier);
        let mut batches = Vec::new();
        for event in &events {
            event.batches_into(&mut batches);
        }
        assert_eq!(batches.len(), 1, "one batch, listed once");
        let [mut first, mut second] = events;
        first.resolve(EventStatus::Delivered);
        assert!(batches[0].is_pending());
        second.resolve(EventStatus::Delivered);
        assert!(!batches[0].is_pending());
    }

    #[test]
    fn dead_lettered_counts_as_done() {
        let (notifier, mut receiver) = BatchNotifier::new();
        let mut finalizers = EventFinalizers::default();
        finalizers.push(notifier.finalizer());
        drop(notifier);
        finalizers.resolve(EventStatus::DeadLettered);
        assert_eq!(now(&mut receiver), Some(BatchStatus::Delivered));
    }
}
