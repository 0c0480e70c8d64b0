//! Reading a byte stream of JSON into acknowledged batches: shared by `file` and `stdin`.
//!
//! Two halves. [`StreamReader`] runs on a blocking thread: it reads, frames, decodes, dead-letters
//! bad input and hands `(batch, position)` pairs over a small bounded channel. [`drive`] runs on the
//! pipeline's runtime: it sends each batch downstream, tracks its acknowledgement in send order,
//! and reports each acknowledged position to the source, which commits it. On shutdown the driver
//! stops taking batches from the reader and closes its output as soon as a send in flight has
//! finished, even if the reader is stuck in a blocking `read` (a terminal on stdin); batches read
//! but never sent are simply not committed.

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures::future::BoxFuture;
use siemflow_core::acks::OrderedAcks;
use siemflow_core::codec::{DecodeError, EventTypes, Frame, Framer, decode};
use siemflow_core::component::{ComponentContext, ComponentError, SourceSender};
use siemflow_core::dead_letter::DeadLetter;
use siemflow_core::event::{
    BatchNotifier, BatchStatus, BatchStatusReceiver, Event, EventBatch, EventId, EventMetadata,
    Origin,
};
use siemflow_core::topology::buffer::Closed;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use xxhash_rust::xxh3::xxh3_64;

/// Default `max_event_bytes`: 1 MiB, the Event Hubs message limit.
pub(crate) fn default_max_event_bytes() -> usize {
    1 << 20
}

/// Default `batch_size`.
/// `commit_interval` when unset: acknowledged positions are written every 100 ms, so that a
/// crash repeats at most what was in flight plus about 100 ms of throughput.
pub(crate) fn default_commit_interval() -> std::time::Duration {
    std::time::Duration::from_millis(100)
}

pub(crate) fn default_batch_size() -> usize {
    500
}

/// The batch and event size checks every JSON stream source shares.
pub(crate) fn check_sizes(max_event_bytes: usize, batch_size: usize) -> Result<(), String> {
    if max_event_bytes == 0 || batch_size == 0 {
        return Err("`max_event_bytes` and `batch_size` must be at least 1".into());
    }
    Ok(())
}

/// Splits `frame` into records ([`decode`]) and appends one event per record to `batch`. Event
/// ids derive from `identity` (what names the frame: stream and offset, partition and sequence
/// number) and the record's index, so that the same input read again gets the same ids.
pub(crate) fn decode_records(
    frame: &Bytes,
    types: &mut EventTypes,
    origin: &Arc<Origin>,
    identity: [&[u8]; 2],
    batch: &mut EventBatch,
) -> Result<(), DecodeError> {
    let records = decode(frame, types)?;
    let received_at = SystemTime::now();
    for record in records {
        let id = EventId::derive(&[identity[0], identity[1], &record.index.to_le_bytes()]);
        batch.push(Event::json(
            record.body,
            EventMetadata {
                origin: origin.clone(),
                event_type: record.event_type,
                received_at,
                id,
                labels: None,
            },
        ));
    }
    Ok(())
}

/// A batch read, with what its acknowledgement means.
#[derive(Debug)]
pub(crate) struct ReadBatch<P> {
    events: EventBatch,
    status: BatchStatusReceiver,
    position: P,
}

impl<P> ReadBatch<P> {
    /// Puts `events` under one acknowledgement that reaches `position`. With `fail`, the batch
    /// counts as undelivered whatever happens downstream: input that could not even be
    /// dead-lettered must be read again.
    pub(crate) fn new(mut events: EventBatch, position: P, fail: bool) -> Self {
        let (notifier, status) = BatchNotifier::new();
        for event in &mut events {
            event.add_finalizer(notifier.finalizer());
        }
        if fail {
            drop(notifier.finalizer());
        }
        drop(notifier);
        Self {
            events,
            status,
            position,
        }
    }
}

/// The reader stopped because nobody takes its batches any more (shutdown or downstream gone).
#[derive(Debug)]
pub(crate) struct Stopped;

/// Identifies a stream in event ids and dead-letter positions.
#[derive(Debug, Clone)]
pub(crate) struct StreamName {
    display: Arc<str>,
    hash: [u8; 8],
}

impl StreamName {
    pub(crate) fn new(display: &str) -> Self {
        Self {
            display: Arc::from(display),
            hash: xxh3_64(display.as_bytes()).to_le_bytes(),
        }
    }
}

