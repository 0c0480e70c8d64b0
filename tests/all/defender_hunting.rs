//! The `defender_hunting` source against the test server's `runHuntingQuery`: rows that land
//! up to four minutes late all delivered exactly once in a steady run, through the API's 429s
//! (calls per minute with `Retry-After`, spent CPU with the wait in the message); at least once
//! across a kill -9, with the re-delivery measured; a result cut at the row cap split and read
//! whole; a KQL error stopping the run with Microsoft's message; rows mapped by the built-in CEF
//! plugin as the streaming records of their table.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use siemflow_test_support::defender::hunting::HuntingOptions;
use siemflow_test_support::defender::{DefenderApi, DefenderApiOptions, Faults};
use siemflow_test_support::server::Dice;

use crate::defender_rest::{CLIENT, SECRET, TENANT, assert_retry_after_respected};
use crate::support::{Service, lines, send_signal, siemflow, wait_within, write};

const QUERY: &str = r#"DeviceProcessEvents | where ActionType == "ProcessCreated""#;

fn pipeline(server: &DefenderApi, query: &str, extra: &str) -> String {
    format!(
        r#"id: contoso
sources:
  hunt:
    type: defender_hunting
    query: '{query}'
    tenant_id: {TENANT}
    client_id: {CLIENT}
    client_secret: "{SECRET}"
    authority_host: {url}
    api_base_url: {url}
    interval: 500ms
    start_time: 10m
    overlap: 5m
{extra}
transforms:
  cef: {{ type: wasm, inputs: [hunt], plugin: "builtin:defender-cef" }}
sinks:
  rows: {{ type: file, inputs: [hunt], path: rows.jsonl }}
  cef_out: {{ type: file, inputs: [cef], path: rows.cef }}
"#,
        url = server.url()
    )
}

/// Adds DeviceProcessEvents rows while it runs: every 100 ms ten rows, half `ProcessCreated`,
/// each stamped up to four minutes in the past (it lands late) and a tenth of them visible only
/// up to three seconds after they are added.
struct Generator {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    next: Arc<AtomicU64>,
}

