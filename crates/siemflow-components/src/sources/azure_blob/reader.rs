//! The reading half of the `azure_blob` source, on a blocking thread (its HTTP calls run on the
//! pipeline's runtime through a handle): list, read what was appended, frame, hand over.
//!
//! Requests per poll: one List Containers (unless `containers` is given), then per container one
//! listing of its tenant prefixes and one listing per day from the floor to today for each
//! tenant, then one ranged read per blob that grew (eight at a time). Blobs below the floor are not listed; the
//! floor moves up to the hour before which every blob is read to its end and past its grace.

use std::collections::HashMap;
use std::io::Cursor;
use std::time::{Duration, SystemTime};

use siemflow_core::codec::{Framer, Framing};
use siemflow_core::component::{ComponentContext, ComponentError};

use super::layout::{blob_hour, container_of, day_prefix, days, truncate};
use super::state::{BlobCheckpoint, BlobPosition, Position};
use crate::azure::storage::client::{BlobClient, BlobError};
use crate::azure::token::AuthError;
use crate::sources::json_stream::{Stopped, StreamName, StreamReader};

/// What the reader needs to know.
#[derive(Debug, Clone)]
pub struct ReaderSettings {
    /// Containers to read, or `None` to discover them by `container_prefix`.
    pub containers: Option<Vec<String>>,
    /// The table containers' common prefix.
    pub container_prefix: String,
    /// Only these tables, when given (lower case).
    pub tables: Option<Vec<String>>,
    /// Skip hours before this.
    pub start: SystemTime,
    /// Between polls.
    pub poll_interval: Duration,
    /// How long after its hour a blob may still grow.
    pub grace_period: Duration,
    /// Largest event.
    pub max_event_bytes: usize,
}

/// A blob being followed.
struct OpenBlob {
    framer: Framer,
    fetched: u64,
    etag: String,
    hour: SystemTime,
    name: StreamName,
}

impl OpenBlob {
    fn new(
        key: &str,
        offset: u64,
        etag: &str,
        hour: SystemTime,
        settings: &ReaderSettings,
    ) -> Self {
        Self {
            framer: Framer::new(Framing::Lines, settings.max_event_bytes, offset),
            fetched: offset,
            etag: etag.to_string(),
            hour,
            name: StreamName::new(key),
        }
    }
}

/// Blob reads in flight at once.
const CONCURRENT_READS: usize = 8;

/// Why a poll ended early.
enum End {
    /// The source is stopping.
    Stopped,
    /// The storage service or the identity platform refused the credentials themselves (a wrong
    /// key, an expired SAS, an app that cannot log in): trying again cannot help.
    Refused(String),
}

impl From<Stopped> for End {
    fn from(_: Stopped) -> Self {
        Self::Stopped
    }
}

/// Whether the credentials themselves were refused (as opposed to a missing permission, which
/// an administrator may grant while the source waits). Azure answers a bad signature with
/// `403 AuthenticationFailed`, Azurite with `403 AuthorizationFailure`; both say "Server failed
/// to authenticate the request". A malformed one is `400 InvalidAuthenticationInfo`.
fn refused(error: &BlobError) -> bool {
    match error {
        BlobError::Denied { code, message, .. } => {
            code == "AuthenticationFailed"
                || code == "InvalidAuthenticationInfo"
                || message.starts_with("Server failed to authenticate the request")
        }
        BlobError::Auth(AuthError::Rejected { .. }) => true,
        _ => false,
    }
}

/// Reads until shutdown, or until the credentials are refused.
pub(crate) fn run(
    client: &BlobClient,
    settings: &ReaderSettings,
    saved: &BlobCheckpoint,
    mut reader: StreamReader<Position>,
    component: &ComponentContext,
    runtime: &tokio::runtime::Handle,
) -> Result<(), ComponentError> {
    let mut floor = saved
        .floor_time()
        .map_or(settings.start, |floor| floor.max(settings.start));
    let mut open: HashMap<String, OpenBlob> = HashMap::new();
    loop {
        let before = client.requests();
        match poll(
            client,
            settings,
            saved,
            &mut reader,
            component,
            runtime,
            floor,
            &mut open,
        ) {
            Ok(Some(next)) => floor = floor.max(next),
            Ok(None) => {}
            Err(End::Stopped) => return Ok(()),
            Err(End::Refused(why)) => {
                return Err(ComponentError::Other(format!(
                    "Azure Storage refused the credentials ({why}); check the account key, the SAS token (its signature and expiry), or the Entra app's secret or certificate; a refusal is not retried"
                )));
            }
        }
        tracing::debug!(
            pipeline = %component.pipeline,
            component = %component.id,
            requests = client.requests() - before,
            followed = open.len(),
            floor = %humantime::format_rfc3339_seconds(floor),
            "poll done"
        );
        let wake = std::time::Instant::now() + settings.poll_interval;
        while std::time::Instant::now() < wake {
            if reader.is_shutting_down() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50).min(settings.poll_interval));
        }
    }
}