/// The blocking half: frames and decodes input into batches.
#[derive(Debug)]
pub(crate) struct StreamReader<P> {
    origin: Arc<Origin>,
    component: ComponentContext,
    types: EventTypes,
    batches: mpsc::Sender<ReadBatch<P>>,
    shutdown: CancellationToken,
    batch_size: usize,
    batch: EventBatch,
    dead_letter_failed: bool,
    chunk: Vec<u8>,
}

impl<P: Send + 'static> StreamReader<P> {
    /// A reader and the receiver its batches go to (for [`drive`]).
    pub(crate) fn new(
        component: ComponentContext,
        shutdown: CancellationToken,
        batch_size: usize,
    ) -> (Self, mpsc::Receiver<ReadBatch<P>>) {
        let (batches, receiver) = mpsc::channel(2);
        let reader = Self {
            origin: component.origin(),
            component,
            types: EventTypes::default(),
            batches,
            shutdown,
            batch_size: batch_size.max(1),
            batch: Vec::new(),
            dead_letter_failed: false,
            chunk: vec![0; 256 * 1024],
        };
        (reader, receiver)
    }

    /// Whether the pipeline is stopping.
    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutdown.is_cancelled() || self.batches.is_closed()
    }

    /// Reads `input` to its current end through `framer`. With `complete`, the stream will not
    /// grow and a last unterminated frame is taken too. Every batch handed out carries
    /// `position(offset)`, the offset up to which the input is then fully handled.
    pub(crate) fn read_to_end(
        &mut self,
        input: &mut dyn Read,
        framer: &mut Framer,
        stream: &StreamName,
        complete: bool,
        position: &dyn Fn(u64) -> P,
    ) -> Result<Result<(), std::io::Error>, Stopped> {
        loop {
            if self.is_shutting_down() {
                return Err(Stopped);
            }
            let read = match input.read(&mut self.chunk) {
                Ok(0) => break,
                Ok(read) => read,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    self.flush(position(framer.consumed()))?;
                    return Ok(Err(error));
                }
            };
            framer.push(&self.chunk[..read]);
            self.component.metrics.received(0, read);
            while let Some(frame) = framer.next_frame() {
                self.frame(frame, stream);
                if self.batch.len() >= self.batch_size {
                    self.flush(position(framer.consumed()))?;
                }
            }
        }
        if complete {
            while let Some(frame) = framer.finish() {
                self.frame(frame, stream);
            }
        }
        self.flush(position(framer.consumed()))?;
        Ok(Ok(()))
    }

    fn frame(&mut self, frame: Frame, stream: &StreamName) {
        match frame {
            Frame::Data { bytes, start, .. } => {
                let decoded = decode_records(
                    &bytes,
                    &mut self.types,
                    &self.origin,
                    [&stream.hash, &start.to_le_bytes()],
                    &mut self.batch,
                );
                if let Err(error) = decoded {
                    self.dead_letter(&bytes, bytes.len(), start, &error.to_string(), stream);
                }
            }
            Frame::Oversize {
                prefix,
                size,
                start,
                ..
            } => {
                let reason = format!(
                    "oversize: event of {size} bytes exceeds max_event_bytes (first {} bytes kept)",
                    prefix.len()
                );
                self.dead_letter(&prefix, size as usize, start, &reason, stream);
            }
        }
    }

    fn dead_letter(
        &mut self,
        body: &[u8],
        size: usize,
        start: u64,
        reason: &str,
        stream: &StreamName,
    ) {
        let position = format!("{}:{start}", stream.display);
        let written = self.component.dead_letters.raw(DeadLetter {
            reason,
            body,
            size,
            event_id: None,
            event_type: None,
            position: Some(&position),
            text: false,
            labels: None,
        });
        if !written {
            self.dead_letter_failed = true;
        }
    }

    /// Hands over what is batched so far with `position`, to be committed in order after every
    /// batch before it (a mark such as "this poll is complete").
    pub(crate) fn mark(&mut self, position: P) -> Result<(), Stopped> {
        self.flush(position)
    }

    /// Hands the current batch over. An empty batch still goes: its position must be committed in
    /// order with the others.
    fn flush(&mut self, position: P) -> Result<(), Stopped> {
        let events = std::mem::take(&mut self.batch);
        let failed = std::mem::take(&mut self.dead_letter_failed);
        self.component.metrics.received(events.len(), 0);
        self.batches
            .blocking_send(ReadBatch::new(events, position, failed))
            .map_err(|_| Stopped)
    }
}

