//! The reading half: records back into events for the sink, and the sink's acknowledgements into
//! the acknowledged position.
//!
//! Each batch read gets its own notifier. A batch the sink did not deliver (it stopped, or gave
//! up) is read again from disk after a backoff, so the acknowledged position only passes
//! batches that were delivered, dropped on purpose or dead-lettered. A corrupt record is counted
//! (`corrupt_record`) and the rest of its segment skipped: checksums catch it, nothing else can
//! find the next record boundary.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::record::Decoder;
use super::segment::{self, ReadError, SegmentReader};
use super::{Position, Settings, Shared, acknowledged_path, blocking};
use crate::backoff::Backoff;
use crate::component::ComponentError;
use crate::event::{BatchNotifier, BatchStatus, EventBatch};
use crate::topology::buffer::{BufferSender, Closed};

/// Events per batch handed to the sink.
const READ_EVENTS: usize = 1000;
/// Payload bytes per batch handed to the sink.
const READ_BYTES: usize = 1 << 20;
/// How often the acknowledged position is written down.
const PERSIST_EVERY: Duration = Duration::from_secs(1);

/// A batch the sink has, or had: where it ends and how many records it holds.
#[derive(Debug)]
struct InFlight {
    end: Position,
    records: u64,
    done: bool,
}

/// What to read next.
#[derive(Debug, Clone, Copy)]
enum Work {
    /// New records of `segment` from `from` up to its committed `end`.
    Read { segment: u64, from: u64, end: u64 },
    /// A batch to send again.
    Retry(Position),
    /// Nothing now; `finished` when the writer is done and everything was read.
    Idle { finished: bool },
}

/// Records read from one range.
struct Read {
    payloads: Vec<bytes::Bytes>,
    end: u64,
    corrupt: Option<String>,
}

struct Reader<'a> {
    settings: &'a Settings,
    shared: &'a Shared,
    decoder: Decoder,
    /// The next record never read.
    position: Position,
    /// An open handle at `position`.
    file: Option<SegmentReader>,
    in_flight: BTreeMap<Position, InFlight>,
    statuses: FuturesUnordered<BoxFuture<'static, (Position, BatchStatus)>>,
    retries: VecDeque<(Instant, Position)>,
    backoff: Backoff,
    acknowledged: Position,
    persisted: Position,
    persisted_at: Instant,
}

