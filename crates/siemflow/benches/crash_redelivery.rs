//! What a kill -9 costs in events delivered twice, per source, with every option at its default:
//! the release binary reads into a `file` sink, is killed with SIGKILL once it has delivered a
//! good part of its input, and is started again until every event arrived; the repeats are the
//! lines whose number came more than once. SIEMs are licensed by the gigabyte: this is the bound
//! `docs/operations.md` gives.
//!
//! ```text
//! cargo bench -p siemflow --bench crash_redelivery
//! ```
//!
//! - `file`: 2,000,000 numbered lines of 200 bytes, killed after 800,000 were written;
//! - `event_hubs`: 300,000 records in envelopes of 10 in the test-support emulator (4
//!   partitions), killed after 150,000;
//! - `azure_blob`: 300,000 export rows in 4 hour blobs in Azurite (written by the official
//!   Python SDK; needs `scripts/test-peers`), killed after 150,000.
//!
//! `SIEMFLOW_BENCH_RUNS` sets the runs per source (default 3); each line shows every run.
//! Results go in docs/operations.md and docs/performance.md.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use siemflow_test_support::azurite::Azurite;
use siemflow_test_support::event_hubs::{EventHubsEmulator, HubSpec};

const BINARY: &str = env!("CARGO_BIN_EXE_siemflow");

fn main() {
    let runs = std::env::var("SIEMFLOW_BENCH_RUNS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(3usize);
    println!("crash_redelivery bench: default options, kill -9 mid-run, {runs} runs per source");
    file_source(runs);
    event_hubs_source(runs);
    azure_blob_source(runs);
}

/// One run's figures.
struct Figures {
    at_kill: usize,
    repeated: usize,
    total: usize,
}

fn report(source: &str, events: usize, figures: &[Figures]) {
    let runs: Vec<String> = figures
        .iter()
        .map(|f| format!("{} again after {} delivered", f.repeated, f.at_kill))
        .collect();
    let worst = figures.iter().map(|f| f.repeated).max().unwrap_or(0);
    assert!(
        figures.iter().all(|f| f.total >= events),
        "{source}: not every event came"
    );
    println!(
        "{source:<11} {events} events; delivered again: {} (worst {worst})",
        runs.join(", ")
    );
}

/// How many times each `"n"` came in `path`, and how many lines there are.
fn numbers(path: &Path) -> (HashMap<u64, usize>, usize) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut counts = HashMap::new();
    let mut lines = 0;
    for line in text.lines() {
        let Ok(value) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let n = value["n"]
            .as_u64()
            .or_else(|| value["properties"]["n"].as_u64());
        if let Some(n) = n {
            *counts.entry(n).or_default() += 1;
            lines += 1;
        }
    }
    (counts, lines)
}

fn count_lines(path: &Path) -> usize {
    std::fs::read(path)
        .map(|bytes| bytes.iter().filter(|b| **b == b'\n').count())
        .unwrap_or(0)
}

fn start(dir: &Path) -> Child {
    Command::new(BINARY)
        .args(["run", "p.yaml", "--data-dir", "data"])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("siemflow starts")
}

