//! `type: event_hubs`: the Defender streaming API through Azure Event Hubs, over AMQP 1.0.
//!
//! The source asks `$management` for the hub's partitions and runs one [`partition`] reader per
//! partition, each on its own connection, starting after its checkpoint (or at
//! `start_position`). Each message body is a Defender `{"records":[...]}` envelope, split into
//! one event per record typed by its `category`; other JSON bodies flow as one event, and bodies
//! that are not JSON are dead-lettered. Batches of every partition go downstream through one
//! driver that acknowledges them in send order, so a partition's [`checkpoint`] only moves over
//! events that were delivered, with nothing undelivered before them.

mod balance;
mod blob_commits;
mod blob_store;
pub mod checkpoint;
pub(crate) mod message;
mod partition;
mod supervisor;

use super::start_time::StartTime;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use siemflow_core::component::{
    ComponentError, ComponentTask, Reach, ReachCheck, SourceConfig, SourceContext,
};
use siemflow_core::config::duration;
use siemflow_core::secret::SecretString;
use tokio::sync::mpsc;

use self::balance::Balancer;
use self::blob_commits::blob_commits;
use self::blob_store::BlobCheckpointStore;
use self::checkpoint::{CheckpointsConfig, FileStore, HubCheckpoint, HubCommitter, HubIdentity};
use self::partition::{ReaderSettings, StartPosition};
use self::supervisor::{Assignment, supervise};
use super::json_stream::{
    check_sizes, default_batch_size, default_commit_interval, default_max_event_bytes, drive,
};
use crate::azure::credentials::EntraAppBlock;
use crate::azure::event_hubs::connection_string::{ConnectionString, SharedAccess};
use crate::azure::event_hubs::namespace::{Namespace, NamespaceAuth};
use crate::azure::storage::reach;
use crate::tls::TlsOptions;

/// Reads a hub's partitions.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventHubsSourceConfig {
    /// A namespace or hub policy with the Listen claim,
    /// `Endpoint=sb://...;SharedAccessKeyName=...;SharedAccessKey=...;EntityPath=<hub>`;
    /// `EntityPath` names the hub, and `UseDevelopmentEmulator=true` connects without TLS.
    #[serde(default)]
    pub connection_string: Option<SecretString>,
    /// The namespace host (`contoso.servicebus.windows.net`, or just `contoso`), with `entra`.
    #[serde(default)]
    pub namespace: Option<String>,
    /// The hub (default: the connection string's `EntityPath`).
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
    pub start_position: StartPositionOption,
    /// Read only these partition ids (default: all).
    #[serde(default)]
    pub partitions: Option<Vec<String>>,
    /// The port (default 5671 with TLS, 443 for `websockets`, 5672 for the development
    /// emulator).
    #[serde(default)]
    pub port: Option<u16>,
    /// `amqp` (default), or `websockets`: AMQP over WebSockets
    /// (`wss://<namespace>/$servicebus/websocket`), for networks that let only HTTPS out.
    #[serde(default)]
    pub transport: Transport,
    /// PEM CA certificates to trust instead of the system's.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Messages per partition the service may send ahead of the pipeline, the link credit (default
    /// 300).
    #[serde(default = "default_prefetch")]
    pub prefetch: u32,
    /// Events per batch (default 500).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// How long a partial batch waits for more events (default `100ms`).
    #[schemars(with = "String")]
    #[serde(default = "default_batch_timeout", with = "duration")]
    pub batch_timeout: Duration,
    /// Message bodies larger than this are dead-lettered (default 1048576, the service's limit).
    #[serde(default = "default_max_event_bytes")]
    pub max_event_bytes: usize,
    /// How often acknowledged positions are written (default `100ms`).
    #[schemars(with = "String")]
    #[serde(default = "default_commit_interval", with = "duration")]
    pub commit_interval: Duration,
    /// How long each SAS token signed from the key lives (default `1h`); renewed before then.
    #[schemars(with = "String")]
    #[serde(default = "default_token_lifetime", with = "duration")]
    pub sas_token_lifetime: Duration,
    /// How long a partition taken by another receiver (`amqp:link:stolen`) is left alone before
    /// it is tried again (default `1m`).
    #[schemars(with = "String")]
    #[serde(default = "default_stolen_retry", with = "duration")]
    pub stolen_retry: Duration,
    /// How often each partition reader asks `$management` how far the partition goes, for
    /// `siemflow_source_lag_events` (default `30s`; the service allows 50 such reads a second).
    #[schemars(with = "String")]
    #[serde(default = "default_lag_interval", with = "duration")]
    pub lag_interval: Duration,
    /// Where positions are kept: `--data-dir` (default), or a blob container shared by several
    /// instances, which then split the partitions.
    #[serde(default)]
    pub checkpoints: CheckpointsConfig,
}

