//! `defender-ocsf` golden events validated by pydantic-ocsf at OCSF 1.5.0, strictly (no attribute
//! the schema does not define, outside `unmapped`), each of the class its event type maps to and
//! with nothing of the source lost.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;
use serde_json::value::RawValue;
use siemflow_defender_mapping::subject::Subject;
use siemflow_plugin_sdk::record::Record;

use super::corpus;
use super::golden::cases;
use super::source::{self, check_nothing_lost, events};
use super::text_formats::{filter, python};
use crate::support::repo_root;

/// Whether a dotted path holds a value in a JSON document.
fn has_path(document: &Value, path: &str) -> bool {
    path.split('.')
        .try_fold(document, |value, key| value.get(key))
        .is_some_and(|value| !value.is_null())
}

#[test]
fn ocsf_events_validate_with_pydantic_ocsf_1_5_0() {
    let mut checked = 0;
    for case in cases("defender-ocsf") {
        let lines = case.expected();
        let events = events(&case);
        assert_eq!(lines.len(), events.len(), "{case:?}: one event per record");
        let input = lines.join("\n") + "\n";
        let verdicts: Vec<Value> = filter(
            Command::new(python("ocsf"))
                .arg(repo_root().join("tests/oracles/ocsf_validate.py"))
                .arg("v1_5_0"),
            input.as_bytes(),
        )
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
        assert_eq!(verdicts.len(), lines.len(), "{case:?}: a verdict per event");
        let mut problems = Vec::new();
        for (index, event) in events.iter().enumerate() {
            let mut line_problems = Vec::new();
            if let Some(error) = verdicts[index].get("error") {
                line_problems.push(format!("pydantic-ocsf: {error}"));
            }
            let output: Value = serde_json::from_str(&lines[index]).unwrap();
            let subject = Subject::resolve(event.record().unwrap());
            let class = subject.action.ocsf.unwrap_or(subject.table.ocsf);
            if output["class_uid"] != class.class_uid {
                line_problems.push(format!(
                    "class_uid is {}, the event type's is {}",
                    output["class_uid"], class.class_uid
                ));
            }
            if output["metadata"]["event_code"] != subject.event_id.as_str() {
                line_problems.push(format!(
                    "metadata.event_code is {}",
                    output["metadata"]["event_code"]
                ));
            }
            let taken: Vec<&str> = subject
                .table
                .all_fields()
                .filter_map(|field| {
                    let path = field.ocsf_path(|path| class.allows(path))?;
                    let (_, column) = subject.value_of(field)?;
                    has_path(&output, path).then_some(column)
                })
                .collect();
            let top: BTreeMap<String, Box<RawValue>> = serde_json::from_str(&lines[index]).unwrap();
            let catch_all = match top.get("unmapped") {
                Some(raw) => source::catch_all(raw.get()).unwrap_or_else(|error| panic!("{error}")),
                None => BTreeMap::new(),
            };
            line_problems.extend(check_nothing_lost(
                &subject,
                &taken,
                &catch_all,
                str::to_string,
            ));
            problems.extend(source::line_report(index, &lines[index], &line_problems));
            checked += 1;
        }
        assert!(problems.is_empty(), "{case:?}:\n{}", problems.join("\n"));
    }
    assert!(checked > 50, "every sample record is checked ({checked})");
}

#[test]
fn ocsf_events_are_valid_against_the_official_1_5_0_schema() {
    let schema = siemflow_test_support::ocsf::schema_1_5_0().unwrap();
    let mut problems: Vec<String> = Vec::new();
    let mut checked = 0;
    for case in cases("defender-ocsf") {
        for (index, line) in case.expected().iter().enumerate() {
            let event: Value = serde_json::from_str(line).unwrap();
            for problem in schema.validate(&event) {
                problems.push(format!(
                    "{case:?} line {}: class {}: {problem}",
                    index + 1,
                    event["class_uid"]
                ));
            }
            checked += 1;
        }
    }
    assert!(checked > 50, "every sample record is checked ({checked})");
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn ocsf_events_of_every_table_and_action_type_are_valid_against_the_official_schema() {
    let schema = siemflow_test_support::ocsf::schema_1_5_0().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (records, lines) = corpus::run("defender-ocsf", "{}", dir.path());
    let mut problems: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut classes: BTreeMap<String, usize> = BTreeMap::new();
    // Records without what their class needs (the sparse ones) are Base Events.
    let mut fallbacks: BTreeMap<String, usize> = BTreeMap::new();
    for (record, line) in records.iter().zip(&lines) {
        let event: Value = serde_json::from_str(line).unwrap();
        let key = format!(
            "{} {}",
            record["category"].as_str().unwrap_or_default(),
            record["properties"]["ActionType"]
                .as_str()
                .unwrap_or_default()
        );
        *classes
            .entry(format!("{} {}", event["class_uid"], event["class_name"]))
            .or_default() += 1;
        let input = serde_json::to_vec(record).unwrap();
        let subject = Subject::resolve(Record::parse(&input).unwrap());
        let class = subject.action.ocsf.unwrap_or(subject.table.ocsf);
        if class.class_uid != 0 && event["class_uid"] == 0 {
            *fallbacks.entry(key.clone()).or_default() += 1;
        }
        for problem in schema.validate(&event) {
            let entry = problems
                .entry(format!("{key} (class {}): {problem}", event["class_uid"]))
                .or_insert((0, line.clone()));
            entry.0 += 1;
        }
    }
    let input = lines.join("\n") + "\n";
    let verdicts = filter(
        Command::new(python("ocsf"))
            .arg(repo_root().join("tests/oracles/ocsf_validate.py"))
            .arg("v1_5_0"),
        input.as_bytes(),
    );
    for (verdict, line) in verdicts.lines().zip(&lines) {
        let verdict: Value = serde_json::from_str(verdict).unwrap();
        if let Some(error) = verdict.get("error") {
            let entry = problems
                .entry(format!("pydantic-ocsf: {error}"))
                .or_insert((0, line.clone()));
            entry.0 += 1;
        }
    }
    let report: Vec<String> = problems
        .iter()
        .map(|(problem, (count, example))| format!("{count} × {problem}\n    e.g. {example}"))
        .collect();
    assert!(
        problems.is_empty(),
        "{} kind(s) of problem over {} events (classes {classes:?}):\n{}",
        problems.len(),
        records.len(),
        report.join("\n")
    );
    assert!(records.len() > 3_000, "{} records", records.len());
    eprintln!("classes: {classes:?}\nBase Events for want of data: {fallbacks:?}");
    let fallen: usize = fallbacks.values().sum();
    assert!(
        fallen * 8 < records.len(),
        "{fallen} of {} events lack what their class needs: {fallbacks:?}",
        records.len()
    );
}
