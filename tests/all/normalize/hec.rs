//! `defender-splunk` in a pipeline into the HEC test server: every record arrives as a valid HEC
//! event with `time` (the record's), `host`, `source`, the table's `sourcetype`, and as `event`
//! exactly the golden output.

use std::collections::BTreeMap;

use serde_json::Value;
use siemflow_defender_mapping::subject::Subject;
use siemflow_test_support::hec::{HecOptions, HecServer};

use super::golden::{Case, cases};
use super::source::events;
use crate::support::{describe, output, siemflow, write};

/// The sample files a file source reads as they are (an Event Hubs envelope is the event hubs
/// source's to split).
const FILE_INPUTS: [&str; 4] = [
    "streaming-storage-PT1H.json",
    "streaming-extra.jsonl",
    "streaming-2026.jsonl",
    "rest.jsonl",
];

#[test]
fn defender_splunk_events_reach_hec_with_time_host_source_sourcetype_and_the_golden_event() {
    let server = HecServer::start(HecOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let chosen: Vec<Case> = cases("defender-splunk")
        .into_iter()
        .filter(|case| case.variant.is_none() && FILE_INPUTS.contains(&case.input))
        .collect();
    assert_eq!(chosen.len(), FILE_INPUTS.len());

    // Expected envelopes, keyed by the exact event text: (sourcetype, time in ms if any).
    let mut expected: BTreeMap<String, Vec<(String, Option<i64>)>> = BTreeMap::new();
    for (number, case) in chosen.iter().enumerate() {
        let input = std::fs::read(case.input_path()).unwrap();
        write(&dir.path().join(format!("in/{number}.json")), input);
        for (line, event) in case.expected().into_iter().zip(events(case)) {
            let subject = Subject::resolve(event.record().unwrap());
            let canonical: Value = serde_json::from_str(&line).unwrap();
            expected.entry(canonical.to_string()).or_default().push((
                subject.table.sourcetype.to_string(),
                subject.time.map(|time| time.unix_millis()),
            ));
        }
    }
    let total: usize = expected.values().map(Vec::len).sum();
    write(
        &dir.path().join("p.yaml"),
        format!(
            r#"id: defender-to-splunk
sources:
  defender: {{ type: file, path: "in/*.json" }}
transforms:
  splunk:
    type: wasm
    inputs: [defender]
    plugin: builtin:defender-splunk
sinks:
  hec:
    type: splunk_hec
    inputs: [splunk]
    endpoint: {url}
    token: "{token}"
    host: siemflow-collector
    source: defender
    timestamp_field: time
    batch: {{ max_events: 20, timeout: 100ms }}
    acknowledgements: {{ poll_interval: 100ms }}
"#,
            url = server.url(),
            token = server.token()
        ),
    );
    let run = output(siemflow(dir.path()).args(["run", "p.yaml", "--data-dir", "data"]));
    assert_eq!(run.status.code(), Some(0), "{}", describe(&run));

    let indexed = server.indexed();
    assert_eq!(indexed.len(), total, "every record indexed once");
    for envelope in indexed {
        let object = envelope.as_object().expect("an envelope is an object");
        for key in ["time", "host", "source", "sourcetype", "event"] {
            assert!(object.contains_key(key), "no `{key}`: {envelope}");
        }
        assert_eq!(envelope["host"], "siemflow-collector");
        assert_eq!(envelope["source"], "defender");
        let time = envelope["time"]
            .as_f64()
            .unwrap_or_else(|| panic!("`time` is epoch seconds: {envelope}"));
        let event = envelope["event"].to_string();
        let candidates = expected
            .get_mut(&event)
            .unwrap_or_else(|| panic!("an event that is no golden output: {event}"));
        let position = candidates
            .iter()
            .position(|(sourcetype, millis)| {
                envelope["sourcetype"] == sourcetype.as_str()
                    && millis.is_none_or(|millis| (time * 1000.0 - millis as f64).abs() < 1.0)
            })
            .unwrap_or_else(|| panic!("sourcetype or time differ from the record's: {envelope}"));
        candidates.remove(position);
    }
    assert!(expected.values().all(Vec::is_empty));
}
