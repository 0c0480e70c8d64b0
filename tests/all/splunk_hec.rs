//! The `splunk_hec` sink against the HEC test server: exactly once under a busy server and late
//! acknowledgements, with the source checkpoint never ahead of what HEC confirmed; lost
//! acknowledgements; a refused token.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use siemflow_test_support::hec::{Faults, HecOptions, HecServer};

use crate::support::{
    PROCESS_LIMIT, describe, numbered_lines, output, siemflow, wait_within, write,
};

const LINE_BYTES: usize = 200;

/// The `n` of each indexed event, with how many times it was indexed.
pub fn indexed_counts(server: &HecServer) -> HashMap<u64, usize> {
    let mut counts = HashMap::new();
    for envelope in server.indexed() {
        let n = envelope["event"]["n"]
            .as_u64()
            .unwrap_or_else(|| panic!("an indexed event without `n`: {envelope}"));
        *counts.entry(n).or_default() += 1;
    }
    counts
}

/// The byte offset the file source has committed for its one file, if any yet (a missing or
/// half-written checkpoint reads as none).
pub fn committed_offset(checkpoint: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(checkpoint).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    value["files"]
        .as_object()?
        .values()
        .next()?
        .get("offset")?
        .as_u64()
}

fn pipeline(server: &HecServer, id: &str, ack_timeout: &str) -> String {
    format!(
        r#"id: {id}
sources:
  in: {{ type: file, path: in.json, commit_interval: 50ms }}
sinks:
  splunk:
    type: splunk_hec
    inputs: [in]
    endpoint: {url}
    token: "{token}"
    sourcetype: "siemflow:test"
    index: main
    batch: {{ max_events: 250, timeout: 100ms }}
    acknowledgements: {{ poll_interval: 100ms, timeout: {ack_timeout} }}
    concurrency: 4
"#,
        url = server.url(),
        token = server.token()
    )
}

fn faulty_server(faults: Faults) -> HecServer {
    HecServer::start(HecOptions {
        faults,
        ..HecOptions::default()
    })
}

/// A directory with `events` numbered lines in `in.json` and the pipeline in `p.yaml`.
fn prepare(server: &HecServer, id: &str, events: u64, ack_timeout: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("in.json"),
        numbered_lines(0..events, LINE_BYTES),
    );
    write(
        &dir.path().join("p.yaml"),
        pipeline(server, id, ack_timeout),
    );
    dir
}

#[test]
fn late_acks_and_a_busy_server_index_every_event_exactly_once_and_the_checkpoint_waits_for_acks() {
    const EVENTS: u64 = 20_000;
    let server = faulty_server(Faults {
        busy: 1.0 / 3.0,
        ack_delay: Duration::from_millis(1500),
        seed: 8,
        ..Faults::default()
    });
    let dir = prepare(&server, "hec", EVENTS, "5m");
    let checkpoint = dir.path().join("data/checkpoints/hec/in.json");
    let mut child = siemflow(dir.path())
        .args(["run", "p.yaml", "--data-dir", "data"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut observed = Vec::new();
    while child.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "the run did not finish"
        );
        // The checkpoint first, then what HEC confirmed: whatever the checkpoint covers must
        // already be indexed, since an event is only resolved after HEC confirmed it.
        if let Some(offset) = committed_offset(&checkpoint) {
            let covered = offset / (LINE_BYTES as u64 + 1);
            let indexed = indexed_counts(&server);
            let missing: Vec<u64> = (0..covered).filter(|n| !indexed.contains_key(n)).collect();
            assert!(
                missing.is_empty(),
                "the checkpoint covers {covered} lines but HEC has not confirmed {} of them (first: {:?})",
                missing.len(),
                &missing[..missing.len().min(5)]
            );
            if covered > 0 && covered < EVENTS {
                observed.push(covered);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = wait_within(&mut child, PROCESS_LIMIT);
    assert!(status.success(), "siemflow run failed: {status:?}");

    let counts = indexed_counts(&server);
    let twice: Vec<_> = counts.iter().filter(|(_, c)| **c > 1).collect();
    assert!(twice.is_empty(), "indexed more than once: {twice:?}");
    let expected: HashSet<u64> = (0..EVENTS).collect();
    let got: HashSet<u64> = counts.keys().copied().collect();
    assert_eq!(got, expected, "every event indexed");
    let stats = server.stats();
    assert!(
        stats.busy > stats.accepted / 4,
        "about a third of the data requests were refused as busy: {stats:?}"
    );
    assert!(stats.gzip > 0 && stats.ack_queries > 0, "{stats:?}");
    assert!(
        !observed.is_empty(),
        "the checkpoint was seen moving during the run (it never was: the check above proved nothing)"
    );
    assert_eq!(
        committed_offset(&checkpoint),
        Some(EVENTS * (LINE_BYTES as u64 + 1)),
        "the checkpoint reaches the end once everything is confirmed"
    );
    let envelope = &server.indexed()[0];
    assert_eq!(envelope["sourcetype"], "siemflow:test");
    assert_eq!(envelope["index"], "main");
    assert!(envelope["time"].as_f64().is_some(), "{envelope}");
}

#[test]
fn requests_whose_acks_never_come_are_sent_again_until_indexed() {
    const EVENTS: u64 = 3_000;
    let server = faulty_server(Faults {
        ack_never: 0.5,
        reset: 0.1,
        seed: 3,
        ..Faults::default()
    });
    let dir = prepare(&server, "lost", EVENTS, "1s");
    let run = output(siemflow(dir.path()).args(["run", "p.yaml", "--data-dir", "data"]));
    assert_eq!(run.status.code(), Some(0), "{}", describe(&run));
    let counts = indexed_counts(&server);
    assert_eq!(counts.len() as u64, EVENTS, "every event indexed");
    assert!(counts.values().all(|c| *c == 1), "none indexed twice");
    let stats = server.stats();
    assert!(
        stats.accepted > EVENTS / 250 && stats.resets > 0,
        "some requests were lost and sent again: {stats:?}"
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("did not confirm"), "{stderr}");
}

#[test]
fn a_refused_token_stops_the_pipeline_at_start_without_printing_it() {
    let server = HecServer::start(HecOptions::default());
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("in.json"), numbered_lines(0..10, 100));
    let text = pipeline(&server, "token", "5m").replace(server.token(), "wrong-secret-value");
    write(&dir.path().join("p.yaml"), text);
    let run = output(siemflow(dir.path()).args(["run", "p.yaml", "--data-dir", "data"]));
    let all = describe(&run);
    assert_ne!(run.status.code(), Some(0), "{all}");
    assert!(
        all.contains("refused the token: HTTP 403, HEC code 4: Invalid token"),
        "{all}"
    );
    assert!(
        !all.contains("wrong-secret-value"),
        "the token leaked: {all}"
    );
    assert!(server.indexed().is_empty());
}
