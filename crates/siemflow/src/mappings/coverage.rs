//! `siemflow mappings coverage INPUT`: renders each record with the four built-in formats and
//! counts, per table, column and format, what became of each column that had a value:
//!
//! - **mapped**: a key of the format took it (the format says so, [`Rendered::used`]);
//! - **catch-all**: it is in the format's catch-all (`cs6` in CEF, `unmapped` elsewhere), found
//!   there in the output itself;
//! - **cut**: left out of a catch-all with a size limit (CEF's `cs6`, 4,000 characters) and
//!   named there under `siemflow.omitted`;
//! - **DROPPED**: none of these, lost without a word: a defect to report.
//!
//! Columns the table's documented schema does not list are marked `(new)`, and records of a
//! table or event type the mapping table does not list are named: that is drift to map.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use serde_json::Value;
use siemflow_defender_mapping::catalog::GENERIC;
use siemflow_defender_mapping::cef::CefFormat;
use siemflow_defender_mapping::drift::KnownColumns;
use siemflow_defender_mapping::leef::LeefFormat;
use siemflow_defender_mapping::ocsf::OcsfFormat;
use siemflow_defender_mapping::plugin::{Format, Rendered};
use siemflow_defender_mapping::splunk::SplunkFormat;
use siemflow_defender_mapping::subject::{OMITTED_KEY, Subject};
use siemflow_plugin_sdk::Event;

use super::CoverageArgs;

/// The formats, in the order of the report's columns.
const FORMATS: [&str; 4] = ["cef", "leef", "splunk", "ocsf"];

/// Runs `mappings coverage`: exit 1 when an input cannot be read, else 0.
pub fn run(args: &CoverageArgs) -> ExitCode {
    let mut coverage = match Coverage::new() {
        Ok(coverage) => coverage,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    for input in &args.inputs {
        if let Err(error) = coverage.read(input) {
            eprintln!("error: {}: {error}", input.display());
            return ExitCode::FAILURE;
        }
    }
    print!("{}", coverage.report());
    ExitCode::SUCCESS
}

/// What became of a column's values in one format.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Fates {
    /// Values a key of the format took.
    pub mapped: u64,
    /// Values kept in the catch-all.
    pub catch_all: u64,
    /// Values left out of a size-limited catch-all, named in it.
    pub cut: u64,
    /// Values in none of these.
    pub dropped: u64,
}

/// One column of one table.
#[derive(Debug, Default)]
pub struct Column {
    /// Records where it had a value (not null, not `""`).
    pub with_value: u64,
    /// Records where it was null or `""`.
    pub empty: u64,
    /// Whether the table's documented schema lacks it.
    pub new: bool,
    /// Per format, in [`FORMATS`] order.
    pub fates: [Fates; 4],
}

/// One table (or, for records of no known table, the name they carry).
#[derive(Debug, Default)]
pub struct Table {
    /// Records read.
    pub records: u64,
    /// Whether the mapping table lists it.
    pub mapped: bool,
    /// Its columns, by name.
    pub columns: BTreeMap<String, Column>,
}

/// The counts over every input.
pub struct Coverage {
    cef: CefFormat,
    leef: LeefFormat,
    splunk: SplunkFormat,
    ocsf: OcsfFormat,
    known: KnownColumns,
    /// Per table.
    pub tables: BTreeMap<String, Table>,
    /// Records of an event type the mapping table does not list, by event id.
    pub unknown_types: BTreeMap<String, u64>,
    /// Inputs that are not records: `FILE:LINE: reason` (the first 20).
    pub unreadable: Vec<String>,
    /// How many inputs were not records.
    pub unreadable_count: u64,
}

impl Coverage {
    /// The four formats with their default options.
    pub fn new() -> Result<Self, String> {
        let defaults = || Value::Object(Default::default());
        Ok(Self {
            cef: CefFormat::new(defaults())?,
            leef: LeefFormat::new(defaults())?,
            splunk: SplunkFormat::new(defaults())?,
            ocsf: OcsfFormat::new(defaults())?,
            known: KnownColumns::default(),
            tables: BTreeMap::new(),
            unknown_types: BTreeMap::new(),
            unreadable: Vec::new(),
            unreadable_count: 0,
        })
    }

