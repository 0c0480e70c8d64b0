//! What the four mapping plugins share: parsing the event, resolving it, labelling the output,
//! and reporting records of unknown types once per type.

use std::collections::BTreeSet;

use serde_json::Value;
use siemflow_plugin_sdk::{Event, Failure, Outcome, Output, Plugin, log};

use crate::subject::Subject;

/// Names of the unknown types seen, so that each is logged once.
#[derive(Debug, Default)]
pub struct UnknownTypes(BTreeSet<String>);

impl UnknownTypes {
    /// Notes an unknown type; logs it the first time.
    pub fn note(&mut self, subject: &Subject<'_>) {
        if subject.known || self.0.len() >= 1000 || self.0.contains(&subject.event_id) {
            return;
        }
        log::warn(&format!(
            "no mapping for `{}`: sent as a generic event, its other columns in the catch-all",
            subject.event_id
        ));
        self.0.insert(subject.event_id.clone());
    }
}

/// One output format: built from the plugin's `config:`, renders a resolved record.
pub trait Format: Sized + 'static {
    /// The format from a plugin `config:` (common options and the format's own).
    fn new(config: Value) -> Result<Self, String>;

    /// One record's output (`size` is the record's length in bytes, to size buffers).
    fn render(&self, subject: &Subject<'_>, size: usize) -> Output;
}

/// A [`Format`] as a plugin: each event resolved, rendered, labelled with its event id and, for
/// an unknown type, marked unmapped ([`Output::unmapped`]).
#[derive(Debug)]
pub struct MappingPlugin<F> {
    format: F,
    unknown: UnknownTypes,
}

impl<F: Format> MappingPlugin<F> {
    /// Maps one event outside WebAssembly (benchmarks, tests).
    pub fn map(&mut self, event: &Event) -> Result<Output, Failure> {
        let subject = Subject::resolve(event.record()?);
        self.unknown.note(&subject);
        let mut output = self
            .format
            .render(&subject, event.body().len())
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
            unknown: UnknownTypes::default(),
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
