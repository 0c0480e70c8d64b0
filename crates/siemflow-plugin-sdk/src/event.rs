//! Events in, outcomes out.

use std::fmt;

use crate::bindings::siemflow::plugin::types::{self as abi, BodyFormat};
use crate::record::Record;

/// The route of outputs for inputs a plugin has no mapping for ([`Output::unmapped`]).
pub const UNMAPPED_ROUTE: &str = "unmapped";

/// One input event.
#[derive(Debug)]
pub struct Event {
    pub(crate) raw: abi::Event,
}

impl Event {
    /// An event with a JSON body, as a source would hand it over (for tests and benchmarks of
    /// plugin logic outside WebAssembly).
    pub fn from_json(body: impl Into<Vec<u8>>, event_type: Option<&str>) -> Self {
        Self {
            raw: abi::Event {
                body: body.into(),
                format: BodyFormat::Json,
                event_type: event_type.map(str::to_string),
                id: "00000000000000000000000000000000".to_string(),
            },
        }
    }

    /// An event with a text body (the output of an earlier plugin).
    pub fn from_text(body: impl Into<Vec<u8>>, event_type: Option<&str>) -> Self {
        let mut event = Self::from_json(body, event_type);
        event.raw.format = BodyFormat::Text;
        event
    }

    /// The body bytes as received.
    pub fn body(&self) -> &[u8] {
        &self.raw.body
    }

    /// Whether the body is JSON (from a source) or text (from an earlier plugin).
    pub fn is_json(&self) -> bool {
        matches!(self.raw.format, BodyFormat::Json)
    }

    /// The event type, e.g. `AdvancedHunting-DeviceProcessEvents`.
    pub fn event_type(&self) -> Option<&str> {
        self.raw.event_type.as_deref()
    }

    /// The stable event id (32 hex digits).
    pub fn id(&self) -> &str {
        &self.raw.id
    }

    /// The body as a Defender [`Record`]: parsed once, fields decoded on demand, nothing lost.
    /// The fastest way to read an event.
    pub fn record(&self) -> Result<Record<'_>, Failure> {
        Record::parse(&self.raw.body)
    }

    /// The body decoded into a type of the plugin's own (`#[derive(Deserialize)]`; borrow with
    /// `&str` or `Cow<str>` fields to avoid copies).
    pub fn parse<'a, T: serde::Deserialize<'a>>(&'a self) -> Result<T, Failure> {
        serde_json::from_slice(&self.raw.body)
            .map_err(|error| Failure::new(format!("body: {error}")))
    }

    /// The body as a `serde_json::Value`. Unknown fields are all there; integers are exact up to
    /// 64 bits (use [`Event::record`] for exact numbers of any size).
    pub fn json(&self) -> Result<serde_json::Value, Failure> {
        self.parse()
    }

    /// The body as text (lossy for invalid UTF-8, which a source never hands over).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.raw.body)
    }
}

/// Why an event cannot be mapped: it goes to the dead-letter file with this reason.
///
/// Any error or message converts into it, so `?` works in [`Plugin::process`](crate::Plugin):
/// `let record = event.record()?;`, `return Err("no mapping for this table".into())`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    reason: String,
}

impl Failure {
    /// A failure with this reason.
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }

    /// The reason.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The reason, owned.
    pub fn into_reason(self) -> String {
        self.reason
    }
}

impl<E: fmt::Display> From<E> for Failure {
    fn from(error: E) -> Self {
        Self::new(error.to_string())
    }
}

/// One event a plugin produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub(crate) raw: OutputParts,
}

/// What an [`Output`] holds, for code that runs a plugin outside WebAssembly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputParts {
    /// The bytes to send on.
    pub body: Vec<u8>,
    /// Whether `body` is JSON (else text).
    pub json: bool,
    /// The event type, when the plugin set one.
    pub event_type: Option<String>,
    /// The SIEM's event id, when set.
    pub siem_event_id: Option<String>,
    /// The sourcetype, when set.
    pub sourcetype: Option<String>,
    /// The routing key, when set.
    pub route: Option<String>,
}

