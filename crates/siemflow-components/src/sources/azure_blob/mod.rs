//! `type: azure_blob`: the Defender streaming API's export to Azure Storage, read as it grows.
//!
//! Each table's container holds one `PT1H.json` blob per hour that Defender appends to during the
//! hour (JSON lines, CRLF). The source discovers the table containers ([`layout`]), and per blob
//! reads only the bytes after what it already read (ranged reads), hands complete lines on, and
//! keeps a partial last line until its end arrives ([`reader`]). Acknowledged offsets are stored
//! per blob ([`state`]); a restart resumes there, never from the start of a blob. An hour's blob
//! is still followed for `grace_period` after the hour, for late appends, and a blob that
//! appears or grows later is still read within `lookback`, or named when it comes past it.

pub mod layout;
mod reader;
mod state;

use super::start_time::StartTime;
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use siemflow_core::checkpoint;
use siemflow_core::component::{
    ComponentError, ComponentTask, Reach, ReachCheck, SourceConfig, SourceContext,
};
use siemflow_core::config::duration;
use siemflow_core::secret::SecretString;

use self::reader::ReaderSettings;
use self::state::{BlobCheckpoint, BlobCommitter};
use super::json_stream::{
    check_sizes, default_batch_size, default_commit_interval, default_max_event_bytes,
    run_blocking_reader,
};
use crate::azure::credentials::EntraAppBlock;
use crate::azure::storage::account::StorageAccount;
use crate::azure::storage::client::BlobClient;
use crate::azure::storage::reach;
use crate::tls::TlsOptions;

/// Reads the streaming API's storage export.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AzureBlobSourceConfig {
    /// The storage account's connection string (`AccountName=...;AccountKey=...`, a
    /// `SharedAccessSignature=` one, or `UseDevelopmentStorage=true`).
    #[serde(default)]
    pub connection_string: Option<SecretString>,
    /// The blob endpoint (`https://<account>.blob.core.windows.net`), with `sas_token` or
    /// `entra`.
    #[serde(default)]
    pub account_url: Option<String>,
    /// A SAS token (account or container SAS with list and read).
    #[serde(default)]
    pub sas_token: Option<SecretString>,
    /// An Entra ID app with the Storage Blob Data Reader role on the account.
    #[serde(default)]
    pub entra: Option<EntraAppBlock>,
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
    pub start_time: Option<StartTime>,
    /// Time between polls (default `30s`).
    #[schemars(with = "String")]
    #[serde(default = "default_poll_interval", with = "duration")]
    pub poll_interval: Duration,
    /// How long after its hour a blob is still watched for late appends (default `1h`).
    #[schemars(with = "String")]
    #[serde(default = "default_grace_period", with = "duration")]
    pub grace_period: Duration,
    /// How far back a blob that appears or grows late is still read (default `48h`); older
    /// ones are named (`blob_too_late`), not read.
    #[schemars(with = "String")]
    #[serde(default = "default_lookback", with = "duration")]
    pub lookback: Duration,
    /// PEM CA certificates to trust instead of the system's.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Events larger than this are dead-lettered (default 1048576).
    #[serde(default = "default_max_event_bytes")]
    pub max_event_bytes: usize,
    /// Events per batch (default 500).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// How often acknowledged offsets are written (default `100ms`).
    #[schemars(with = "String")]
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

fn default_lookback() -> Duration {
    Duration::from_secs(48 * 3600)
}

impl AzureBlobSourceConfig {
    /// The account and its authorization; `http` fetches Entra tokens.
    fn account(&self, http: &reqwest::Client) -> Result<StorageAccount, String> {
        StorageAccount::from_options(
            self.connection_string.as_ref(),
            self.account_url.as_deref(),
            self.sas_token.as_ref(),
            self.entra.as_ref(),
            http,
        )
    }

    fn http(&self) -> Result<reqwest::Client, String> {
        let tls = TlsOptions {
            ca_file: self.ca_file.clone(),
            ..TlsOptions::default()
        };
        crate::http_client::client_with(&tls, Duration::from_secs(10), Duration::from_secs(120))
    }

    fn start(&self, now: SystemTime) -> SystemTime {
        super::start_time::resolve(self.start_time, Duration::from_secs(86_400), now)
    }
}

