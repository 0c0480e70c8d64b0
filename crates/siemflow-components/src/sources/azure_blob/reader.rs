//! The reading half of the `azure_blob` source, on a blocking thread (its HTTP calls run on the
//! pipeline's runtime through a handle): list, read what was appended, frame, hand over.
//!
//! Requests per poll: one List Containers (unless `containers` is given), then per container one
//! listing of its tenant prefixes and one listing per day from the floor to today for each
//! tenant, then one ranged read per blob that grew (eight at a time). The floor moves up to the
//! hour before which every blob is read to its end and past its grace.
//!
//! Late blobs: every [`LOOK_BACK_EVERY`]th poll lists the days back to `lookback` (48 hours by
//! default) instead of the floor, so a blob that appears or grows for an hour the source has
//! passed (a delayed export, a new table container with past hours, a backfill copied in,
//! listings that failed for a while) is read; the offsets of settled blobs are kept that far
//! back, so a settled blob listed again is not read again. Every [`SWEEP_EVERY`]th poll (an hour
//! at the default `poll_interval`) lists each tenant's blobs whole and names any blob past the
//! look-back that appeared or grew since the last sweep (`blob_too_late`): too late to read, but
//! never dropped without a word.

use std::collections::{HashMap, HashSet};
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
    /// How far back blobs that appear late are still read.
    pub lookback: Duration,
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

/// Every how many polls the listing reaches back to `lookback` rather than the floor.
pub const LOOK_BACK_EVERY: u64 = 10;

/// Every how many polls each tenant's blobs are listed whole, for blobs past the look-back.
pub const SWEEP_EVERY: u64 = 120;

/// A sweep names blobs modified up to this long before the last sweep (clocks differ).
const CLOCK_SKEW: Duration = Duration::from_secs(600);

