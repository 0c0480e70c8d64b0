//! Splunk CIM: the add-on `siemflow mappings splunk-addon` writes, and the `defender-splunk`
//! events of every sample and of the generated corpus, checked together the way Splunk's search
//! time uses them (`tests/oracles/splunk_cim_check.py`: the .conf files read by Python's
//! configparser, JSON extraction, aliases, event types, tags) against the CIM datasets' field
//! lists and prescribed values (`tests/oracles/splunk-cim-datasets.json`).

use std::fmt::Write as _;
use std::process::Command;

use serde_json::{Value, json};
use siemflow_defender_mapping::catalog::{self, GENERIC, cim};
use siemflow_defender_mapping::subject::Subject;
use siemflow_plugin_sdk::Event;

use super::corpus;
use super::golden::cases;
use super::source::events;
use super::text_formats::{filter, python};
use crate::support::{describe, output, repo_root, siemflow};

/// A required field must be present in this share of the events whose record has its data.
const PRESENT: f64 = 0.95;

/// The tables no CIM 8.5 data model describes, so the add-on gives their sourcetypes CIM
/// field names but no tags (docs/pipelines.md, "The Splunk add-on", says why to users).
const WITHOUT_DATA_MODEL: &[(&str, &str)] = &[
    (
        "MessageEvents",
        "Teams chat messages: CIM has no chat model, and Email's protocol is one of smtp, imap, pop3, mapi",
    ),
    (
        "MessagePostDeliveryEvents",
        "remediation of Teams chat messages (as MessageEvents)",
    ),
    (
        "MessageUrlInfo",
        "URLs in Teams chat messages (as MessageEvents)",
    ),
    (
        "CloudStorageAggregatedEvents",
        "an hour of one client's operations on a storage account, counted: Data_Access describes one access to one object",
    ),
    (
        "Unknown",
        "tables siemflow does not know: nothing says what they describe",
    ),
];

