//! What the four mapping plugins share: parsing the event, resolving it, labelling the output,
//! and reporting drift (unknown types and columns, [`crate::drift`]).

use serde_json::Value;
use siemflow_plugin_sdk::{Event, Failure, Outcome, Output, Plugin};

use crate::drift::Drift;
use crate::subject::{Subject, Used};

/// One output format: built from the plugin's `config:`, renders a resolved record.
pub trait Format: Sized + 'static {
    /// The format from a plugin `config:` (common options and the format's own).
    fn new(config: Value) -> Result<Self, String>;

    /// One record's output (`size` is the record's length in bytes, to size buffers).
    fn render(&self, subject: &Subject<'_>, size: usize) -> Rendered;
}

/// A record as one format wrote it: the output, and the columns its fields took (the others
/// are in its catch-all), for `siemflow mappings coverage`.
#[derive(Debug)]
pub struct Rendered {
    /// The output.
    pub output: Output,
    /// The columns mapped to a key of the format.
    pub used: Used,
}

/// A [`Format`] as a plugin: each event resolved, rendered, labelled with its event id and, for
/// an unknown type, marked unmapped ([`Output::unmapped`]).
#[derive(Debug)]
pub struct MappingPlugin<F> {
    format: F,
    drift: Drift,
}

impl<F: Format> MappingPlugin<F> {
    /// Maps one event outside WebAssembly (benchmarks, tests).
    pub fn map(&mut self, event: &Event) -> Result<Output, Failure> {
        let subject = Subject::resolve(event.record()?);
        self.drift.note(&subject);
        let mut output = self
            .format
            .render(&subject, event.body().len())
            .output
            .siem_event_id(subject.event_id.clone());
        if !subject.known {
            output = output.unmapped();
        }
        Ok(output)
    }
}

impl<F: Format> Plugin for MappingPlugin<F> {
    type Config = Value;

    fn new(config: Value) -> Result<Self, Failure> {
        Ok(Self {
            format: F::new(config).map_err(Failure::new)?,
            drift: Drift::default(),
        })
    }

    fn process(&mut self, event: &Event) -> Result<Outcome, Failure> {
        self.map(event).map(Outcome::output)
    }
}

/// Records truncated values, to mark them in the output.
#[derive(Debug, Default)]
pub struct Truncated(Vec<&'static str>);

impl Truncated {
    /// Notes that the value of `key` was cut to its limit.
    pub fn push(&mut self, key: &'static str) {
        self.0.push(key);
    }

    /// The keys cut, space-separated, if any.
    pub fn list(&self) -> Option<String> {
        (!self.0.is_empty()).then(|| self.0.join(" "))
    }
}
