//! The `wasm` transform against the same mapping compiled natively, on 1 KiB Defender records.
//!
//! The mapping is `builtin:defender-cef` (JSON to ArcSight CEF). Sandboxed: the whole transform
//! as the engine calls it (`Transform::transform` on a batch: copying events into the guest, the
//! mapping, outputs back as events carrying their acknowledgements), with epoch interruption and
//! memory limits on, for batch sizes 1, 64 and 512. Native: the plugin's `process` called
//! directly on each event.
//!
//! ```text
//! taskset -c 0 cargo bench -p siemflow-wasm --bench transform
//! ```
//!
//! `SIEMFLOW_BENCH_EVENTS` sets the events per run (default 100000), `SIEMFLOW_BENCH_RUNS` the
//! rounds (default 5; each runs every scenario once, so that the machine's slow spells hit them
//! all); medians are reported, and the ratio to native is the median of the rounds' ratios.
//! `SIEMFLOW_BENCH_ONLY=native` (or `wasm-1`, `wasm-64`, `wasm-512`) runs one scenario, for
//! counting instructions under valgrind. `SIEMFLOW_BENCH_PLUGIN=PATH.wasm` runs another build of
//! the plugin in the sandbox: one built with `CARGO_PROFILE_RELEASE_STRIP=false` names its
//! functions in `perf` (with `SIEMFLOW_PLUGIN_PERFMAP=1`). After the scenarios, the native cost
//! is split: parsing alone, then parsing and resolving the table and event type. Results go in
//! docs/performance.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use siemflow_core::component::{ComponentContext, TransformConfig, TransformOutput};
use siemflow_core::event::{Event, EventId, EventMetadata, Origin};
use siemflow_defender_mapping::cef::CefFormat;
use siemflow_defender_mapping::plugin::MappingPlugin;
use siemflow_plugin_sdk::{Outcome, Plugin};
use siemflow_wasm::WasmTransformConfig;
use siemflow_wasm::abi;
use siemflow_wasm::transform::{LimitsConfig, emit, to_abi};

const RECORD_BYTES: usize = 1024;

/// One way of running the mapping over a batch of events.
type Scenario = Box<dyn FnMut(Vec<Event>, &mut TransformOutput)>;

fn main() {
    let events: usize = env_number("SIEMFLOW_BENCH_EVENTS", 100_000);
    let runs: usize = env_number("SIEMFLOW_BENCH_RUNS", 5);
    let only = std::env::var("SIEMFLOW_BENCH_ONLY").ok();
    let records: Vec<Bytes> = (0..1000).map(record).collect();
    let origin = Arc::new(Origin {
        pipeline: "bench".into(),
        component: "in".into(),
    });
    let batches_of = |batch_size: usize| -> Vec<Vec<Event>> {
        (0..events)
            .collect::<Vec<_>>()
            .chunks(batch_size)
            .map(|chunk| {
                chunk
                    .iter()
                    .map(|&n| {
                        let metadata = EventMetadata::new(origin.clone(), EventId::from(n as u128));
                        Event::json(records[n % records.len()].clone(), metadata)
                    })
                    .collect()
            })
            .collect()
    };

    let mut scenarios: Vec<(String, usize, Scenario)> = vec![("native".into(), 64, native())];
    let mut contexts = Vec::new();
    for batch_size in [1, 64, 512] {
        let (transform, cx) = sandboxed();
        contexts.push(cx);
        scenarios.push((format!("wasm-{batch_size}"), batch_size, transform));
    }
    scenarios.retain(|(name, _, _)| only.as_deref().is_none_or(|only| only == name));

    println!(
        "transform bench: {events} records of {RECORD_BYTES} bytes; {runs} rounds, each running every scenario once; medians shown"
    );
    // Rounds interleave the scenarios, so that a slow spell of the machine hits them all.
    let mut timings: Vec<Vec<Duration>> = vec![Vec::new(); scenarios.len()];
    for _ in 0..runs {
        for ((_, batch_size, scenario), times) in scenarios.iter_mut().zip(&mut timings) {
            let batches = batches_of(*batch_size);
            let started = Instant::now();
            let mut produced = 0;
            for batch in batches {
                let mut output = TransformOutput::new(0);
                scenario(batch, &mut output);
                produced += output.default.len();
            }
            times.push(started.elapsed());
            assert_eq!(produced, events, "every record maps to one CEF line");
        }
    }
    for cx in &contexts {
        assert!(
            cx.dead_letters.memory_lines().is_empty(),
            "nothing is dead-lettered"
        );
    }
    let native_times = (scenarios[0].0 == "native").then(|| timings[0].clone());
    for ((name, _, _), times) in scenarios.iter().zip(&timings) {
        let elapsed = median(times.clone());
        let rate = events as f64 / elapsed.as_secs_f64();
        let ratio = match &native_times {
            Some(native) if name != "native" => {
                // Per round, so that the ratio compares runs made moments apart.
                let ratios = native
                    .iter()
                    .zip(times)
                    .map(|(n, w)| n.as_secs_f64() / w.as_secs_f64());
                format!(", {:.0}% of native", 100.0 * median_f64(ratios.collect()))
            }
            _ => String::new(),
        };
        println!(
            "{name:<10} {:>9.1} ms {:>10.0} events/s {:>7.2} µs/event{ratio}",
            elapsed.as_secs_f64() * 1000.0,
            rate,
            elapsed.as_secs_f64() * 1e6 / events as f64
        );
    }
    if only.as_deref().is_none_or(|only| only == "native") {
        native_split(&records, events, runs);
    }
}

