//! `type: event_hubs`: the Defender streaming API through Azure Event Hubs, over AMQP 1.0.
//!
//! The source asks `$management` for the hub's partitions and runs one [`partition`] reader per
//! partition, each on its own connection, starting after its checkpoint (or at
//! `start_position`). Each message body is a Defender `{"records":[...]}` envelope, split into
//! one event per record typed by its `category`; other JSON bodies flow as one event, and bodies
//! that are not JSON are dead-lettered. Batches of every partition go downstream through one
//! driver that acknowledges them in send order, so a partition's [`checkpoint`] only moves over
//! events that were delivered, with nothing undelivered before them.

pub mod checkpoint;
mod message;
mod partition;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use siemflow_core::backoff::Backoff;
use siemflow_core::component::{
    ComponentContext, ComponentError, ComponentTask, SourceConfig, SourceContext,
};
use siemflow_core::config::duration;
use siemflow_core::secret::SecretString;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use self::checkpoint::{FileStore, HubCheckpoint, HubCommitter, HubIdentity, PartitionPosition};
use self::partition::{Ended, PartitionReader, ReaderSettings, StartPosition};
use super::json_stream::{
    ReadBatch, check_sizes, default_batch_size, default_max_event_bytes, drive,
};
use crate::azure::credentials::EntraAppBlock;
use crate::azure::event_hubs::connection_string::{ConnectionString, SharedAccess};
use crate::azure::event_hubs::namespace::{Namespace, NamespaceAuth};
use crate::tls::TlsOptions;

/// Reads a hub's partitions.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventHubsSourceConfig {
    /// `Endpoint=sb://...;SharedAccessKeyName=...;SharedAccessKey=...;EntityPath=<hub>`, a
    /// policy with the Listen claim.
    #[serde(default)]
    pub connection_string: Option<SecretString>,
    /// The namespace host (`contoso.servicebus.windows.net`, or just `contoso`), with `entra`.
    #[serde(default)]
    pub namespace: Option<String>,
    /// The hub; overrides `EntityPath`.
    #[serde(default)]
    pub hub: Option<String>,
    /// An Entra ID app with the Azure Event Hubs Data Receiver role, with `namespace`.
    #[serde(default)]
    pub entra: Option<EntraAppBlock>,
    /// The consumer group (default `$Default`). Give each siemflow deployment its own.
    #[serde(default = "default_consumer_group")]
    pub consumer_group: String,
    /// Where partitions without a checkpoint start: `earliest` (default), `latest`, an RFC 3339
    /// time, or a duration back from now (`1h`).
    #[serde(default)]
    pub start_position: Option<String>,
    /// Read only these partition ids.
    #[serde(default)]
    pub partitions: Option<Vec<String>>,
    /// The AMQP port (default 5671 with TLS, 5672 for the development emulator).
    #[serde(default)]
    pub port: Option<u16>,
    /// PEM CA certificates to trust instead of the system's.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Messages per partition the service may send ahead of the pipeline (default 300).
    #[serde(default = "default_prefetch")]
    pub prefetch: u32,
    /// Events per batch (default 500).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// How long a partial batch waits for more events (default `100ms`).
    #[serde(default = "default_batch_timeout", with = "duration")]
    pub batch_timeout: Duration,
    /// Message bodies larger than this are dead-lettered (default 1048576, the service's limit).
    #[serde(default = "default_max_event_bytes")]
    pub max_event_bytes: usize,
    /// How often acknowledged positions are written (default `1s`).
    #[serde(default = "default_commit_interval", with = "duration")]
    pub commit_interval: Duration,
    /// How long each SAS token signed from the key lives (default `1h`); renewed before then.
    #[serde(default = "default_token_lifetime", with = "duration")]
    pub sas_token_lifetime: Duration,
    /// How long a partition taken by another receiver (`amqp:link:stolen`) is left alone before
    /// it is tried again (default `1m`).
    #[serde(default = "default_stolen_retry", with = "duration")]
    pub stolen_retry: Duration,
}

fn default_consumer_group() -> String {
    "$Default".into()
}

fn default_prefetch() -> u32 {
    300
}

fn default_batch_timeout() -> Duration {
    Duration::from_millis(100)
}

