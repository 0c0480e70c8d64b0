//! What the `azure_blob` source stores: per blob, the byte offset up to which every line was
//! acknowledged (kept while a blob is within the look-back, so that a settled blob listed again
//! is not read again), the listing floor (hours below it are read to their end and settled), and
//! when the last sweep for blobs past the look-back ran.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use siemflow_core::checkpoint;
use siemflow_core::component::ComponentError;
use siemflow_core::event::BatchStatus;

use super::layout::blob_hour;
use crate::sources::json_stream::Committer;

/// The checkpoint file's content.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BlobCheckpoint {
    /// Hours before this are done (RFC 3339).
    #[serde(default)]
    pub floor: Option<String>,
    /// `container/blob` to its position.
    #[serde(default)]
    pub blobs: BTreeMap<String, BlobPosition>,
    /// When the last sweep for blobs past the look-back ran (RFC 3339).
    #[serde(default)]
    pub swept: Option<String>,
}

/// How far one blob is acknowledged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobPosition {
    /// Bytes of complete, acknowledged lines from the start.
    pub offset: u64,
    /// The ETag when last read.
    pub etag: String,
}

/// A batch's position.
#[derive(Debug, Clone)]
pub enum Position {
    /// Lines of one blob up to an offset.
    Blob {
        /// `container/blob`.
        key: String,
        /// How far.
        position: BlobPosition,
    },
    /// Every hour before `floor` is read and delivered (sent at the end of a poll); positions of
    /// blobs before `keep_from` (past the look-back) are no longer needed.
    Floor {
        /// The floor.
        floor: SystemTime,
        /// The oldest hour whose blobs' positions are kept.
        keep_from: SystemTime,
    },
    /// A sweep for blobs past the look-back ran then.
    Swept(SystemTime),
}

impl BlobCheckpoint {
    /// The floor as a time.
    pub fn floor_time(&self) -> Option<SystemTime> {
        self.floor
            .as_deref()
            .and_then(|text| humantime::parse_rfc3339(text).ok())
    }

    /// When the last sweep ran.
    pub fn swept_time(&self) -> Option<SystemTime> {
        self.swept
            .as_deref()
            .and_then(|text| humantime::parse_rfc3339(text).ok())
    }
}

/// Moves the checkpoint as batches are acknowledged.
#[derive(Debug)]
pub struct BlobCommitter {
    /// Where it is stored.
    pub path: PathBuf,
    /// The state.
    pub state: BlobCheckpoint,
    /// Whether there is something to store.
    pub dirty: bool,
    /// Blobs with an undelivered batch: frozen for the rest of the run.
    pub stuck: HashSet<String>,
}

impl Committer<Position> for BlobCommitter {
    fn acknowledged(&mut self, position: Position, status: BatchStatus) {
        match position {
            Position::Blob { key, position } => {
                if !status.is_delivered() {
                    tracing::warn!(blob = %key, "checkpoint of this blob frozen for the rest of the run");
                    self.stuck.insert(key);
                } else if !self.stuck.contains(&key) {
                    self.state.blobs.insert(key, position);
                    self.dirty = true;
                }
            }
            Position::Floor { floor, keep_from }
                if status.is_delivered() && self.stuck.is_empty() =>
            {
                if self
                    .state
                    .floor_time()
                    .is_none_or(|current| floor > current)
                {
                    self.state.floor = Some(humantime::format_rfc3339_seconds(floor).to_string());
                    self.state
                        .blobs
                        .retain(|key, _| blob_hour(key).is_none_or(|hour| hour >= keep_from));
                    self.dirty = true;
                }
            }
            Position::Floor { .. } => {}
            Position::Swept(at) => {
                self.state.swept = Some(humantime::format_rfc3339_seconds(at).to_string());
                self.dirty = true;
            }
        }
    }

    fn commit(&mut self) -> Result<(), ComponentError> {
        if !self.dirty {
            return Ok(());
        }
        checkpoint::save(&self.path, &self.state)?;
        self.dirty = false;
        Ok(())
    }
}