/// Runs, kills once `kill_at` lines are out, runs again until `events` distinct numbers came
/// (stopping it with SIGTERM if its source does not end by itself).
fn crash_and_resume(dir: &Path, events: usize, kill_at: usize) -> Figures {
    let out = dir.join("out.jsonl");
    let mut child = start(dir);
    let began = Instant::now();
    while count_lines(&out) < kill_at {
        assert!(began.elapsed() < Duration::from_secs(300), "no progress");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    let at_kill = numbers(&out).1;
    let mut child = start(dir);
    let resumed = Instant::now();
    loop {
        if numbers(&out).0.len() >= events {
            break;
        }
        assert!(
            resumed.elapsed() < Duration::from_secs(600),
            "the restart never delivered everything"
        );
        if child.try_wait().expect("status").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let (counts, total) = numbers(&out);
    Figures {
        at_kill,
        repeated: total - counts.len(),
        total: counts.len(),
    }
}

fn file_source(runs: usize) {
    const EVENTS: usize = 2_000_000;
    let mut figures = Vec::new();
    for _ in 0..runs {
        let dir = tempfile::tempdir().expect("a directory");
        let mut input = String::with_capacity(EVENTS * 200);
        for n in 0..EVENTS {
            let head = format!(
                "{{\"n\":{n},\"category\":\"AdvancedHunting-DeviceProcessEvents\",\"pad\":\""
            );
            input.push_str(&head);
            input.push_str(&"x".repeat(200 - head.len() - 3));
            input.push_str("\"}\n");
        }
        std::fs::write(dir.path().join("in.jsonl"), input).expect("input");
        std::fs::write(
            dir.path().join("p.yaml"),
            "id: crash\nsources:\n  in: { type: file, path: in.jsonl }\nsinks:\n  out: { type: file, inputs: [in], path: out.jsonl }\n",
        )
        .expect("pipeline");
        figures.push(crash_and_resume(dir.path(), EVENTS, 800_000));
    }
    report("file", EVENTS, &figures);
}

fn event_hubs_source(runs: usize) {
    const EVENTS: usize = 300_000;
    let mut figures = Vec::new();
    for _ in 0..runs {
        let emulator = EventHubsEmulator::start(&[HubSpec::new("defender", 4)], 0);
        for envelope in 0..EVENTS / 10 {
            let records: Vec<String> = (0..10)
                .map(|j| {
                    json!({"category": "AdvancedHunting-DeviceProcessEvents", "properties": {"n": envelope * 10 + j, "pad": "x".repeat(150)}})
                        .to_string()
                })
                .collect();
            emulator
                .publish(
                    "defender",
                    format!("{{\"records\":[{}]}}", records.join(",")).into_bytes(),
                )
                .expect("stored");
        }
        let dir = tempfile::tempdir().expect("a directory");
        std::fs::write(
            dir.path().join("p.yaml"),
            format!(
                "id: crash\nsources:\n  in: {{ type: event_hubs, connection_string: \"{}\" }}\nsinks:\n  out: {{ type: file, inputs: [in], path: out.jsonl }}\n",
                emulator.connection_string("defender")
            ),
        )
        .expect("pipeline");
        figures.push(crash_and_resume(dir.path(), EVENTS, 150_000));
    }
    report("event_hubs", EVENTS, &figures);
}

fn azure_blob_source(runs: usize) {
    const EVENTS: usize = 300_000;
    let mut figures = Vec::new();
    for _ in 0..runs {
        let azurite = Azurite::start();
        let hour = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        let blob = format!(
            "tenantId=9b1c2d3e/y={}/m={}/d={}/h={}/m=00/PT1H.json",
            &hour[0..4],
            &hour[5..7],
            &hour[8..10],
            &hour[11..13]
        );
        let tables = [
            "deviceprocessevents",
            "devicenetworkevents",
            "devicefileevents",
            "devicelogonevents",
        ];
        let mut operations = Vec::new();
        for table in tables {
            operations.push(json!({"op": "container", "name": format!("insights-logs-advancedhunting-{table}")}));
        }
        for chunk in 0..EVENTS / 20_000 {
            let table = tables[chunk % tables.len()];
            let data: String = (chunk * 20_000..(chunk + 1) * 20_000)
                .map(|n| {
                    format!(
                        "{}\r\n",
                        json!({"category": "AdvancedHunting-DeviceProcessEvents", "properties": {"n": n, "pad": "x".repeat(150)}})
                    )
                })
                .collect();
            operations.push(json!({
                "op": "append",
                "container": format!("insights-logs-advancedhunting-{table}"),
                "blob": blob,
                "data": data,
            }));
        }
        azurite.python_sdk(&Value::Array(operations));
        let dir = tempfile::tempdir().expect("a directory");
        std::fs::write(
            dir.path().join("p.yaml"),
            format!(
                "id: crash\nsources:\n  in: {{ type: azure_blob, connection_string: \"{}\", start_time: 2h, poll_interval: 1s }}\nsinks:\n  out: {{ type: file, inputs: [in], path: out.jsonl }}\n",
                azurite.connection_string()
            ),
        )
        .expect("pipeline");
        figures.push(crash_and_resume(dir.path(), EVENTS, 150_000));
    }
    report("azure_blob", EVENTS, &figures);
}
