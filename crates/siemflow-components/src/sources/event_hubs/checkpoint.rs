//! Per-partition positions: the sequence number up to which every event of the partition was
//! acknowledged, moved only over a contiguous acknowledged prefix (batches are acknowledged in
//! send order, and a partition with an undelivered batch stays where it was for the run).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use siemflow_core::component::ComponentError;
use siemflow_core::event::BatchStatus;

use crate::sources::json_stream::Committer;

/// Where one partition stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionPosition {
    /// The last sequence number acknowledged.
    pub sequence_number: i64,
    /// Its offset (kept for operators and other tools; resuming uses the sequence number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<String>,
    /// When that event was enqueued (milliseconds since the epoch): how old the checkpoint is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enqueued_ms: Option<i64>,
}

/// Which hub the positions are for: positions of another hub or consumer group are not used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubIdentity {
    /// The namespace host.
    pub namespace: String,
    /// The hub.
    pub hub: String,
    /// The consumer group, lower case (Event Hubs compares them case-insensitively).
    pub consumer_group: String,
}

/// The checkpoint's content.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HubCheckpoint {
    /// What it is for.
    #[serde(flatten)]
    pub identity: HubIdentity,
    /// Partition id to position.
    #[serde(default)]
    pub partitions: BTreeMap<String, PartitionPosition>,
}

/// A batch's position: how far it takes one partition.
#[derive(Debug, Clone)]
pub struct Position {
    /// The partition id.
    pub partition: Arc<str>,
    /// How far, once this batch (and every one before it) is acknowledged.
    pub position: PartitionPosition,
}

/// Where checkpoints are persisted.
pub trait CheckpointStore: Send {
    /// Persists `checkpoint` (every partition's position).
    fn save(&mut self, checkpoint: &HubCheckpoint) -> Result<(), ComponentError>;
}

/// The `--data-dir` file store.
#[derive(Debug)]
pub struct FileStore {
    /// The file.
    pub path: std::path::PathBuf,
}

impl CheckpointStore for FileStore {
    fn save(&mut self, checkpoint: &HubCheckpoint) -> Result<(), ComponentError> {
        siemflow_core::checkpoint::save(&self.path, checkpoint)
    }
}

/// Moves partition positions as batches are acknowledged.
pub struct HubCommitter {
    state: HubCheckpoint,
    store: Box<dyn CheckpointStore>,
    dirty: bool,
    stuck: HashSet<Arc<str>>,
}

impl std::fmt::Debug for HubCommitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubCommitter")
            .field("state", &self.state)
            .field("dirty", &self.dirty)
            .field("stuck", &self.stuck)
            .finish()
    }
}

impl HubCommitter {
    /// Starts from `state`, persisting to `store`.
    pub fn new(state: HubCheckpoint, store: Box<dyn CheckpointStore>) -> Self {
        Self {
            state,
            store,
            dirty: false,
            stuck: HashSet::new(),
        }
    }
}

impl Committer<Position> for HubCommitter {
    fn acknowledged(&mut self, position: Position, status: BatchStatus) {
        if !status.is_delivered() {
            if self.stuck.insert(position.partition.clone()) {
                tracing::warn!(
                    partition = %position.partition,
                    "checkpoint of this partition frozen for the rest of the run"
                );
            }
            return;
        }
        if self.stuck.contains(&position.partition) {
            return;
        }
        let moves = self
            .state
            .partitions
            .get(&*position.partition)
            .is_none_or(|current| position.position.sequence_number > current.sequence_number);
        if moves {
            self.state
                .partitions
                .insert(position.partition.to_string(), position.position);
            self.dirty = true;
        }
    }

    fn commit(&mut self) -> Result<(), ComponentError> {
        if !self.dirty {
            return Ok(());
        }
        self.store.save(&self.state)?;
        self.dirty = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Clone, Default)]
    struct Memory(Arc<Mutex<Vec<HubCheckpoint>>>);

    impl CheckpointStore for Memory {
        fn save(&mut self, checkpoint: &HubCheckpoint) -> Result<(), ComponentError> {
            self.0.lock().unwrap().push(checkpoint.clone());
            Ok(())
        }
    }

    fn at(partition: &str, sequence_number: i64) -> Position {
        Position {
            partition: Arc::from(partition),
            position: PartitionPosition {
                sequence_number,
                offset: None,
                enqueued_ms: None,
            },
        }
    }

    #[test]
    fn a_partition_with_an_undelivered_batch_stays_while_others_move() {
        let saved = Memory::default();
        let mut committer = HubCommitter::new(HubCheckpoint::default(), Box::new(saved.clone()));
        committer.acknowledged(at("0", 9), BatchStatus::Delivered);
        committer.acknowledged(at("1", 4), BatchStatus::Errored);
        committer.acknowledged(at("1", 8), BatchStatus::Delivered);
        committer.acknowledged(at("0", 19), BatchStatus::Delivered);
        committer.commit().unwrap();
        committer.commit().unwrap();
        let saved = saved.0.lock().unwrap();
        assert_eq!(saved.len(), 1, "an unchanged state is not written again");
        let partitions = &saved[0].partitions;
        assert_eq!(partitions["0"].sequence_number, 19);
        assert!(!partitions.contains_key("1"));
    }
}
