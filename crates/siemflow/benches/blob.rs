//! `azure_blob` throughput: the streaming API's storage export in Azurite (4 table containers,
//! one hour blob each, 1 KiB CRLF lines written by the official Python SDK in 4 MiB appends),
//! read by the source into a `file` sink, from the first request until the last line is
//! written. Azurite runs on the same machine; its own time is in the figure.
//!
//! ```text
//! cargo bench -p siemflow --bench blob
//! ```
//!
//! `SIEMFLOW_BENCH_EVENTS` sets the lines (default 100000), `SIEMFLOW_BENCH_RUNS` the runs
//! (default 3; each reads the export from the start with a fresh data directory); the median is
//! reported. Needs `scripts/test-peers` (Azurite and the SDK). Results go in
//! docs/performance.md.

use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use siemflow_core::telemetry::Telemetry;
use siemflow_core::topology::{RunOptions, run};
use siemflow_test_support::azurite::Azurite;
use tokio_util::sync::CancellationToken;

const LINE_BYTES: usize = 1024;
const TABLES: [&str; 4] = [
    "deviceprocessevents",
    "devicenetworkevents",
    "devicefileevents",
    "devicelogonevents",
];

fn main() {
    let events: usize = env_number("SIEMFLOW_BENCH_EVENTS", 100_000);
    let runs: usize = env_number("SIEMFLOW_BENCH_RUNS", 3);
    let azurite = Azurite::start();
    let hour = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let blob = format!(
        "tenantId=9b1c2d3e/y={}/m={}/d={}/h={}/m=00/PT1H.json",
        &hour[0..4],
        &hour[5..7],
        &hour[8..10],
        &hour[11..13]
    );
    let mut operations = Vec::new();
    for table in TABLES {
        operations.push(
            json!({"op": "container", "name": format!("insights-logs-advancedhunting-{table}")}),
        );
    }
    let per_append = (4 << 20) / LINE_BYTES;
    let mut written = 0;
    while written < events {
        let table = TABLES[(written / per_append) % TABLES.len()];
        let count = per_append.min(events - written);
        let data: String = (written..written + count).map(line).collect();
        operations.push(json!({
            "op": "append",
            "container": format!("insights-logs-advancedhunting-{table}"),
            "blob": blob,
            "data": data,
        }));
        written += count;
    }
    azurite.python_sdk(&Value::Array(operations));
    let expected = (events * (LINE_BYTES - 1)) as u64;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let registry = siemflow_components::registry();
    let dir = tempfile::tempdir().expect("a temporary directory");
    println!(
        "blob bench: {events} lines of {LINE_BYTES} bytes in 4 blobs, {runs} runs, median shown"
    );
    let mut timings = Vec::new();
    for round in 0..runs {
        let work = dir.path().join(format!("run-{round}"));
        std::fs::create_dir_all(&work).expect("run directory");
        let output = work.join("out.jsonl");
        let file = work.join("bench.yaml");
        let yaml = format!(
            "id: bench\nsources:\n  in: {{ type: azure_blob, connection_string: \"{}\", poll_interval: 100ms, start_time: 2h }}\nsinks:\n  out: {{ type: file, inputs: [in], path: {} }}\n",
            azurite.connection_string(),
            output.display()
        );
        std::fs::write(&file, yaml).expect("pipeline file");
        let pipeline = siemflow_core::load_and_compile(&file, &registry)
            .unwrap_or_else(|errors| panic!("{errors}"));
        let shutdown = CancellationToken::new();
        let options = RunOptions {
            data_dir: work.join("data"),
            shutdown: shutdown.clone(),
            drain_timeout: Duration::from_secs(60),
            telemetry: Telemetry::new(),
        };
        let started = Instant::now();
        let elapsed = runtime.block_on(async {
            let running = tokio::spawn(async move { run(&pipeline, &options).await });
            loop {
                let size = std::fs::metadata(&output).map(|m| m.len()).unwrap_or(0);
                if size >= expected {
                    break;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(600),
                    "{size} of {expected} bytes after 600 s"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let elapsed = started.elapsed();
            shutdown.cancel();
            running
                .await
                .expect("the pipeline task")
                .expect("the pipeline runs");
            elapsed
        });
        timings.push(elapsed);
    }
    timings.sort();
    let median = timings[timings.len() / 2];
    println!(
        "azurite -> azure_blob -> file   median {:>8.1} ms  {:>9.0} events/s  {:>6.1} MiB/s   (min {:.1} ms, max {:.1} ms)",
        median.as_secs_f64() * 1e3,
        events as f64 / median.as_secs_f64(),
        (events * LINE_BYTES) as f64 / median.as_secs_f64() / (1 << 20) as f64,
        timings[0].as_secs_f64() * 1e3,
        timings[timings.len() - 1].as_secs_f64() * 1e3,
    );
}

/// Row `n`, padded to exactly [`LINE_BYTES`] with its CRLF.
fn line(n: usize) -> String {
    let head = format!(
        "{{\"time\":\"2026-11-24T09:05:11.2Z\",\"tenantId\":\"9b1c2d3e-4f50-4a6b-8c7d-0e1f2a3b4c5d\",\"operationName\":\"Publish\",\"category\":\"AdvancedHunting-DeviceProcessEvents\",\"properties\":{{\"Timestamp\":\"2026-11-24T09:03:58.1234567Z\",\"DeviceName\":\"ws-paie-07.fabrikam.example\",\"ActionType\":\"ProcessCreated\",\"ReportId\":{n},\"ProcessCommandLine\":\""
    );
    let tail = "\"}}\r\n";
    let pad = LINE_BYTES - head.len() - tail.len();
    let body: String = (0..pad)
        .map(|i| char::from(b"powershell.exe -NoP -EncodedCommand SQBFAFgA "[i % 44]))
        .collect();
    format!("{head}{body}{tail}")
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}