impl Generator {
    fn start(server: Arc<DefenderApi>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let next = Arc::new(AtomicU64::new(1));
        let (stopping, counter) = (stop.clone(), next.clone());
        let thread = std::thread::spawn(move || {
            let mut dice = Dice::new(5);
            while !stopping.load(Ordering::SeqCst) {
                let now = SystemTime::now();
                server.hunting(|hunting| {
                    for _ in 0..10 {
                        let n = counter.fetch_add(1, Ordering::SeqCst);
                        let late = Duration::from_millis((dice.draw() * 240_000.0) as u64);
                        let hidden = if dice.draw() < 0.1 {
                            Duration::from_millis((dice.draw() * 3_000.0) as u64)
                        } else {
                            Duration::ZERO
                        };
                        let action = if n % 2 == 0 {
                            "ProcessCreated"
                        } else {
                            "OpenProcessApiCall"
                        };
                        hunting.add_row(
                            "DeviceProcessEvents",
                            json!({
                                "Timestamp": humantime::format_rfc3339_nanos(now - late).to_string(),
                                "DeviceId": "9f2c4e6a8b0d1f3a5c7e9b1d3f5a7c9e1b3d5f70",
                                "DeviceName": "wks-compta-01.contoso.example",
                                "ActionType": action,
                                "FileName": "powershell.exe",
                                "ProcessCommandLine": format!("powershell.exe -NoP -c \"Get-Item | x={n}\""),
                                "AccountName": "j.dupont",
                                "ReportId": 9_007_199_254_740_993u64 + n,
                            }),
                            now + hidden,
                        );
                    }
                });
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Self {
            stop,
            thread: Some(thread),
            next,
        }
    }

    /// Stops adding rows; the report ids of the `ProcessCreated` rows added.
    fn stop(mut self) -> Vec<u64> {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
        (1..self.next.load(Ordering::SeqCst))
            .filter(|n| n % 2 == 0)
            .map(|n| 9_007_199_254_740_993u64 + n)
            .collect()
    }
}

/// Report ids delivered, with how many times each came.
fn delivered(path: &Path) -> HashMap<u64, usize> {
    let mut counts = HashMap::new();
    for line in lines(path) {
        let Ok(record) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if let Some(id) = record["properties"]["ReportId"].as_u64() {
            *counts.entry(id).or_default() += 1;
        }
    }
    counts
}

/// Waits until every one of `expected` was delivered.
fn wait_for_all(path: &Path, expected: &[u64], limit: Duration) -> HashMap<u64, usize> {
    let started = Instant::now();
    loop {
        let got = delivered(path);
        let missing = expected.iter().filter(|id| !got.contains_key(id)).count();
        if missing == 0 {
            return got;
        }
        assert!(
            started.elapsed() < limit,
            "{missing} of {} rows not delivered after {limit:?}",
            expected.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn hunting_server(options: HuntingOptions) -> Arc<DefenderApi> {
    throttled_hunting_server(options, Faults::default())
}

fn throttled_hunting_server(options: HuntingOptions, faults: Faults) -> Arc<DefenderApi> {
    let server = Arc::new(DefenderApi::start(DefenderApiOptions {
        hunting: options,
        faults,
        ..DefenderApiOptions::default()
    }));
    server.add_secret_client(TENANT, CLIENT, SECRET);
    server.hunting(|hunting| hunting.create_table("DeviceProcessEvents"));
    server
}

#[test]
fn late_rows_arrive_exactly_once_through_the_quotas_and_map_like_streaming_records() {
    // A tenth of the calls throttled with `Retry-After: 1`, and a CPU allocation of 1,500 rows
    // scanned per 6-second cycle (429 without `Retry-After`, the wait in the message).
    let server = throttled_hunting_server(
        HuntingOptions {
            cpu_rows_per_cycle: Some(1_500),
            cpu_cycle: Duration::from_secs(6),
            ..HuntingOptions::default()
        },
        Faults {
            seed: 3,
            throttle_rate: 0.1,
            retry_after: Duration::from_secs(1),
            ..Faults::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("pipelines/p.yaml"),
        pipeline(&server, QUERY, "").replace("path: rows", "path: ../rows"),
    );
    let service = Service::start(dir.path(), "pipelines");
    let generator = Generator::start(server.clone());
    std::thread::sleep(Duration::from_secs(20));
    let expected = generator.stop();
    assert!(expected.len() > 900, "{}", expected.len());
    let out = dir.path().join("rows.jsonl");
    wait_for_all(&out, &expected, Duration::from_secs(120));
    // Long enough for any late duplicate to come.
    std::thread::sleep(Duration::from_secs(3));
    let metrics = service.get("/metrics");
    let (code, log) = service.stop();
    assert_eq!(code, Some(0), "{log}");
    let got = delivered(&out);
    let twice: Vec<_> = got.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "rows delivered twice: {:?}",
        &twice[..twice.len().min(5)]
    );
    assert_eq!(
        got.len(),
        expected.len(),
        "only ProcessCreated rows, each once"
    );

    let calls = server.hunting(|hunting| hunting.calls().to_vec());
    let throttled = assert_retry_after_respected(&server);
    assert!(throttled > 0, "Graph answered 429 with Retry-After");
    let blocked: Vec<_> = calls.iter().filter(|c| c.blocked_for.is_some()).collect();
    assert!(
        !blocked.is_empty(),
        "the CPU allocation ran out at least once"
    );
    for block in &blocked {
        let wait = block.blocked_for.unwrap();
        let early = calls
            .iter()
            .find(|later| later.at > block.at && later.at < block.at + wait);
        assert!(
            early.is_none(),
            "a query came {:?} after a CPU block of {wait:?}",
            early.map(|c| c.at.duration_since(block.at))
        );
    }
    assert!(
        calls.iter().all(|c| c.status != 200
            || (c.query.starts_with(QUERY)
                && c.query.contains("\n| where Timestamp > datetime(")
                && c.timespan.as_deref().is_some_and(|t| t.contains('/')))),
        "the user's query, a time filter and a timespan"
    );
    assert!(
        metrics.lines().any(
            |line| line.starts_with("siemflow_component_discarded_events_total{")
                && line.contains("component_id=\"hunt\"")
                && line.contains("reason=\"already_delivered\"")
        ),
        "rows read again in the overlap are dropped and counted"
    );

    // The rows are streaming records of their table, so the built-in CEF mapping maps them.
    let first: Value = serde_json::from_str(&lines(&out)[0]).unwrap();
    assert_eq!(first["category"], "AdvancedHunting-DeviceProcessEvents");
    assert_eq!(first["tenantId"], TENANT);
    let cef = lines(&dir.path().join("rows.cef"));
    assert_eq!(cef.len(), expected.len());
    assert!(
        cef.iter().all(|line| line.starts_with(
            "CEF:0|Microsoft|Microsoft Defender for Endpoint|1.0|DeviceProcessEvents:ProcessCreated|Process created|"
        ) && line.contains("dvchost=wks-compta-01.contoso.example")),
        "{}",
        cef[0]
    );
}

#[test]
fn kills_during_windows_redeliver_at_most_the_window_in_flight() {
    let server = hunting_server(HuntingOptions {
        calls_per_minute: None,
        ..HuntingOptions::default()
    });
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("p.yaml"),
        pipeline(
            &server,
            QUERY,
            "    rate_limit: { per_minute: 6000, per_hour: 100000 }",
        ),
    );
    let out = dir.path().join("rows.jsonl");
    let generator = Generator::start(server.clone());
    let start = || {
        siemflow(dir.path())
            .args(["run", "p.yaml"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    // Four kill -9s at different points of the 500 ms poll cycle, each once the run has
    // delivered something new.
    let mut again = Vec::new();
    let mut child = start();
    for delay in [130u64, 260, 390, 520] {
        let seen = delivered(&out).len();
        let started = Instant::now();
        while delivered(&out).len() < seen + 50 {
            assert!(started.elapsed() < Duration::from_secs(60), "no new rows");
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(delay));
        assert_eq!(send_signal(child.id(), libc::SIGKILL), 0);
        wait_within(&mut child, Duration::from_secs(30));
        let before: usize = delivered(&out).values().sum();
        child = start();
        std::thread::sleep(Duration::from_millis(1_500));
        let after = delivered(&out);
        let repeated = after.values().map(|n| n - 1).sum::<usize>() - again.iter().sum::<usize>();
        again.push(repeated);
        assert!(before > 0);
    }
    let expected = generator.stop();
    let got = wait_for_all(&out, &expected, Duration::from_secs(120));
    assert_eq!(send_signal(child.id(), libc::SIGTERM), 0);
    assert!(wait_within(&mut child, Duration::from_secs(60)).success());
    let repeated: usize = got.values().map(|n| n - 1).sum();
    // The generator adds 50 ProcessCreated rows a second; a window covers one 500 ms interval
    // plus the time its query and delivery take.
    eprintln!(
        "4 kill -9s: {again:?} rows delivered again ({repeated} in all, of {} rows)",
        expected.len()
    );
    assert!(
        again.iter().all(|n| *n <= 150),
        "at most the rows of the window in flight come again: {again:?}"
    );
    assert_eq!(got.len(), expected.len());
}

#[test]
fn a_result_cut_at_the_row_cap_is_split_and_read_whole() {
    let server = hunting_server(HuntingOptions {
        max_rows: 200,
        calls_per_minute: None,
        ..HuntingOptions::default()
    });
    let now = SystemTime::now();
    server.hunting(|hunting| {
        for n in 0..1_000u64 {
            hunting.add_row(
                "DeviceProcessEvents",
                json!({
                    "Timestamp": humantime::format_rfc3339_nanos(now - Duration::from_millis(240_000 - n * 200)).to_string(),
                    "ActionType": "ProcessCreated",
                    "DeviceName": "wks-compta-01.contoso.example",
                    "ReportId": n,
                }),
                now,
            );
        }
    });
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("pipelines/p.yaml"),
        pipeline(
            &server,
            QUERY,
            "    result_row_limit: 200\n    rate_limit: { per_minute: 6000, per_hour: 100000 }",
        )
        .replace("path: rows", "path: ../rows"),
    );
    let service = Service::start(dir.path(), "pipelines");
    let expected: Vec<u64> = (0..1_000).collect();
    let got = wait_for_all(
        &dir.path().join("rows.jsonl"),
        &expected,
        Duration::from_secs(60),
    );
    let (code, log) = service.stop();
    assert_eq!(code, Some(0));
    assert!(got.values().all(|n| *n == 1));
    assert!(log.contains("reached the cap of 200 rows"), "{log}");
    let calls = server.hunting(|hunting| hunting.calls().to_vec());
    assert!(
        calls.iter().filter(|c| c.matched > c.rows).count() >= 1
            && calls.iter().filter(|c| c.status == 200).count() >= 8,
        "the first window was cut, its halves queried: {} calls",
        calls.len()
    );
}

#[test]
fn a_query_graph_refuses_stops_the_run_with_microsofts_message() {
    let server = hunting_server(HuntingOptions::default());
    server.hunting(|hunting| {
        hunting.add_row(
            "DeviceProcessEvents",
            json!({"Timestamp": humantime::format_rfc3339(SystemTime::now()).to_string(), "ActionType": "ProcessCreated"}),
            SystemTime::now(),
        );
    });
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("p.yaml"),
        pipeline(&server, "DeviceProcessEvents | where NoSuchColumn == 1", ""),
    );
    let output = siemflow(dir.path())
        .args(["run", "p.yaml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("source `hunt`")
            && stderr.contains("HTTP 400 BadRequest")
            && stderr.contains("Failed to resolve scalar expression named 'NoSuchColumn'"),
        "{stderr}"
    );
    assert!(!stderr.contains(SECRET));
}
