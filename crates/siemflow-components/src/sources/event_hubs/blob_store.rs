//! Partition ownership and checkpoints in an Azure Blob container, laid out as the Azure SDKs'
//! blob checkpoint stores lay them out, so the records read the same to their tools:
//!
//! - `<namespace>/<hub>/<consumer group>/ownership/<partition>`: an empty blob whose `ownerid`
//!   metadata names the instance reading the partition (empty once given up); its
//!   `Last-Modified` is when the owner last renewed it and its ETag makes every claim and
//!   renewal a conditional write, so two instances never both win the same partition.
//! - `<namespace>/<hub>/<consumer group>/checkpoint/<partition>`: an empty blob whose
//!   `sequencenumber` and `offset` metadata are the last event acknowledged.
//!
//! Names are lower case (the namespace host, hub and consumer group compare case-insensitively).

use std::collections::BTreeMap;
use std::time::SystemTime;

use crate::azure::storage::client::{BlobClient, BlobError, WriteCondition};

use super::checkpoint::{HubIdentity, PartitionPosition};

/// One partition's ownership record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ownership {
    /// The partition id.
    pub partition: String,
    /// The owning instance; empty when given up.
    pub owner: String,
    /// When it was last claimed or renewed.
    pub modified: SystemTime,
    /// Its version, for the next conditional write.
    pub etag: String,
}

/// The store of one hub and consumer group.
#[derive(Debug, Clone)]
pub struct BlobCheckpointStore {
    client: BlobClient,
    container: String,
    prefix: String,
}

impl BlobCheckpointStore {
    /// The store in `container` for `identity`.
    pub fn new(client: BlobClient, container: &str, identity: &HubIdentity) -> Self {
        Self {
            client,
            container: container.to_string(),
            prefix: format!(
                "{}/{}/{}/",
                identity.namespace, identity.hub, identity.consumer_group
            )
            .to_ascii_lowercase(),
        }
    }

    /// Creates the container if it is missing.
    pub async fn prepare(&self) -> Result<(), BlobError> {
        self.client.create_container(&self.container).await
    }

    /// Every ownership record (one listing).
    pub async fn ownerships(&self) -> Result<Vec<Ownership>, BlobError> {
        let prefix = format!("{}ownership/", self.prefix);
        let blobs = self
            .client
            .list_blobs_with_metadata(&self.container, &prefix)
            .await?;
        Ok(blobs
            .into_iter()
            .filter_map(|blob| {
                Some(Ownership {
                    partition: blob.name.strip_prefix(&prefix)?.to_string(),
                    owner: blob.metadata.get("ownerid").cloned().unwrap_or_default(),
                    modified: blob.properties.modified()?,
                    etag: blob.properties.etag,
                })
            })
            .collect())
    }

    /// Writes `owner` into a partition's record, over version `over` (or only if there is no
    /// record yet). `Ok(None)`: another instance wrote it first.
    pub async fn claim(
        &self,
        partition: &str,
        owner: &str,
        over: Option<&str>,
    ) -> Result<Option<String>, BlobError> {
        let condition = match over {
            Some(etag) => WriteCondition::IfMatch(etag),
            None => WriteCondition::IfAbsent,
        };
        let blob = format!("{}ownership/{partition}", self.prefix);
        match self
            .client
            .put_metadata_blob(&self.container, &blob, &[("ownerid", owner)], condition)
            .await
        {
            Ok(etag) => Ok(Some(etag)),
            Err(BlobError::Conflict { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Every partition's checkpoint (one listing).
    pub async fn checkpoints(&self) -> Result<BTreeMap<String, PartitionPosition>, BlobError> {
        let prefix = format!("{}checkpoint/", self.prefix);
        let blobs = self
            .client
            .list_blobs_with_metadata(&self.container, &prefix)
            .await?;
        Ok(blobs
            .into_iter()
            .filter_map(|blob| {
                let partition = blob.name.strip_prefix(&prefix)?.to_string();
                let sequence_number = blob.metadata.get("sequencenumber")?.parse().ok()?;
                let position = PartitionPosition {
                    sequence_number,
                    offset: blob.metadata.get("offset").cloned(),
                    enqueued_ms: None,
                };
                Some((partition, position))
            })
            .collect())
    }

    /// Writes a partition's checkpoint.
    pub async fn write_checkpoint(
        &self,
        partition: &str,
        position: &PartitionPosition,
    ) -> Result<(), BlobError> {
        let blob = format!("{}checkpoint/{partition}", self.prefix);
        let sequence_number = position.sequence_number.to_string();
        let mut metadata = vec![("sequencenumber", sequence_number.as_str())];
        if let Some(offset) = &position.offset {
            metadata.push(("offset", offset.as_str()));
        }
        self.client
            .put_metadata_blob(&self.container, &blob, &metadata, WriteCondition::Always)
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use siemflow_test_support::azurite::Azurite;

    use super::*;
    use crate::azure::storage::account::StorageAccount;

    #[tokio::test]
    async fn claims_are_conditional_and_checkpoints_round_trip_on_azurite() {
        let azurite = Azurite::start();
        let timeout = std::time::Duration::from_secs(30);
        let http =
            crate::http_client::client_with(&crate::tls::TlsOptions::default(), timeout, timeout)
                .unwrap();
        let account = StorageAccount::from_connection_string(&azurite.connection_string()).unwrap();
        let identity = HubIdentity {
            namespace: "contoso.servicebus.windows.net".into(),
            hub: "defender".into(),
            consumer_group: "$default".into(),
        };
        let store = BlobCheckpointStore::new(BlobClient::new(http, account), "owners", &identity);
        store.prepare().await.unwrap();
        store.prepare().await.unwrap();
        assert!(store.ownerships().await.unwrap().is_empty());

        let first = store.claim("0", "a", None).await.unwrap().unwrap();
        assert_eq!(store.claim("0", "b", None).await.unwrap(), None, "taken");
        let listed = store.ownerships().await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(
            (listed[0].owner.as_str(), listed[0].etag.as_str()),
            ("a", first.as_str())
        );
        let renewed = store.claim("0", "a", Some(&first)).await.unwrap().unwrap();
        assert_ne!(renewed, first);
        assert_eq!(
            store.claim("0", "b", Some(&first)).await.unwrap(),
            None,
            "a stale version loses"
        );
        store
            .claim("0", "b", Some(&renewed))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(store.ownerships().await.unwrap()[0].owner, "b");

        let position = PartitionPosition {
            sequence_number: 41,
            offset: Some("8192".into()),
            enqueued_ms: None,
        };
        store.write_checkpoint("3", &position).await.unwrap();
        let checkpoints = store.checkpoints().await.unwrap();
        assert_eq!(checkpoints.len(), 1);
        assert_eq!(checkpoints["3"], position);
    }
}
