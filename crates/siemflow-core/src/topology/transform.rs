//! Running a transform: batch by batch from its input buffer to the fan-outs of its outputs.
//!
//! A blocking transform (a plugin) runs on the blocking thread pool, and a transform whose config
//! asks for several workers ([`TransformConfig::workers`]) runs as that many copies, each on one
//! batch at a time, so that a busy mapping uses every core. Outputs always leave in the order
//! their batches came in: downstream components, acknowledgements and checkpoints see exactly
//! what one worker would have produced, only sooner.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use super::buffer::BufferReceiver;
use super::fanout::Fanout;
use crate::component::{ComponentError, Transform, TransformOutput};
use crate::telemetry::{ComponentMetrics, body_bytes};

/// What a worker hands back with a batch's outputs: itself, and how long the batch took.
type Finished = (Box<dyn Transform>, TransformOutput, Duration);

/// Runs a transform's workers until its input closes and every batch has been sent on.
pub(crate) async fn run_transform(
    mut workers: Vec<Box<dyn Transform>>,
    mut input: BufferReceiver,
    mut default: Fanout,
    mut named: Vec<Fanout>,
    metrics: ComponentMetrics,
) -> Result<(), ComponentError> {
    let blocking = workers.iter().any(|worker| worker.is_blocking());
    if !blocking {
        // Cheap transforms (filters, routes) run inline on the runtime, one copy.
        let Some(mut transform) = workers.pop() else {
            return Err(ComponentError::Other("a transform without a worker".into()));
        };
        while let Some(batch) = input.recv().await {
            let mut output = TransformOutput::new(named.len());
            let started = Instant::now();
            transform.transform(batch, &mut output);
            metrics.processed(started.elapsed());
            send(output, &mut default, &mut named, &metrics).await?;
        }
        return Ok(());
    }
    let outputs = named.len();
    let mut idle = workers;
    let mut in_flight: VecDeque<JoinHandle<Finished>> = VecDeque::new();
    let mut open = true;
    loop {
        tokio::select! {
            // Finished batches first, in arrival order: a worker comes back idle only once the
            // batches before its own are sent on.
            biased;
            finished = next(&mut in_flight), if !in_flight.is_empty() => {
                in_flight.pop_front();
                let (worker, output, busy) = finished
                    .map_err(|_| ComponentError::Other("the transform panicked".into()))?;
                idle.push(worker);
                metrics.processed(busy);
                send(output, &mut default, &mut named, &metrics).await?;
            }
            batch = input.recv(), if open && !idle.is_empty() => match (batch, idle.pop()) {
                (Some(batch), Some(mut worker)) => {
                    let span = tracing::Span::current();
                    in_flight.push_back(tokio::task::spawn_blocking(move || {
                        let _entered = span.enter();
                        let started = Instant::now();
                        let mut output = TransformOutput::new(outputs);
                        worker.transform(batch, &mut output);
                        (worker, output, started.elapsed())
                    }));
                }
                (None, worker) => {
                    open = false;
                    idle.extend(worker);
                }
                (Some(_), None) => {
                    return Err(ComponentError::Other("a batch without an idle worker".into()));
                }
            },
            else => break,
        }
    }
    Ok(())
}

/// The oldest batch in flight, once finished (the queue is not empty when this is polled).
async fn next(
    in_flight: &mut VecDeque<JoinHandle<Finished>>,
) -> Result<Finished, tokio::task::JoinError> {
    match in_flight.front_mut() {
        Some(handle) => handle.await,
        None => std::future::pending().await,
    }
}

/// Sends a batch's outputs on, each to its fan-out, and counts them.
async fn send(
    output: TransformOutput,
    default: &mut Fanout,
    named: &mut [Fanout],
    metrics: &ComponentMetrics,
) -> Result<(), ComponentError> {
    let TransformOutput {
        default: main,
        named: others,
    } = output;
    let (mut sent, mut bytes) = (main.len(), body_bytes(&main));
    default.send(main).await?;
    for (fanout, batch) in named.iter_mut().zip(others) {
        sent += batch.len();
        bytes += body_bytes(&batch);
        fanout.send(batch).await?;
    }
    metrics.sent(sent, bytes);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Condvar, Mutex};

    use bytes::Bytes;

    use super::*;
    use crate::component::ComponentContext;
    use crate::config::WhenFull;
    use crate::event::test_support::metadata;
    use crate::event::{Event, EventBatch};
    use crate::topology::buffer::channel;

    fn metrics() -> ComponentMetrics {
        ComponentContext::detached("p", "t", "test").metrics
    }

    /// Where the batches of the test meet: the second batch says it started, the first waits
    /// for that (up to a bound) and records whether it saw it.
    #[derive(Default)]
    struct Meeting {
        started: Mutex<bool>,
        signal: Condvar,
        met: AtomicBool,
    }

    /// Passes events through; the batch starting with event 0 waits for the batch starting
    /// with event 2 to start, so it finishes last, and only if the two run at once.
    struct Worker(Arc<Meeting>);

    impl Transform for Worker {
        fn transform(&mut self, batch: EventBatch, output: &mut TransformOutput) {
            let meeting = &self.0;
            match batch.first().map(|event| event.body().as_ref()) {
                Some(b"0") => {
                    let started = meeting.started.lock().unwrap();
                    let (started, _) = meeting
                        .signal
                        .wait_timeout_while(started, Duration::from_secs(10), |started| !*started)
                        .unwrap();
                    meeting.met.store(*started, Ordering::SeqCst);
                }
                Some(b"2") => {
                    *meeting.started.lock().unwrap() = true;
                    meeting.signal.notify_all();
                }
                _ => {}
            }
            for event in batch {
                output.push(event);
            }
        }

        fn is_blocking(&self) -> bool {
            true
        }
    }

    fn batch(first: u64, len: u64) -> EventBatch {
        (first..first + len)
            .map(|n| Event::text(Bytes::from(n.to_string()), metadata(n)))
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn workers_run_batches_at_once_and_outputs_keep_their_order() {
        let meeting = Arc::new(Meeting::default());
        let workers: Vec<Box<dyn Transform>> = (0..2)
            .map(|_| Box::new(Worker(meeting.clone())) as Box<dyn Transform>)
            .collect();
        let (input, receiver) = channel(1000, WhenFull::Block, metrics());
        let (out, mut delivered) = channel(1000, WhenFull::Block, metrics());
        input.send(batch(0, 2)).await.unwrap();
        input.send(batch(2, 3)).await.unwrap();
        input.send(batch(5, 1)).await.unwrap();
        drop(input);
        run_transform(
            workers,
            receiver,
            Fanout::new(vec![out]),
            Vec::new(),
            metrics(),
        )
        .await
        .unwrap();
        assert!(
            meeting.met.load(Ordering::SeqCst),
            "the second batch started while the first was running"
        );
        let mut seen = Vec::new();
        while let Ok(Some(batch)) =
            tokio::time::timeout(Duration::from_millis(100), delivered.recv()).await
        {
            seen.extend(
                batch
                    .iter()
                    .map(|event| String::from_utf8_lossy(event.body()).into_owned()),
            );
        }
        assert_eq!(seen, ["0", "1", "2", "3", "4", "5"]);
    }
}
