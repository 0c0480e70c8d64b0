//! Engine throughput on 1 KiB JSON lines: file -> file, file -> JSONPath filter -> file,
//! file -> disk buffer -> file, file -> syslog sink over TCP to a local reader that only counts
//! bytes, file -> splunk_hec sink to the HEC test server, file -> http sink to the collector
//! test server.
//!
//! Run it pinned to one core (the source's reader thread and the runtime share it):
//!
//! ```text
//! taskset -c 0 cargo bench -p siemflow --bench engine
//! ```
//!
//! `SIEMFLOW_BENCH_EVENTS` sets the number of lines (default 200000), `SIEMFLOW_BENCH_RUNS` the
//! runs per scenario (default 5), `SIEMFLOW_BENCH_ONLY` a part of the scenario names to run; the
//! median is reported. Results go in docs/performance.md.

use std::path::Path;
use std::time::{Duration, Instant};

use siemflow_core::telemetry::Telemetry;
use siemflow_core::topology::{RunOptions, run};
use siemflow_test_support::bench_input::{LINE_BYTES, write_defender_lines};
use siemflow_test_support::collector::{Collector, CollectorOptions};
use siemflow_test_support::hec::{HecOptions, HecServer};
use tokio_util::sync::CancellationToken;

fn main() {
    let events: usize = env_number("SIEMFLOW_BENCH_EVENTS", 200_000);
    let runs: usize = env_number("SIEMFLOW_BENCH_RUNS", 5);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let input = dir.path().join("in.json");
    write_defender_lines(&input, events).expect("input file");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let registry = siemflow_components::registry();
    println!(
        "engine bench: {events} lines of {LINE_BYTES} bytes, {runs} runs per scenario, median shown"
    );
    let receiver = Receiver::start();
    let scenarios: Vec<Scenario> = vec![
        Scenario {
            name: "passthrough (file -> file)",
            transforms: "",
            sink: Box::new(|output| (file_sink("in", output), Peer::None)),
        },
        Scenario {
            name: "filter (file -> JSONPath filter -> file)",
            transforms: "transforms:\n  processes:\n    type: filter\n    inputs: [in]\n    condition: \"$.category == 'AdvancedHunting-DeviceProcessEvents'\"\n",
            sink: Box::new(|output| (file_sink("processes", output), Peer::None)),
        },
        Scenario {
            name: "disk buffer (file -> disk buffer -> file)",
            transforms: "",
            sink: Box::new(|output| {
                let sink = file_sink("in", output)
                    .replace(" }", ", buffer: { type: disk, max_bytes: 1GiB } }");
                (sink, Peer::None)
            }),
        },
        Scenario {
            name: "syslog TCP (file -> syslog sink, RFC 5424)",
            transforms: "",
            sink: Box::new(|_| {
                let sink = format!(
                    "{{ type: syslog, inputs: [in], address: \"{}\", hostname: bench }}",
                    receiver.address
                );
                (sink, Peer::None)
            }),
        },
        Scenario {
            name: "splunk_hec (file -> HEC test server, gzip, acks)",
            transforms: "",
            sink: Box::new(|_| {
                let server = HecServer::start(HecOptions::default());
                let sink = format!(
                    "{{ type: splunk_hec, inputs: [in], endpoint: \"{}\", token: \"{}\", acknowledgements: {{ poll_interval: 20ms }}, concurrency: 4 }}",
                    server.url(),
                    server.token()
                );
                (sink, Peer::Hec(server))
            }),
        },
        Scenario {
            name: "http (file -> collector test server, NDJSON)",
            transforms: "",
            sink: Box::new(|_| {
                let collector = Collector::start(CollectorOptions::default());
                let sink = format!(
                    "{{ type: http, inputs: [in], endpoint: \"{}\", concurrency: 4 }}",
                    collector.url()
                );
                (sink, Peer::Collector(collector))
            }),
        },
    ];
    let only = std::env::var("SIEMFLOW_BENCH_ONLY").unwrap_or_default();
    for Scenario {
        name,
        transforms,
        sink,
    } in scenarios
    {
        if !name.contains(only.as_str()) {
            continue;
        }
        let mut timings = Vec::new();
        for round in 0..runs {
            let work = dir.path().join(format!("run-{name:.6}-{round}"));
            let output = work.join("out.log");
            let (sink, peer) = sink(&output);
            let yaml = format!(
                "id: bench\nsources:\n  in: {{ type: file, path: {} }}\n{transforms}sinks:\n  out: {sink}\n",
                input.display(),
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
            let delivered = match &peer {
                Peer::None => {
                    std::fs::metadata(&output).map(|m| m.len()).unwrap_or(0) + receiver.take_bytes()
                }
                Peer::Hec(server) => server.stats().accepted,
                Peer::Collector(collector) => collector.stats().accepted,
            };
            assert!(delivered > 0, "the sink delivered something");
            drop(peer);
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

/// One pipeline shape: a name, its transforms, and a sink (with the server it sends to, started
/// afresh for each run so that what it keeps does not pile up).
struct Scenario<'a> {
    name: &'static str,
    transforms: &'static str,
    sink: Box<SinkFactory<'a>>,
}

/// Makes a run's sink config from its output path, with the server it sends to.
type SinkFactory<'a> = dyn Fn(&Path) -> (String, Peer) + 'a;

/// The server a run's sink sends to, stopped when dropped.
enum Peer {
    None,
    Hec(HecServer),
    Collector(Collector),
}

fn file_sink(input: &str, output: &Path) -> String {
    format!(
        "{{ type: file, inputs: [{input}], path: \"{}\" }}",
        output.display()
    )
}

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
