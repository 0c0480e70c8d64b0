//! The event: raw bytes as received, JSON parsed only when someone asks, and metadata.
//!
//! A passthrough pipeline never parses: the bytes a source read are the bytes a sink writes. The
//! first component that needs fields (a filter, a dedupe key) parses once, and later components reuse
//! the parsed value. Integers up to `u64::MAX` stay exact because `serde_json` keeps them as
//! integers; the raw bytes are never re-encoded unless a component replaces the body.

mod finalization;
mod id;
mod minify;

use std::cell::OnceCell;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use serde_json::Value;

pub use finalization::{
    BatchNotifier, BatchOutcome, BatchStatus, BatchStatusReceiver, EventFinalizer, EventFinalizers,
    EventStatus, MAX_REASONS, PendingBatch,
};
pub use id::EventId;
pub use minify::minify_json;

/// A group of events moving together between components.
pub type EventBatch = Vec<Event>;

/// What the body bytes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFormat {
    /// A JSON value (sources produce these).
    Json,
    /// Formatted text ready for a SIEM (CEF, LEEF, ...), as produced by plugins.
    Text,
}

/// Where an event entered the system: pipeline and source component.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The pipeline id (the tenant label).
    pub pipeline: Arc<str>,
    /// The source component id.
    pub component: Arc<str>,
}

/// Facts about an event that are not part of its body.
#[derive(Debug, Clone)]
pub struct EventMetadata {
    /// Pipeline and source the event came from.
    pub origin: Arc<Origin>,
    /// The event type, e.g. `AdvancedHunting-DeviceProcessEvents`, when the source knows it.
    pub event_type: Option<Arc<str>>,
    /// When the source read the event.
    pub received_at: SystemTime,
    /// Stable identity: the same input read twice (after a crash) gets the same id.
    pub id: EventId,
    /// What a plugin said about its output, for sinks and routing.
    pub labels: Option<Arc<Labels>>,
}

/// Facts a plugin attaches to an output event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels {
    /// The SIEM's id for this kind of event (a QRadar QID, a CEF signature id).
    pub siem_event_id: Option<Arc<str>>,
    /// The Splunk sourcetype or equivalent.
    pub sourcetype: Option<Arc<str>>,
    /// A routing key.
    pub route: Option<Arc<str>>,
}

impl EventMetadata {
    /// Metadata for an event read now, with no known type.
    pub fn new(origin: Arc<Origin>, id: EventId) -> Self {
        Self {
            origin,
            event_type: None,
            received_at: SystemTime::now(),
            id,
            labels: None,
        }
    }
}

/// Why a body could not be parsed as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError(Arc<str>);

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JsonError {}

/// One event.
#[derive(Debug)]
pub struct Event {
    body: Bytes,
    format: BodyFormat,
    json: OnceCell<Result<Arc<Value>, JsonError>>,
    metadata: EventMetadata,
    finalizers: EventFinalizers,
}

impl Event {
    /// An event whose body is JSON, as a source reads it.
    pub fn json(body: Bytes, metadata: EventMetadata) -> Self {
        Self::with_format(body, BodyFormat::Json, metadata)
    }

    /// An event whose body is formatted text (a plugin's output).
    pub fn text(body: Bytes, metadata: EventMetadata) -> Self {
        Self::with_format(body, BodyFormat::Text, metadata)
    }

    fn with_format(body: Bytes, format: BodyFormat, metadata: EventMetadata) -> Self {
        Self {
            body,
            format,
            json: OnceCell::new(),
            metadata,
            finalizers: EventFinalizers::default(),
        }
    }

    /// The body as received or as formatted.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Whether the body is JSON or text.
    pub fn format(&self) -> BodyFormat {
        self.format
    }

    /// The body parsed as JSON, parsed on first call and cached.
    pub fn parsed(&self) -> Result<&Value, JsonError> {
        let cached = self.json.get_or_init(|| {
            serde_json::from_slice::<Value>(&self.body)
                .map(Arc::new)
                .map_err(|error| JsonError(error.to_string().into()))
        });
        match cached {
            Ok(value) => Ok(value),
            Err(error) => Err(error.clone()),
        }
    }

    /// Takes the parsed value out (parsing if needed), leaving the cache empty.
    ///
    /// With [`Event::restore_parsed`] this lets a component move the value into a larger structure
    /// for a moment without cloning it.
    pub fn take_parsed(&mut self) -> Result<Arc<Value>, JsonError> {
        self.parsed()?;
        match self.json.take() {
            Some(result) => result,
            None => Err(JsonError("parsed value vanished".into())),
        }
    }

