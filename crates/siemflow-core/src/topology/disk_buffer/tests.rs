use std::time::Duration;

use bytes::Bytes;
use tokio::task::JoinHandle;

use super::*;
use crate::event::test_support::metadata;
use crate::event::{BatchNotifier, BatchStatus, BatchStatusReceiver, Event, EventStatus};
use crate::telemetry::{ComponentLabels, Telemetry};
use crate::topology::buffer;

fn metrics() -> ComponentMetrics {
    Telemetry::new().component(ComponentLabels {
        pipeline: "p".into(),
        component_id: "out".into(),
        component_kind: "sink".into(),
        component_type: "test".into(),
    })
}

fn config(max_bytes: u64, when_full: WhenFull) -> BufferConfig {
    BufferConfig {
        buffer_type: crate::config::BufferType::Disk,
        max_events: None,
        max_bytes: Some(max_bytes),
        when_full,
    }
}

/// Events numbered `from..to`, each body `{"n":N}` padded to `pad` bytes, with one notifier.
fn batch(from: u64, to: u64, pad: usize) -> (Vec<Event>, BatchStatusReceiver) {
    let (notifier, status) = BatchNotifier::new();
    let events = (from..to)
        .map(|n| {
            let body = format!("{{\"n\":{n},\"pad\":\"{}\"}}", "x".repeat(pad));
            let mut event = Event::json(Bytes::from(body), metadata(n));
            event.add_finalizer(notifier.finalizer());
            event
        })
        .collect();
    (events, status)
}

fn number(event: &Event) -> u64 {
    event.parsed().unwrap()["n"].as_u64().unwrap()
}

struct Running {
    input: buffer::BufferSender,
    output: buffer::BufferReceiver,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), ComponentError>>,
    metrics: ComponentMetrics,
}

fn start(data: &Path, config: BufferConfig) -> Running {
    let metrics = metrics();
    let disk = DiskBuffer::open(data, &Arc::from("p"), "out", &config, metrics.clone()).unwrap();
    let (input, front) = buffer::channel(1000, WhenFull::Block, metrics.clone());
    let (relay, output) = buffer::relay(1000);
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(disk.run(front, relay, shutdown.clone()));
    Running {
        input,
        output,
        shutdown,
        task,
        metrics,
    }
}

/// Shutdown as the topology does it: sources stop (input closes), the sink drains its input and
/// drops what it could not deliver.
async fn stop(run: Running) {
    run.shutdown.cancel();
    drop(run.input);
    let mut output = run.output;
    while output.recv().await.is_some() {}
    run.task.await.unwrap().unwrap();
}

async fn receive(output: &mut buffer::BufferReceiver, count: usize) -> Vec<Event> {
    let mut events = Vec::new();
    while events.len() < count {
        let batch = tokio::time::timeout(Duration::from_secs(10), output.recv())
            .await
            .expect("the disk buffer handed nothing to the sink within 10 s")
            .expect("the disk buffer closed the sink's input early");
        events.extend(batch);
    }
    events
}

#[tokio::test]
async fn upstream_is_acknowledged_on_disk_and_the_sink_then_drains_it() {
    let data = tempfile::tempdir().unwrap();
    let mut run = start(data.path(), config(1 << 20, WhenFull::Block));
    let (events, status) = batch(0, 100, 10);
    run.input.send(events).await.unwrap();
    // Upstream hears "delivered" while the sink has not finished anything: it is on disk.
    assert_eq!(status.await, BatchStatus::Delivered);
    let received = receive(&mut run.output, 100).await;
    assert_eq!(
        received.iter().map(number).collect::<Vec<_>>(),
        (0..100).collect::<Vec<_>>()
    );
    assert_eq!(run.metrics.snapshot().buffer_events, 100);
    for event in received {
        event.resolve(EventStatus::Delivered);
    }
    drop(run.input);
    assert!(run.output.recv().await.is_none(), "a drained buffer ends");
    run.task.await.unwrap().unwrap();
    assert_eq!(run.metrics.snapshot().buffer_events, 0);
    let directory = DiskBuffer::directory(data.path(), "p", "out");
    let stored: Position = crate::checkpoint::load(&acknowledged_path(&directory))
        .unwrap()
        .unwrap();
    let segments = segment::list(&directory).unwrap();
    assert_eq!(
        segments,
        vec![stored.segment],
        "consumed segments are deleted"
    );
    assert_eq!(
        stored.offset,
        std::fs::metadata(segment::path(&directory, stored.segment))
            .unwrap()
            .len()
    );
}