/// Reads and sends until the writer is done and the sink finished everything, or until shutdown.
pub(super) async fn run(
    settings: &Settings,
    shared: &Shared,
    acknowledged: Position,
    output: BufferSender,
    shutdown: CancellationToken,
) -> Result<(), ComponentError> {
    let mut reader = Reader {
        settings,
        shared,
        decoder: Decoder::new(settings.pipeline.clone()),
        position: acknowledged,
        file: None,
        in_flight: BTreeMap::new(),
        statuses: FuturesUnordered::new(),
        retries: VecDeque::new(),
        backoff: Backoff::new(Duration::from_millis(500), Duration::from_secs(30)),
        acknowledged,
        persisted: acknowledged,
        persisted_at: Instant::now(),
    };
    let mut output = Some(output);
    let mut written = shared.written.subscribe();
    loop {
        written.borrow_and_update();
        while let Some(Some((start, status))) = reader.statuses.next().now_or_never() {
            reader.finished(start, status, output.is_none());
        }
        reader.persist(false).await?;
        let work = match output {
            Some(_) => reader.next_work(),
            None => Work::Idle { finished: true },
        };
        if let (Some(sender), Work::Read { .. } | Work::Retry(_)) = (&output, work) {
            let Some(batch) = reader.read(work).await? else {
                continue;
            };
            tokio::select! {
                sent = sender.send(batch) => sent.map_err(|Closed| Closed)?,
                () = shutdown.cancelled() => output = reader.stop(),
            }
            continue;
        }
        let Work::Idle { finished } = work else {
            continue;
        };
        if finished && reader.statuses.is_empty() && reader.retries.is_empty() {
            // Everything was read and the sink has answered for all of it.
            break;
        }
        let wake = reader.wake_at();
        tokio::select! {
            biased;
            Some((start, status)) = reader.statuses.next(), if !reader.statuses.is_empty() => {
                reader.finished(start, status, output.is_none());
            }
            () = shutdown.cancelled(), if output.is_some() => output = reader.stop(),
            _ = written.changed(), if output.is_some() => {}
            () = sleep_until(wake) => {}
        }
    }
    drop(output);
    reader.persist(true).await
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

impl Reader<'_> {
    /// Shutdown: nothing more is sent or sent again; what the sink has not finished stays on disk.
    fn stop(&mut self) -> Option<BufferSender> {
        self.retries.clear();
        None
    }

    /// Picks a due retry, else new records, moving on to the next segment when one is finished.
    fn next_work(&mut self) -> Work {
        if let Some((due, start)) = self.retries.front().copied()
            && due <= Instant::now()
        {
            self.retries.pop_front();
            return Work::Retry(start);
        }
        let state = self.shared.state();
        loop {
            if let Some(&end) = state.segments.get(&self.position.segment)
                && self.position.offset < end
            {
                return Work::Read {
                    segment: self.position.segment,
                    from: self.position.offset,
                    end,
                };
            }
            // A newer segment exists only once the writer has sealed this one.
            match state.segments.range(self.position.segment + 1..).next() {
                Some((&next, _)) => {
                    self.position = Position {
                        segment: next,
                        offset: 0,
                    };
                    self.file = None;
                }
                None => {
                    return Work::Idle {
                        finished: state.writer_done,
                    };
                }
            }
        }
    }

    /// When the loop must look again without being woken: a retry or a persist falls due.
    fn wake_at(&self) -> Option<Instant> {
        let retry = self.retries.front().map(|(due, _)| *due);
        let persist =
            (self.acknowledged != self.persisted).then(|| self.persisted_at + PERSIST_EVERY);
        match (retry, persist) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Reads a range and turns it into a batch for the sink, or `None` when nothing in it could
    /// be decoded (the range is then done).
    async fn read(&mut self, work: Work) -> Result<Option<EventBatch>, ComponentError> {
        let (start, end, file) = match work {
            Work::Read { segment, from, end } => {
                let file = self.file.take().filter(|file| file.offset() == from);
                (
                    Position {
                        segment,
                        offset: from,
                    },
                    end,
                    file,
                )
            }
            Work::Retry(start) => match self.in_flight.get(&start) {
                Some(batch) => (start, batch.end.offset, None),
                None => return Ok(None),
            },
            Work::Idle { .. } => return Ok(None),
        };
        let path = segment::path(&self.settings.directory, start.segment);
        // A batch is read again exactly as far as it went the first time: up to its end.
        let limits = match work {
            Work::Retry(_) => (usize::MAX, usize::MAX),
            _ => (READ_EVENTS, READ_BYTES),
        };
        let (file, read) =
            blocking(move || read_range(path, start.offset, end, file, limits)).await?;
        let read = match read {
            Ok(read) => read,
            Err(error) => {
                self.settings.metrics.error(
                    "read_failed",
                    &format!("disk buffer {}: {error}", self.settings.directory.display()),
                );
                if let Work::Retry(start) = work {
                    self.retries
                        .push_back((Instant::now() + self.backoff.next_delay(), start));
                } else {
                    tokio::time::sleep(self.backoff.next_delay()).await;
                }
                return Ok(None);
            }
        };
        if let Some(corrupt) = &read.corrupt {
            self.settings.metrics.error(
                "corrupt_record",
                &format!(
                    "disk buffer segment {}: {corrupt}; skipping to byte {end}",
                    segment::path(&self.settings.directory, start.segment).display()
                ),
            );
        }
        let records = read.payloads.len() as u64;
        let mut events = Vec::with_capacity(read.payloads.len());
        for payload in read.payloads {
            match self.decoder.decode(payload) {
                Ok(event) => events.push(event),
                Err(error) => self.settings.metrics.error("corrupt_record", &error),
            }
        }
        let stop = Position {
            segment: start.segment,
            offset: if read.corrupt.is_some() {
                end
            } else {
                read.end
            },
        };
        if let Work::Read { .. } = work {
            self.position = stop;
            self.file = file;
            self.in_flight.insert(
                start,
                InFlight {
                    end: stop,
                    records,
                    done: false,
                },
            );
        }
        if events.is_empty() {
            self.finished(start, BatchStatus::Delivered, false);
            return Ok(None);
        }
        let (notifier, status) = BatchNotifier::new();
        for event in &mut events {
            event.add_finalizer(notifier.finalizer());
        }
        self.statuses
            .push(async move { (start, status.await) }.boxed());
        Ok(Some(events))
    }

    /// The sink finished with the batch starting at `start`.
    fn finished(&mut self, start: Position, status: BatchStatus, stopping: bool) {
        if !status.is_delivered() {
            if !stopping {
                let delay = self.backoff.next_delay();
                tracing::warn!(
                    pipeline = %self.settings.pipeline,
                    component = %self.settings.metrics.labels().component_id,
                    ?status,
                    ?delay,
                    "the sink did not deliver a batch from the disk buffer; sending it again"
                );
                self.retries.push_back((Instant::now() + delay, start));
            }
            return;
        }
        self.backoff.reset();
        if let Some(batch) = self.in_flight.get_mut(&start) {
            batch.done = true;
            self.settings
                .metrics
                .buffer_changed(-(batch.records as i64));
        }
        while let Some(entry) = self.in_flight.first_entry() {
            if !entry.get().done {
                break;
            }
            entry.remove();
        }
        let acknowledged = self
            .in_flight
            .keys()
            .next()
            .copied()
            .unwrap_or(self.position);
        if acknowledged != self.acknowledged {
            self.acknowledged = acknowledged;
            self.shared.state().acknowledged = acknowledged;
            self.shared.freed.send_modify(|version| *version += 1);
        }
    }

    /// Writes the acknowledged position down (when due, or `now`) and deletes the segments
    /// wholly before it.
    async fn persist(&mut self, now: bool) -> Result<(), ComponentError> {
        if self.acknowledged == self.persisted
            || (!now && self.persisted_at.elapsed() < PERSIST_EVERY)
        {
            return Ok(());
        }
        let acknowledged = self.acknowledged;
        let consumed: Vec<(u64, u64)> = {
            let state = self.shared.state();
            state
                .segments
                .range(..acknowledged.segment)
                .map(|(id, length)| (*id, *length))
                .collect()
        };
        let directory = self.settings.directory.clone();
        let ids: Vec<u64> = consumed.iter().map(|(id, _)| *id).collect();
        let result = blocking(move || -> std::io::Result<()> {
            crate::checkpoint::store(&acknowledged_path(&directory), &acknowledged)?;
            for id in ids {
                match std::fs::remove_file(segment::path(&directory, id)) {
                    Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                        return Err(error);
                    }
                    _ => {}
                }
            }
            Ok(())
        })
        .await?;
        self.persisted_at = Instant::now();
        if let Err(error) = result {
            self.settings.metrics.error(
                "checkpoint_failed",
                &format!(
                    "disk buffer {}: cannot store the acknowledged position: {error}",
                    self.settings.directory.display()
                ),
            );
            return Ok(());
        }
        self.persisted = acknowledged;
        let mut freed = 0;
        {
            let mut state = self.shared.state();
            for (id, _) in &consumed {
                freed += state.segments.remove(id).unwrap_or(0);
            }
            state.bytes -= freed.min(state.bytes);
        }
        if freed > 0 {
            self.settings.metrics.buffer_bytes_changed(-(freed as i64));
            self.shared.freed.send_modify(|version| *version += 1);
        }
        Ok(())
    }
}

