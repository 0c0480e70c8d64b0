//! The `azure_blob` source against Azurite, with the official Python `azure-storage-blob` SDK
//! writing the streaming API's export layout: every line exactly once while blobs grow, a line
//! split across two appends, a table container that appears mid-run.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use siemflow_test_support::azurite::Azurite;
use siemflow_test_support::defender::{DefenderApi, DefenderApiOptions};
use siemflow_test_support::tls::Certificates;

use crate::support::{
    PROCESS_LIMIT, describe, lines, report_ids, send_signal, siemflow, wait_for_count, wait_within,
    write,
};

const TENANT: &str = "4f6d8a2e-1c3b-4d5e-9a7f-0b1c2d3e4f50";
const TABLES: [&str; 5] = [
    "DeviceProcessEvents",
    "DeviceNetworkEvents",
    "DeviceFileEvents",
    "DeviceLogonEvents",
    "EmailEvents",
];

/// One export row of `table` carrying the unique number `n` (awkward values included).
pub(crate) fn row(table: &str, n: u64) -> String {
    json!({
        "time": "2026-12-03T09:00:01.1234567Z",
        "tenantId": TENANT,
        "operationName": "Publish",
        "category": format!("AdvancedHunting-{table}"),
        "properties": {
            "Timestamp": "2026-12-03T09:00:00.0000001Z",
            "DeviceName": "wks-01.contoso.example",
            "ReportId": n,
            "ProcessCommandLine": "powershell.exe -enc \"SQBFAFgA\" | out-null ; echo a=b\\c",
            "Note": "é | tab\there",
        }
    })
    .to_string()
}

/// The blob name of the hour `hours_ago` hours before the test began (fixed at its start, so a
/// test that runs across the hour still writes the same blobs).
pub(crate) fn blob_of(hours_ago: u64) -> String {
    static START: std::sync::OnceLock<SystemTime> = std::sync::OnceLock::new();
    let start = *START.get_or_init(SystemTime::now);
    let hour = start - Duration::from_secs(hours_ago * 3600);
    let text = humantime::format_rfc3339_seconds(hour).to_string();
    format!(
        "tenantId={TENANT}/y={}/m={}/d={}/h={}/m=00/PT1H.json",
        &text[0..4],
        &text[5..7],
        &text[8..10],
        &text[11..13]
    )
}

/// Appends `count` new rows (numbered from `next`) to `table`'s blob of `hours_ago`.
fn appends(table: &str, hours_ago: u64, count: u64, next: &mut u64, ops: &mut Vec<Value>) {
    let _ = append_rows(table, hours_ago, count, next, ops);
}

/// [`appends`], returning the checkpoint key of the blob and the rows' `(n, bytes)`.
pub(crate) fn append_rows(
    table: &str,
    hours_ago: u64,
    count: u64,
    next: &mut u64,
    ops: &mut Vec<Value>,
) -> (String, Vec<(u64, u64)>) {
    let mut rows = Vec::new();
    let mut data = String::new();
    for _ in 0..count {
        let line = row(table, *next);
        rows.push((*next, line.len() as u64 + 2));
        data.push_str(&line);
        data.push_str("\r\n");
        *next += 1;
    }
    ops.push(json!({"op": "append", "container": container(table), "blob": blob_of(hours_ago), "data": data}));
    (format!("{}/{}", container(table), blob_of(hours_ago)), rows)
}

pub(crate) fn container(table: &str) -> String {
    format!(
        "insights-logs-advancedhunting-{}",
        table.to_ascii_lowercase()
    )
}

fn wait_for(out: &Path, expected: usize, child: &mut Child) {
    let limit = Duration::from_secs(120);
    wait_for_count(child, expected, limit, "lines delivered", || {
        report_ids(out).len()
    });
}

