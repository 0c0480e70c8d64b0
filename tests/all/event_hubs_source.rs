//! The `event_hubs` source against the Event Hubs emulator, fed by the official Python
//! `azure-eventhub` SDK: every record exactly once in a steady run, at least once with a bounded
//! repeat after kill -9, and nothing lost through dropped connections, server-busy answers, a
//! stolen partition and token renewals.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use siemflow_test_support::defender::{DefenderApi, DefenderApiOptions};
use siemflow_test_support::event_hubs::{EventHubsEmulator, HubSpec};
use siemflow_test_support::tls::Certificates;

use crate::support::{
    describe, lines, output, repo_root, report_ids, send_signal, siemflow, wait_for_count, write,
};

pub(crate) const PARTITIONS: usize = 4;
pub(crate) const RECORDS: u64 = 3;

/// Runs `tests/oracles/event_hubs_client.py` (the official Python SDKs) with `args`; returns its
/// standard output.
pub(crate) fn python_sdk(args: &[&str]) -> String {
    let python = repo_root().join("target/test-peers/azure/bin/python");
    assert!(
        python.exists(),
        "run scripts/test-peers: {} is missing",
        python.display()
    );
    let output = output(
        Command::new(python)
            .arg(repo_root().join("tests/oracles/event_hubs_client.py"))
            .args(args),
    );
    assert!(output.status.success(), "{}", describe(&output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Sends `count` envelopes numbered from `first` with the Python SDK, envelope `i` to partition
/// `i % 4`.
pub(crate) fn generate(emulator: &EventHubsEmulator, first: u64, count: u64) {
    let sent = python_sdk(&[
        &emulator.connection_string("defender"),
        "generate",
        &count.to_string(),
        &RECORDS.to_string(),
        &PARTITIONS.to_string(),
        &first.to_string(),
    ]);
    assert_eq!(sent.trim(), count.to_string());
}

fn pipeline(dir: &Path, emulator: &EventHubsEmulator, extra: &str) {
    write(
        &dir.join("p.yaml"),
        format!(
            r#"id: contoso
sources:
  stream:
    type: event_hubs
    connection_string: "{}"
    commit_interval: 50ms
{extra}
sinks:
  out: {{ type: file, inputs: [stream], path: out.jsonl }}
"#,
            emulator.connection_string("defender")
        ),
    );
}

fn wait_for(out: &Path, expected: usize, child: &mut Child, limit: Duration) {
    wait_for_count(child, expected, limit, "records delivered", || {
        lines(out).len()
    });
}

fn wait_until_stolen(emulator: &EventHubsEmulator) {
    let start = Instant::now();
    while emulator.counters().stolen == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the emulator never detached the partition's receiver"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stop(child: Child) -> String {
    assert_eq!(send_signal(child.id(), libc::SIGTERM), 0);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Records acknowledged by the checkpoint: partition `p`'s sequence number `s` is envelope
/// `4s + p`, and a partition's events up to its sequence number are acknowledged.
fn acknowledged(checkpoint: &Path) -> u64 {
    let Some(value) = std::fs::read_to_string(checkpoint)
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
    else {
        return 0;
    };
    value["partitions"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, position)| (position["sequence_number"].as_u64().unwrap_or(0) + 1) * RECORDS)
        .sum()
}

fn exactly_once(got: &HashMap<u64, usize>, total: u64) {
    let missing = (0..total).filter(|n| !got.contains_key(n)).count();
    let repeated = got.values().filter(|count| **count > 1).count();
    assert_eq!((missing, repeated), (0, 0), "every record exactly once");
    assert_eq!(got.len() as u64, total);
}

#[test]
fn a_hundred_thousand_sdk_envelopes_arrive_record_by_record_exactly_once() {
    let emulator = EventHubsEmulator::start(&[HubSpec::new("defender", PARTITIONS)], 0);
    let envelopes = 100_000;
    let sending = Instant::now();
    generate(&emulator, 0, envelopes);
    let sent_in = sending.elapsed();
    assert_eq!(
        emulator.partition_sizes("defender"),
        vec![envelopes as usize / PARTITIONS; PARTITIONS]
    );
    let total = envelopes * RECORDS;

    let dir = tempfile::tempdir().unwrap();
    pipeline(dir.path(), &emulator, "    batch_size: 1000");
    let out = dir.path().join("out.jsonl");
    let started = Instant::now();
    let mut child = siemflow(dir.path())
        .args(["run", "p.yaml"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&out, total as usize, &mut child, Duration::from_secs(300));
    let took = started.elapsed();
    std::thread::sleep(Duration::from_millis(300));
    stop(child);

    exactly_once(&report_ids(&out), total);
    let checkpoint: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("data/checkpoints/contoso/stream.json")).unwrap(),
    )
    .unwrap();
    for partition in 0..PARTITIONS {
        assert_eq!(
            checkpoint["partitions"][partition.to_string()]["sequence_number"],
            envelopes / PARTITIONS as u64 - 1,
            "partition {partition} checkpointed at its last event: {checkpoint}"
        );
    }
    assert_eq!(checkpoint["hub"], "defender");
    eprintln!(
        "{envelopes} envelopes sent by the SDK in {sent_in:?}; {total} records delivered in {took:?} ({:.0} records/s, start-up included)",
        total as f64 / took.as_secs_f64()
    );
}

#[test]
fn kill_9_and_restart_repeat_only_what_was_not_acknowledged() {
    let emulator = EventHubsEmulator::start(&[HubSpec::new("defender", PARTITIONS)], 0);
    let envelopes = 20_000;
    generate(&emulator, 0, envelopes);
    let total = envelopes * RECORDS;

    let dir = tempfile::tempdir().unwrap();
    pipeline(dir.path(), &emulator, "    batch_size: 100");
    let out = dir.path().join("out.jsonl");
    let checkpoint = dir.path().join("data/checkpoints/contoso/stream.json");
    let mut child = siemflow(dir.path())
        .args(["run", "p.yaml"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while acknowledged(&checkpoint) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "nothing committed"
        );
        assert!(child.try_wait().unwrap().is_none(), "siemflow exited early");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let committed = acknowledged(&checkpoint);
    // A kill can cut the last line written: drop such a fragment before the restart appends.
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let whole = text.rfind('\n').map_or(0, |end| end + 1);
    std::fs::write(&out, &text[..whole]).unwrap();
    let written = lines(&out).len() as u64;
    assert!(written < total, "killed mid-run ({written} of {total})");
    assert!(
        written >= committed,
        "the checkpoint never runs ahead of delivery"
    );

    let mut child = siemflow(dir.path())
        .args(["run", "p.yaml"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&out, total as usize, &mut child, Duration::from_secs(120));
    std::thread::sleep(Duration::from_millis(300));
    stop(child);

    let got = report_ids(&out);
    assert!(
        (0..total).all(|n| got.contains_key(&n)),
        "every record at least once"
    );
    let duplicates: u64 = got.values().map(|count| *count as u64 - 1).sum();
    assert!(
        duplicates <= written - committed,
        "re-delivered only what was written but not acknowledged: {duplicates} duplicates, {written} written before the kill, {committed} acknowledged"
    );
    eprintln!(
        "kill -9: {written} records written, {committed} acknowledged, {duplicates} delivered again after the restart, of {total}"
    );
}

#[test]
fn dropped_connections_server_busy_a_stolen_partition_and_token_renewals_lose_nothing() {
    let emulator = EventHubsEmulator::start(&[HubSpec::new("defender", PARTITIONS)], 0);
    let first = 4_000;
    generate(&emulator, 0, first);
    let dir = tempfile::tempdir().unwrap();
    pipeline(
        dir.path(),
        &emulator,
        "    batch_size: 50\n    prefetch: 20\n    sas_token_lifetime: 3s\n    stolen_retry: 1s",
    );
    let out = dir.path().join("out.jsonl");
    let mut child = siemflow(dir.path())
        .args(["run", "p.yaml"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&out, 300, &mut child, Duration::from_secs(60));
    let tokens_at_start = emulator.counters().put_tokens;

    emulator.drop_connections();
    emulator.server_busy(3);
    generate(&emulator, first, 2_000);
    wait_for(
        &out,
        ((first + 2_000) * RECORDS) as usize,
        &mut child,
        Duration::from_secs(120),
    );
    emulator.steal("defender", 1);
    wait_until_stolen(&emulator);
    emulator.drop_connections();
    generate(&emulator, first + 2_000, 2_000);
    let total = (first + 4_000) * RECORDS;
    wait_for(&out, total as usize, &mut child, Duration::from_secs(120));
    // Tokens live 3 s: the readers put new ones on the same connections while they run.
    std::thread::sleep(Duration::from_secs(4));
    let counters = emulator.counters();
    let log = stop(child);

    exactly_once(&report_ids(&out), total);
    assert!(
        counters.connections >= 2 * (PARTITIONS as u64 + 1),
        "the readers reconnected: {counters:?}"
    );
    assert!(
        counters.put_tokens >= tokens_at_start + PARTITIONS as u64,
        "tokens renewed before they expire: {counters:?} (were {tokens_at_start})"
    );
    assert_eq!(counters.refused_tokens, 0, "{counters:?}");
    for expected in ["server-busy", "amqp:link:stolen", "giving the partition up"] {
        assert!(log.contains(expected), "the log names {expected}:\n{log}");
    }
}

#[test]
fn over_tls_a_shared_access_key_websockets_and_an_entra_app_each_read_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let certificates = Certificates::create(dir.path());
    let emulator =
        EventHubsEmulator::start_tls(&[HubSpec::new("defender", PARTITIONS)], &certificates);
    let envelopes = 400;
    for i in 0..envelopes {
        let records: Vec<String> = (0..RECORDS)
            .map(|j| {
                format!(
                    r#"{{"category":"AdvancedHunting-DeviceProcessEvents","properties":{{"ReportId":{}}}}}"#,
                    i * RECORDS + j
                )
            })
            .collect();
        let body = format!(r#"{{"records":[{}]}}"#, records.join(","));
        emulator.publish("defender", body.into_bytes()).unwrap();
    }
    let identity = DefenderApi::start(DefenderApiOptions::default());
    let tenant = "4f6d8a2e-1c3b-4d5e-9a7f-0b1c2d3e4f50";
    identity.add_secret_client(tenant, "hub-reader", "s3cret~value");
    write(
        &dir.path().join("p.yaml"),
        format!(
            r#"id: contoso
sources:
  keyed:
    type: event_hubs
    connection_string: "{connection}"
    ca_file: {ca}
    commit_interval: 50ms
  websocket:
    type: event_hubs
    connection_string: "{connection}"
    transport: websockets
    ca_file: {ca}
    commit_interval: 50ms
  entra:
    type: event_hubs
    namespace: 127.0.0.1
    hub: defender
    port: {port}
    ca_file: {ca}
    commit_interval: 50ms
    entra:
      tenant_id: {tenant}
      client_id: hub-reader
      client_secret: s3cret~value
      authority_host: {authority}
sinks:
  keyed_out: {{ type: file, inputs: [keyed], path: keyed.jsonl }}
  websocket_out: {{ type: file, inputs: [websocket], path: websocket.jsonl }}
  entra_out: {{ type: file, inputs: [entra], path: entra.jsonl }}
"#,
            connection = emulator.connection_string("defender"),
            ca = certificates.ca_file.display(),
            port = emulator.address().port(),
            authority = identity.url(),
        ),
    );
    assert!(
        !emulator
            .connection_string("defender")
            .contains("UseDevelopmentEmulator"),
        "the keyed source connects with TLS"
    );
    let total = envelopes * RECORDS;
    let mut child = siemflow(dir.path())
        .args(["run", "p.yaml"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for out in ["keyed.jsonl", "websocket.jsonl", "entra.jsonl"] {
        wait_for(
            &dir.path().join(out),
            total as usize,
            &mut child,
            Duration::from_secs(60),
        );
    }
    std::thread::sleep(Duration::from_millis(300));
    stop(child);

    for out in ["keyed.jsonl", "websocket.jsonl", "entra.jsonl"] {
        exactly_once(&report_ids(&dir.path().join(out)), total);
    }
    let counters = emulator.counters();
    assert_eq!(counters.refused_tokens, 0, "{counters:?}");
    assert!(
        counters.put_tokens >= 3 * PARTITIONS as u64,
        "each partition's reader of each source put a token: {counters:?}"
    );
    assert!(
        counters.websockets >= PARTITIONS as u64,
        "the websocket source's readers upgraded: {counters:?}"
    );
    let (v1, v2) = identity.tokens_issued();
    assert_eq!(
        (v1, v2),
        (0, 1),
        "one Entra token, cached for every partition"
    );
    assert_eq!(identity.token_refusals(), 0);
}

#[test]
fn a_wrong_key_stops_the_run_within_seconds_without_printing_it() {
    let emulator = EventHubsEmulator::start(&[HubSpec::new("defender", PARTITIONS)], 0);
    let (_, key) = emulator.key();
    let wrong = "V3JvbmdLZXlGb3JUaGVUZXN0LXNpZW1mbG93LTI2Cg==";
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("p.yaml"),
        format!(
            "id: contoso\nsources:\n  stream:\n    type: event_hubs\n    connection_string: \"{}\"\nsinks:\n  out: {{ type: file, inputs: [stream], path: out.jsonl }}\n",
            emulator.connection_string("defender").replace(key, wrong)
        ),
    );
    let started = Instant::now();
    let mut child = siemflow(dir.path())
        .args(["run", "p.yaml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = crate::support::wait_within(&mut child, Duration::from_secs(30));
    let took = started.elapsed();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(took < Duration::from_secs(15), "{took:?}: {stderr}");
    assert!(
        stderr.contains("pipeline `contoso`")
            && stderr.contains("source `stream`")
            && stderr.contains("refused the credentials")
            && stderr.contains("401"),
        "{stderr}"
    );
    assert!(!stderr.contains(wrong), "the key leaked: {stderr}");
    assert!(!stderr.contains("sig="), "a signature leaked: {stderr}");
}

#[test]
fn an_entra_app_the_identity_platform_refuses_stops_the_run_without_printing_its_secret() {
    let dir = tempfile::tempdir().unwrap();
    let certificates = Certificates::create(dir.path());
    let emulator =
        EventHubsEmulator::start_tls(&[HubSpec::new("defender", PARTITIONS)], &certificates);
    let identity = DefenderApi::start(DefenderApiOptions::default());
    let tenant = "4f6d8a2e-1c3b-4d5e-9a7f-0b1c2d3e4f50";
    identity.add_secret_client(tenant, "hub-reader", "the-right-secret");
    write(
        &dir.path().join("p.yaml"),
        format!(
            "id: contoso\nsources:\n  entra:\n    type: event_hubs\n    namespace: 127.0.0.1\n    hub: defender\n    port: {port}\n    ca_file: {ca}\n    entra: {{ tenant_id: {tenant}, client_id: hub-reader, client_secret: Wr0ng~hub~secret, authority_host: {authority} }}\nsinks:\n  out: {{ type: file, inputs: [entra], path: out.jsonl }}\n",
            port = emulator.address().port(),
            ca = certificates.ca_file.display(),
            authority = identity.url(),
        ),
    );
    let started = Instant::now();
    let mut child = siemflow(dir.path())
        .args(["run", "p.yaml"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = crate::support::wait_within(&mut child, Duration::from_secs(30));
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(15), "{stderr}");
    assert!(
        stderr.contains("refused the credentials") && stderr.contains("AADSTS7000215"),
        "{stderr}"
    );
    assert!(!stderr.contains("Wr0ng~hub~secret"), "{stderr}");
    assert_eq!(identity.token_refusals(), 1, "not retried");
}
