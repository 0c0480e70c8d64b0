//! Per-partition positions: the sequence number up to which every event of the partition was
//! acknowledged, moved only over a contiguous acknowledged prefix (batches are acknowledged in
//! send order, and a partition with an undelivered batch stays where it was for the run).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use siemflow_core::component::ComponentError;
use siemflow_core::config::duration;
use siemflow_core::event::BatchStatus;
use siemflow_core::secret::SecretString;

use crate::azure::credentials::EntraAppBlock;
use crate::azure::storage::account::StorageAccount;
use crate::azure::storage::client::BlobClient;
use crate::tls::TlsOptions;

use crate::sources::json_stream::Committer;

/// Which store keeps the positions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    /// A file under `--data-dir`; this instance reads every partition.
    #[default]
    File,
    /// An Azure Blob container, shared by every instance reading the hub with the consumer
    /// group: they split the partitions between them.
    Blob,
}

/// `checkpoints:` of the source.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckpointsConfig {
    /// `file` (default) or `blob`.
    #[serde(rename = "type", default)]
    pub kind: StoreKind,
    /// The storage account's connection string.
    #[serde(default)]
    pub connection_string: Option<SecretString>,
    /// The blob endpoint, with `sas_token` or `entra`.
    #[serde(default)]
    pub account_url: Option<String>,
    /// A SAS token with read, write, list and create permissions on the container.
    #[serde(default)]
    pub sas_token: Option<SecretString>,
    /// An Entra ID app with the Storage Blob Data Contributor role.
    #[serde(default)]
    pub entra: Option<EntraAppBlock>,
    /// The container (created if missing).
    #[serde(default)]
    pub container: Option<String>,
    /// PEM CA certificates to trust instead of the system's.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// How often ownership is renewed and the balance worked out (default `10s`).
    #[schemars(with = "String")]
    #[serde(default = "default_balance_interval", with = "duration")]
    pub balance_interval: Duration,
    /// An ownership not renewed for this long is free for other instances (default `60s`).
    #[schemars(with = "String")]
    #[serde(default = "default_ownership_expiry", with = "duration")]
    pub ownership_expiry: Duration,
}

fn default_balance_interval() -> Duration {
    Duration::from_secs(10)
}

fn default_ownership_expiry() -> Duration {
    Duration::from_secs(60)
}

impl Default for CheckpointsConfig {
    fn default() -> Self {
        Self {
            kind: StoreKind::File,
            connection_string: None,
            account_url: None,
            sas_token: None,
            entra: None,
            container: None,
            ca_file: None,
            balance_interval: default_balance_interval(),
            ownership_expiry: default_ownership_expiry(),
        }
    }
}

impl CheckpointsConfig {
    /// Takes relative certificate paths from the pipeline file's folder.
    pub fn resolve_paths(&mut self, base: &std::path::Path) {
        siemflow_core::config::paths::resolve_opt(base, &mut self.ca_file);
        if let Some(entra) = &mut self.entra {
            entra.resolve_paths(base);
        }
    }

    /// Checks the options without building a client: the container, when checkpoints go to
    /// blobs.
    pub fn check(&self) -> Result<Option<String>, String> {
        let blob_options = self.connection_string.is_some()
            || self.account_url.is_some()
            || self.sas_token.is_some()
            || self.entra.is_some()
            || self.container.is_some();
        if self.kind == StoreKind::File {
            return match blob_options {
                true => Err("`checkpoints`: storage options need `type: blob`".into()),
                false => Ok(None),
            };
        }
        if let Some(block) = &self.entra {
            block
                .app
                .check()
                .map_err(|error| format!("`checkpoints.entra`: {error}"))?;
        }
        let container = self
            .container
            .clone()
            .ok_or("`checkpoints`: `type: blob` needs `container`")?;
        let valid = (3..=63).contains(&container.len())
            && container
                .bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
        if !valid {
            return Err(format!(
                "`checkpoints.container`: `{container}` is not a container name (3 to 63 lower-case letters, digits and -)"
            ));
        }
        if self.balance_interval.is_zero() || self.ownership_expiry < self.balance_interval * 2 {
            return Err(
                "`checkpoints`: `ownership_expiry` must be at least twice `balance_interval`, so an owner renews in time"
                    .into(),
            );
        }
        StorageAccount::check_options(
            self.connection_string.as_ref(),
            self.account_url.as_deref(),
            self.sas_token.as_ref(),
            self.entra.as_ref(),
        )
        .map_err(|error| format!("`checkpoints`: {error}"))?;
        Ok(Some(container))
    }

    /// Checks the options; for `blob`, returns a client of the account and the container.
    pub fn blob(&self) -> Result<Option<(BlobClient, String)>, String> {
        let Some(container) = self.check()? else {
            return Ok(None);
        };
        let tls = TlsOptions {
            ca_file: self.ca_file.clone(),
            ..TlsOptions::default()
        };
        let http = crate::http_client::client_with(
            &tls,
            Duration::from_secs(10),
            Duration::from_secs(30),
        )?;
        let account = StorageAccount::from_options(
            self.connection_string.as_ref(),
            self.account_url.as_deref(),
            self.sas_token.as_ref(),
            self.entra.as_ref(),
            &http,
        )
        .map_err(|error| format!("`checkpoints`: {error}"))?;
        Ok(Some((BlobClient::new(http, account), container)))
    }
}

/// Where one partition stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HubIdentity {
    /// The namespace host.
    pub namespace: String,
    /// The hub.
    pub hub: String,
    /// The consumer group, lower case (Event Hubs compares them case-insensitively).
    pub consumer_group: String,
}

/// The checkpoint's content.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
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