#[tokio::test]
async fn what_the_sink_did_not_finish_is_there_after_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let run = start(data.path(), config(1 << 20, WhenFull::Block));
    let mut output = run.output;
    let (events, _) = batch(0, 20, 10);
    run.input.send(events).await.unwrap();
    for event in receive(&mut output, 20).await {
        event.resolve(EventStatus::Delivered);
    }
    let (events, status) = batch(20, 50, 10);
    run.input.send(events).await.unwrap();
    assert_eq!(status.await, BatchStatus::Delivered);
    // Read by the sink, never finished: these must come back.
    drop(receive(&mut output, 30).await);
    stop(Running { output, ..run }).await;

    let mut again = start(data.path(), config(1 << 20, WhenFull::Block));
    assert_eq!(again.metrics.snapshot().buffer_events, 50 - 20);
    let replayed = receive(&mut again.output, 30).await;
    let numbers: Vec<u64> = replayed.iter().map(number).collect();
    assert_eq!(numbers, (20..50).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_batch_the_sink_did_not_deliver_is_sent_again() {
    let data = tempfile::tempdir().unwrap();
    let mut run = start(data.path(), config(1 << 20, WhenFull::Block));
    let (events, _status) = batch(0, 10, 10);
    run.input.send(events).await.unwrap();
    let first = receive(&mut run.output, 10).await;
    for event in first {
        event.resolve(EventStatus::Errored);
    }
    let second = receive(&mut run.output, 10).await;
    assert_eq!(
        second.iter().map(number).collect::<Vec<_>>(),
        (0..10).collect::<Vec<_>>()
    );
    for event in second {
        event.resolve(EventStatus::Delivered);
    }
    drop(run.input);
    assert!(run.output.recv().await.is_none());
    run.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_torn_record_is_cut_off_and_the_rest_replayed() {
    let data = tempfile::tempdir().unwrap();
    let run = start(data.path(), config(1 << 20, WhenFull::Block));
    let (events, status) = batch(0, 5, 10);
    run.input.send(events).await.unwrap();
    assert_eq!(status.await, BatchStatus::Delivered);
    stop(run).await;
    let directory = DiskBuffer::directory(data.path(), "p", "out");
    let newest = *segment::list(&directory).unwrap().last().unwrap();
    let path = segment::path(&directory, newest);
    let whole = std::fs::metadata(&path).unwrap().len();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    std::io::Write::write_all(&mut file, &[90, 0, 0, 0, 7, 7, 7]).unwrap();

    let mut again = start(data.path(), config(1 << 20, WhenFull::Block));
    assert_eq!(std::fs::metadata(&path).unwrap().len(), whole);
    let replayed = receive(&mut again.output, 5).await;
    assert_eq!(
        replayed.iter().map(number).collect::<Vec<_>>(),
        (0..5).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_full_buffer_blocks_upstream_until_the_sink_catches_up() {
    let data = tempfile::tempdir().unwrap();
    let mut run = start(data.path(), config(1 << 20, WhenFull::Block));
    // 400 events of ~8 KiB: three times what fits in 1 MiB.
    let mut statuses = Vec::new();
    let sender = run.input.clone();
    let producer = tokio::spawn(async move {
        for chunk in 0..40 {
            let (events, status) = batch(chunk * 10, chunk * 10 + 10, 8 << 10);
            sender.send(events).await.unwrap();
            statuses.push(status);
        }
        statuses
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let on_disk = run.metrics.snapshot();
    assert!(on_disk.buffer_events < 400, "{on_disk:?}");
    let directory = DiskBuffer::directory(data.path(), "p", "out");
    let bytes: u64 = segment::list(&directory)
        .unwrap()
        .iter()
        .map(|id| {
            std::fs::metadata(segment::path(&directory, *id))
                .unwrap()
                .len()
        })
        .sum();
    assert!(bytes <= 1 << 20, "{bytes} bytes on disk");
    let mut seen = Vec::new();
    while seen.len() < 400 {
        for event in receive(&mut run.output, 1).await {
            seen.push(number(&event));
            event.resolve(EventStatus::Delivered);
        }
    }
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 400);
    for status in producer.await.unwrap() {
        assert_eq!(status.await, BatchStatus::Delivered);
    }
}

#[tokio::test]
async fn drop_newest_drops_what_does_not_fit_and_counts_it() {
    let data = tempfile::tempdir().unwrap();
    let run = start(data.path(), config(1 << 20, WhenFull::DropNewest));
    let mut statuses = Vec::new();
    for chunk in 0..40 {
        let (events, status) = batch(chunk * 10, chunk * 10 + 10, 8 << 10);
        run.input.send(events).await.unwrap();
        statuses.push(status);
    }
    for status in statuses {
        assert_eq!(status.await, BatchStatus::Delivered);
    }
    let dropped = run.metrics.discarded_count("buffer_full");
    let kept = run.metrics.snapshot().buffer_events as u64;
    assert!(dropped > 0, "nothing was dropped");
    assert_eq!(dropped + kept, 400);
}
