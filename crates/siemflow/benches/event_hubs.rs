//! `event_hubs` throughput: Defender envelopes (`{"records":[...]}`, five records of about
//! 1 KiB each) stored in the test-support Event Hubs emulator across 4 partitions, received over
//! AMQP 1.0 by the source (one connection and receiver per partition, CBS-authorized), split
//! into one event per record and written by a `file` sink, from the pipeline's start until the
//! last record is written. The emulator runs in this process on its own two-thread runtime; its
//! time is in the figure.
//!
//! ```text
//! cargo bench -p siemflow --bench event_hubs
//! ```
//!
//! `SIEMFLOW_BENCH_EVENTS` sets the records (default 100000, a multiple of 5),
//! `SIEMFLOW_BENCH_RUNS` the runs (default 3; each reads the hub from the start with a fresh
//! data directory); the median is reported. Results go in docs/performance.md.

use std::time::{Duration, Instant};

use siemflow_core::telemetry::Telemetry;
use siemflow_core::topology::{RunOptions, run};
use siemflow_test_support::event_hubs::{EventHubsEmulator, HubSpec};
use tokio_util::sync::CancellationToken;

const RECORDS_PER_ENVELOPE: usize = 5;
const RECORD_BYTES: usize = 1024;

fn main() {
    let events: usize = env_number("SIEMFLOW_BENCH_EVENTS", 100_000);
    let runs: usize = env_number("SIEMFLOW_BENCH_RUNS", 3);
    let emulator = EventHubsEmulator::start(&[HubSpec::new("defender", 4)], 0);
    let mut expected = 0u64;
    for envelope in 0..events / RECORDS_PER_ENVELOPE {
        let records: Vec<String> = (0..RECORDS_PER_ENVELOPE)
            .map(|j| record(envelope * RECORDS_PER_ENVELOPE + j))
            .collect();
        // The file sink writes each record's bytes as they were in the envelope, plus a newline.
        expected += records.iter().map(|r| r.len() as u64 + 1).sum::<u64>();
        let body = format!("{{\"records\":[{}]}}", records.join(","));
        emulator
            .publish("defender", body.into_bytes())
            .expect("the emulator stores the envelope");
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let registry = siemflow_components::registry();
    let dir = tempfile::tempdir().expect("a temporary directory");
    println!(
        "event hubs bench: {events} records of about {RECORD_BYTES} bytes in envelopes of {RECORDS_PER_ENVELOPE}, 4 partitions, {runs} runs, median shown"
    );
    let mut timings = Vec::new();
    for round in 0..runs {
        let work = dir.path().join(format!("run-{round}"));
        std::fs::create_dir_all(&work).expect("run directory");
        let output = work.join("out.jsonl");
        let file = work.join("bench.yaml");
        let yaml = format!(
            "id: bench\nsources:\n  in: {{ type: event_hubs, connection_string: \"{}\" }}\nsinks:\n  out: {{ type: file, inputs: [in], path: {} }}\n",
            emulator.connection_string("defender"),
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
        "emulator -> event_hubs -> file   median {:>8.1} ms  {:>9.0} events/s  {:>6.1} MiB/s   (min {:.1} ms, max {:.1} ms)",
        median.as_secs_f64() * 1e3,
        events as f64 / median.as_secs_f64(),
        expected as f64 / median.as_secs_f64() / (1 << 20) as f64,
        timings[0].as_secs_f64() * 1e3,
        timings[timings.len() - 1].as_secs_f64() * 1e3,
    );
}

/// Record `n`, a Defender advanced hunting row padded to about [`RECORD_BYTES`] of compact JSON.
fn record(n: usize) -> String {
    let head = format!(
        "{{\"time\":\"2026-12-04T09:05:11.2Z\",\"tenantId\":\"9b1c2d3e-4f50-4a6b-8c7d-0e1f2a3b4c5d\",\"operationName\":\"Publish\",\"category\":\"AdvancedHunting-DeviceProcessEvents\",\"properties\":{{\"Timestamp\":\"2026-12-04T09:03:58.1234567Z\",\"DeviceName\":\"ws-paie-07.fabrikam.example\",\"ActionType\":\"ProcessCreated\",\"ReportId\":{n},\"ProcessCommandLine\":\""
    );
    let tail = "\"}}";
    let pad = RECORD_BYTES.saturating_sub(head.len() + tail.len());
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