impl SourceConfig for AzureBlobSourceConfig {
    fn resolve_paths(&mut self, base: &std::path::Path) {
        siemflow_core::config::paths::resolve_opt(base, &mut self.ca_file);
        if let Some(entra) = &mut self.entra {
            entra.resolve_paths(base);
        }
    }

    fn check(&self) -> Result<(), String> {
        if let Some(block) = &self.entra {
            block
                .app
                .check()
                .map_err(|error| format!("`entra`: {error}"))?;
        }
        StorageAccount::check_options(
            self.connection_string.as_ref(),
            self.account_url.as_deref(),
            self.sas_token.as_ref(),
            self.entra.as_ref(),
        )?;
        if self.poll_interval.is_zero() {
            return Err("`poll_interval` must be more than 0".into());
        }
        if self.lookback < self.grace_period + Duration::from_secs(3600) {
            return Err(format!(
                "`lookback` must reach past the hour and its `grace_period` ({}): a shorter one would miss blobs the floor has not passed yet",
                humantime::format_duration(self.grace_period + Duration::from_secs(3600))
            ));
        }
        check_sizes(self.max_event_bytes, self.batch_size)
    }

    fn reach(&self) -> ReachCheck<'_> {
        Box::pin(async move {
            let http = self.http()?;
            let account = self.account(&http)?;
            let client = BlobClient::new(http, account);
            let Some(containers) = &self.containers else {
                return reach::containers(&client, &self.container_prefix)
                    .await
                    .map(Reach::Reached);
            };
            let mut listed = Vec::new();
            for container in containers {
                listed.push(reach::container(&client, container, false).await?);
            }
            Ok(Reach::Reached(listed.join("; ")))
        })
    }

    fn build(&self, cx: SourceContext) -> Result<ComponentTask, ComponentError> {
        self.check().map_err(ComponentError::Config)?;
        let http = self.http().map_err(ComponentError::Config)?;
        let account = self.account(&http).map_err(ComponentError::Config)?;
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
            start: self.start(SystemTime::now()),
            poll_interval: self.poll_interval,
            grace_period: self.grace_period,
            lookback: self.lookback,
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
                    reader::run(&client, &settings, &saved, reader, &component, &runtime)
                },
            )
            .await
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::azure::storage::account::StorageAuth;

    fn config(yaml: &str) -> Result<AzureBlobSourceConfig, String> {
        let node =
            siemflow_core::config::yaml::parse(yaml).map_err(|error| format!("{error:?}"))?;
        siemflow_core::config::de::from_node(&node).map_err(|error| error.to_string())
    }

    #[test]
    fn takes_exactly_one_way_to_authorize() {
        let entra = config(
            "{account_url: 'https://contosologs.blob.core.windows.net', entra: {tenant_id: t, client_id: c, client_secret: s}}",
        )
        .unwrap();
        entra.check().unwrap();
        let account = entra.account(&entra.http().unwrap()).unwrap();
        assert_eq!(account.name, "contosologs");
        assert!(matches!(account.auth, StorageAuth::Bearer(_)));

        let refused = [
            ("{account_url: 'https://a.blob.core.windows.net'}", "needs"),
            (
                "{account_url: 'https://a.blob.core.windows.net', sas_token: 'sv=1', entra: {tenant_id: t, client_id: c, client_secret: s}}",
                "not both",
            ),
            (
                "{entra: {tenant_id: t, client_id: c, client_secret: s}}",
                "need `account_url`",
            ),
            (
                "{account_url: 'https://a.blob.core.windows.net', entra: {tenant_id: t, client_id: c}}",
                "client_secret",
            ),
            (
                "{connection_string: 'UseDevelopmentStorage=true', account_url: x}",
                "not both",
            ),
        ];
        for (yaml, message) in refused {
            let error = config(yaml).unwrap().check().unwrap_err();
            assert!(error.contains(message), "{yaml}: {error}");
        }
        let typo = config(
            "{account_url: 'https://a.blob.core.windows.net', entra: {tenant_id: t, client_id: c, client_secert: s}}",
        )
        .unwrap_err();
        assert!(typo.contains("client_secert"), "{typo}");
    }
}
