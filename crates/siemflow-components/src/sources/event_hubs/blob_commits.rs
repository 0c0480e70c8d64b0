//! Committing positions to the blob store: the committer hands each new state over without
//! waiting (it runs in the source's driver loop), and a writer task writes the partitions that
//! moved. Only partitions this instance owns are written, and only beyond what the store is
//! known to hold, so a late acknowledgement of a partition since taken by another instance
//! never moves its checkpoint back.

use std::sync::{Arc, Mutex};

use siemflow_core::component::{ComponentContext, ComponentError};
use tokio::sync::watch;

use super::balance::Owned;
use super::blob_store::BlobCheckpointStore;
use super::checkpoint::{CheckpointStore, HubCheckpoint};

/// The committer's side: the latest state, for the writer.
#[derive(Debug)]
pub struct BlobCommits {
    latest: watch::Sender<HubCheckpoint>,
}

impl CheckpointStore for BlobCommits {
    fn save(&mut self, checkpoint: &HubCheckpoint) -> Result<(), ComponentError> {
        self.latest.send_replace(checkpoint.clone());
        Ok(())
    }
}

/// The committer's half and the writer task; the task ends after a last write once the
/// committer's half is dropped.
pub fn blob_commits(
    store: BlobCheckpointStore,
    owned: Arc<Mutex<Owned>>,
    component: ComponentContext,
) -> (BlobCommits, impl Future<Output = ()>) {
    let (latest, updates) = watch::channel(HubCheckpoint::default());
    (
        BlobCommits { latest },
        write_checkpoints(store, updates, owned, component),
    )
}

async fn write_checkpoints(
    store: BlobCheckpointStore,
    mut updates: watch::Receiver<HubCheckpoint>,
    owned: Arc<Mutex<Owned>>,
    component: ComponentContext,
) {
    loop {
        let more = updates.changed().await.is_ok();
        let state = updates.borrow_and_update().clone();
        let due: Vec<_> = {
            let owned = owned
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            state
                .partitions
                .iter()
                .filter(|(partition, position)| {
                    owned.partitions.contains_key(*partition)
                        && owned
                            .stored
                            .get(*partition)
                            .is_none_or(|stored| position.sequence_number > *stored)
                })
                .map(|(partition, position)| (partition.clone(), position.clone()))
                .collect()
        };
        for (partition, position) in due {
            match store.write_checkpoint(&partition, &position).await {
                Ok(()) => {
                    owned
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .stored
                        .insert(partition, position.sequence_number);
                }
                // Tried again with the next commit.
                Err(error) => component.metrics.error(
                    "checkpoint_write_failed",
                    &format_args!("cannot write the checkpoint of partition {partition}: {error}"),
                ),
            }
        }
        if !more {
            return;
        }
    }
}
