//! The four built-in Defender mappings on the sample mix: every record of `samples/defender/`
//! (the storage export's 24, an Event Hubs message's 7, the other tables' 12, 13 REST alerts and
//! incidents; 6 KB and 24 KB values among them), repeated to the event count.
//!
//! ```text
//! taskset -c 0 cargo bench -p siemflow-wasm --bench mappings
//! ```
//!
//! Sandboxed: `builtin:defender-X` as a pipeline runs it (`Transform::transform` on batches of
//! 512, limits on). Native: the same mapping compiled natively, called per event. One thread.
//! `SIEMFLOW_BENCH_EVENTS` sets the events per run (default 50000), `SIEMFLOW_BENCH_RUNS` the
//! rounds (default 5); medians are reported. `SIEMFLOW_BENCH_ONLY` keeps the scenarios whose name
//! contains it (`defender-ocsf native`, `ocsf`, `wasm`), for counting instructions under
//! valgrind. Results go in docs/performance.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use siemflow_core::component::{ComponentContext, TransformConfig, TransformOutput};
use siemflow_core::event::{Event, EventId, EventMetadata, Origin};
use siemflow_defender_mapping::cef::CefFormat;
use siemflow_defender_mapping::leef::LeefFormat;
use siemflow_defender_mapping::ocsf::OcsfFormat;
use siemflow_defender_mapping::plugin::{Format, MappingPlugin};
use siemflow_defender_mapping::splunk::SplunkFormat;
use siemflow_plugin_sdk::Plugin;
use siemflow_wasm::WasmTransformConfig;
use siemflow_wasm::transform::LimitsConfig;

const BATCH: usize = 512;
const SAMPLES: [&str; 4] = [
    "streaming-storage-PT1H.json",
    "streaming-eventhub-message.jsonl",
    "streaming-extra.jsonl",
    "rest.jsonl",
];

/// One way of mapping the whole mix once.
type Scenario = Box<dyn FnMut(&[Bytes]) -> usize>;

fn main() {
    let events: usize = env_number("SIEMFLOW_BENCH_EVENTS", 50_000);
    let runs: usize = env_number("SIEMFLOW_BENCH_RUNS", 5);
    let only = std::env::var("SIEMFLOW_BENCH_ONLY").unwrap_or_default();
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/defender");
    let mut records = Vec::new();
    for name in SAMPLES {
        let text = std::fs::read_to_string(samples.join(name)).expect("a sample file");
        for event in siemflow_plugin_sdk::testing::input_events(&text).expect("sample records") {
            records.push(Bytes::copy_from_slice(event.body()));
        }
    }
    let bytes: usize = records.iter().map(Bytes::len).sum();
    let mix: Vec<Bytes> = records.iter().cycle().take(events).cloned().collect();
    println!(
        "mappings bench: {events} events cycling {} sample records (mean {} bytes); {runs} rounds, medians shown",
        records.len(),
        bytes / records.len()
    );

    let mut contexts = Vec::new();
    let mut scenarios: Vec<(String, Scenario)> = Vec::new();
    for plugin in [
        "defender-cef",
        "defender-leef",
        "defender-splunk",
        "defender-ocsf",
    ] {
        if format!("{plugin} wasm").contains(&only) {
            let (scenario, cx) = sandboxed(plugin);
            contexts.push(cx);
            scenarios.push((format!("{plugin} wasm"), scenario));
        }
        if format!("{plugin} native").contains(&only) {
            scenarios.push((format!("{plugin} native"), native_for(plugin)));
        }
    }
    let mut timings: Vec<Vec<Duration>> = vec![Vec::new(); scenarios.len()];
    for _ in 0..runs {
        for ((_, scenario), times) in scenarios.iter_mut().zip(&mut timings) {
            let started = Instant::now();
            let produced = scenario(&mix);
            times.push(started.elapsed());
            assert_eq!(produced, events, "every record maps to one output");
        }
    }
    for cx in &contexts {
        assert!(
            cx.dead_letters.memory_lines().is_empty(),
            "nothing is dead-lettered"
        );
    }
    for ((name, _), times) in scenarios.iter().zip(&timings) {
        let elapsed = median(times.clone());
        println!(
            "{name:<24} {:>9.1} ms {:>10.0} events/s {:>7.2} µs/event",
            elapsed.as_secs_f64() * 1000.0,
            events as f64 / elapsed.as_secs_f64(),
            elapsed.as_secs_f64() * 1e6 / events as f64
        );
    }
}

fn native_for(plugin: &str) -> Scenario {
    match plugin {
        "defender-cef" => native::<CefFormat>(),
        "defender-leef" => native::<LeefFormat>(),
        "defender-splunk" => native::<SplunkFormat>(),
        _ => native::<OcsfFormat>(),
    }
}

/// The mapping compiled natively, called on each record.
fn native<F: Format>() -> Scenario {
    let mut plugin = MappingPlugin::<F>::new(serde_json::json!({})).expect("config");
    Box::new(move |mix| {
        mix.iter()
            .map(|body| {
                let event = siemflow_plugin_sdk::Event::from_json(body.to_vec(), None);
                plugin.map(&event).map(|_| 1).unwrap_or(0)
            })
            .sum()
    })
}

/// The built-in plugin as a pipeline runs it, on batches of [`BATCH`].
fn sandboxed(plugin: &str) -> (Scenario, ComponentContext) {
    let config = WasmTransformConfig {
        plugin: format!("builtin:{plugin}"),
        config: serde_json::json!({}),
        limits: LimitsConfig {
            memory: 64 << 20,
            time_per_batch: Duration::from_secs(1),
        },
        workers: Some(1),
    };
    let cx = ComponentContext::detached("bench", plugin, "wasm");
    let mut transform = config.build(&cx).expect("the plugin loads");
    let origin = Arc::new(Origin {
        pipeline: "bench".into(),
        component: "in".into(),
    });
    let scenario: Scenario = Box::new(move |mix| {
        let mut produced = 0;
        for (index, chunk) in mix.chunks(BATCH).enumerate() {
            let batch = chunk
                .iter()
                .enumerate()
                .map(|(n, body)| {
                    let id = EventId::from((index * BATCH + n) as u128);
                    Event::json(body.clone(), EventMetadata::new(origin.clone(), id))
                })
                .collect();
            let mut output = TransformOutput::new(0);
            transform.transform(batch, &mut output);
            produced += output.default.len();
        }
        produced
    });
    (scenario, cx)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