    /// Reads a file of records: one JSON document, or JSON lines.
    pub fn read(&mut self, path: &Path) -> std::io::Result<()> {
        let bytes = std::fs::read(path)?;
        let text = String::from_utf8_lossy(&bytes);
        let name = path.display().to_string();
        if let Ok(document) = serde_json::from_str::<Value>(&text) {
            self.document(document, &name, 1);
            return Ok(());
        }
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Value>(line) {
                Ok(document) => self.document(document, &name, index + 1),
                Err(error) => self.unreadable(&name, index + 1, &error.to_string()),
            }
        }
        Ok(())
    }

    /// A JSON document: a record, an array of them, a `records` envelope or a Graph page.
    fn document(&mut self, document: Value, name: &str, line: usize) {
        match document {
            Value::Array(items) => {
                for item in items {
                    self.document(item, name, line);
                }
            }
            Value::Object(mut object) => {
                for list in ["records", "value"] {
                    if let Some(Value::Array(_)) = object.get(list)
                        && let Some(items) = object.remove(list)
                    {
                        return self.document(items, name, line);
                    }
                }
                self.record(&Value::Object(object));
            }
            other => {
                let reason = format!("not a JSON object but `{}`", truncate(&other.to_string()));
                self.unreadable(name, line, &reason);
            }
        }
    }

    fn unreadable(&mut self, name: &str, line: usize, reason: &str) {
        self.unreadable_count += 1;
        if self.unreadable.len() < 20 {
            self.unreadable.push(format!("{name}:{line}: {reason}"));
        }
    }

    /// Renders one record in the four formats and counts its columns.
    pub fn record(&mut self, record: &Value) {
        let category = record.get("category").and_then(Value::as_str);
        let event = Event::from_json(record.to_string(), category);
        let Ok(parsed) = event.record() else {
            return;
        };
        let subject = Subject::resolve(parsed);
        let size = event.body().len();
        let rendered: [Rendered; 4] = [
            self.cef.render(&subject, size),
            self.leef.render(&subject, size),
            self.splunk.render(&subject, size),
            self.ocsf.render(&subject, size),
        ];
        let catch_alls: Vec<CatchAll> = rendered.iter().map(CatchAll::of).collect();
        let generic = subject.table.name == GENERIC.name;
        let name = if generic {
            subject
                .event_id
                .split(':')
                .next()
                .unwrap_or_default()
                .to_string()
        } else {
            subject.table.name.to_string()
        };
        if !subject.known {
            *self
                .unknown_types
                .entry(subject.event_id.clone())
                .or_default() += 1;
        }
        let new: Vec<String> = self
            .known
            .unknown_in(&subject)
            .into_iter()
            .map(str::to_string)
            .collect();
        let table = self.tables.entry(name).or_default();
        table.records += 1;
        table.mapped = !generic;
        for (column_name, value) in subject.record.fields() {
            let column = table.columns.entry(column_name.to_string()).or_default();
            column.new |= new.iter().any(|new| new == column_name);
            if matches!(value.raw(), "null" | "\"\"") {
                column.empty += 1;
                continue;
            }
            column.with_value += 1;
            for ((fates, rendered), catch_all) in
                column.fates.iter_mut().zip(&rendered).zip(&catch_alls)
            {
                if rendered.used.contains(column_name) {
                    fates.mapped += 1;
                } else if catch_all.holds(column_name) {
                    fates.catch_all += 1;
                } else if catch_all.names_omitted(column_name) {
                    fates.cut += 1;
                } else {
                    fates.dropped += 1;
                }
            }
        }
    }

    /// The fates of every value, per format, over every table.
    pub fn totals(&self) -> [Fates; 4] {
        let mut totals = [Fates::default(); 4];
        for column in self
            .tables
            .values()
            .flat_map(|table| table.columns.values())
        {
            for (total, fates) in totals.iter_mut().zip(&column.fates) {
                total.mapped += fates.mapped;
                total.catch_all += fates.catch_all;
                total.cut += fates.cut;
                total.dropped += fates.dropped;
            }
        }
        totals
    }

    /// The report, as printed.
    pub fn report(&self) -> String {
        let mut out = String::new();
        let records: u64 = self.tables.values().map(|table| table.records).sum();
        let _ = writeln!(
            out,
            "{records} record(s), {} table(s); per column and format: mapped, catch-all, cut (left \
             out of a size-limited catch-all and named there) or DROPPED (lost), with counts when \
             mixed",
            self.tables.len()
        );
        for (name, table) in &self.tables {
            let new = table.columns.values().filter(|column| column.new).count();
            let _ = writeln!(
                out,
                "\n{name}: {} record(s){}{}",
                table.records,
                if table.mapped {
                    ""
                } else {
                    ", NO MAPPING (generic event, columns in the catch-all)"
                },
                if new > 0 {
                    format!(", {new} new column(s)")
                } else {
                    String::new()
                }
            );
            let width = table
                .columns
                .keys()
                .map(|name| name.len() + 6)
                .max()
                .unwrap_or(6)
                .max(6);
            let _ = write!(out, "  {:<width$} {:>10}", "column", "with value");
            for format in FORMATS {
                let _ = write!(out, "  {format:<22}");
            }
            out.truncate(out.trim_end().len());
            out.push('\n');
            for (column_name, column) in &table.columns {
                let label = if column.new {
                    format!("{column_name} (new)")
                } else {
                    column_name.clone()
                };
                let _ = write!(out, "  {label:<width$} {:>10}", column.with_value);
                for fates in &column.fates {
                    let _ = write!(out, "  {:<22}", cell(fates, column.with_value));
                }
                out.truncate(out.trim_end().len());
                out.push('\n');
            }
        }
        if !self.unknown_types.is_empty() {
            let _ = writeln!(
                out,
                "\nevent types without a mapping (sent as generic events, counted in \
                 siemflow_mapping_unknown_total):"
            );
            for (event_id, count) in &self.unknown_types {
                let _ = writeln!(out, "  {event_id}: {count}");
            }
        }
        let _ = writeln!(out, "\nvalues per format:");
        for (format, totals) in FORMATS.iter().zip(self.totals()) {
            let _ = writeln!(
                out,
                "  {format}: {} mapped, {} catch-all, {} cut, {} DROPPED",
                totals.mapped, totals.catch_all, totals.cut, totals.dropped
            );
        }
        if self.unreadable_count > 0 {
            let _ = writeln!(out, "\n{} input(s) not records:", self.unreadable_count);
            for line in &self.unreadable {
                let _ = writeln!(out, "  {line}");
            }
        }
        out
    }
}

