//! Disk buffers: a sink's input kept in a write-ahead log under `--data-dir`, so that what the
//! sources read survives an outage of the SIEM longer than memory allows, a restart and a crash.
//!
//! ```text
//! upstream ─► memory buffer ─► writer ─► segments on disk ─► reader ─► sink
//!                                │                             ▲
//!                                └ acknowledges upstream       └ the sink's acknowledgements move
//!                                  once records are synced       the acknowledged position
//! ```
//!
//! The [`writer`] appends each group of events as checksummed records to the newest
//! [`segment`], calls `fdatasync`, and only then resolves the upstream events as delivered: a
//! source checkpoint never passes an event that is not on disk. The [`reader`] turns records back
//! into events with its own acknowledgements. The *acknowledged position* is the start of the
//! oldest batch the sink has not finished; it is stored in `acknowledged.json` at most every
//! second and at shutdown, and segments wholly before it are deleted. After a crash the reader
//! starts from the stored position, so the events acknowledged in the last second are delivered
//! again: at least once, never lost.
//!
//! Layout: `DATA_DIR/buffers/<pipeline>/<sink>/`, holding `NNNN….wal` segments of at most an
//! eighth of `max_bytes` each (between 64 KiB and 128 MiB) and `acknowledged.json`.
//! `max_bytes` bounds the segment files on disk; when they reach it the writer waits
//! (`when_full: block`, backpressure to the sources) or drops new events (`drop_newest`).

mod reader;
mod record;
mod segment;
mod writer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::component::ComponentError;
use crate::config::{BufferConfig, WhenFull};
use crate::telemetry::ComponentMetrics;
use crate::topology::buffer::{BufferReceiver, BufferSender};

/// The smallest and largest segment files.
const SEGMENT_BYTES: (u64, u64) = (64 << 10, 128 << 20);

/// A place in the log: a segment and a byte offset in it (always a record boundary).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct Position {
    segment: u64,
    offset: u64,
}

/// Why a disk buffer could not open.
#[derive(Debug, thiserror::Error)]
#[error("disk buffer {}: {message}", directory.display())]
pub struct OpenError {
    directory: PathBuf,
    message: String,
}

/// What the writer, the reader and their waiters share.
#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// Bumped when records become readable or the writer finishes.
    written: watch::Sender<u64>,
    /// Bumped when segments are deleted or the acknowledged position moves.
    freed: watch::Sender<u64>,
}

#[derive(Debug, Default)]
struct State {
    /// Committed length of every segment on disk, the writer's own included.
    segments: BTreeMap<u64, u64>,
    /// The sum of `segments`: what `max_bytes` bounds.
    bytes: u64,
    /// Everything before this the sink has finished with.
    acknowledged: Position,
    /// The writer has written everything upstream will ever send.
    writer_done: bool,
}

impl State {
    /// Bytes the sink has not finished with.
    fn unacknowledged_bytes(&self) -> u64 {
        self.segments
            .range(self.acknowledged.segment..)
            .map(|(id, length)| {
                if *id == self.acknowledged.segment {
                    length.saturating_sub(self.acknowledged.offset)
                } else {
                    *length
                }
            })
            .sum()
    }
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves plain numbers behind: still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Static facts of one buffer.
#[derive(Debug, Clone)]
struct Settings {
    directory: PathBuf,
    pipeline: Arc<str>,
    max_bytes: u64,
    segment_bytes: u64,
    when_full: WhenFull,
    metrics: ComponentMetrics,
}

/// An opened disk buffer, recovered from what a previous run left, ready to [`DiskBuffer::run`].
#[derive(Debug)]
pub struct DiskBuffer {
    settings: Settings,
    acknowledged: Position,
    next_segment: u64,
    shared: Arc<Shared>,
}

impl DiskBuffer {
    /// The directory of a sink's buffer.
    pub fn directory(data_dir: &Path, pipeline: &str, sink: &str) -> PathBuf {
        data_dir.join("buffers").join(pipeline).join(sink)
    }