/// One poll; the new floor if the listing was complete.
#[expect(
    clippy::too_many_arguments,
    reason = "the reader's state, passed down from run"
)]
fn poll(
    client: &BlobClient,
    settings: &ReaderSettings,
    saved: &BlobCheckpoint,
    reader: &mut StreamReader<Position>,
    component: &ComponentContext,
    runtime: &tokio::runtime::Handle,
    floor: SystemTime,
    open: &mut HashMap<String, OpenBlob>,
) -> Result<Option<SystemTime>, End> {
    let now = SystemTime::now();
    let failed = |what: &str, error: BlobError| -> Result<(), End> {
        if refused(&error) {
            component
                .metrics
                .error("access_denied", &format_args!("{what}: {error}"));
            return Err(End::Refused(format!("{what}: {error}")));
        }
        if matches!(error, BlobError::Denied { .. }) {
            // A missing role or permission: an administrator may grant it while we wait.
            component.metrics.degraded(
                "access_denied",
                &format_args!("{what}: {error}; trying again every poll"),
            );
        }
        component.metrics.error(
            if matches!(error, BlobError::Denied { .. }) {
                "access_denied"
            } else {
                "storage_failed"
            },
            &format_args!("{what}: {error}; trying again next poll"),
        );
        Ok(())
    };
    let containers = match &settings.containers {
        Some(containers) => containers.clone(),
        None => match runtime.block_on(client.list_containers(&settings.container_prefix)) {
            Ok(names) => names,
            Err(error) => {
                failed("listing containers", error)?;
                return Ok(None);
            }
        },
    };
    let containers: Vec<String> = containers
        .into_iter()
        .filter(|name| {
            settings.tables.as_ref().is_none_or(|tables| {
                tables
                    .iter()
                    .any(|table| *name == container_of(&settings.container_prefix, table))
            })
        })
        .collect();
    let mut listed: Vec<(String, crate::azure::storage::listing::Blob)> = Vec::new();
    let mut complete = true;
    for container in &containers {
        let tenants = match runtime.block_on(client.list_blobs(container, "tenantId=", Some("/"))) {
            Ok((_, prefixes)) => prefixes,
            Err(error) => {
                failed(&format!("listing {container}"), error)?;
                complete = false;
                continue;
            }
        };
        for tenant in &tenants {
            for day in days(floor, now) {
                let prefix = day_prefix(tenant, day);
                match runtime.block_on(client.list_blobs(container, &prefix, None)) {
                    Ok((blobs, _)) => {
                        listed.extend(blobs.into_iter().map(|blob| (container.clone(), blob)))
                    }
                    Err(error) => {
                        failed(&format!("listing {container}/{prefix}"), error)?;
                        complete = false;
                    }
                }
            }
        }
    }
    // The blobs that grew, read a few at a time (a backfill reads every blob once).
    let mut sizes: Vec<(String, SystemTime, u64)> = Vec::new();
    let mut reads: Vec<(String, String, String, u64)> = Vec::new();
    let mut behind = 0u64;
    for (container, blob) in listed {
        let Some(hour) = blob_hour(&blob.name) else {
            continue;
        };
        if hour < floor {
            continue;
        }
        let key = format!("{container}/{}", blob.name);
        let size = blob.properties.content_length;
        let entry = open.entry(key.clone()).or_insert_with(|| {
            let offset = saved.blobs.get(&key).map_or(0, |position| position.offset);
            OpenBlob::new(&key, offset, &blob.properties.etag, hour, settings)
        });
        if size < entry.fetched {
            component.metrics.error(
                "blob_rewritten",
                &format_args!(
                    "{key} shrank from {} to {size} bytes (ETag {}): it was rewritten; reading it from the start",
                    entry.fetched, blob.properties.etag
                ),
            );
            *entry = OpenBlob::new(&key, 0, &blob.properties.etag, hour, settings);
        }
        if size > entry.fetched {
            behind += size - entry.fetched;
            reads.push((key.clone(), container, blob.name, entry.fetched));
        }
        sizes.push((key, hour, size));
    }
    component
        .metrics
        .lag_bytes(i64::try_from(behind).unwrap_or(i64::MAX));
    for chunk in reads.chunks(CONCURRENT_READS) {
        let results =
            runtime.block_on(futures::future::join_all(chunk.iter().map(
                |(_, container, name, start)| client.read_from(container, name, *start),
            )));
        for ((key, ..), result) in chunk.iter().zip(results) {
            match result {
                Ok(read) => {
                    let Some(entry) = open.get_mut(key) else {
                        continue;
                    };
                    entry.fetched += read.bytes.len() as u64;
                    entry.etag = read.etag;
                    let etag = entry.etag.clone();
                    let position_key = key.clone();
                    let position = move |offset| Position::Blob {
                        key: position_key.clone(),
                        position: BlobPosition {
                            offset,
                            etag: etag.clone(),
                        },
                    };
                    // The bytes are in memory: reading them cannot fail.
                    let _ = reader.read_to_end(
                        &mut Cursor::new(read.bytes),
                        &mut entry.framer,
                        &entry.name,
                        false,
                        &position,
                    )?;
                }
                Err(BlobError::NotFound) => {
                    component.metrics.error(
                        "blob_vanished",
                        &format_args!("{key} was listed but is gone; forgetting it"),
                    );
                    open.remove(key);
                }
                Err(error) => {
                    failed(&format!("reading {key}"), error)?;
                    complete = false;
                }
            }
        }
    }
    let mut unsettled: Option<SystemTime> = None;
    for (key, hour, size) in sizes {
        let settled = open.get(&key).is_none_or(|entry| {
            entry.fetched >= size
                && entry.framer.buffered() == 0
                && entry.hour + Duration::from_secs(3600) + settings.grace_period < now
        });
        if !settled {
            unsettled = Some(unsettled.map_or(hour, |earliest| earliest.min(hour)));
        }
    }
    if !complete {
        return Ok(None);
    }
    component.metrics.recovered();
    let settled_before = truncate(
        now.checked_sub(Duration::from_secs(3600) + settings.grace_period)
            .unwrap_or(SystemTime::UNIX_EPOCH),
        Duration::from_secs(3600),
    );
    let next = unsettled.map_or(settled_before, |hour| hour.min(settled_before));
    if next > floor {
        reader.mark(Position::Floor(next))?;
        open.retain(|_, entry| entry.hour >= next);
        return Ok(Some(next));
    }
    Ok(None)
}