/// One format's cell: the single fate, or each fate with its count.
fn cell(fates: &Fates, with_value: u64) -> String {
    if with_value == 0 {
        return "-".to_string();
    }
    let parts: Vec<(&str, u64)> = [
        ("mapped", fates.mapped),
        ("catch-all", fates.catch_all),
        ("cut", fates.cut),
        ("DROPPED", fates.dropped),
    ]
    .into_iter()
    .filter(|(_, count)| *count > 0)
    .collect();
    match parts.as_slice() {
        [(fate, _)] => fate.to_string(),
        _ => parts
            .iter()
            .map(|(fate, count)| format!("{fate} {count}"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// A format's catch-all, read back from its output.
enum CatchAll {
    /// The catch-all object of a JSON output (`unmapped`).
    Object(serde_json::Map<String, Value>),
    /// The catch-all of a text output (CEF `cs6=`, LEEF `unmapped=`): its JSON object text,
    /// with the format's escapes.
    Text(String),
    /// No catch-all in the output.
    None,
}

impl CatchAll {
    fn of(rendered: &Rendered) -> Self {
        let body = rendered.output.text_body();
        if let Ok(Value::Object(mut event)) = serde_json::from_str::<Value>(&body) {
            return match event.remove("unmapped") {
                Some(Value::Object(unmapped)) => CatchAll::Object(unmapped),
                _ => CatchAll::None,
            };
        }
        for marker in ["cs6=", "unmapped="] {
            if let Some(start) = body.find(marker) {
                return CatchAll::Text(body[start + marker.len()..].to_string());
            }
        }
        CatchAll::None
    }

    fn holds(&self, column: &str) -> bool {
        match self {
            CatchAll::Object(object) => object.contains_key(column),
            CatchAll::Text(text) => text.contains(&format!("\"{column}\":")),
            CatchAll::None => false,
        }
    }

    /// Whether the catch-all names the column among those left out ([`OMITTED_KEY`]).
    fn names_omitted(&self, column: &str) -> bool {
        let quoted = Value::from(column).to_string();
        match self {
            CatchAll::Object(object) => object
                .get(OMITTED_KEY)
                .and_then(Value::as_array)
                .is_some_and(|names| names.iter().any(|name| name == column)),
            CatchAll::Text(text) => text
                .split_once(&format!("\"{OMITTED_KEY}\":["))
                .and_then(|(_, names)| names.split(']').next())
                .is_some_and(|names| names.split(',').any(|name| name == quoted)),
            CatchAll::None => false,
        }
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(40).collect()
}
