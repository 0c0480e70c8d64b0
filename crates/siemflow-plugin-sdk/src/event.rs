//! Events in, outcomes out.

use crate::bindings::siemflow::plugin::types::{self as abi, BodyFormat};

/// One input event.
#[derive(Debug)]
pub struct Event {
    pub(crate) raw: abi::Event,
}

impl Event {
    /// An event with a JSON body (for tests of plugin logic outside WebAssembly).
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

    /// The body parsed as JSON. Unknown fields are all there; integers up to `u64::MAX` are exact.
    pub fn json(&self) -> Result<serde_json::Value, String> {
        serde_json::from_slice(&self.raw.body).map_err(|error| format!("body is not JSON: {error}"))
    }
}

/// One event a plugin produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub(crate) raw: OutputFields,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutputFields {
    pub(crate) body: Vec<u8>,
    pub(crate) json: bool,
    pub(crate) event_type: Option<String>,
    pub(crate) siem_event_id: Option<String>,
    pub(crate) sourcetype: Option<String>,
    pub(crate) route: Option<String>,
}

impl Output {
    fn new(body: Vec<u8>, json: bool) -> Self {
        Self {
            raw: OutputFields {
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

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.raw.body
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
}

/// What became of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// These outputs replace the event.
    Outputs(Vec<Output>),
    /// Dropped on purpose.
    Dropped,
    /// Cannot be mapped: dead-lettered with this reason.
    Failed(String),
}

impl Outcome {
    /// One output.
    pub fn output(output: Output) -> Self {
        Outcome::Outputs(vec![output])
    }

    pub(crate) fn into_abi(self) -> abi::Outcome {
        match self {
            Outcome::Outputs(outputs) => {
                abi::Outcome::Outputs(outputs.into_iter().map(Output::into_abi).collect())
            }
            Outcome::Dropped => abi::Outcome::Dropped,
            Outcome::Failed(reason) => abi::Outcome::Failed(reason),
        }
    }
}