#[test]
fn the_export_layout_is_read_once_while_it_grows_through_split_lines_and_new_tables() {
    let azurite = Azurite::start();
    let mut next = 0u64;
    // Four tables over three hours, 50 lines per blob.
    let mut ops = Vec::new();
    for table in &TABLES[..4] {
        ops.push(json!({"op": "container", "name": container(table)}));
        for hours_ago in 0..3 {
            appends(table, hours_ago, 50, &mut next, &mut ops);
        }
    }
    ops.push(json!({"op": "container", "name": "unrelated-container"}));
    ops.push(json!({"op": "block", "container": "unrelated-container", "blob": "x.json", "data": "{\"not\":\"read\"}\n"}));
    azurite.python_sdk(&Value::Array(ops));
    let mut expected = next as usize;

    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("p.yaml"),
        format!(
            r#"id: contoso
sources:
  export:
    type: azure_blob
    connection_string: "{}"
    start_time: 6h
    poll_interval: 200ms
    grace_period: 4h
    commit_interval: 100ms
sinks:
  out: {{ type: file, inputs: [export], path: out.jsonl }}
"#,
            azurite.connection_string()
        ),
    );
    let out = dir.path().join("out.jsonl");
    let mut child = siemflow(dir.path())
        .args(["run", "p.yaml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&out, expected, &mut child);

    // More appends to every current-hour blob, a fifth table appearing, and a line cut in two.
    let mut ops = Vec::new();
    for table in &TABLES[..4] {
        appends(table, 0, 20, &mut next, &mut ops);
        appends(table, 1, 5, &mut next, &mut ops);
    }
    ops.push(json!({"op": "container", "name": container(TABLES[4])}));
    for hours_ago in 0..3 {
        appends(TABLES[4], hours_ago, 30, &mut next, &mut ops);
    }
    azurite.python_sdk(&Value::Array(ops));
    expected = next as usize;
    wait_for(&out, expected, &mut child);

    let split = row(TABLES[0], next);
    next += 1;
    let (head, tail) = split.split_at(split.len() / 2);
    azurite.python_sdk(&json!([
        {"op": "append", "container": container(TABLES[0]), "blob": blob_of(0), "data": head}
    ]));
    // Give the source several polls to (wrongly) take the half line.
    let before = report_ids(&out).len();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        report_ids(&out).len(),
        before,
        "half a line is not an event"
    );
    azurite.python_sdk(&json!([
        {"op": "append", "container": container(TABLES[0]), "blob": blob_of(0), "data": format!("{tail}\r\n")}
    ]));
    expected = next as usize;
    wait_for(&out, expected, &mut child);

    assert_eq!(send_signal(child.id(), libc::SIGTERM), 0);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));

    let got = report_ids(&out);
    let repeated: BTreeMap<_, _> = got.iter().filter(|(_, count)| **count > 1).collect();
    assert!(repeated.is_empty(), "lines delivered twice: {repeated:?}");
    assert_eq!(got.len(), expected);
    assert!((0..expected as u64).all(|n| got.contains_key(&n)));
    let whole: Value = serde_json::from_str(
        lines(&out)
            .iter()
            .find(|line| line.contains(&format!("\"ReportId\":{}", expected - 1)))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        whole["properties"]["Note"], "é | tab\there",
        "the split line is whole"
    );
    let checkpoint: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("data/checkpoints/contoso/export.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        checkpoint["blobs"].as_object().unwrap().len(),
        15,
        "five tables by three hours: {checkpoint}"
    );
}

