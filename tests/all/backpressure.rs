//! A sink slower than its source: bounded buffers hold the number of in-flight events flat.

use std::sync::atomic::Ordering;

use siemflow_core::telemetry::Telemetry;

use crate::support::{compile, numbered_lines, run_in_process, write};
use crate::test_components::{probe, registry};

const EVENTS: u64 = 20_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_sink_with_block_bounds_in_flight_events() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("in.json"), numbered_lines(0..EVENTS, 200));
    write(
        &dir.path().join("p.yaml"),
        format!(
            "id: slow\nsources:\n  in: {{ type: file, path: {}, batch_size: 100 }}\ntransforms:\n  all: {{ type: filter, inputs: [in], condition: \"$.n >= 0\" }}\nsinks:\n  out:\n    type: test_slow\n    inputs: [all]\n    probe: bounded\n    delay_ms: 2\n    buffer: {{ max_events: 200, when_full: block }}\n",
            dir.path().join("in.json").display()
        ),
    );
    let telemetry = Telemetry::new();
    let probe = probe("bounded", &telemetry, "slow", "in", "file");
    let pipeline = compile(&dir.path().join("p.yaml"), &registry());
    run_in_process(&pipeline, &dir.path().join("data"), &telemetry)
        .await
        .unwrap();

    assert_eq!(probe.delivered.load(Ordering::Relaxed), EVENTS);
    let max_pending = probe.max_source_pending.load(Ordering::Relaxed);
    let max_buffer = probe.max_buffer.load(Ordering::Relaxed);
    // In flight at most: the batch being sent (100), the filter's input buffer (1000) and the
    // batch it works on (100), the sink buffer (200) and the batch the sink holds (100).
    let bound = 100 + 1000 + 100 + 200 + 100;
    assert!(max_pending > 0, "the probe saw the source");
    assert!(
        max_pending <= bound,
        "{max_pending} events in flight, more than the {bound} the buffers allow"
    );
    assert!(max_buffer <= 200, "sink buffer held {max_buffer} events");
    assert!(
        (bound as u64) < EVENTS / 10,
        "the input is much larger than the bound, so an unbounded pipeline would fail this test"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_sink_with_drop_newest_drops_and_still_finishes() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("in.json"), numbered_lines(0..EVENTS, 200));
    write(
        &dir.path().join("p.yaml"),
        format!(
            "id: dropping\nsources:\n  in: {{ type: file, path: {}, batch_size: 100 }}\nsinks:\n  out:\n    type: test_slow\n    inputs: [in]\n    probe: dropping\n    delay_ms: 5\n    buffer: {{ max_events: 100, when_full: drop_newest }}\n",
            dir.path().join("in.json").display()
        ),
    );
    let telemetry = Telemetry::new();
    let probe = probe("dropping", &telemetry, "dropping", "in", "file");
    let pipeline = compile(&dir.path().join("p.yaml"), &registry());
    run_in_process(&pipeline, &dir.path().join("data"), &telemetry)
        .await
        .unwrap();
    let delivered = probe.delivered.load(Ordering::Relaxed);
    assert!(
        delivered < EVENTS,
        "a full buffer dropped events ({delivered} delivered)"
    );
    assert!(delivered > 0);
    let text = telemetry.encode();
    assert!(text.contains("reason=\"buffer_full\""), "{text}");
    // Dropped on purpose counts as done: the checkpoint covers the whole file.
    let checkpoint =
        std::fs::read_to_string(dir.path().join("data/checkpoints/dropping/in.json")).unwrap();
    let size = std::fs::metadata(dir.path().join("in.json")).unwrap().len();
    assert!(
        checkpoint.contains(&format!("\"offset\":{size}")),
        "{checkpoint}"
    );
}