fn default_commit_interval() -> Duration {
    Duration::from_secs(1)
}

fn default_token_lifetime() -> Duration {
    Duration::from_secs(3600)
}

fn default_stolen_retry() -> Duration {
    Duration::from_secs(60)
}

impl EventHubsSourceConfig {
    /// The namespace, its credentials and the hub.
    fn namespace(&self) -> Result<(Namespace, String), String> {
        let (host, port, emulator, hub, auth) = match (&self.connection_string, &self.namespace) {
            (Some(text), None) => {
                if self.entra.is_some() {
                    return Err("set `connection_string` or `entra`, not both".into());
                }
                let parsed = ConnectionString::parse(text.expose())
                    .map_err(|error| format!("`connection_string`: {error}"))?;
                let auth = match parsed.access {
                    SharedAccess::Key { name, key } => NamespaceAuth::Key {
                        name,
                        key,
                        lifetime: self.sas_token_lifetime,
                    },
                    SharedAccess::Signature(token) => NamespaceAuth::Signature(token),
                };
                (
                    parsed.host,
                    parsed.port,
                    parsed.development_emulator,
                    parsed.hub,
                    auth,
                )
            }
            (None, Some(namespace)) => {
                let block = self
                    .entra
                    .as_ref()
                    .ok_or("`namespace` needs `entra` (or use `connection_string`)")?;
                let tokens = block
                    .app
                    .provider(self.http()?)
                    .map_err(|error| format!("`entra`: {error}"))?;
                let host = if namespace.contains('.') {
                    namespace.clone()
                } else {
                    format!("{namespace}.servicebus.windows.net")
                };
                (host, None, false, None, NamespaceAuth::Entra(tokens))
            }
            (Some(_), Some(_)) => {
                return Err("set `connection_string` or `namespace`, not both".into());
            }
            (None, None) => {
                return Err("set `connection_string`, or `namespace` with `entra`".into());
            }
        };
        let hub = self
            .hub
            .clone()
            .or(hub)
            .ok_or("no hub: set `hub`, or `EntityPath=` in the connection string")?;
        let tls = if emulator {
            None
        } else {
            let options = TlsOptions {
                ca_file: self.ca_file.clone(),
                ..TlsOptions::default()
            };
            Some(Arc::new(options.config()?))
        };
        let port = self
            .port
            .or(port)
            .unwrap_or(if emulator { 5672 } else { 5671 });
        Ok((
            Namespace {
                host,
                port,
                tls,
                auth,
            },
            hub,
        ))
    }

    fn http(&self) -> Result<reqwest::Client, String> {
        let tls = TlsOptions {
            ca_file: self.ca_file.clone(),
            ..TlsOptions::default()
        };
        crate::http_client::client_with(&tls, Duration::from_secs(10), Duration::from_secs(60))
    }

    fn start(&self, now: SystemTime) -> Result<StartPosition, String> {
        match self.start_position.as_deref().map(str::trim) {
            None | Some("earliest") => Ok(StartPosition::Earliest),
            Some("latest") => Ok(StartPosition::Latest),
            Some(text) => super::start_time::resolve(Some(text), now)
                .map(StartPosition::EnqueuedAfter)
                .map_err(|error| {
                    format!(
                        "{}, or `earliest` or `latest`",
                        error.replace("`start_time`", "`start_position`")
                    )
                }),
        }
    }
}

impl SourceConfig for EventHubsSourceConfig {
    fn check(&self) -> Result<(), String> {
        if let Some(block) = &self.entra {
            block
                .app
                .check()
                .map_err(|error| format!("`entra`: {error}"))?;
        }
        self.namespace()?;
        self.start(SystemTime::now())?;
        if self.consumer_group.is_empty() || self.consumer_group.len() > 50 {
            return Err("`consumer_group` must be 1 to 50 characters".into());
        }
        if self.prefetch == 0 {
            return Err("`prefetch` must be at least 1".into());
        }
        check_sizes(self.max_event_bytes, self.batch_size)
    }

