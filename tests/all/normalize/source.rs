//! What a text format's fields should hold, read from the source record and the mapping table
//! (not from the encoder), to compare with what an independent parser read from the output.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::value::RawValue;
use siemflow_defender_mapping::catalog::{Field, Kind};
use siemflow_defender_mapping::json_tree::compact;
use siemflow_defender_mapping::subject::Subject;
use siemflow_plugin_sdk::Event;
use siemflow_plugin_sdk::testing::input_events;
use siemflow_plugin_sdk::timestamp::Timestamp;

use super::golden::Case;

/// The input events of a case, in order.
pub fn events(case: &Case) -> Vec<Event> {
    let path = case.input_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    input_events(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// One field a format should have written.
#[derive(Debug)]
pub struct Expected {
    pub key: &'static str,
    pub text: String,
    pub label: Option<&'static str>,
}

/// The fields a text format writes for a record, each key from the first field with a value,
/// and the columns they take.
pub fn text_fields(
    subject: &Subject<'_>,
    key_of: impl Fn(&Field) -> Option<&'static str>,
    time_text: impl Fn(Timestamp) -> String,
) -> (Vec<Expected>, Vec<&'static str>) {
    let mut fields: Vec<Expected> = Vec::new();
    let mut columns = Vec::new();
    for field in subject.table.all_fields() {
        let Some(key) = key_of(field) else { continue };
        let Some((value, column)) = subject.value_of(field) else {
            continue;
        };
        if fields.iter().any(|expected| expected.key == key) {
            continue;
        }
        let text = match field.kind {
            Kind::Time => match value.as_timestamp() {
                Some(time) => time_text(time),
                None => continue,
            },
            _ => match value.text() {
                Some(text) if !text.is_empty() => text.into_owned(),
                _ => continue,
            },
        };
        fields.push(Expected {
            key,
            text,
            label: field.cef_label,
        });
        columns.push(column);
    }
    (fields, columns)
}

/// The record's columns that must be somewhere in the output: not null, not empty.
pub fn columns_with_values<'s>(subject: &'s Subject<'_>) -> Vec<(&'s str, String)> {
    subject
        .record
        .fields()
        .filter(|(_, value)| !matches!(value.raw(), "null" | "\"\""))
        .map(|(name, value)| {
            let mut text = String::new();
            compact(value.raw(), &mut text);
            (name, text)
        })
        .collect()
}

/// Whether a column is read for the header (event type, severity, time).
pub fn is_header_column(subject: &Subject<'_>, column: &str) -> bool {
    let table = subject.table;
    table.action_column == Some(column)
        || table.severity_columns.contains(&column)
        || table.time_columns.contains(&column)
}

/// A catch-all field's JSON object: column to compact JSON text.
pub fn catch_all(json: &str) -> Result<BTreeMap<String, String>, String> {
    let map: BTreeMap<String, Box<RawValue>> = serde_json::from_str(json)
        .map_err(|error| format!("the catch-all is not JSON: {error}"))?;
    Ok(map
        .into_iter()
        .map(|(name, raw)| {
            let mut text = String::new();
            compact(raw.get(), &mut text);
            (name, text)
        })
        .collect())
}

/// Checks the catch-all against the source: each entry is the column's exact value (after
/// `clean`, what the format does to text), and every column with a value is in the catch-all,
/// taken by a field, or read for the header. Returns the problems.
pub fn check_nothing_lost(
    subject: &Subject<'_>,
    taken: &[&str],
    catch_all: &BTreeMap<String, String>,
    clean: impl Fn(&str) -> String,
) -> Vec<String> {
    let mut problems = Vec::new();
    let columns = columns_with_values(subject);
    for (name, text) in catch_all {
        match columns.iter().find(|(column, _)| column == name) {
            Some((_, source)) if clean(source) == *text => {}
            Some((_, source)) => problems.push(format!(
                "catch-all `{name}` is {text}, the source has {source}"
            )),
            None => problems.push(format!("catch-all `{name}` is not a column of the source")),
        }
    }
    for (column, _) in &columns {
        if !catch_all.contains_key(*column)
            && !taken.contains(column)
            && !is_header_column(subject, column)
        {
            problems.push(format!("column `{column}` is nowhere in the output"));
        }
    }
    problems
}

/// The severity a format should give a level: its default scale with the config's
/// `severity_map` applied.
pub fn severity(subject: &Subject<'_>, defaults: [&str; 5], config: &serde_json::Value) -> String {
    let level = subject.level;
    config["severity_map"][level.name()]
        .as_u64()
        .map(|n| n.to_string())
        .or_else(|| {
            config["severity_map"][level.name()]
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_else(|| {
            let index = siemflow_defender_mapping::catalog::Level::ALL
                .iter()
                .position(|candidate| *candidate == level)
                .unwrap_or(0);
            defaults[index].to_string()
        })
}

/// The header's expected vendor, product and name.
pub fn header(subject: &Subject<'_>, config: &serde_json::Value) -> (String, String, String) {
    let vendor = config["vendor"].as_str().unwrap_or("Microsoft").to_string();
    let product = config["product"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| subject.product().into_owned());
    let name = subject
        .title()
        .map(Cow::into_owned)
        .unwrap_or_else(|| subject.action.name.to_string());
    (vendor, product, name)
}

/// One output line's problems as a report entry (`line N: <start of the line>` and the
/// problems), or `None` when it has none.
pub fn line_report(index: usize, line: &str, problems: &[String]) -> Option<String> {
    (!problems.is_empty()).then(|| {
        format!(
            "line {}: {}\n  {}",
            index + 1,
            line.chars().take(300).collect::<String>(),
            problems.join("\n  ")
        )
    })
}
