//! Batches a polling source sends with one acknowledgement each, remembering what each event
//! stands for (a change of an alert, a row of a hunting result), so that the source records as
//! delivered exactly what its sinks acknowledged.

use siemflow_core::component::SourceSender;
use siemflow_core::event::{BatchNotifier, BatchStatusReceiver, Event};
use siemflow_core::telemetry::ComponentMetrics;
use siemflow_core::topology::buffer::Closed;

/// Events being gathered into a batch, with what each stands for.
#[derive(Debug)]
pub struct Gathering<K> {
    events: Vec<Event>,
    keys: Vec<K>,
    notifier: BatchNotifier,
    status: BatchStatusReceiver,
}

/// A batch sent: its acknowledgement to come and what its events stand for.
#[derive(Debug)]
pub struct Sent<K> {
    status: BatchStatusReceiver,
    keys: Vec<K>,
}

impl<K> Default for Gathering<K> {
    fn default() -> Self {
        let (notifier, status) = BatchNotifier::new();
        Self {
            events: Vec::new(),
            keys: Vec::new(),
            notifier,
            status,
        }
    }
}

impl<K> Gathering<K> {
    /// Adds an event standing for `key`.
    pub fn push(&mut self, mut event: Event, key: K) {
        event.add_finalizer(self.notifier.finalizer());
        self.events.push(event);
        self.keys.push(key);
    }

    /// Events gathered.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Sends the batch downstream (counted as pending until acknowledged).
    pub async fn send(
        self,
        out: &mut SourceSender,
        metrics: &ComponentMetrics,
    ) -> Result<Sent<K>, Closed> {
        let Self {
            events,
            keys,
            notifier,
            status,
        } = self;
        drop(notifier);
        metrics.pending_changed(events.len() as i64);
        out.send(events).await?;
        Ok(Sent { status, keys })
    }
}

impl<K> Sent<K> {
    /// Waits for the acknowledgement: what the events stood for, if every sink delivered them
    /// (or dropped them on purpose); else the error is counted and logged with `retry`, what
    /// happens to them next.
    pub async fn acknowledged(self, metrics: &ComponentMetrics, retry: &str) -> Option<Vec<K>> {
        let status = self.status.await;
        metrics.pending_changed(-(self.keys.len() as i64));
        if status.is_delivered() {
            return Some(self.keys);
        }
        metrics.error(
            "batch_not_delivered",
            &format_args!(
                "{} event(s) were not delivered ({status:?}); {retry}",
                self.keys.len()
            ),
        );
        None
    }
}