/// What the reader follows from poll to poll.
struct Follow {
    /// Hours below it are read to their end and past their grace.
    floor: SystemTime,
    /// Blobs being read.
    open: HashMap<String, OpenBlob>,
    /// Blobs read to their end below the floor: where they ended, kept through the look-back.
    settled: HashMap<String, (SystemTime, u64)>,
    /// Polls so far.
    polls: u64,
    /// When the last sweep ran (or the source started).
    swept: SystemTime,
    /// Blobs already named as too late in this run.
    reported: HashSet<String>,
}

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
    let floor = saved
        .floor_time()
        .map_or(settings.start, |floor| floor.max(settings.start));
    let mut follow = Follow {
        floor,
        open: HashMap::new(),
        settled: HashMap::new(),
        polls: 0,
        swept: saved.swept_time().unwrap_or_else(SystemTime::now),
        reported: HashSet::new(),
    };
    loop {
        let before = client.requests();
        match poll(
            client,
            settings,
            saved,
            &mut reader,
            component,
            runtime,
            &mut follow,
        ) {
            Ok(()) => {}
            Err(End::Stopped) => return Ok(()),
            Err(End::Refused(why)) => {
                return Err(ComponentError::Other(format!(
                    "Azure Storage refused the credentials ({why}); check the account key, the SAS token (its signature and expiry), or the Entra app's secret or certificate; a refusal is not retried"
                )));
            }
        }
        follow.polls += 1;
        tracing::debug!(
            pipeline = %component.pipeline,
            component = %component.id,
            requests = client.requests() - before,
            followed = follow.open.len(),
            floor = %humantime::format_rfc3339_seconds(follow.floor),
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

/// One poll: list, read what grew, move the floor if the listing was complete, sweep now and
/// then.
fn poll(
    client: &BlobClient,
    settings: &ReaderSettings,
    saved: &BlobCheckpoint,
    reader: &mut StreamReader<Position>,
    component: &ComponentContext,
    runtime: &tokio::runtime::Handle,
    follow: &mut Follow,
) -> Result<(), End> {
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
                return Ok(());
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
    // Hours from here on are read; the floor most polls, the whole look-back now and then.
    let look_back = settings
        .start
        .max(now.checked_sub(settings.lookback).unwrap_or(settings.start));
    let from = if follow.polls.is_multiple_of(LOOK_BACK_EVERY) {
        follow.floor.min(look_back)
    } else {
        follow.floor
    };
    let mut listed: Vec<(String, crate::azure::storage::listing::Blob)> = Vec::new();
    let mut tenants_of: Vec<(String, Vec<String>)> = Vec::new();
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
            for day in days(from, now) {
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
        tenants_of.push((container.clone(), tenants));
    }
    // The blobs that grew, read a few at a time (a backfill reads every blob once).
    let mut sizes: Vec<(String, SystemTime, u64)> = Vec::new();
    let mut reads: Vec<(String, String, String, u64)> = Vec::new();
    let mut behind = 0u64;
    for (container, blob) in listed {
        let Some(hour) = blob_hour(&blob.name) else {
            continue;
        };
        if hour < from {
            continue;
        }
        let key = format!("{container}/{}", blob.name);
        let size = blob.properties.content_length;
        if !follow.open.contains_key(&key) {
            let known = follow
                .settled
                .get(&key)
                .map(|(_, offset)| *offset)
                .or_else(|| saved.blobs.get(&key).map(|position| position.offset));
            if known == Some(size) {
                continue;
            }
            if hour < follow.floor {
                tracing::warn!(
                    blob = %key,
                    bytes = size - known.unwrap_or(0).min(size),
                    "a blob for an hour this source had passed appeared or grew; reading it"
                );
            }
            let offset = known.filter(|offset| *offset <= size).unwrap_or(0);
            follow.settled.remove(&key);
            follow.open.insert(
                key.clone(),
                OpenBlob::new(&key, offset, &blob.properties.etag, hour, settings),
            );
        }
        let Some(entry) = follow.open.get_mut(&key) else {
            continue;
        };
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
                    let Some(entry) = follow.open.get_mut(key) else {
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
                    follow.open.remove(key);
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
        let settled = follow.open.get(&key).is_none_or(|entry| {
            entry.fetched >= size
                && entry.framer.buffered() == 0
                && entry.hour + Duration::from_secs(3600) + settings.grace_period < now
        });
        if !settled {
            unsettled = Some(unsettled.map_or(hour, |earliest| earliest.min(hour)));
        }
    }
    if !complete {
        return Ok(());
    }
    component.metrics.recovered();
    let settled_before = truncate(
        now.checked_sub(Duration::from_secs(3600) + settings.grace_period)
            .unwrap_or(SystemTime::UNIX_EPOCH),
        Duration::from_secs(3600),
    );
    let next = unsettled.map_or(settled_before, |hour| hour.min(settled_before));
    // Settled blobs leave the read set but their ends are kept through the look-back (and a
    // day more, so that a blob on the edge is never taken for new).
    let keep_from = look_back
        .checked_sub(Duration::from_secs(86_400))
        .unwrap_or(look_back);
    let settled: Vec<String> = follow
        .open
        .iter()
        .filter(|(_, entry)| entry.hour < next && entry.framer.buffered() == 0)
        .map(|(key, _)| key.clone())
        .collect();
    for key in settled {
        if let Some(entry) = follow.open.remove(&key) {
            follow.settled.insert(key, (entry.hour, entry.fetched));
        }
    }
    follow.settled.retain(|_, (hour, _)| *hour >= keep_from);
    if next > follow.floor {
        reader.mark(Position::Floor {
            floor: next,
            keep_from,
        })?;
        follow.floor = next;
    }
    if follow.polls % SWEEP_EVERY == SWEEP_EVERY - 1 {
        let reach = follow.floor.min(look_back);
        sweep(
            client,
            saved,
            reader,
            component,
            runtime,
            follow,
            &tenants_of,
            reach,
            now,
        )?;
    }
    Ok(())
}

/// Lists each tenant's blobs whole and names those below `reach` (the oldest hour the source
/// still reads) that appeared or grew since the last sweep: too late to be read, never ignored.
#[expect(
    clippy::too_many_arguments,
    reason = "the reader's state, passed down from poll"
)]
fn sweep(
    client: &BlobClient,
    saved: &BlobCheckpoint,
    reader: &mut StreamReader<Position>,
    component: &ComponentContext,
    runtime: &tokio::runtime::Handle,
    follow: &mut Follow,
    tenants_of: &[(String, Vec<String>)],
    reach: SystemTime,
    now: SystemTime,
) -> Result<(), End> {
    let since = follow.swept.checked_sub(CLOCK_SKEW).unwrap_or(follow.swept);
    for (container, tenants) in tenants_of {
        for tenant in tenants {
            let blobs = match runtime.block_on(client.list_blobs(container, tenant, None)) {
                Ok((blobs, _)) => blobs,
                Err(error) => {
                    component.metrics.error(
                        "storage_failed",
                        &format_args!(
                            "sweeping {container}/{tenant}: {error}; trying again at the next sweep"
                        ),
                    );
                    return Ok(());
                }
            };
            for blob in blobs {
                let Some(hour) = blob_hour(&blob.name) else {
                    continue;
                };
                let key = format!("{container}/{}", blob.name);
                let recent = blob
                    .properties
                    .modified()
                    .is_some_and(|modified| modified > since);
                let known = follow
                    .settled
                    .get(&key)
                    .map(|(_, offset)| *offset)
                    .or_else(|| saved.blobs.get(&key).map(|position| position.offset));
                if hour >= reach
                    || !recent
                    || known == Some(blob.properties.content_length)
                    || !follow.reported.insert(key.clone())
                {
                    continue;
                }
                component.metrics.error(
                    "blob_too_late",
                    &format_args!(
                        "{key} ({} bytes, for {}) appeared or grew past the look-back of this source: it is not read; raise `lookback` or `start_time` and restart to read it",
                        blob.properties.content_length,
                        humantime::format_rfc3339_seconds(hour)
                    ),
                );
            }
        }
    }
    follow.swept = now;
    reader.mark(Position::Swept(now))?;
    Ok(())
}
