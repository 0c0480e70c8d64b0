//! The Event Hubs emulator against the official Python `azure-eventhub` SDK, the independent
//! check of its fidelity: properties over `$management`, batches sent to partitions and round
//! robin, everything read back with sequence numbers, offsets and enqueue times, a wrong key
//! refused by CBS, and the same over AMQP over WebSockets.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use siemflow_test_support::event_hubs::{EventHubsEmulator, HubSpec};

use crate::support::repo_root;

/// Runs `tests/oracles/event_hubs_client.py` with `args`; its status, stdout and stderr.
fn sdk(connection: &str, args: &[&str], input: Option<&Value>) -> (bool, String, String) {
    sdk_over("amqp", connection, args, input)
}

/// [`sdk`] with the SDK's transport: `amqp` or `websockets`.
fn sdk_over(
    transport: &str,
    connection: &str,
    args: &[&str],
    input: Option<&Value>,
) -> (bool, String, String) {
    let python = repo_root().join("target/test-peers/azure/bin/python");
    assert!(
        python.exists(),
        "run scripts/test-peers: {} is missing",
        python.display()
    );
    let mut child = Command::new(python)
        .arg(repo_root().join("tests/oracles/event_hubs_client.py"))
        .arg(connection)
        .args(args)
        .env("EVENT_HUBS_TRANSPORT", transport)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin.write_all(input.to_string().as_bytes()).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn envelope(n: usize) -> String {
    json!({"records": [
        {"time": "2026-12-03T09:00:00Z", "category": "AdvancedHunting-DeviceProcessEvents",
         "properties": {"ReportId": n, "ProcessCommandLine": "cmd.exe /c \"echo |=\\\\\""}},
        {"time": "2026-12-03T09:00:00Z", "category": "AdvancedHunting-DeviceNetworkEvents",
         "properties": {"ReportId": n, "RemoteUrl": "https://é.example/?a=b&c"}},
    ]})
    .to_string()
}

#[test]
fn the_python_sdk_sends_and_receives_through_the_emulator() {
    let emulator = EventHubsEmulator::start(&[HubSpec::new("defender", 4)], 0);
    let connection = emulator.connection_string("defender");

    let (ok, out, err) = sdk(&connection, &["props"], None);
    assert!(ok, "props failed: {err}");
    let props: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(props["hub"], "defender");
    assert_eq!(props["partition_ids"], json!(["0", "1", "2", "3"]));
    assert_eq!(props["partitions"]["2"]["is_empty"], true, "{props}");

    // 300 envelopes to each partition named, 200 round robin.
    let mut plan = serde_json::Map::new();
    let mut next = 0;
    for partition in ["0", "1", "2", "3"] {
        let bodies: Vec<String> = (next..next + 300).map(envelope).collect();
        next += 300;
        plan.insert(partition.into(), json!(bodies));
    }
    let round_robin: Vec<String> = (next..next + 200).map(envelope).collect();
    let total = next + 200;
    let (ok, out, err) = sdk(
        &connection,
        &["send"],
        Some(&json!({"partitions": plan, "round_robin": round_robin})),
    );
    assert!(ok, "send failed: {err}");
    assert_eq!(out.trim(), total.to_string());
    let sizes = emulator.partition_sizes("defender");
    assert_eq!(sizes.iter().sum::<usize>(), total);
    assert!(sizes.iter().all(|size| *size >= 300), "{sizes:?}");

    let (ok, out, err) = sdk(&connection, &["receive", &total.to_string()], None);
    assert!(ok, "receive failed: {err}");
    let mut by_partition: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    let mut bodies: HashMap<String, usize> = HashMap::new();
    for line in out.lines() {
        let event: Value = serde_json::from_str(line).unwrap();
        assert!(
            event["enqueued_time"].as_str().unwrap().starts_with("20"),
            "{event}"
        );
        by_partition
            .entry(event["partition"].as_str().unwrap().to_string())
            .or_default()
            .push((
                event["sequence_number"].as_i64().unwrap(),
                event["offset"].as_str().unwrap().parse().unwrap(),
            ));
        *bodies
            .entry(event["body"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(bodies.len(), total, "every envelope once");
    assert!(bodies.values().all(|count| *count == 1));
    assert!(
        (0..total).all(|n| bodies.contains_key(&envelope(n))),
        "bodies arrive unchanged"
    );
    for (partition, events) in &by_partition {
        let sequence: Vec<i64> = events.iter().map(|(sequence, _)| *sequence).collect();
        assert_eq!(
            sequence,
            (0..events.len() as i64).collect::<Vec<_>>(),
            "partition {partition} in order from 0"
        );
        assert!(
            events.windows(2).all(|pair| pair[0].1 < pair[1].1),
            "offsets grow in partition {partition}"
        );
    }
    assert_eq!(
        sizes,
        by_partition.values().map(Vec::len).collect::<Vec<_>>()
    );

    let wrong = connection.replace("SAS_KEY_VALUE", "d3JvbmcK");
    let (ok, _, err) = sdk(&wrong, &["props"], None);
    assert!(!ok, "a wrong key is refused");
    assert!(
        err.contains("401") || err.to_lowercase().contains("signature"),
        "{err}"
    );
    let counters = emulator.counters();
    assert!(counters.refused_tokens >= 1, "{counters:?}");
}

#[test]
fn the_python_sdk_sends_and_receives_over_websockets() {
    let emulator = EventHubsEmulator::start(&[HubSpec::new("defender", 4)], 0);
    let connection = emulator.connection_string("defender");
    let total = 200;
    let round_robin: Vec<String> = (0..total).map(envelope).collect();
    let (ok, out, err) = sdk_over(
        "websockets",
        &connection,
        &["send"],
        Some(&json!({"round_robin": round_robin})),
    );
    assert!(ok, "send over websockets failed: {err}");
    assert_eq!(out.trim(), total.to_string());
    assert!(emulator.counters().websockets >= 1, "the SDK upgraded");

    for transport in ["websockets", "amqp"] {
        let (ok, out, err) = sdk_over(
            transport,
            &connection,
            &["receive", &total.to_string()],
            None,
        );
        assert!(ok, "receive over {transport} failed: {err}");
        let bodies: Vec<String> = out
            .lines()
            .map(|line| {
                let event: Value = serde_json::from_str(line).unwrap();
                event["body"].as_str().unwrap().to_string()
            })
            .collect();
        let unique: std::collections::HashSet<&String> = bodies.iter().collect();
        assert_eq!((bodies.len(), unique.len()), (total, total), "{transport}");
        assert!(
            (0..total).all(|n| unique.contains(&envelope(n))),
            "bodies arrive unchanged over {transport}"
        );
    }
    assert!(
        emulator.counters().websockets >= 2,
        "{:?}",
        emulator.counters()
    );
}