/// Reads records of one segment from `from` to `end`, stopping after `limits.0` records or once
/// `limits.1` payload bytes are reached.
fn read_range(
    path: std::path::PathBuf,
    from: u64,
    end: u64,
    file: Option<SegmentReader>,
    limits: (usize, usize),
) -> (Option<SegmentReader>, std::io::Result<Read>) {
    let mut file = match file {
        Some(file) => file,
        None => match SegmentReader::open(&path, from) {
            Ok(file) => file,
            Err(error) => return (None, Err(error)),
        },
    };
    let mut read = Read {
        payloads: Vec::new(),
        end: from,
        corrupt: None,
    };
    let mut bytes = 0;
    while read.payloads.len() < limits.0 && bytes < limits.1 {
        match file.next_record(end) {
            Ok(Some(payload)) => {
                bytes += payload.len();
                read.payloads.push(payload);
                read.end = file.offset();
            }
            Ok(None) => break,
            Err(ReadError::Corrupt { offset, reason }) => {
                read.corrupt = Some(format!("corrupt record at byte {offset}: {reason}"));
                return (None, Ok(read));
            }
            Err(ReadError::Io(error)) if read.payloads.is_empty() => return (None, Err(error)),
            Err(ReadError::Io(_)) => return (None, Ok(read)),
        }
    }
    (Some(file), Ok(read))
}