#[test]
fn kill_9_and_restart_re_reads_nothing_from_the_start_of_a_blob() {
    let azurite = Azurite::start();
    let mut next = 0u64;
    let mut ops = Vec::new();
    let mut rows_of: HashMap<String, Vec<(u64, u64)>> = HashMap::new();
    for table in &TABLES[..2] {
        ops.push(json!({"op": "container", "name": container(table)}));
        for hours_ago in 0..2 {
            // Several appends per blob, as Defender writes them.
            for _ in 0..10 {
                let (key, rows) = append_rows(table, hours_ago, 1_000, &mut next, &mut ops);
                rows_of.entry(key).or_default().extend(rows);
            }
        }
    }
    azurite.python_sdk(&Value::Array(ops));
    let total = next as usize;

    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("p.yaml"),
        format!(
            r#"id: contoso
sources:
  export:
    type: azure_blob
    connection_string: "{}"
    start_time: 6h
    poll_interval: 200ms
    grace_period: 4h
    commit_interval: 50ms
    batch_size: 100
sinks:
  out: {{ type: file, inputs: [export], path: out.jsonl }}
"#,
            azurite.connection_string()
        ),
    );
    let out = dir.path().join("out.jsonl");
    let checkpoint = dir.path().join("data/checkpoints/contoso/export.json");
    // Rows acknowledged by the checkpoint: per blob, the rows that end at or before its offset.
    let committed = || -> usize {
        let Some(value) = std::fs::read_to_string(&checkpoint)
            .ok()
            .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        else {
            return 0;
        };
        let mut acknowledged = 0;
        for (key, blob) in value["blobs"].as_object().into_iter().flatten() {
            let offset = blob["offset"].as_u64().unwrap_or(0);
            let mut end = 0;
            for (_, bytes) in rows_of.get(key).into_iter().flatten() {
                end += bytes;
                if end > offset {
                    break;
                }
                acknowledged += 1;
            }
        }
        acknowledged
    };
    let mut child = siemflow(dir.path())
        .args(["run", "p.yaml"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill once a checkpoint is committed partway through.
    let start = Instant::now();
    while committed() == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "nothing committed"
        );
        assert!(child.try_wait().unwrap().is_none(), "siemflow exited early");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let at_kill = lines(&out).len();
    let acknowledged = committed();
    assert!(
        at_kill < total,
        "killed mid-run ({at_kill} of {total} lines written)"
    );

    // A kill can cut the last line written: drop such a fragment before the restart appends.
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let whole = text.rfind('\n').map_or(0, |end| end + 1);
    std::fs::write(&out, &text[..whole]).unwrap();
    let at_kill = lines(&out).len();

    let mut child = siemflow(dir.path())
        .args(["run", "p.yaml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&out, total, &mut child);
    assert_eq!(send_signal(child.id(), libc::SIGTERM), 0);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));

    let got = report_ids(&out);
    assert!(
        (0..total as u64).all(|n| got.contains_key(&n)),
        "every line at least once"
    );
    let duplicates: usize = got.values().map(|count| count - 1).sum();
    assert!(
        duplicates <= at_kill.saturating_sub(acknowledged),
        "re-delivered only what was written but not acknowledged: {duplicates} duplicates, {at_kill} lines written before the kill, {acknowledged} acknowledged"
    );
    eprintln!(
        "kill -9: {at_kill} lines written, {acknowledged} acknowledged, {duplicates} delivered again after the restart, of {total}"
    );
}

/// The `poll done` lines logged so far: `(requests, followed)` of each poll.
fn polls(log: &Path) -> Vec<(u64, u64)> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let field = |line: &str, key: &str| -> Option<u64> {
        let rest = &line[line.find(key)? + key.len()..];
        rest.split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    text.lines()
        .filter(|line| line.contains("poll done"))
        .filter_map(|line| Some((field(line, "requests=")?, field(line, "followed=")?)))
        .collect()
}

/// Resident memory of a process, from `/proc`.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS in {status}"))
}