    fn build(&self, cx: SourceContext) -> Result<ComponentTask, ComponentError> {
        self.check().map_err(ComponentError::Config)?;
        let (namespace, hub) = self.namespace().map_err(ComponentError::Config)?;
        let identity = HubIdentity {
            namespace: namespace.host.to_ascii_lowercase(),
            hub: hub.to_ascii_lowercase(),
            consumer_group: self.consumer_group.to_ascii_lowercase(),
        };
        let path = cx.component.checkpoint_path();
        let saved: HubCheckpoint = siemflow_core::checkpoint::load(&path)
            .map_err(|error| ComponentError::io("cannot read the event_hubs checkpoint", error))?
            .unwrap_or_default();
        let saved = if saved.identity == identity || saved.partitions.is_empty() {
            HubCheckpoint {
                identity,
                partitions: saved.partitions,
            }
        } else {
            tracing::warn!(
                checkpoint = %path.display(),
                "the checkpoint is for {}/{} ({}); starting at `start_position`",
                saved.identity.namespace,
                saved.identity.hub,
                saved.identity.consumer_group
            );
            HubCheckpoint {
                identity,
                partitions: Default::default(),
            }
        };
        let settings = Arc::new(ReaderSettings {
            namespace,
            hub,
            consumer_group: self.consumer_group.clone(),
            start: self
                .start(SystemTime::now())
                .map_err(ComponentError::Config)?,
            prefetch: self.prefetch,
            batch_size: self.batch_size,
            batch_timeout: self.batch_timeout,
            max_event_bytes: self.max_event_bytes,
            client_id: format!(
                "siemflow-{}-{}-{}",
                cx.component.pipeline,
                cx.component.id,
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
        });
        let only = self.partitions.clone();
        let commit_interval = self.commit_interval;
        let stolen_retry = self.stolen_retry;
        Ok(Box::pin(async move {
            let SourceContext {
                component,
                out,
                shutdown,
            } = cx;
            let (batches, read) = mpsc::channel(4);
            let supervisor = tokio::spawn(supervise(
                settings,
                only,
                saved.partitions.clone(),
                component.clone(),
                batches,
                shutdown.clone(),
                stolen_retry,
            ));
            let mut committer = HubCommitter::new(saved, Box::new(FileStore { path }));
            let driven = drive(
                read,
                out,
                &component,
                shutdown.clone(),
                commit_interval,
                &mut committer,
            )
            .await;
            shutdown.cancel();
            let _ = supervisor.await;
            driven
        }))
    }
}

/// Finds the partitions and keeps one reader running per partition.
async fn supervise(
    settings: Arc<ReaderSettings>,
    only: Option<Vec<String>>,
    saved: std::collections::BTreeMap<String, PartitionPosition>,
    component: ComponentContext,
    batches: mpsc::Sender<ReadBatch<checkpoint::Position>>,
    shutdown: CancellationToken,
    stolen_retry: Duration,
) {
    let Some(mut ids) = partition_ids(&settings, &component, &shutdown).await else {
        return;
    };
    if let Some(only) = &only {
        for id in only.iter().filter(|id| !ids.contains(id)) {
            component.metrics.error(
                "unknown_partition",
                &format_args!("the hub {} has no partition {id}", settings.hub),
            );
        }
        ids.retain(|id| only.contains(id));
    }
    tracing::info!(hub = %settings.hub, partitions = ?ids, "reading partitions");
    let mut readers = JoinSet::new();
    let start =
        |readers: &mut JoinSet<_>, id: String, from: Option<PartitionPosition>, wait: Duration| {
            let reader = PartitionReader::new(
                settings.clone(),
                &id,
                from,
                component.clone(),
                batches.clone(),
                shutdown.clone(),
            );
            let shutdown = shutdown.clone();
            readers.spawn(async move {
                tokio::select! {
                    () = shutdown.cancelled() => return (id, Ended::Stopped, None),
                    () = tokio::time::sleep(wait) => {}
                }
                let (ended, last) = reader.run().await;
                (id, ended, last)
            });
        };
    for id in ids {
        let from = saved.get(&id).cloned();
        start(&mut readers, id, from, Duration::ZERO);
    }
    while let Some(joined) = readers.join_next().await {
        match joined {
            Ok((id, Ended::Stolen, last)) if !shutdown.is_cancelled() => {
                start(&mut readers, id, last, stolen_retry);
            }
            Ok(_) => {}
            Err(error) => component.metrics.error(
                "reader_failed",
                &format_args!("a partition reader failed: {error}"),
            ),
        }
    }
}

/// The hub's partition ids, asked until the answer comes or the source stops.
async fn partition_ids(
    settings: &ReaderSettings,
    component: &ComponentContext,
    shutdown: &CancellationToken,
) -> Option<Vec<String>> {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(60));
    loop {
        let attempt = async {
            let mut connection = settings
                .namespace
                .connect(&format!("{}-management", settings.client_id))
                .await?;
            let ids = connection.partition_ids(&settings.hub).await;
            connection.close().await;
            ids
        };
        let failure = tokio::select! {
            () = shutdown.cancelled() => return None,
            answer = attempt => match answer {
                Ok(ids) => return Some(ids),
                Err(failure) => failure,
            },
        };
        let delay = backoff.next_delay();
        component.metrics.error(failure.kind().label(), &failure);
        tracing::warn!(retry_in = ?delay, "{failure}");
        tokio::select! {
            () = shutdown.cancelled() => return None,
            () = tokio::time::sleep(delay) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> Result<EventHubsSourceConfig, String> {
        let node =
            siemflow_core::config::yaml::parse(yaml).map_err(|error| format!("{error:?}"))?;
        siemflow_core::config::de::from_node(&node).map_err(|error| error.to_string())
    }

    #[test]
    fn takes_a_connection_string_or_a_namespace_with_entra() {
        let emulator = config(
            "{connection_string: 'Endpoint=sb://127.0.0.1:5673;SharedAccessKeyName=k;SharedAccessKey=s;UseDevelopmentEmulator=true;EntityPath=defender'}",
        )
        .unwrap();
        emulator.check().unwrap();
        let (namespace, hub) = emulator.namespace().unwrap();
        assert_eq!(
            (namespace.host.as_str(), namespace.port, hub.as_str()),
            ("127.0.0.1", 5673, "defender")
        );
        assert!(namespace.tls.is_none());

        let entra = config(
            "{namespace: contoso, hub: defender, entra: {tenant_id: t, client_id: c, client_secret: s}}",
        )
        .unwrap();
        entra.check().unwrap();
        let (namespace, _) = entra.namespace().unwrap();
        assert_eq!(namespace.host, "contoso.servicebus.windows.net");
        assert_eq!(namespace.port, 5671);
        assert!(namespace.tls.is_some());
        assert!(matches!(namespace.auth, NamespaceAuth::Entra(_)));

        for (yaml, message) in [
            ("{}", "set `connection_string`"),
            ("{namespace: contoso, hub: h}", "needs `entra`"),
            (
                "{connection_string: 'Endpoint=sb://h/;SharedAccessKeyName=k;SharedAccessKey=s'}",
                "no hub",
            ),
            (
                "{connection_string: 'Endpoint=sb://h/;SharedAccessKeyName=k;SharedAccessKey=s;EntityPath=x', start_position: soon}",
                "`start_position`",
            ),
            (
                "{connection_string: 'Endpoint=sb://h/;SharedAccessKeyName=k;SharedAccessKey=s;EntityPath=x', prefetch: 0}",
                "`prefetch`",
            ),
        ] {
            let error = config(yaml).unwrap().check().unwrap_err();
            assert!(error.contains(message), "{yaml}: {error}");
        }
    }

    #[test]
    fn start_positions() {
        let base = "connection_string: 'Endpoint=sb://h/;SharedAccessKeyName=k;SharedAccessKey=s;EntityPath=x'";
        let now = humantime::parse_rfc3339("2026-12-04T12:00:00Z").unwrap();
        let start = |extra: &str| {
            config(&format!("{{{base}{extra}}}"))
                .unwrap()
                .start(now)
                .unwrap()
        };
        assert_eq!(start(""), StartPosition::Earliest);
        assert_eq!(start(", start_position: latest"), StartPosition::Latest);
        assert_eq!(
            start(", start_position: 1h"),
            StartPosition::EnqueuedAfter(now - Duration::from_secs(3600))
        );
    }
}
