//! `siemflow_pipeline_oldest_unacked_seconds`: how long the oldest event a pipeline's sources
//! sent has been waiting for its acknowledgement. When a sink cannot deliver, this grows while
//! everything else (checkpoint ages, buffers) may look calm: the source simply waits.
//!
//! Each source batch sent is remembered with the time it was sent, as a weak handle that does
//! not keep it alive; the gauge, read when scraped, is the age of the oldest one still pending,
//! 0 when none is. Resolved batches are forgotten as soon as no older one is pending, so memory
//! follows the events in flight.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use prometheus_client::encoding::{EncodeMetric, MetricEncoder};
use prometheus_client::metrics::{MetricType, TypedMetric};

use crate::event::PendingBatch;

/// One pipeline's batches in flight, oldest first.
#[derive(Clone, Debug, Default)]
pub struct Unacked(Arc<Mutex<VecDeque<(Instant, PendingBatch)>>>);

impl Unacked {
    fn lock(&self) -> MutexGuard<'_, VecDeque<(Instant, PendingBatch)>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Batches were sent now.
    pub(crate) fn sent(&self, batches: impl IntoIterator<Item = PendingBatch>) {
        let now = Instant::now();
        let mut pending = self.lock();
        forget_resolved(&mut pending);
        pending.extend(batches.into_iter().map(|batch| (now, batch)));
    }

    /// How long the oldest pending batch has waited; `None` when nothing waits.
    pub fn oldest(&self) -> Option<Duration> {
        let mut pending = self.lock();
        forget_resolved(&mut pending);
        pending.front().map(|(sent, _)| sent.elapsed())
    }
}

fn forget_resolved(pending: &mut VecDeque<(Instant, PendingBatch)>) {
    while pending
        .front()
        .is_some_and(|(_, batch)| !batch.is_pending())
    {
        pending.pop_front();
    }
}

impl TypedMetric for Unacked {
    const TYPE: MetricType = MetricType::Gauge;
}

impl EncodeMetric for Unacked {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_gauge(&self.oldest().unwrap_or_default().as_secs_f64())
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{BatchNotifier, EventFinalizers, EventStatus};

    #[test]
    fn the_oldest_pending_batch_counts_and_resolved_ones_leave() {
        let unacked = Unacked::default();
        assert_eq!(unacked.oldest(), None);
        let (first, _a) = BatchNotifier::new();
        let (second, _b) = BatchNotifier::new();
        let mut events = [EventFinalizers::default(), EventFinalizers::default()];
        events[0].push(first.finalizer());
        events[1].push(second.finalizer());
        drop((first, second));
        let mut batches = Vec::new();
        for event in &events {
            event.batches_into(&mut batches);
        }
        unacked.sent(batches);
        std::thread::sleep(Duration::from_millis(20));
        assert!(unacked.oldest().unwrap() >= Duration::from_millis(20));
        let [mut old, mut young] = events;
        old.resolve(EventStatus::Delivered);
        assert!(unacked.oldest().is_some(), "the younger one still waits");
        young.resolve(EventStatus::Delivered);
        assert_eq!(unacked.oldest(), None);
    }
}
