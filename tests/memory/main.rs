//! Resident memory across plugin failures, in a test binary of its own: the figure is the whole
//! process's, so no other test may run beside it.

#![allow(
    clippy::unwrap_used,
    reason = "a test helper that meets an unexpected error should fail the test"
)]

use std::path::{Path, PathBuf};

fn guest(name: &str) -> PathBuf {
    Path::new(siemflow_wasm::builtin::guest_dir()).join(format!("{name}.wasm"))
}

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// A thousand failed batches (panics, memory bombs, timeouts) do not leak: every failure drops its
/// store and the next batch gets a fresh instance.
#[test]
fn resident_memory_stays_bounded_across_a_thousand_failures() {
    use siemflow_core::component::{ComponentContext, TransformConfig, TransformOutput};
    use siemflow_core::event::{BatchNotifier, BatchStatus, Event, EventId, EventMetadata, Origin};
    use siemflow_wasm::transform::LimitsConfig;

    let origin = std::sync::Arc::new(Origin {
        pipeline: "rss".into(),
        component: "in".into(),
    });
    let mut transforms: Vec<_> = [("panic", 1000), ("allocate", 1000), ("spin", 10)]
        .into_iter()
        .map(|(mode, time_ms)| {
            let config = siemflow_wasm::WasmTransformConfig {
                plugin: guest("misbehave").display().to_string(),
                config: serde_json::json!({ "mode": mode, "at": 0 }),
                limits: LimitsConfig {
                    memory: 16 << 20,
                    time_per_batch: std::time::Duration::from_millis(time_ms),
                },
                workers: None,
            };
            let cx = ComponentContext::detached("rss", mode, "wasm");
            (config.build(&cx).unwrap(), cx)
        })
        .collect();
    let mut fail_once = |round: usize| {
        // 45% panics, 45% memory bombs, 10% timeouts.
        let which = match round % 20 {
            0 | 1 => 2,
            r if r % 2 == 0 => 0,
            _ => 1,
        };
        let (notifier, mut status) = BatchNotifier::new();
        let mut event = Event::json(
            bytes::Bytes::from_static(b"{\"n\":0}"),
            EventMetadata::new(origin.clone(), EventId::from(round as u128)),
        );
        event.add_finalizer(notifier.finalizer());
        drop(notifier);
        let mut output = TransformOutput::new(0);
        transforms[which].0.transform(vec![event], &mut output);
        assert!(output.default.is_empty());
        // Dead-lettered counts as done.
        assert_eq!(status.try_status(), Some(BatchStatus::Delivered));
    };
    for round in 0..100 {
        fail_once(round);
    }
    let before = resident_bytes();
    for round in 100..1100 {
        fail_once(round);
    }
    let after = resident_bytes();
    let letters: usize = transforms
        .iter()
        .map(|(_, cx)| cx.dead_letters.memory_lines().len())
        .sum();
    assert_eq!(letters, 1100);
    let grown = after.saturating_sub(before);
    eprintln!("rss before {} KiB, after {} KiB", before >> 10, after >> 10);
    assert!(
        grown < 32 << 20,
        "resident memory grew by {} MiB over 1000 failures ({} -> {} MiB)",
        grown >> 20,
        before >> 20,
        after >> 20
    );
}