/// How the native cost splits: the SDK's parse of each record alone (`Event::from_json` and
/// `Record::parse`, the copy the ABI makes included), then resolving its table and event type,
/// against the whole mapping; printed after the scenarios.
fn native_split(records: &[Bytes], events: usize, runs: usize) {
    use siemflow_defender_mapping::subject::Subject;
    let time = |work: &mut dyn FnMut(&[u8]) -> bool| {
        let mut times = Vec::new();
        for _ in 0..runs {
            let started = Instant::now();
            let mut done = 0;
            for n in 0..events {
                done += usize::from(work(&records[n % records.len()]));
            }
            times.push(started.elapsed());
            assert_eq!(done, events, "every record parses");
        }
        median(times).as_secs_f64() * 1e6 / events as f64
    };
    let parse = time(&mut |body| {
        let event = siemflow_plugin_sdk::Event::from_json(body.to_vec(), None);
        event.record().is_ok()
    });
    let resolve = time(&mut |body| {
        let event = siemflow_plugin_sdk::Event::from_json(body.to_vec(), None);
        event
            .record()
            .map(|record| {
                !std::hint::black_box(Subject::resolve(record))
                    .event_id
                    .is_empty()
            })
            .unwrap_or(false)
    });
    println!(
        "native split: parse {parse:.2} µs/event, parse and resolve the table and event type {resolve:.2} µs/event (the rest of `native` is mapping, encoding and the hand-over)"
    );
}

/// The mapping compiled natively, in the transform's place: each event handed over as the ABI
/// would (its bytes copied), the plugin called, its outputs made events by the same code as the
/// wasm transform's.
fn native() -> Scenario {
    let mut plugin =
        siemflow_plugin_sdk::runtime::create::<MappingPlugin<CefFormat>>("{}").expect("config");
    Box::new(move |batch, output| {
        for event in batch {
            let input = to_abi(&event);
            let sdk_event =
                siemflow_plugin_sdk::Event::from_json(input.body, input.event_type.as_deref());
            match plugin.process(&sdk_event) {
                Ok(Outcome::Outputs(outputs)) => {
                    emit(
                        event,
                        outputs.into_iter().map(native_output).collect(),
                        output,
                    );
                }
                other => panic!("unexpected outcome {other:?}"),
            }
        }
    })
}

/// `builtin:defender-cef` as a pipeline runs it: epoch deadline and memory limit on.
fn sandboxed() -> (Scenario, ComponentContext) {
    let config = WasmTransformConfig {
        plugin: std::env::var("SIEMFLOW_BENCH_PLUGIN")
            .unwrap_or_else(|_| "builtin:defender-cef".into()),
        config: serde_json::json!({}),
        limits: LimitsConfig {
            memory: 64 << 20,
            time_per_batch: Duration::from_secs(1),
        },
        workers: Some(1),
    };
    let cx = ComponentContext::detached("bench", "cef", "wasm");
    let mut transform = config.build(&cx).expect("the plugin loads");
    (
        Box::new(move |batch, output| transform.transform(batch, output)),
        cx,
    )
}

/// An SDK output as the host receives it through the ABI.
fn native_output(output: siemflow_plugin_sdk::Output) -> abi::Output {
    let fields = output.into_parts();
    abi::Output {
        body: fields.body,
        format: if fields.json {
            abi::BodyFormat::Json
        } else {
            abi::BodyFormat::Text
        },
        event_type: fields.event_type,
        siem_event_id: fields.siem_event_id,
        sourcetype: fields.sourcetype,
        route: fields.route,
    }
}

/// A DeviceProcessEvents record of exactly RECORD_BYTES bytes, varied by `n`.
fn record(n: usize) -> Bytes {
    let head = format!(
        concat!(
            r#"{{"time":"2026-11-24T09:05:11.2Z","tenantId":"9b1c2d3e-4f50-4a6b-8c7d-0e1f2a3b4c5d","operationName":"Publish","#,
            r#""category":"AdvancedHunting-DeviceProcessEvents","properties":{{"Timestamp":"2026-11-24T09:03:58.{:07}Z","#,
            r#""DeviceId":"7c1f0e2d3b4a59687f6e5d4c3b2a1908f7e6d5c4","DeviceName":"ws-{:04}.fabrikam.example","#,
            r#""ActionType":"ProcessCreated","FileName":"powershell.exe","#,
            r#""FolderPath":"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe","#,
            r#""AccountName":"j.müller","AccountDomain":"FABRIKAM","InitiatingProcessFileName":"explorer.exe","#,
            r#""InitiatingProcessId":{},"ReportId":{},"SHA256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","#,
            r#""ProcessCommandLine":"powershell.exe -NoP -c \"Get-Item a|b; $x='k=v'\" "#
        ),
        n * 7 % 10_000_000,
        n % 10_000,
        4000 + n,
        9_007_199_254_740_993u64 + n as u64,
    );
    let tail = r#""}}"#;
    let pad = RECORD_BYTES - head.len() - tail.len();
    let body = format!("{head}{}{tail}", "x".repeat(pad));
    assert_eq!(body.len(), RECORD_BYTES);
    Bytes::from(body)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn median_f64(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
