//! Helpers for the components' unit tests.

use std::sync::Arc;

use bytes::Bytes;
use siemflow_core::component::{ComponentContext, Transform, TransformOutput};
use siemflow_core::event::{
    BatchNotifier, BatchStatus, BatchStatusReceiver, Event, EventId, EventMetadata, Origin,
};

/// Events tied to one batch notifier: bodies starting with `{` are JSON, others formatted text.
pub fn json_batch(bodies: &[&str]) -> (Vec<Event>, BatchStatusReceiver) {
    let origin = Arc::new(Origin {
        pipeline: "test".into(),
        component: "in".into(),
    });
    let (notifier, status) = BatchNotifier::new();
    let events = bodies
        .iter()
        .enumerate()
        .map(|(index, body)| {
            let body = Bytes::copy_from_slice(body.as_bytes());
            let metadata = EventMetadata::new(origin.clone(), EventId::from(index as u128));
            let mut event = if body.starts_with(b"{") {
                Event::json(body, metadata)
            } else {
                Event::text(body, metadata)
            };
            event.add_finalizer(notifier.finalizer());
            event
        })
        .collect();
    (events, status)
}

/// Runs one batch through a transform.
pub fn run(transform: &mut dyn Transform, batch: Vec<Event>, named: usize) -> TransformOutput {
    let mut output = TransformOutput::new(named);
    transform.transform(batch, &mut output);
    output
}

/// Bodies of events as strings.
pub fn bodies(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| String::from_utf8_lossy(e.body()).into_owned())
        .collect()
}

/// Resolves every output as delivered and returns the batch status.
pub async fn deliver(output: TransformOutput, status: BatchStatusReceiver) -> BatchStatus {
    for event in output
        .default
        .into_iter()
        .chain(output.named.into_iter().flatten())
    {
        event.resolve(siemflow_core::event::EventStatus::Delivered);
    }
    status.await
}

/// A context for transform tests.
pub fn context(component_type: &str) -> ComponentContext {
    ComponentContext::detached("test", "t", component_type)
}