/// What the source's AMQP connections run over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// AMQP over TCP (TLS on 5671).
    #[default]
    Amqp,
    /// AMQP over WebSockets (TLS on 443).
    Websockets,
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

fn default_token_lifetime() -> Duration {
    Duration::from_secs(3600)
}

fn default_stolen_retry() -> Duration {
    Duration::from_secs(60)
}

fn default_lag_interval() -> Duration {
    Duration::from_secs(30)
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
        let websockets = self.transport == Transport::Websockets;
        let port = self.port.or(port).unwrap_or(match (emulator, websockets) {
            (true, _) => 5672,
            (false, true) => 443,
            (false, false) => 5671,
        });
        Ok((
            Namespace {
                host,
                port,
                tls,
                websockets,
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

    fn start(&self, now: SystemTime) -> StartPosition {
        match self.start_position {
            StartPositionOption::Earliest => StartPosition::Earliest,
            StartPositionOption::Latest => StartPosition::Latest,
            StartPositionOption::Time(start) => StartPosition::EnqueuedAfter(start.resolve(now)),
        }
    }
}

/// `start_position:` as written: `earliest` (default), `latest`, or a [`StartTime`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartPositionOption {
    /// The oldest event the hub keeps.
    #[default]
    Earliest,
    /// Only events enqueued from now on.
    Latest,
    /// Events enqueued after this time.
    Time(StartTime),
}

impl<'de> Deserialize<'de> for StartPositionOption {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.trim() {
            "earliest" => Ok(Self::Earliest),
            "latest" => Ok(Self::Latest),
            other => StartTime::parse(other).map(Self::Time).map_err(|error| {
                serde::de::Error::custom(format!(
                    "`start_position`: {error}, or `earliest` or `latest`"
                ))
            }),
        }
    }
}

/// The `--data-dir` checkpoint, if it is for this hub and consumer group.
fn file_checkpoint(
    path: &std::path::Path,
    identity: HubIdentity,
) -> Result<HubCheckpoint, ComponentError> {
    let saved: HubCheckpoint = siemflow_core::checkpoint::load(path)
        .map_err(|error| ComponentError::io("cannot read the event_hubs checkpoint", error))?
        .unwrap_or_default();
    if saved.identity == identity || saved.partitions.is_empty() {
        return Ok(HubCheckpoint {
            identity,
            partitions: saved.partitions,
        });
    }
    tracing::warn!(
        checkpoint = %path.display(),
        "the checkpoint is for {}/{} ({}); starting at `start_position`",
        saved.identity.namespace,
        saved.identity.hub,
        saved.identity.consumer_group
    );
    Ok(HubCheckpoint {
        identity,
        partitions: Default::default(),
    })
}

/// The committer, and the task writing what it commits (blob store).
struct Stores {
    committer: HubCommitter,
    writer: Option<tokio::task::JoinHandle<()>>,
}

/// Runs the readers and drives their batches downstream, committing as they are
/// acknowledged; with the blob store, gives the partitions up at the end.
async fn run(
    cx: SourceContext,
    settings: Arc<ReaderSettings>,
    only: Option<Vec<String>>,
    assignment: Assignment,
    stores: Stores,
    commit_interval: Duration,
) -> Result<(), ComponentError> {
    let Stores {
        mut committer,
        writer,
    } = stores;
    let SourceContext {
        component,
        out,
        shutdown,
    } = cx;
    let (batches, read) = mpsc::channel(4);
    let supervisor = tokio::spawn(tracing::Instrument::in_current_span(supervise(
        settings,
        only,
        assignment,
        component.clone(),
        batches,
        shutdown.clone(),
    )));
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
    let supervised = supervisor.await.ok();
    // The last positions go to the store before the partitions are given up.
    drop(committer);
    if let Some(writer) = writer {
        let _ = writer.await;
    }
    let (balancer, refused) = supervised.map_or((None, None), |s| (s.balancer, s.refused));
    if let Some(balancer) = balancer {
        balancer.relinquish().await;
    }
    if let Some(refused) = refused {
        return Err(ComponentError::Other(format!(
            "the Event Hubs namespace refused the credentials ({refused}); check the connection string's key and policy name (it needs the Listen claim), or the app's Azure Event Hubs Data Receiver role; a refusal is not retried"
        )));
    }
    driven
}

impl SourceConfig for EventHubsSourceConfig {
    fn resolve_paths(&mut self, base: &std::path::Path) {
        siemflow_core::config::paths::resolve_opt(base, &mut self.ca_file);
        if let Some(entra) = &mut self.entra {
            entra.resolve_paths(base);
        }
        self.checkpoints.resolve_paths(base);
    }

    fn check(&self) -> Result<(), String> {
        if let Some(block) = &self.entra {
            block
                .app
                .check()
                .map_err(|error| format!("`entra`: {error}"))?;
        }
        self.namespace()?;
        if self.consumer_group.is_empty() || self.consumer_group.len() > 50 {
            return Err("`consumer_group` must be 1 to 50 characters".into());
        }
        if self.prefetch == 0 {
            return Err("`prefetch` must be at least 1".into());
        }
        if self.lag_interval < Duration::from_secs(1) {
            return Err("`lag_interval` must be at least 1s".into());
        }
        self.checkpoints.check()?;
        check_sizes(self.max_event_bytes, self.batch_size)
    }

    fn reach(&self) -> ReachCheck<'_> {
        Box::pin(async move {
            let (namespace, hub) = self.namespace()?;
            let mut connection = namespace
                .connect("siemflow-validate")
                .await
                .map_err(|failure| failure.to_string())?;
            let ids = connection.partition_ids(&hub).await;
            connection.close().await;
            let ids = ids.map_err(|failure| failure.to_string())?;
            let mut reached = format!(
                "{}:{}: hub `{hub}` has {} partition(s) ({})",
                namespace.host,
                namespace.port,
                ids.len(),
                ids.join(", ")
            );
            if let Some((client, container)) = self.checkpoints.blob()? {
                let listed = reach::container(&client, &container, true).await?;
                reached.push_str("; checkpoints: ");
                reached.push_str(&listed);
            }
            Ok(Reach::Reached(reached))
        })
    }

    fn build(&self, cx: SourceContext) -> Result<ComponentTask, ComponentError> {
        self.check().map_err(ComponentError::Config)?;
        let (namespace, hub) = self.namespace().map_err(ComponentError::Config)?;
        let identity = HubIdentity {
            namespace: namespace.host.to_ascii_lowercase(),
            hub: hub.to_ascii_lowercase(),
            consumer_group: self.consumer_group.to_ascii_lowercase(),
        };
        let settings = Arc::new(ReaderSettings {
            namespace,
            hub,
            consumer_group: self.consumer_group.clone(),
            start: self.start(SystemTime::now()),
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
            stolen_retry: self.stolen_retry,
            lag_interval: self.lag_interval,
        });
        let only = self.partitions.clone();
        let commit_interval = self.commit_interval;
        match self.checkpoints.blob().map_err(ComponentError::Config)? {
            None => {
                let path = cx.component.checkpoint_path();
                let saved = file_checkpoint(&path, identity)?;
                let assignment = Assignment::All(saved.partitions.clone());
                let stores = Stores {
                    committer: HubCommitter::new(saved, Box::new(FileStore { path })),
                    writer: None,
                };
                Ok(Box::pin(run(
                    cx,
                    settings,
                    only,
                    assignment,
                    stores,
                    commit_interval,
                )))
            }
            Some((client, container)) => {
                let store = BlobCheckpointStore::new(client, &container, &identity);
                let me = uuid::Uuid::new_v4().to_string();
                tracing::info!(
                    pipeline = %cx.component.pipeline,
                    component = %cx.component.id,
                    owner = %me,
                    "partition ownership and checkpoints in blob container {container}"
                );
                let balancer = Balancer::new(store.clone(), me, self.checkpoints.ownership_expiry);
                let (commits, writer) =
                    blob_commits(store.clone(), balancer.owned(), cx.component.clone());
                let committer = HubCommitter::new(
                    HubCheckpoint {
                        identity,
                        partitions: Default::default(),
                    },
                    Box::new(commits),
                );
                let assignment = Assignment::Balanced(balancer, self.checkpoints.balance_interval);
                Ok(Box::pin(async move {
                    if let Err(error) = store.prepare().await {
                        tracing::warn!(
                            pipeline = %cx.component.pipeline,
                            component = %cx.component.id,
                            "could not create blob container {container} ({error}); assuming it exists"
                        );
                    }
                    let writing = tokio::spawn(tracing::Instrument::in_current_span(writer));
                    let stores = Stores {
                        committer,
                        writer: Some(writing),
                    };
                    run(cx, settings, only, assignment, stores, commit_interval).await
                }))
            }
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
        let start = |extra: &str| config(&format!("{{{base}{extra}}}")).unwrap().start(now);
        assert_eq!(start(""), StartPosition::Earliest);
        assert_eq!(start(", start_position: latest"), StartPosition::Latest);
        assert_eq!(
            start(", start_position: 1h"),
            StartPosition::EnqueuedAfter(now - Duration::from_secs(3600))
        );
        let soon = config(&format!("{{{base}, start_position: soon}}")).unwrap_err();
        assert!(
            soon.contains(
                "duration such as `7d` is expected, not `soon`, or `earliest` or `latest`"
            ),
            "{soon}"
        );
    }
}

siemflow_core::string_option_schema!(StartPositionOption);