#[test]
fn splunk_events_land_in_their_cim_datasets_with_every_required_field_through_the_addon() {
    let dir = tempfile::tempdir().unwrap();
    let addon = dir.path().join("TA-siemflow-defender");
    let result = output(
        siemflow(dir.path())
            .args(["mappings", "splunk-addon"])
            .arg(&addon),
    );
    assert_eq!(result.status.code(), Some(0), "{}", describe(&result));
    let refused = output(
        siemflow(dir.path())
            .args(["mappings", "splunk-addon"])
            .arg(dir.path().join("TA siemflow")),
    );
    assert_eq!(refused.status.code(), Some(2), "{}", describe(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("the app's id"),
        "{}",
        describe(&refused)
    );

    let mut input = String::new();
    let mut add = |record: &str, line: &str| {
        let event = Event::from_json(record, None);
        let subject = Subject::resolve(event.record().expect("a JSON record"));
        let item = json!({
            "sourcetype": subject.table.sourcetype,
            "event": serde_json::from_str::<Value>(line).expect("a JSON event"),
            "record": serde_json::from_str::<Value>(record).expect("a JSON record"),
        });
        let _ = writeln!(input, "{item}");
    };
    let (records, lines) = corpus::run("defender-splunk", "{}", dir.path());
    for (record, line) in records.iter().zip(&lines) {
        add(&record.to_string(), line);
    }
    let mut samples = 0;
    for case in cases("defender-splunk")
        .into_iter()
        .filter(|case| case.variant.is_none())
    {
        for (event, line) in events(&case).iter().zip(case.expected()) {
            add(&String::from_utf8_lossy(event.body()), &line);
            samples += 1;
        }
    }
    assert!(samples > 50, "every sample record is checked ({samples})");

    let verdict: Value = serde_json::from_str(&filter(
        Command::new(python("ocsf"))
            .arg(repo_root().join("tests/oracles/splunk_cim_check.py"))
            .arg(&addon)
            .arg(repo_root().join("tests/oracles/splunk-cim-datasets.json")),
        input.as_bytes(),
    ))
    .expect("the checker's JSON");
    let summary = summary(&verdict);
    println!("{summary}");

    let problems = verdict["problems"].as_array().cloned().unwrap_or_default();
    assert!(problems.is_empty(), "the add-on's files: {problems:#?}");
    let multi = verdict["multi_model"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(multi.is_empty(), "events in two data models: {multi:#?}");

    let mut failures = Vec::new();
    for table in catalog::tables().chain([&GENERIC]) {
        let eventtype = format!("siemflow_defender_{}", table.name.to_lowercase());
        let listed = |key: &str| {
            verdict[key]
                .as_array()
                .is_some_and(|names| names.iter().any(|name| name == eventtype.as_str()))
        };
        if !listed("eventtypes") {
            failures.push(format!("{}: no event type", table.sourcetype));
        }
        let Some(dataset) = cim::dataset_of(table.cim_model) else {
            continue;
        };
        if !listed("tagged_eventtypes") {
            failures.push(format!("{}: event type not tagged", table.sourcetype));
        }
        let seen = &verdict["sourcetypes"][table.sourcetype];
        let landed = seen["datasets"][dataset.name].as_u64().unwrap_or(0);
        if seen["events"].as_u64().unwrap_or(0) > 0 && landed == 0 {
            failures.push(format!(
                "{}: none of its {} events is in {}",
                table.sourcetype, seen["events"], dataset.name
            ));
        }
    }
    // Event types of another dataset than their table's have their own tagged event type.
    for table in catalog::tables() {
        for action in table.actions.iter().filter(|a| a.cim_dataset.is_some()) {
            let Some(dataset) = cim::dataset_for(table, action) else {
                failures.push(format!("{}:{}: no such dataset", table.name, action.value));
                continue;
            };
            let eventtype = format!(
                "siemflow_defender_{}_{}",
                table.name.to_lowercase(),
                action.value.to_lowercase()
            );
            let tagged = verdict["tagged_eventtypes"]
                .as_array()
                .is_some_and(|names| names.iter().any(|name| name == eventtype.as_str()));
            let landed = verdict["sourcetypes"][table.sourcetype]["datasets"][dataset.name]
                .as_u64()
                .unwrap_or(0);
            if !tagged || landed == 0 {
                failures.push(format!(
                    "{eventtype}: tagged {tagged}, {landed} events in {}",
                    dataset.name
                ));
            }
        }
    }
    // Every sourcetype has a tagged event type, but those no CIM data model describes; and
    // those do not (the list cannot go stale).
    let tagged = verdict["tagged_eventtypes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for table in catalog::tables().chain([&GENERIC]) {
        let prefix = format!("siemflow_defender_{}", table.name.to_lowercase());
        let has_tags = tagged.iter().filter_map(Value::as_str).any(|name| {
            name == prefix
                || name
                    .strip_prefix(prefix.as_str())
                    .is_some_and(|rest| rest.starts_with('_'))
        });
        let untagged = WITHOUT_DATA_MODEL
            .iter()
            .any(|(name, _)| *name == table.name);
        if has_tags == untagged {
            failures.push(format!(
                "{}: tagged {has_tags}, listed as without a data model {untagged}",
                table.sourcetype
            ));
        }
    }
    // A field the oracle says Defender has data for is exercised by the inputs: a source
    // spelling the checker no longer finds would otherwise pass as 0 of 0.
    let oracle: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("tests/oracles/splunk-cim-datasets.json"))
            .unwrap(),
    )
    .unwrap();
    for (name, dataset) in oracle["datasets"].as_object().into_iter().flatten() {
        for (field, sources) in dataset["fields"].as_object().into_iter().flatten() {
            let exercised = verdict["datasets"][name]["fields"][field]["with_data"]
                .as_u64()
                .unwrap_or(0);
            if sources.as_array().is_some_and(|list| !list.is_empty()) && exercised == 0 {
                failures.push(format!("{name}.{field}: no event has its data {sources}"));
            }
        }
    }
    let datasets = verdict["datasets"].as_object().cloned().unwrap_or_default();
    assert_eq!(datasets.len(), cim::CIM_DATASETS.len(), "{summary}");
    for (name, counts) in &datasets {
        if counts["events"].as_u64().unwrap_or(0) == 0 {
            failures.push(format!("{name}: no event"));
        }
        if counts["violation_count"] != 0 {
            failures.push(format!(
                "{name}: {} values outside CIM's, e.g. {}",
                counts["violation_count"], counts["violations"]
            ));
        }
        for (field, count) in counts["fields"].as_object().into_iter().flatten() {
            let with_data = count["with_data"].as_u64().unwrap_or(0);
            let present = count["present"].as_u64().unwrap_or(0);
            if with_data > 0 && (present as f64) < PRESENT * with_data as f64 {
                failures.push(format!(
                    "{name}.{field}: in {present} of the {with_data} events whose record has it"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}\n\n{summary}", failures.join("\n"));
}

/// The checker's counts as a table: dataset, events, and per field present / with data.
fn summary(verdict: &Value) -> String {
    let mut out = String::from("dataset: events; field present/with data\n");
    for (name, counts) in verdict["datasets"].as_object().into_iter().flatten() {
        let _ = write!(out, "{name}: {} events;", counts["events"]);
        for (field, count) in counts["fields"].as_object().into_iter().flatten() {
            let _ = write!(out, " {field} {}/{}", count["present"], count["with_data"]);
        }
        let _ = writeln!(out, "; {} values outside CIM's", counts["violation_count"]);
    }
    out
}
