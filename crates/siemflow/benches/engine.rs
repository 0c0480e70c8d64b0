//! Engine throughput on 1 KiB JSON lines: file -> file, file -> JSONPath filter -> file, and
//! file -> syslog sink over TCP to a local reader that only counts bytes.
//!
//! Run it pinned to one core (the source's reader thread and the runtime share it):
//!
//! ```text
//! taskset -c 0 cargo bench -p siemflow --bench engine
//! ```
//!
//! `SIEMFLOW_BENCH_EVENTS` sets the number of lines (default 200000), `SIEMFLOW_BENCH_RUNS` the
//! runs per scenario (default 5); the median is reported. Results go in docs/performance.md.

use std::path::Path;
use std::time::{Duration, Instant};

use siemflow_core::telemetry::Telemetry;
use siemflow_core::topology::{RunOptions, run};
use tokio_util::sync::CancellationToken;

const LINE_BYTES: usize = 1024;

fn main() {
    let events: usize = env_number("SIEMFLOW_BENCH_EVENTS", 200_000);
    let runs: usize = env_number("SIEMFLOW_BENCH_RUNS", 5);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let input = dir.path().join("in.json");
    write_input(&input, events);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let registry = siemflow_components::registry();
    println!(
        "engine bench: {events} lines of {LINE_BYTES} bytes, {runs} runs per scenario, median shown"
    );
    let receiver = Receiver::start();
    let syslog = format!(
        "{{ type: syslog, inputs: [in], address: \"{}\", hostname: bench }}",
        receiver.address
    );
    for (name, transforms, sink) in [
        (
            "passthrough (file -> file)",
            "",
            FILE_SINK.replace("INPUT", "in"),
        ),
        (
            "filter (file -> JSONPath filter -> file)",
            "transforms:\n  processes:\n    type: filter\n    inputs: [in]\n    condition: \"$.category == 'AdvancedHunting-DeviceProcessEvents'\"\n",
            FILE_SINK.replace("INPUT", "processes"),
        ),
        (
            "syslog TCP (file -> syslog sink, RFC 5424)",
            "",
            syslog.clone(),
        ),
    ] {
        let mut timings = Vec::new();
        for round in 0..runs {
            let work = dir.path().join(format!("run-{name:.6}-{round}"));
            let output = work.join("out.log");
            let yaml = format!(
                "id: bench\nsources:\n  in: {{ type: file, path: {} }}\n{transforms}sinks:\n  out: {}\n",
                input.display(),
                sink.replace("OUTPUT", &output.display().to_string())
            );
            let file = work.join("bench.yaml");
            std::fs::create_dir_all(&work).expect("run directory");
            std::fs::write(&file, yaml).expect("pipeline file");
            let pipeline = siemflow_core::load_and_compile(&file, &registry)
                .unwrap_or_else(|errors| panic!("{errors}"));
            let options = RunOptions {
                data_dir: work.join("data"),
                shutdown: CancellationToken::new(),
                drain_timeout: Duration::from_secs(60),
                telemetry: Telemetry::new(),
            };
            let started = Instant::now();
            runtime
                .block_on(run(&pipeline, &options))
                .expect("the pipeline runs");
            timings.push(started.elapsed());
            let written =
                std::fs::metadata(&output).map(|m| m.len()).unwrap_or(0) + receiver.take_bytes();
            assert!(written > 0, "the sink wrote output");
            std::fs::remove_dir_all(&work).expect("cleanup");
        }
        timings.sort();
        let median = timings[timings.len() / 2];
        let rate = events as f64 / median.as_secs_f64();
        println!(
            "{name:<42} median {:>8.1} ms  {:>10.0} events/s  {:>7.1} MiB/s in   (min {:.1} ms, max {:.1} ms)",
            median.as_secs_f64() * 1e3,
            rate,
            rate * LINE_BYTES as f64 / (1024.0 * 1024.0),
            timings[0].as_secs_f64() * 1e3,
            timings[timings.len() - 1].as_secs_f64() * 1e3,
        );
    }
}

const FILE_SINK: &str = "{ type: file, inputs: [INPUT], path: OUTPUT }";

/// A TCP receiver that reads and counts what syslog sinks send, on a thread of its own.
struct Receiver {
    address: String,
    bytes: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Receiver {
    fn start() -> Self {
        use std::io::Read;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let address = listener.local_addr().expect("an address").to_string();
        let bytes = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted = bytes.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let counted = counted.clone();
                std::thread::spawn(move || {
                    let mut stream = stream;
                    let mut buffer = vec![0u8; 1 << 20];
                    while let Ok(n @ 1..) = stream.read(&mut buffer) {
                        counted.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
                    }
                });
            }
        });
        Self { address, bytes }
    }

    /// Bytes received since the last call.
    fn take_bytes(&self) -> u64 {
        self.bytes.swap(0, std::sync::atomic::Ordering::Relaxed)
    }
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Defender streaming records padded to exactly 1 KiB per line (newline included); every other
/// record is a DeviceProcessEvents record, so the filter keeps half.
fn write_input(path: &Path, events: usize) {
    let mut data = Vec::with_capacity(events * LINE_BYTES);
    for n in 0..events {
        let category = if n % 2 == 0 {
            "AdvancedHunting-DeviceProcessEvents"
        } else {
            "AdvancedHunting-DeviceNetworkEvents"
        };
        let head = format!(
            "{{\"time\":\"2026-11-24T09:05:11.2Z\",\"tenantId\":\"9b1c2d3e-4f50-4a6b-8c7d-0e1f2a3b4c5d\",\"operationName\":\"Publish\",\"category\":\"{category}\",\"properties\":{{\"Timestamp\":\"2026-11-24T09:03:58.1234567Z\",\"DeviceId\":\"7c1f0e2d3b4a59687f6e5d4c3b2a1908f7e6d5c4\",\"DeviceName\":\"ws-paie-07.fabrikam.example\",\"ActionType\":\"ProcessCreated\",\"ReportId\":{n},\"FileSize\":5368709120,\"ProcessCommandLine\":\""
        );
        let tail = "\"},\"Tenant\":\"DefaultTenant\"}\n";
        let pad = LINE_BYTES - head.len() - tail.len();
        data.extend_from_slice(head.as_bytes());
        data.extend((0..pad).map(|i| b"powershell.exe -NoP -EncodedCommand SQBFAFgA "[i % 44]));
        data.extend_from_slice(tail.as_bytes());
    }
    std::fs::write(path, data).expect("input file");
}