    /// Opens (or creates) the buffer of `sink`: reads the acknowledged position, deletes
    /// consumed segments, checks every remaining record and cuts off a torn tail.
    pub fn open(
        data_dir: &Path,
        pipeline: &Arc<str>,
        sink: &str,
        config: &BufferConfig,
        metrics: ComponentMetrics,
    ) -> Result<Self, OpenError> {
        let directory = Self::directory(data_dir, pipeline, sink);
        let failed = |message: String| OpenError {
            directory: directory.clone(),
            message,
        };
        std::fs::create_dir_all(&directory).map_err(|e| failed(format!("cannot create: {e}")))?;
        let acknowledged: Position = crate::checkpoint::load(&acknowledged_path(&directory))
            .map_err(|e| failed(e.to_string()))?
            .unwrap_or_default();
        let ids = segment::list(&directory).map_err(|e| failed(format!("cannot list: {e}")))?;
        let mut state = State {
            acknowledged,
            ..State::default()
        };
        let mut events = 0;
        let newest = ids.last().copied();
        for id in ids {
            let path = segment::path(&directory, id);
            if id < acknowledged.segment {
                std::fs::remove_file(&path)
                    .map_err(|e| failed(format!("cannot delete {}: {e}", path.display())))?;
                continue;
            }
            let from = if id == acknowledged.segment {
                acknowledged.offset
            } else {
                0
            };
            let scan = segment::scan(&path, from)
                .map_err(|e| failed(format!("cannot read {}: {e}", path.display())))?;
            if scan.end < scan.length {
                if Some(id) == newest {
                    tracing::warn!(
                        pipeline = %pipeline,
                        component = %sink,
                        segment = %path.display(),
                        bytes = scan.length - scan.end,
                        "cutting off a record torn by a crash"
                    );
                    segment::truncate(&path, scan.end)
                        .map_err(|e| failed(format!("cannot repair {}: {e}", path.display())))?;
                } else {
                    metrics.error(
                        "corrupt_segment",
                        &format!(
                            "disk buffer segment {} is corrupt after byte {}; the {} bytes after it are skipped",
                            path.display(),
                            scan.end,
                            scan.length - scan.end
                        ),
                    );
                }
            }
            events += scan.records;
            state.bytes += scan.end;
            state.segments.insert(id, scan.end);
        }
        metrics.buffer_changed(events as i64);
        metrics.buffer_bytes_changed(state.bytes as i64);
        if events > 0 {
            tracing::info!(
                pipeline = %pipeline,
                component = %sink,
                events,
                bytes = state.bytes,
                "disk buffer holds events from an earlier run"
            );
        }
        let max_bytes = config.disk_bytes();
        let next_segment = newest.unwrap_or(0).max(acknowledged.segment) + 1;
        Ok(Self {
            settings: Settings {
                directory,
                pipeline: pipeline.clone(),
                max_bytes,
                segment_bytes: (max_bytes / 8).clamp(SEGMENT_BYTES.0, SEGMENT_BYTES.1),
                when_full: config.when_full,
                metrics,
            },
            acknowledged,
            next_segment,
            shared: Arc::new(Shared {
                state: Mutex::new(state),
                written: watch::Sender::new(0),
                freed: watch::Sender::new(0),
            }),
        })
    }

    /// Moves events from `input` to disk and from disk to `output` until `input` is closed and
    /// everything was delivered, or until `shutdown` (what is on disk then stays for next time).
    pub async fn run(
        self,
        input: BufferReceiver,
        output: BufferSender,
        shutdown: CancellationToken,
    ) -> Result<(), ComponentError> {
        let writing = writer::run(&self.settings, &self.shared, self.next_segment, input);
        let reading = reader::run(
            &self.settings,
            &self.shared,
            self.acknowledged,
            output,
            shutdown,
        );
        let (written, read) = tokio::join!(writing, reading);
        written.and(read)
    }
}

fn acknowledged_path(directory: &Path) -> PathBuf {
    directory.join("acknowledged.json")
}

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ComponentError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| ComponentError::Other("disk buffer file work panicked".into()))
}

#[cfg(test)]
mod tests;