    /// Puts back a value taken with [`Event::take_parsed`]; it must describe the same body.
    pub fn restore_parsed(&mut self, value: Arc<Value>) {
        let _ = self.json.set(Ok(value));
    }

    /// The event's metadata.
    pub fn metadata(&self) -> &EventMetadata {
        &self.metadata
    }

    /// Mutable metadata (a plugin sets the event type, say).
    pub fn metadata_mut(&mut self) -> &mut EventMetadata {
        &mut self.metadata
    }

    /// The stable id.
    pub fn id(&self) -> EventId {
        self.metadata.id
    }

    /// Ties the event to a source batch.
    pub fn add_finalizer(&mut self, finalizer: EventFinalizer) {
        self.finalizers.push(finalizer);
    }

    /// The event's finalizers.
    pub fn finalizers(&self) -> &EventFinalizers {
        &self.finalizers
    }

    /// Removes and returns the event's finalizers, to hand them to a derived event.
    pub fn take_finalizers(&mut self) -> EventFinalizers {
        std::mem::take(&mut self.finalizers)
    }

    /// Adds finalizers taken from another event.
    pub fn merge_finalizers(&mut self, finalizers: EventFinalizers) {
        self.finalizers.merge(finalizers);
    }

    /// Reports this copy's fate to its source batch(es) and consumes the event.
    pub fn resolve(mut self, status: EventStatus) {
        self.finalizers.resolve(status);
    }

    /// Resolves the event as dead-lettered for `reason`, which its source can read in the
    /// batch's [`BatchOutcome`].
    pub fn dead_lettered(mut self, reason: &str) {
        self.finalizers.dead_lettered(reason);
    }

    /// The body as one line for line-oriented sinks: text as is, JSON without line breaks.
    ///
    /// JSON read from a pretty-printed document is minified (bytes outside strings only), so
    /// numbers and strings are copied exactly.
    pub fn to_line(&self) -> Bytes {
        match self.format {
            BodyFormat::Json if memchr::memchr2(b'\n', b'\r', &self.body).is_some() => {
                Bytes::from(minify_json(&self.body))
            }
            _ => self.body.clone(),
        }
    }
}

impl Clone for Event {
    fn clone(&self) -> Self {
        let json = match self.json.get() {
            Some(cached) => OnceCell::from(cached.clone()),
            None => OnceCell::new(),
        };
        Self {
            body: self.body.clone(),
            format: self.format,
            json,
            metadata: self.metadata.clone(),
            finalizers: self.finalizers.clone(),
        }
    }
}

/// Resolves every event of a batch with the same status.
pub fn resolve_batch(batch: EventBatch, status: EventStatus) {
    for event in batch {
        event.resolve(status);
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// Metadata for events built in unit tests.
    pub fn metadata(n: u64) -> EventMetadata {
        EventMetadata {
            origin: Arc::new(Origin {
                pipeline: "test".into(),
                component: "in".into(),
            }),
            event_type: None,
            received_at: SystemTime::UNIX_EPOCH,
            id: EventId::derive(&[b"test", &n.to_le_bytes()]),
            labels: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::metadata;
    use super::*;

    #[test]
    fn large_integers_stay_exact() {
        let body = Bytes::from_static(br#"{"ReportId":9007199254740993,"n":18446744073709551615}"#);
        let event = Event::json(body.clone(), metadata(1));
        let value = event.parsed().unwrap();
        assert_eq!(value["ReportId"].as_u64(), Some(9_007_199_254_740_993));
        assert_eq!(value["n"].as_u64(), Some(u64::MAX));
        assert_eq!(serde_json::to_vec(value).unwrap(), body.to_vec());
        assert_eq!(event.to_line(), body);
    }

    #[test]
    fn parse_error_is_cached_and_reported() {
        let event = Event::json(Bytes::from_static(b"{\"a\":"), metadata(1));
        let first = event.parsed().unwrap_err();
        assert!(first.to_string().contains("EOF"), "{first}");
        assert_eq!(event.parsed().unwrap_err(), first);
    }

    #[test]
    fn pretty_json_becomes_one_line() {
        let event = Event::json(
            Bytes::from_static(b"{\n  \"a\": \"x y\\n\",\r\n  \"b\": [1, 2]\n}"),
            metadata(1),
        );
        assert_eq!(&event.to_line()[..], br#"{"a":"x y\n","b":[1,2]}"#);
    }

    #[test]
    fn take_and_restore_keeps_the_value() {
        let mut event = Event::json(Bytes::from_static(br#"{"a":1}"#), metadata(1));
        let value = event.take_parsed().unwrap();
        event.restore_parsed(value);
        assert_eq!(event.parsed().unwrap()["a"], 1);
    }
}