impl Output {
    fn new(body: Vec<u8>, json: bool) -> Self {
        Self {
            raw: OutputParts {
                body,
                json,
                event_type: None,
                siem_event_id: None,
                sourcetype: None,
                route: None,
            },
        }
    }

    /// Formatted text (a CEF or LEEF line).
    pub fn text(body: impl Into<String>) -> Self {
        Self::new(body.into().into_bytes(), false)
    }

    /// A JSON value (a Splunk HEC event, an OCSF record).
    pub fn json(value: &serde_json::Value) -> Self {
        Self::new(value.to_string().into_bytes(), true)
    }

    /// JSON text the plugin encoded itself (to keep key order or numbers beyond 64 bits); it
    /// should be one valid JSON value (siemflow checks: anything else travels on as text).
    pub fn json_text(body: impl Into<String>) -> Self {
        Self::new(body.into().into_bytes(), true)
    }

    /// Sets the output's event type.
    pub fn event_type(mut self, event_type: impl Into<String>) -> Self {
        self.raw.event_type = Some(event_type.into());
        self
    }

    /// Sets the SIEM's event id (QRadar QID, CEF signature id).
    pub fn siem_event_id(mut self, id: impl Into<String>) -> Self {
        self.raw.siem_event_id = Some(id.into());
        self
    }

    /// Sets the Splunk sourcetype.
    pub fn sourcetype(mut self, sourcetype: impl Into<String>) -> Self {
        self.raw.sourcetype = Some(sourcetype.into());
        self
    }

    /// Sets a routing key.
    pub fn route(mut self, route: impl Into<String>) -> Self {
        self.raw.route = Some(route.into());
        self
    }

    /// Marks the output as the generic record of an input the plugin has no mapping for: the
    /// route [`UNMAPPED_ROUTE`], which siemflow counts in
    /// `siemflow_component_unmapped_events_total` (and a pipeline can route on).
    pub fn unmapped(self) -> Self {
        self.route(UNMAPPED_ROUTE)
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.raw.body
    }

    /// Everything the output holds.
    pub fn into_parts(self) -> OutputParts {
        self.raw
    }

    pub(crate) fn into_abi(self) -> abi::Output {
        abi::Output {
            body: self.raw.body,
            format: if self.raw.json {
                BodyFormat::Json
            } else {
                BodyFormat::Text
            },
            event_type: self.raw.event_type,
            siem_event_id: self.raw.siem_event_id,
            sourcetype: self.raw.sourcetype,
            route: self.raw.route,
        }
    }

    /// Whether the body is JSON.
    pub fn is_json(&self) -> bool {
        self.raw.json
    }

    /// The body as text.
    pub fn text_body(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.raw.body)
    }
}

/// What became of one event that could be mapped (a failure is `Err(Failure)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// These outputs replace the event (none means the same as `Dropped`).
    Outputs(Vec<Output>),
    /// Dropped on purpose: acknowledged, counted as dropped.
    Dropped,
}

impl Outcome {
    /// One output.
    pub fn output(output: Output) -> Self {
        Outcome::Outputs(vec![output])
    }

    /// One text output (a CEF or LEEF line).
    pub fn text(body: impl Into<String>) -> Self {
        Self::output(Output::text(body))
    }

    pub(crate) fn into_abi(result: Result<Self, Failure>) -> abi::Outcome {
        match result {
            Ok(Outcome::Outputs(outputs)) => {
                abi::Outcome::Outputs(outputs.into_iter().map(Output::into_abi).collect())
            }
            Ok(Outcome::Dropped) => abi::Outcome::Dropped,
            Err(failure) => abi::Outcome::Failed(failure.reason),
        }
    }
}
