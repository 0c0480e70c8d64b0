//! Live copies of the events leaving components, for `siemflow tap`.
//!
//! Every output port's [`Fanout`](crate::topology) carries a [`TapPoint`]. While nobody watches,
//! a tap point costs one atomic load per batch. A viewer ([`Taps::subscribe`]) names a pipeline
//! and a component (or the pipeline's sources) and gets a bounded channel of [`TapEvent`]s; a
//! copy that does not fit (a slow viewer) is dropped and counted for the viewer, never waited
//! for: watching never slows delivery.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::mpsc;

use crate::event::{BodyFormat, Event};

/// One event as a viewer sees it: where it left, its id and type, and its body.
#[derive(Debug, Clone, Serialize)]
pub struct TapEvent {
    /// The pipeline.
    pub pipeline: String,
    /// The component it left.
    pub component: String,
    /// The named output it left by, if not the default one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// The event id.
    pub id: String,
    /// The event type, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// The body: JSON as JSON, formatted text as a string.
    pub body: serde_json::Value,
}

/// What a viewer watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapTarget {
    /// The pipeline id.
    pub pipeline: String,
    /// A component id, or `None` for the pipeline's sources.
    pub component: Option<String>,
}

/// A viewer's end: the events, and how many did not fit.
#[derive(Debug)]
pub struct TapReceiver {
    /// The events, in the order each port sent them.
    pub events: mpsc::Receiver<TapEvent>,
    /// Copies dropped because the viewer was behind.
    pub dropped: Arc<AtomicU64>,
}

#[derive(Debug)]
struct Subscriber {
    target: TapTarget,
    sender: mpsc::Sender<TapEvent>,
    dropped: Arc<AtomicU64>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Subscribers, including closed ones not yet noticed; 0 means no work at all.
    active: AtomicUsize,
    subscribers: Mutex<Vec<Subscriber>>,
}

/// The viewers of one process, shared by every pipeline's ports and the metrics server.
#[derive(Debug, Clone, Default)]
pub struct Taps(Arc<Inner>);

impl Taps {
    /// Starts watching; the copies stop when the receiver is dropped.
    pub fn subscribe(&self, target: TapTarget, capacity: usize) -> TapReceiver {
        let (sender, events) = mpsc::channel(capacity.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        let mut subscribers = self.lock();
        subscribers.push(Subscriber {
            target,
            sender,
            dropped: dropped.clone(),
        });
        self.0.active.store(subscribers.len(), Ordering::Release);
        TapReceiver { events, dropped }
    }

    /// The point of one output port.
    pub fn point(
        &self,
        pipeline: Arc<str>,
        component: Arc<str>,
        output: Option<Arc<str>>,
        is_source: bool,
    ) -> TapPoint {
        TapPoint {
            taps: self.clone(),
            pipeline,
            component,
            output,
            is_source,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Subscriber>> {
        // A panic while holding the lock leaves a plain list: keep using it.
        self.0
            .subscribers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Where one output port's events can be watched.
#[derive(Debug, Clone)]
pub struct TapPoint {
    taps: Taps,
    pipeline: Arc<str>,
    component: Arc<str>,
    output: Option<Arc<str>>,
    is_source: bool,
}

impl TapPoint {
    /// Copies a batch to the viewers watching this port, if any.
    pub fn observe(&self, batch: &[Event]) {
        if self.taps.0.active.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut subscribers = self.taps.lock();
        subscribers.retain(|subscriber| !subscriber.sender.is_closed());
        self.taps
            .0
            .active
            .store(subscribers.len(), Ordering::Release);
        for subscriber in subscribers.iter() {
            if !self.watched_by(&subscriber.target) {
                continue;
            }
            for event in batch {
                match subscriber.sender.try_send(self.copy(event)) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        subscriber.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => break,
                }
            }
        }
    }

    fn watched_by(&self, target: &TapTarget) -> bool {
        *target.pipeline == *self.pipeline
            && match &target.component {
                Some(component) => **component == *self.component,
                None => self.is_source,
            }
    }

    fn copy(&self, event: &Event) -> TapEvent {
        let text = String::from_utf8_lossy(event.body());
        let body = match event.format() {
            BodyFormat::Json => serde_json::from_str(&text)
                .unwrap_or_else(|_| serde_json::Value::String(text.into_owned())),
            BodyFormat::Text => serde_json::Value::String(text.into_owned()),
        };
        TapEvent {
            pipeline: self.pipeline.to_string(),
            component: self.component.to_string(),
            output: self.output.as_deref().map(str::to_string),
            id: event.id().to_string(),
            event_type: event.metadata().event_type.as_deref().map(str::to_string),
            body,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    use bytes::Bytes;

    use super::{TapTarget, Taps};
    use crate::event::{Event, EventId, EventMetadata, Origin};

    fn event(n: u64) -> Event {
        Event::json(
            Bytes::from(format!("{{\"n\":{n}}}")),
            EventMetadata::new(
                Arc::new(Origin {
                    pipeline: "p".into(),
                    component: "in".into(),
                }),
                EventId::from(u128::from(n)),
            ),
        )
    }

    #[test]
    fn a_viewer_sees_its_component_and_a_slow_one_loses_copies_not_delivery() {
        let taps = Taps::default();
        let point = taps.point("p".into(), "map".into(), None, false);
        let source = taps.point("p".into(), "in".into(), None, true);
        // Nobody watches: nothing happens.
        point.observe(&[event(0)]);
        let mut viewer = taps.subscribe(
            TapTarget {
                pipeline: "p".into(),
                component: Some("map".into()),
            },
            2,
        );
        let mut sources = taps.subscribe(
            TapTarget {
                pipeline: "p".into(),
                component: None,
            },
            10,
        );
        point.observe(&[event(1), event(2), event(3)]);
        source.observe(&[event(9)]);
        let first = viewer.events.try_recv().unwrap();
        assert_eq!(
            (first.component.as_str(), first.body["n"].as_u64()),
            ("map", Some(1))
        );
        assert_eq!(viewer.events.try_recv().unwrap().body["n"], 2);
        assert!(viewer.events.try_recv().is_err());
        assert_eq!(viewer.dropped.load(Ordering::Relaxed), 1);
        assert_eq!(sources.events.try_recv().unwrap().body["n"], 9);
        assert!(sources.events.try_recv().is_err());
        // A viewer that leaves is forgotten.
        drop(viewer);
        drop(sources);
        point.observe(&[event(4)]);
        assert_eq!(taps.0.active.load(Ordering::Acquire), 0);
    }
}
