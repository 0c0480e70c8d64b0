//! The writing half: events from the sink's memory buffer into segment files.
//!
//! Group commit: the writer takes every batch already waiting (up to [`GROUP_EVENTS`]), appends
//! their records, syncs once, and then resolves all of those events as delivered upstream. A
//! failed write (disk full, I/O error) is cut back, counted as `write_failed`, and tried again
//! with backoff while upstream waits; nothing is acknowledged that is not on disk.

use std::collections::VecDeque;
use std::path::PathBuf;

use super::segment::{self, SegmentWriter};
use super::{Settings, Shared, blocking, record};
use crate::backoff::Backoff;
use crate::component::ComponentError;
use crate::config::WhenFull;
use crate::event::{Event, EventStatus};
use crate::topology::buffer::BufferReceiver;

/// The most events synced as one group.
const GROUP_EVENTS: usize = 4096;

/// The file side of the writer, moved to a blocking thread for each group.
#[derive(Debug)]
struct Files {
    directory: PathBuf,
    segment_bytes: u64,
    current: Option<SegmentWriter>,
    next_id: u64,
}

impl Files {
    /// Appends framed records, starting new segments as they fill, and syncs. Returns each
    /// segment written to with its new length.
    fn append(&mut self, records: &[Vec<u8>]) -> std::io::Result<Vec<(u64, u64)>> {
        let mut touched = Vec::new();
        let mut chunk = Vec::new();
        for record in records {
            let full = match &self.current {
                None => true,
                Some(current) => {
                    let length = current.length() + chunk.len() as u64;
                    length > 0 && length + record.len() as u64 > self.segment_bytes
                }
            };
            if full {
                if let Some(current) = self.current.as_mut() {
                    current.append(&chunk)?;
                    chunk.clear();
                    current.sync()?;
                    touched.push((current.id(), current.length()));
                }
                self.current = Some(SegmentWriter::create(&self.directory, self.next_id)?);
                self.next_id += 1;
            }
            chunk.extend_from_slice(record);
        }
        if let Some(current) = self.current.as_mut() {
            current.append(&chunk)?;
            current.sync()?;
            touched.push((current.id(), current.length()));
        }
        Ok(touched)
    }
}

/// Writes until `input` is closed, then tells the reader there is nothing more to come.
pub(super) async fn run(
    settings: &Settings,
    shared: &Shared,
    first_segment: u64,
    mut input: BufferReceiver,
) -> Result<(), ComponentError> {
    let mut files = Some(Files {
        directory: settings.directory.clone(),
        segment_bytes: settings.segment_bytes,
        current: None,
        next_id: first_segment,
    });
    let mut freed = shared.freed.subscribe();
    let mut backoff = Backoff::default();
    let mut payload = Vec::new();
    while let Some(first) = input.recv().await {
        let mut pending = VecDeque::new();
        let mut batches = vec![first];
        let mut events = batches[0].len();
        while events < GROUP_EVENTS {
            match input.try_recv() {
                Some(batch) => {
                    events += batch.len();
                    batches.push(batch);
                }
                None => break,
            }
        }
        for event in batches.into_iter().flatten() {
            record::encode(&event, &mut payload);
            let mut framed = Vec::with_capacity(payload.len() + segment::HEADER_BYTES as usize);
            match segment::frame(&payload, &mut framed) {
                Some(()) => pending.push_back((framed, event)),
                None => {
                    settings.metrics.error(
                        "event_too_large",
                        &"an event over 4 GiB cannot be written to the disk buffer",
                    );
                    event.resolve(EventStatus::Rejected);
                }
            }
        }
        while !pending.is_empty() {
            freed.borrow_and_update();
            let fit = fitting(settings, shared, &pending);
            if fit == 0 {
                if settings.when_full == WhenFull::DropNewest {
                    settings.metrics.discarded(pending.len(), "buffer_full");
                    for (_, event) in pending.drain(..) {
                        event.resolve(EventStatus::Dropped);
                    }
                    break;
                }
                // The reader holds the other end of `freed` for as long as this runs.
                let _ = freed.changed().await;
                continue;
            }
            let (records, events): (Vec<Vec<u8>>, Vec<Event>) = pending.drain(..fit).unzip();
            let records = std::sync::Arc::new(records);
            loop {
                let Some(mut owned) = files.take() else {
                    return Err(ComponentError::Other(
                        "disk buffer writer lost its files".into(),
                    ));
                };
                let group = records.clone();
                let (owned, result) = blocking(move || {
                    let result = owned.append(&group);
                    (owned, result)
                })
                .await?;
                files = Some(owned);
                match result {
                    Ok(touched) => {
                        commit(settings, shared, &touched, events.len());
                        backoff.reset();
                        break;
                    }
                    Err(error) => {
                        settings.metrics.error(
                            "write_failed",
                            &format!(
                                "disk buffer {}: write failed, trying again: {error}",
                                settings.directory.display()
                            ),
                        );
                        tokio::time::sleep(backoff.next_delay()).await;
                    }
                }
            }
            for event in events {
                event.resolve(EventStatus::Delivered);
            }
        }
    }
    shared.state().writer_done = true;
    shared.written.send_modify(|version| *version += 1);
    Ok(())
}

/// How many of the pending records fit under `max_bytes`. When nothing is waiting for the sink,
/// one record always fits, so an event larger than the free room cannot block forever.
fn fitting(settings: &Settings, shared: &Shared, pending: &VecDeque<(Vec<u8>, Event)>) -> usize {
    let state = shared.state();
    let mut used = state.bytes;
    let mut count = 0;
    for (record, _) in pending {
        let size = record.len() as u64;
        if used + size > settings.max_bytes {
            break;
        }
        used += size;
        count += 1;
    }
    if count == 0 && state.unacknowledged_bytes() == 0 {
        1
    } else {
        count
    }
}

/// Records the new segment lengths and wakes the reader.
fn commit(settings: &Settings, shared: &Shared, touched: &[(u64, u64)], events: usize) {
    let mut added = 0;
    {
        let mut state = shared.state();
        for (id, length) in touched {
            let before = state.segments.insert(*id, *length).unwrap_or(0);
            added += length.saturating_sub(before);
        }
        state.bytes += added;
    }
    settings.metrics.buffer_changed(events as i64);
    settings.metrics.buffer_bytes_changed(added as i64);
    shared.written.send_modify(|version| *version += 1);
}