#[test]
fn ten_thousand_blobs_cost_a_bounded_number_of_requests_per_poll_and_flat_memory() {
    const CONTAINERS: u64 = 10;
    const HOURS: u64 = 1_000;
    let azurite = Azurite::start();
    let tables: Vec<String> = (0..CONTAINERS).map(|n| format!("Table{n}")).collect();
    let mut ops = Vec::new();
    for (index, table) in tables.iter().enumerate() {
        ops.push(json!({"op": "container", "name": container(table)}));
        let blobs: Vec<String> = (0..HOURS).map(blob_of).collect();
        let data = format!("{}\r\n", row(table, index as u64));
        ops.push(
            json!({"op": "blocks", "container": container(table), "blobs": blobs, "data": data}),
        );
    }
    let began = Instant::now();
    let written = azurite.python_sdk(&Value::Array(ops));
    let wrote = began.elapsed();
    assert_eq!(
        written.iter().sum::<u64>(),
        CONTAINERS * HOURS,
        "blobs written"
    );

    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("p.yaml"),
        format!(
            r#"id: contoso
sources:
  export:
    type: azure_blob
    connection_string: "{}"
    start_time: 45d
    poll_interval: 50ms
    grace_period: 30m
sinks:
  out: {{ type: file, inputs: [export], path: out.jsonl }}
"#,
            azurite.connection_string()
        ),
    );
    let out = dir.path().join("out.jsonl");
    let log = dir.path().join("siemflow.log");
    let mut child = siemflow(dir.path())
        .env(
            "SIEMFLOW_LOG",
            "info,siemflow_components::sources::azure_blob=debug",
        )
        .args(["run", "p.yaml"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let wait_polls = |count: usize, child: &mut Child| {
        let start = Instant::now();
        while polls(&log).len() < count {
            assert!(child.try_wait().unwrap().is_none(), "siemflow exited early");
            assert!(
                start.elapsed() < Duration::from_secs(300),
                "{} of {count} polls after 300 s",
                polls(&log).len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    // The backfill is the first poll: it reads each of the blobs once.
    wait_polls(1, &mut child);
    let backfilled = began.elapsed() - wrote;
    let backfill = polls(&log)[0];
    assert_eq!(lines(&out).len() as u64, CONTAINERS * HOURS);
    // One List Containers, per container one tenant listing and one per day (46 days from 45
    // days ago), and one read per blob.
    assert_eq!(backfill.0, 1 + CONTAINERS * (1 + 46) + CONTAINERS * HOURS);

    // Steady polls: the floor is at most two hours back, so each poll lists at most two days,
    // every tenth the three days of the look-back.
    wait_polls(11, &mut child);
    let first_rss = rss_kib(child.id());
    wait_polls(111, &mut child);
    let last_rss = rss_kib(child.id());
    assert_eq!(send_signal(child.id(), libc::SIGTERM), 0);
    let status = wait_within(&mut child, PROCESS_LIMIT);
    assert_eq!(status.code(), Some(0));

    let steady = &polls(&log)[1..];
    for (index, (requests, followed)) in steady.iter().enumerate() {
        // Every tenth poll lists the 48-hour look-back (three days) for late blobs.
        let days = if (index + 1) % 10 == 0 { 3..=3 } else { 1..=2 };
        let bounds = 1 + CONTAINERS * (1 + days.start())..=1 + CONTAINERS * (1 + days.end());
        assert!(
            bounds.contains(requests),
            "steady poll {} made {requests} requests, not 1 + {CONTAINERS} x (1 + {days:?} days)",
            index + 1
        );
        assert!(
            *followed <= CONTAINERS * 3,
            "only the blobs of the hours above the floor are read: {followed}"
        );
    }
    assert_eq!(
        lines(&out).len() as u64,
        CONTAINERS * HOURS,
        "nothing read twice"
    );
    let checkpoint: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("data/checkpoints/contoso/export.json")).unwrap(),
    )
    .unwrap();
    let kept = checkpoint["blobs"].as_object().unwrap().len() as u64;
    // Positions are kept through the look-back and a day (72 hours), not for the 1,000 hours.
    assert!(
        kept <= CONTAINERS * (72 + 3),
        "the checkpoint keeps {kept} blobs"
    );
    assert!(
        last_rss < first_rss + 4 * 1024,
        "resident memory grew from {first_rss} KiB to {last_rss} KiB over 100 polls"
    );
    eprintln!(
        "10,000 blobs: written by the SDK in {wrote:.0?}, read in {backfilled:.0?}; backfill poll {} requests; steady polls {}..{} requests, {} followed at most; RSS {first_rss} KiB then {last_rss} KiB after 100 polls; checkpoint keeps {kept} blobs",
        backfill.0,
        steady.iter().map(|poll| poll.0).min().unwrap_or(0),
        steady.iter().map(|poll| poll.0).max().unwrap_or(0),
        steady.iter().map(|poll| poll.1).max().unwrap_or(0),
    );
}

#[test]
fn an_entra_app_reads_the_export_with_bearer_tokens_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let certificates = Certificates::create(dir.path());
    let azurite = Azurite::start_oauth(&certificates);
    let mut next = 0u64;
    let mut ops = Vec::new();
    for table in &TABLES[..2] {
        ops.push(json!({"op": "container", "name": container(table)}));
        for hours_ago in 0..2 {
            appends(table, hours_ago, 20, &mut next, &mut ops);
        }
    }
    azurite.python_sdk(&Value::Array(ops));
    let identity = DefenderApi::start(DefenderApiOptions::default());
    identity.add_secret_client(TENANT, "storage-reader", "s3cret~value");
    write(
        &dir.path().join("p.yaml"),
        format!(
            r#"id: contoso
sources:
  export:
    type: azure_blob
    account_url: {endpoint}
    entra:
      tenant_id: {TENANT}
      client_id: storage-reader
      client_secret: s3cret~value
      authority_host: {authority}
    ca_file: {ca}
    start_time: 6h
    poll_interval: 200ms
sinks:
  out: {{ type: file, inputs: [export], path: out.jsonl }}
"#,
            endpoint = azurite.blob_endpoint(),
            authority = identity.url(),
            ca = certificates.ca_file.display(),
        ),
    );
    let out = dir.path().join("out.jsonl");
    let mut child = siemflow(dir.path())
        .args(["run", "p.yaml"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&out, next as usize, &mut child);
    assert_eq!(send_signal(child.id(), libc::SIGTERM), 0);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let got = report_ids(&out);
    assert_eq!(got.len(), next as usize);
    assert!(got.values().all(|count| *count == 1), "each line once");
    let (v1, v2) = identity.tokens_issued();
    assert_eq!((v1, v2), (0, 1), "one v2 token, reused for every request");
    assert_eq!(identity.token_refusals(), 0);
}

#[test]
fn refused_credentials_stop_the_run_with_the_reason_and_without_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let certificates = Certificates::create(dir.path());
    let azurite = Azurite::start_oauth(&certificates);
    let plain = Azurite::start();
    let identity = DefenderApi::start(DefenderApiOptions::default());
    identity.add_secret_client(TENANT, "storage-reader", "the-right-secret");
    let wrong_key = "V3JvbmdBY2NvdW50S2V5Rm9yU2llbWZsb3dUZXN0cy0yNi0yNi0yNi0yNi0yNi0yNg==";
    let key_string = plain
        .connection_string()
        .split(';')
        .map(|part| match part.strip_prefix("AccountKey=") {
            Some(_) => format!("AccountKey={wrong_key}"),
            None => part.to_string(),
        })
        .collect::<Vec<_>>()
        .join(";");
    let cases = [
        (
            "key",
            format!("    connection_string: \"{key_string}\"\n"),
            wrong_key,
            "Server failed to authenticate the request",
        ),
        (
            "entra",
            format!(
                "    account_url: {}\n    entra: {{ tenant_id: {TENANT}, client_id: storage-reader, client_secret: Wr0ng~secret, authority_host: {} }}\n",
                azurite.blob_endpoint(),
                identity.url()
            ),
            "Wr0ng~secret",
            "AADSTS7000215",
        ),
    ];
    for (name, credentials, secret, reason) in cases {
        let run = dir.path().join(name);
        write(
            &run.join("p.yaml"),
            format!(
                "id: contoso\nsources:\n  export:\n    type: azure_blob\n{credentials}    ca_file: {}\n    poll_interval: 200ms\nsinks:\n  out: {{ type: file, inputs: [export], path: out.jsonl }}\n",
                certificates.ca_file.display()
            ),
        );
        let started = Instant::now();
        let mut child = siemflow(&run)
            .args(["run", "p.yaml"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        while child.try_wait().unwrap().is_none() && started.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{name}: {stderr}");
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{name}: {stderr}"
        );
        assert!(
            stderr.contains("source `export`")
                && stderr.contains("refused the credentials")
                && stderr.contains(reason),
            "{name}: {stderr}"
        );
        assert!(
            !stderr.contains(secret),
            "{name}: the secret leaked: {stderr}"
        );
    }
}

#[test]
fn late_blobs_are_read_once_and_a_blob_past_the_look_back_is_named() {
    let azurite = Azurite::start();
    let port: u16 = azurite
        .blob_endpoint()
        .rsplit(':')
        .next()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let proxy = siemflow_test_support::proxy::TcpProxy::start(([127, 0, 0, 1], port).into());
    let mut next = 0u64;
    let mut ops = vec![json!({"op": "container", "name": container(TABLES[0])})];
    appends(TABLES[0], 0, 100, &mut next, &mut ops);
    azurite.python_sdk(&Value::Array(ops));
    let connection_string = azurite
        .connection_string()
        .replace(&format!("127.0.0.1:{port}"), &proxy.address().to_string());
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("p.yaml"),
        format!(
            "id: contoso\nsources:\n  export:\n    type: azure_blob\n    connection_string: \"{connection_string}\"\n    start_time: 3d\n    poll_interval: 100ms\nsinks:\n  out: {{ type: file, inputs: [export], path: out.jsonl }}\n"
        ),
    );
    let out = dir.path().join("out.jsonl");
    let log = dir.path().join("siemflow.log");
    let metrics = format!("127.0.0.1:{}", crate::support::free_port());
    let mut child = siemflow(dir.path())
        .args(["run", "p.yaml", "--metrics-addr", &metrics])
        .env("SIEMFLOW_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    wait_for(&out, 100, &mut child);
    // The source runs, past the hours of what comes now (its floor is two hours back).
    std::thread::sleep(Duration::from_secs(2));

    // A delayed export: rows for five hours ago, in a container the source already reads.
    let mut ops = Vec::new();
    appends(TABLES[0], 5, 10_000, &mut next, &mut ops);
    // A table container created with past hours.
    ops.push(json!({"op": "container", "name": container(TABLES[1])}));
    appends(TABLES[1], 10, 5_000, &mut next, &mut ops);
    appends(TABLES[1], 30, 5_000, &mut next, &mut ops);
    azurite.python_sdk(&Value::Array(ops));
    // Listings that fail for a while, during which an export lands for twenty hours ago.
    proxy.set_up(false);
    let mut ops = vec![json!({"op": "container", "name": container(TABLES[2])})];
    appends(TABLES[2], 20, 10_000, &mut next, &mut ops);
    azurite.python_sdk(&Value::Array(ops));
    std::thread::sleep(Duration::from_secs(3));
    proxy.set_up(true);
    let late = next;
    // And one past the 48-hour look-back: not read, but named.
    let mut ops = Vec::new();
    appends(TABLES[0], 60, 5, &mut next, &mut ops);
    azurite.python_sdk(&Value::Array(ops));

    wait_for(&out, late as usize, &mut child);
    let started = Instant::now();
    let named = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(line) = text.lines().find(|line| line.contains("blob_too_late")) {
            break line.to_string();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the blob past the look-back was never reported:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let scraped = crate::support::http_get(&metrics, "/metrics");
    assert_eq!(send_signal(child.id(), libc::SIGTERM), 0);
    assert_eq!(wait_within(&mut child, PROCESS_LIMIT).code(), Some(0));
    let got = report_ids(&out);
    assert_eq!(
        got.len() as u64,
        late,
        "every late row, none past the look-back"
    );
    assert!(got.values().all(|count| *count == 1), "each once");
    assert!(
        named.contains(&blob_of(60)) && named.contains("look-back"),
        "{named}"
    );
    assert!(
        scraped
            .lines()
            .any(|line| line.starts_with("siemflow_component_errors_total{")
                && line.contains("reason=\"blob_too_late\"")
                && line.ends_with(" 1")),
        "{scraped}"
    );
    eprintln!(
        "late blobs: {} of {} late rows delivered once",
        got.len() as u64 - 100,
        late - 100
    );
}
