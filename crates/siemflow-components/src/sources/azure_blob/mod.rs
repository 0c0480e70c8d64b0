//! `type: azure_blob`: the Defender streaming API's export to Azure Storage, read as it grows.
//!
//! Each table's container holds one `PT1H.json` blob per hour that Defender appends to during the
//! hour (JSON lines, CRLF). The source discovers the table containers ([`layout`]), and per blob
//! reads only the bytes after what it already read (ranged reads), hands complete lines on, and
//! keeps a partial last line until its end arrives ([`reader`]). Acknowledged offsets are stored
//! per blob ([`state`]); a restart resumes there, never from the start of a blob. An hour's blob
//! is still followed for `grace_period` after the hour, for late appends.

pub mod layout;
mod reader;
mod state;

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use siemflow_core::checkpoint;
use siemflow_core::component::{ComponentError, ComponentTask, SourceConfig, SourceContext};
use siemflow_core::config::duration;
use siemflow_core::secret::SecretString;

use self::reader::ReaderSettings;
use self::state::{BlobCheckpoint, BlobCommitter};
use super::json_stream::{
    check_sizes, default_batch_size, default_max_event_bytes, run_blocking_reader,
};
use crate::azure::storage::account::StorageAccount;
use crate::azure::storage::client::BlobClient;
use crate::tls::TlsOptions;

/// Reads the streaming API's storage export.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AzureBlobSourceConfig {
    /// The storage account's connection string (`AccountName=...;AccountKey=...`, a
    /// `SharedAccessSignature=` one, or `UseDevelopmentStorage=true`).
    #[serde(default)]
    pub connection_string: Option<SecretString>,
    /// The blob endpoint (`https://<account>.blob.core.windows.net`), with `sas_token`.
    #[serde(default)]
    pub account_url: Option<String>,
    /// A SAS token (account or container SAS with list and read).
    #[serde(default)]
    pub sas_token: Option<SecretString>,
    /// Table containers to discover (default `insights-logs-advancedhunting-`).
    #[serde(default = "default_container_prefix")]
    pub container_prefix: String,
    /// Read these containers instead of discovering them.
    #[serde(default)]
    pub containers: Option<Vec<String>>,
    /// Only these tables (e.g. `[DeviceProcessEvents, DeviceNetworkEvents]`).
    #[serde(default)]
    pub tables: Option<Vec<String>>,
    /// Skip hour blobs before this: RFC 3339 or a duration back from now (default `1d`).
    #[serde(default)]
    pub start_time: Option<String>,
    /// Time between polls (default `30s`).
    #[serde(default = "default_poll_interval", with = "duration")]
    pub poll_interval: Duration,
    /// How long after its hour a blob is still watched for late appends (default `1h`).
    #[serde(default = "default_grace_period", with = "duration")]
    pub grace_period: Duration,
    /// PEM CA certificates to trust instead of the system's.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Events larger than this are dead-lettered (default 1048576).
    #[serde(default = "default_max_event_bytes")]
    pub max_event_bytes: usize,
    /// Events per batch (default 500).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// How often acknowledged offsets are written (default `1s`).
    #[serde(default = "default_commit_interval", with = "duration")]
    pub commit_interval: Duration,
}

fn default_container_prefix() -> String {
    "insights-logs-advancedhunting-".into()
}

fn default_poll_interval() -> Duration {
    Duration::from_secs(30)
}

fn default_grace_period() -> Duration {
    Duration::from_secs(3600)
}

fn default_commit_interval() -> Duration {
    Duration::from_secs(1)
}

impl AzureBlobSourceConfig {
    fn account(&self) -> Result<StorageAccount, String> {
        match (&self.connection_string, &self.account_url, &self.sas_token) {
            (Some(text), None, None) => StorageAccount::from_connection_string(text.expose())
                .map_err(|error| format!("`connection_string`: {error}")),
            (None, Some(url), Some(sas)) => StorageAccount::with_sas(url, sas.expose()),
            (None, Some(_), None) => Err("`account_url` needs `sas_token`".into()),
            (None, None, Some(_)) => Err("`sas_token` needs `account_url`".into()),
            (Some(_), _, _) => Err("set `connection_string` or `account_url`, not both".into()),
            (None, None, None) => {
                Err("set `connection_string`, or `account_url` and `sas_token`".into())
            }
        }
    }

    fn start(&self, now: SystemTime) -> Result<SystemTime, String> {
        super::start_time::resolve(self.start_time.as_deref(), now)
    }
}

impl SourceConfig for AzureBlobSourceConfig {
    fn check(&self) -> Result<(), String> {
        self.account()?;
        self.start(SystemTime::now())?;
        if self.poll_interval.is_zero() {
            return Err("`poll_interval` must be more than 0".into());
        }
        check_sizes(self.max_event_bytes, self.batch_size)
    }

    fn build(&self, cx: SourceContext) -> Result<ComponentTask, ComponentError> {
        self.check().map_err(ComponentError::Config)?;
        let account = self.account().map_err(ComponentError::Config)?;
        let tls = TlsOptions {
            ca_file: self.ca_file.clone(),
            ..TlsOptions::default()
        };
        let http = crate::http_client::client_with(
            &tls,
            Duration::from_secs(10),
            Duration::from_secs(120),
        )
        .map_err(ComponentError::Config)?;
        let client = BlobClient::new(http, account);
        let checkpoint_path = cx.component.checkpoint_path();
        let saved: BlobCheckpoint = checkpoint::load(&checkpoint_path)
            .map_err(|error| ComponentError::io("cannot read the azure_blob checkpoint", error))?
            .unwrap_or_default();
        let settings = ReaderSettings {
            containers: self.containers.clone(),
            container_prefix: self.container_prefix.clone(),
            tables: self.tables.as_ref().map(|tables| {
                tables
                    .iter()
                    .map(|table| table.to_ascii_lowercase())
                    .collect()
            }),
            start: self
                .start(SystemTime::now())
                .map_err(ComponentError::Config)?,
            poll_interval: self.poll_interval,
            grace_period: self.grace_period,
            max_event_bytes: self.max_event_bytes,
        };
        let batch_size = self.batch_size;
        let commit_interval = self.commit_interval;
        Ok(Box::pin(async move {
            let mut committer = BlobCommitter {
                path: checkpoint_path,
                state: saved.clone(),
                dirty: false,
                stuck: HashSet::new(),
            };
            let runtime = tokio::runtime::Handle::current();
            run_blocking_reader(
                cx,
                batch_size,
                commit_interval,
                &mut committer,
                move |reader, component, _| {
                    reader::run(&client, &settings, &saved, reader, &component, &runtime);
                },
            )
            .await
        }))
    }
}
