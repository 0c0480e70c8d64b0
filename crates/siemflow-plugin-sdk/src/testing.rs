//! Golden-file tests of a plugin with plain `cargo test`, outside WebAssembly.
//!
//! The files are the ones `siemflow plugin test` reads, so one pair of files checks the mapping
//! natively (fast, with a debugger) and the built component in the sandbox:
//!
//! - the **input** holds JSON lines, one event each; a line `{"records": [...]}` (an Event Hubs
//!   message) is split into one event per record; an event's type is its `category`;
//! - the **expected output** holds one line per outcome, in input order: each output's body as
//!   is, `!dropped` for a dropped event, `!failed <reason>` for a failed one.
//!
//! ```
//! use siemflow_plugin_sdk::{Event, Failure, Outcome, Plugin, testing};
//!
//! struct Upper;
//!
//! impl Plugin for Upper {
//!     type Config = serde_json::Value;
//!     fn new(_: Self::Config) -> Result<Self, Failure> {
//!         Ok(Upper)
//!     }
//!     fn process(&mut self, event: &Event) -> Result<Outcome, Failure> {
//!         let record = event.record()?;
//!         match record.text("DeviceName") {
//!             Some(name) => Ok(Outcome::text(name.to_uppercase())),
//!             None => Err("no DeviceName".into()),
//!         }
//!     }
//! }
//!
//! let input = r#"{"records": [{"properties": {"DeviceName": "wks-01"}}, {"properties": {}}]}"#;
//! assert_eq!(testing::run::<Upper>("{}", input).unwrap(), ["WKS-01", "!failed no DeviceName"]);
//! ```
//!
//! In a plugin crate, `assert_golden::<MyPlugin>(config, "samples/input.jsonl",
//! "samples/expected.txt")` in a `#[test]` compares with a file (`siemflow plugin new` generates
//! one).
//!
//! Set `SIEMFLOW_UPDATE_GOLDEN=1` to write the expected file from the plugin's current output.

use std::path::Path;

use serde_json::value::RawValue;

use crate::event::{Event, Outcome};
use crate::runtime::create;
use crate::{Failure, Plugin};

/// The golden line of a dropped event.
pub const DROPPED: &str = "!dropped";
/// The start of the golden line of a failed event; the reason follows.
pub const FAILED: &str = "!failed ";

/// The golden lines of one outcome.
pub fn outcome_lines(result: &Result<Outcome, Failure>) -> Vec<String> {
    match result {
        Ok(Outcome::Outputs(outputs)) if outputs.is_empty() => vec![DROPPED.into()],
        Ok(Outcome::Outputs(outputs)) => {
            outputs.iter().map(|o| o.text_body().into_owned()).collect()
        }
        Ok(Outcome::Dropped) => vec![DROPPED.into()],
        Err(failure) => vec![format!("{FAILED}{}", failure.reason())],
    }
}

/// Splits golden input (JSON lines, `records` envelopes split) into events.
pub fn input_events(input: &str) -> Result<Vec<Event>, String> {
    #[derive(serde::Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        records: Vec<&'a RawValue>,
    }
    #[derive(serde::Deserialize)]
    struct Category {
        category: Option<String>,
    }
    let mut events = Vec::new();
    for (number, line) in input.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let records = match serde_json::from_str::<Envelope<'_>>(line) {
            Ok(envelope) => envelope.records.iter().map(|raw| raw.get()).collect(),
            Err(_) => vec![line],
        };
        for record in records {
            let category = serde_json::from_str::<Category>(record)
                .map_err(|error| format!("input line {}: {error}", number + 1))?
                .category;
            events.push(Event::from_json(record, category.as_deref()));
        }
    }
    Ok(events)
}

/// Runs a plugin (created from `config`, JSON text) over golden input; returns the golden lines.
pub fn run<P: Plugin>(config: &str, input: &str) -> Result<Vec<String>, String> {
    let mut plugin = create::<P>(config)?;
    Ok(input_events(input)?
        .iter()
        .flat_map(|event| outcome_lines(&plugin.process(event)))
        .collect())
}

/// Runs a plugin over the input file and compares with the expected file, line by line; panics
/// with the differences. Paths are relative to the crate (where `cargo test` runs).
pub fn assert_golden<P: Plugin>(config: &str, input: impl AsRef<Path>, expected: impl AsRef<Path>) {
    let (input, expected) = (input.as_ref(), expected.as_ref());
    let text = std::fs::read_to_string(input)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", input.display()));
    let actual = run::<P>(config, &text).unwrap_or_else(|error| panic!("{error}"));
    if std::env::var_os("SIEMFLOW_UPDATE_GOLDEN").is_some() {
        let mut content = actual.join("\n");
        content.push('\n');
        std::fs::write(expected, content)
            .unwrap_or_else(|error| panic!("cannot write {}: {error}", expected.display()));
        return;
    }
    let wanted = std::fs::read_to_string(expected)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", expected.display()));
    let wanted: Vec<&str> = wanted.lines().collect();
    if let Some(report) = diff(&wanted, &actual) {
        panic!(
            "{} does not match the plugin's output for {} (SIEMFLOW_UPDATE_GOLDEN=1 rewrites it):\n{report}",
            expected.display(),
            input.display()
        );
    }
}

/// A line-by-line report of where `actual` differs from `expected`, or `None` when equal.
pub fn diff(expected: &[&str], actual: &[String]) -> Option<String> {
    let mut report = String::new();
    for index in 0..expected.len().max(actual.len()) {
        let (want, got) = (
            expected.get(index).copied(),
            actual.get(index).map(String::as_str),
        );
        if want != got {
            report.push_str(&format!(
                "line {}:\n  expected: {}\n  actual:   {}\n",
                index + 1,
                want.unwrap_or("(nothing)"),
                got.unwrap_or("(nothing)")
            ));
        }
    }
    (!report.is_empty()).then_some(report)
}