/// What the source does with acknowledged positions.
pub(crate) trait Committer<P>: Send {
    /// A batch finished, in send order: `status` says whether it was delivered.
    fn acknowledged(&mut self, position: P, status: BatchStatus);
    /// Called every `commit_interval` and at the end: persist what was acknowledged.
    fn commit(&mut self) -> Result<(), ComponentError>;
}

/// No checkpoint (standard input cannot be re-read).
impl Committer<()> for () {
    fn acknowledged(&mut self, (): (), _: BatchStatus) {}

    fn commit(&mut self) -> Result<(), ComponentError> {
        Ok(())
    }
}

/// Runs `read` on a blocking thread with a fresh [`StreamReader`] and [`drive`]s its batches to
/// `committer`; waits for the reader to end (it ends once the driver drops its receiver) and
/// returns the reader's error if it stopped on one (after what it sent is delivered), else the
/// driver's result. What `file` and `azure_blob` share.
pub(crate) async fn run_blocking_reader<P: Send + 'static>(
    cx: siemflow_core::component::SourceContext,
    batch_size: usize,
    commit_interval: Duration,
    committer: &mut dyn Committer<P>,
    read: impl FnOnce(
        StreamReader<P>,
        ComponentContext,
        CancellationToken,
    ) -> Result<(), ComponentError>
    + Send
    + 'static,
) -> Result<(), ComponentError> {
    let siemflow_core::component::SourceContext {
        component,
        out,
        shutdown,
    } = cx;
    let (reader, batches) = StreamReader::new(component.clone(), shutdown.clone(), batch_size);
    let reading = tokio::task::spawn_blocking({
        let component = component.clone();
        let shutdown = shutdown.clone();
        let span = tracing::Span::current();
        move || span.in_scope(|| read(reader, component, shutdown))
    });
    let driven = drive(
        batches,
        out,
        &component,
        shutdown,
        commit_interval,
        committer,
    )
    .await;
    // What the reader sent is delivered and committed first; then its own failure, if any,
    // is the source's.
    if let Ok(Err(error)) = reading.await {
        return Err(error);
    }
    driven
}

/// The async half: sends batches downstream and commits positions as they are acknowledged.
///
/// A send that waits on backpressure runs beside the loop, so acknowledgements and commits go
/// on while downstream is full: a source held back by a full buffer still moves its checkpoint
/// over what was delivered. Only one send is in flight, which keeps batches in order.
///
/// Fails at the end if any batch was not delivered: the run must not look successful when the
/// checkpoint could not move past some input.
pub(crate) async fn drive<P: Send + 'static>(
    mut batches: mpsc::Receiver<ReadBatch<P>>,
    out: SourceSender,
    component: &ComponentContext,
    shutdown: CancellationToken,
    commit_interval: Duration,
    committer: &mut dyn Committer<P>,
) -> Result<(), ComponentError> {
    let metrics = &component.metrics;
    // The sender is either idle here or owned by the send in flight, which hands it back.
    let mut idle = Some(out);
    let mut sending: Option<BoxFuture<'static, Result<SourceSender, Closed>>> = None;
    let mut pending: OrderedAcks<(P, usize)> = OrderedAcks::default();
    let mut reading = true;
    let mut failed_batches = 0u64;
    let mut commit_timer = tokio::time::interval(commit_interval);
    commit_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if !reading && sending.is_none() && pending.is_empty() {
            break;
        }
        tokio::select! {
            // The commit first: it is ready only at its ticks, and behind a steady stream of
            // acknowledgements it would never get its turn (the checkpoint would lag by all
            // that was delivered since the start). Then acknowledgements: they free memory
            // downstream and move the checkpoint.
            biased;
            _ = commit_timer.tick() => {
                committer.commit()?;
                metrics.checkpointed();
            }
            Some(((position, events), status)) = pending.next(), if !pending.is_empty() => {
                metrics.pending_changed(-(events as i64));
                if !status.is_delivered() {
                    failed_batches += 1;
                    metrics.error(
                        "batch_not_delivered",
                        &format_args!("a batch of {events} event(s) was not delivered ({status:?}); its position is not committed"),
                    );
                }
                committer.acknowledged(position, status);
            }
            sent = async { sending.as_mut().expect("guarded by is_some").await }, if sending.is_some() => {
                sending = None;
                let sender = sent?;
                if reading {
                    idle = Some(sender);
                }
            }
            () = shutdown.cancelled(), if reading => {
                // A send in flight finishes (downstream is draining); nothing new is read.
                reading = false;
                batches.close();
                idle = None;
            }
            received = batches.recv(), if reading && idle.is_some() => match received {
                Some(batch) => {
                    let events = batch.events.len();
                    pending.push(batch.status, (batch.position, events));
                    metrics.pending_changed(events as i64);
                    let mut sender = idle.take().expect("guarded by is_some");
                    sending = Some(Box::pin(async move {
                        sender.send(batch.events).await.map(|()| sender)
                    }));
                }
                None => {
                    reading = false;
                    idle = None;
                }
            },
        }
    }
    committer.commit()?;
    metrics.checkpointed();
    match failed_batches {
        0 => Ok(()),
        failed => Err(ComponentError::Other(format!(
            "{failed} batch(es) were not delivered; the checkpoint was not moved past them"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use siemflow_core::config::WhenFull;
    use siemflow_core::event::EventStatus;
    use siemflow_core::topology::buffer::{self, BufferReceiver};
    use siemflow_core::topology::fanout::Fanout;

    use super::*;
    use crate::test_util::json_batch;

    /// Remembers the last acknowledged position and what `commit` persisted.
    #[derive(Default)]
    struct Recorder {
        acknowledged: Option<u64>,
        committed: Arc<Mutex<Option<u64>>>,
    }

    impl Committer<u64> for Recorder {
        fn acknowledged(&mut self, position: u64, status: BatchStatus) {
            if status.is_delivered() {
                self.acknowledged = Some(position);
            }
        }

        fn commit(&mut self) -> Result<(), ComponentError> {
            *self.committed.lock().expect("not poisoned") = self.acknowledged;
            Ok(())
        }
    }

    /// A driver over three one-event batches whose output buffer holds a single event.
    async fn start(
        shutdown: CancellationToken,
    ) -> (
        tokio::task::JoinHandle<Result<(), ComponentError>>,
        BufferReceiver,
        Arc<Mutex<Option<u64>>>,
        mpsc::Sender<ReadBatch<u64>>,
    ) {
        let context = ComponentContext::detached("test", "in", "file");
        let (sender, receiver) = buffer::channel(1, WhenFull::Block, context.metrics.clone());
        let out = SourceSender::new(Fanout::new(vec![sender]), context.metrics.clone());
        let (batches, read) = mpsc::channel(4);
        for position in 0..3 {
            let (events, status) = json_batch(&["{}"]);
            batches
                .send(ReadBatch {
                    events,
                    status,
                    position,
                })
                .await
                .expect("the driver holds the receiver");
        }
        let recorder = Recorder::default();
        let committed = recorder.committed.clone();
        let driver = tokio::spawn(async move {
            let mut recorder = recorder;
            drive(
                read,
                out,
                &context,
                shutdown,
                Duration::from_millis(10),
                &mut recorder,
            )
            .await
        });
        (driver, receiver, committed, batches)
    }

    async fn deliver_next(receiver: &mut BufferReceiver) {
        for event in receiver.recv().await.expect("a batch") {
            event.resolve(EventStatus::Delivered);
        }
    }

    async fn committed_reaches(committed: &Mutex<Option<u64>>, position: u64) {
        while *committed.lock().expect("not poisoned") != Some(position) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn delivered_batches_are_committed_while_a_send_waits_on_a_full_buffer() {
        let (driver, mut receiver, committed, _batches) = start(CancellationToken::new()).await;
        // Taking batch 0 lets batch 1 into the buffer; the send of batch 2 then waits.
        deliver_next(&mut receiver).await;
        tokio::time::timeout(Duration::from_secs(30), committed_reaches(&committed, 0))
            .await
            .expect("position 0 is committed although the source is held back");
        assert!(!driver.is_finished());
        driver.abort();
    }

    #[tokio::test]
    async fn a_send_in_flight_at_shutdown_completes_and_is_committed() {
        let shutdown = CancellationToken::new();
        let (driver, mut receiver, committed, batches) = start(shutdown.clone()).await;
        deliver_next(&mut receiver).await;
        committed_reaches(&committed, 0).await;
        // Once the driver has taken every batch from the reader, batch 2 is being sent.
        while batches.capacity() < batches.max_capacity() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        shutdown.cancel();
        // Batch 1 was in the buffer and batch 2 on its way in: both still arrive.
        deliver_next(&mut receiver).await;
        deliver_next(&mut receiver).await;
        let result = tokio::time::timeout(Duration::from_secs(30), driver)
            .await
            .expect("the driver ends once its batches are acknowledged")
            .expect("the driver does not panic");
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(*committed.lock().expect("not poisoned"), Some(2));
    }
}
