//! One `defender_hunting` source at work: query a window, send its rows, wait for their
//! acknowledgement, move the window, sleep.
//!
//! Each poll covers the time from the last acknowledged window's end to now, in windows of at
//! most `max_window`; each window `(from, to]` is queried from `from - overlap`, because
//! advanced hunting rows land minutes after their `Timestamp`: the rows of the overlap that
//! were delivered before are recognised by their digest and dropped. The window's end is stored
//! only once every row of it was acknowledged, so after a crash the window is queried again
//! (at least once; what was already delivered in it comes again, at most one window's rows).
//!
//! The API cuts a result at 100,000 rows or 50 MB without saying so: a result that reaches
//! either cap (`result_row_limit`, `result_size_limit`), or that Graph refuses as too large, is
//! thrown away and its window queried again as two halves, down to one second. The calls spend
//! the app's hunting quota (45 a minute per tenant by default); a 429 waits for its
//! `Retry-After`, or the wait its message names, or the end of the 15-minute CPU cycle. A query
//! Graph refuses (a KQL error, 400) stops the source with Microsoft's message.

use std::borrow::Cow;
use std::collections::HashSet;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::Method;
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;
use siemflow_core::checkpoint;
use siemflow_core::component::{ComponentContext, ComponentError, SourceContext, SourceSender};
use siemflow_core::event::{Event, EventId, EventMetadata};
use tokio_util::sync::CancellationToken;
use xxhash_rust::xxh3::xxh3_128;

use super::query;
use super::state::{HuntingState, micros};
use crate::defender_api::client::{ApiClient, ApiError, CallContext};
use crate::sources::acked_batch::{Gathering, Sent};
use crate::sources::poll_health::{GIVE_UP_AFTER, PollEnd as Cut, PollHealth};

/// How the source queries.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The user's KQL, without a time filter.
    pub query: String,
    /// `AdvancedHunting-<Table>` when the query's table is known.
    pub category: Option<Arc<str>>,
    /// The tenant, for the envelope's `tenantId`.
    pub tenant: String,
    /// Between polls.
    pub interval: Duration,
    /// Where the first window starts.
    pub start: SystemTime,
    /// How far before each window's start to read again.
    pub overlap: Duration,
    /// The longest window one query covers.
    pub max_window: Duration,
    /// A result with this many rows is taken as cut.
    pub row_limit: usize,
    /// A result with this many bytes of rows is taken as cut.
    pub size_limit: usize,
    /// Events per batch.
    pub batch_size: usize,
}

/// Advanced hunting keeps 30 days; a window is not started closer than this to its edge.
const RETENTION: Duration = Duration::from_secs(30 * 24 * 3600 - 3600);

/// The narrowest window the source splits a cut result into.
const NARROWEST: Duration = Duration::from_secs(1);

/// The path of the API.
const PATH: &str = "/v1.0/security/runHuntingQuery";

/// Runs the source until shutdown or a fatal error.
pub async fn run(
    client: ApiClient,
    settings: Settings,
    cx: SourceContext,
) -> Result<(), ComponentError> {
    let SourceContext {
        component,
        mut out,
        shutdown,
    } = cx;
    let path = component.checkpoint_path();
    let mut state: HuntingState = checkpoint::load(&path)
        .map_err(|error| ComponentError::io("cannot read the source's checkpoint", error))?
        .unwrap_or_default();
    let hunter = Hunter {
        client: &client,
        settings: &settings,
        component: &component,
        shutdown: &shutdown,
        origin: component.origin(),
        event_type: Arc::from(settings.category.as_deref().unwrap_or("HuntingResult")),
    };
    let mut health = PollHealth::start(settings.interval, &component.metrics);
    loop {
        let outcome = hunter.poll(&mut out, &mut state, &path).await;
        if let ControlFlow::Break(end) = health.after(&component.metrics, outcome) {
            return end;
        }
        if !health.wait(&shutdown).await {
            return Ok(());
        }
    }
}

struct Hunter<'a> {
    client: &'a ApiClient,
    settings: &'a Settings,
    component: &'a ComponentContext,
    shutdown: &'a CancellationToken,
    origin: Arc<siemflow_core::event::Origin>,
    event_type: Arc<str>,
}

/// One row of a result.
pub(crate) struct Row {
    pub(crate) body: Bytes,
    digest: String,
    timestamp: i64,
}

#[derive(Deserialize)]
struct Answer<'a> {
    #[serde(borrow)]
    results: Vec<&'a RawValue>,
}

#[derive(Deserialize, Default)]
struct RowTime<'a> {
    #[serde(borrow, default, rename = "Timestamp")]
    timestamp: Option<Cow<'a, str>>,
}

/// The rows of an advanced hunting answer, with the bytes of all rows and of the largest one.
/// A row without a readable `Timestamp` is placed at `to`, the window's end.
pub(crate) fn read_rows(
    answer: &Bytes,
    to: SystemTime,
) -> Result<(Vec<Row>, usize, usize), serde_json::Error> {
    let parsed: Answer<'_> = serde_json::from_slice(answer)?;
    let mut bytes = 0usize;
    let mut largest = 0usize;
    let rows = parsed
        .results
        .iter()
        .map(|raw| {
            let text = raw.get();
            bytes += text.len();
            largest = largest.max(text.len());
            let time: RowTime<'_> = serde_json::from_str(text).unwrap_or_default();
            let timestamp = time
                .timestamp
                .as_deref()
                .and_then(|t| humantime::parse_rfc3339_weak(t.trim_end_matches('Z')).ok())
                .map_or_else(|| micros(to), micros);
            Row {
                body: answer.slice_ref(text.as_bytes()),
                digest: format!("{:032x}", xxh3_128(text.as_bytes())),
                timestamp,
            }
        })
        .collect();
    Ok((rows, bytes, largest))
}

/// What one query gave.
enum Outcome {
    /// Every row of the window.
    Complete(Vec<Row>),
    /// The API cut the result (why).
    Cut(Vec<Row>, String),
}

impl Hunter<'_> {
    async fn poll(
        &self,
        out: &mut SourceSender,
        state: &mut HuntingState,
        path: &Path,
    ) -> Result<(), Cut> {
        let now = SystemTime::now();
        let mut from = state.window_start(self.settings.start);
        let oldest = now.checked_sub(RETENTION).unwrap_or(now);
        if from < oldest {
            self.component.metrics.error(
                "window_expired",
                &format_args!(
                    "advanced hunting keeps 30 days: rows from {} to {} can no longer be read; starting at {}",
                    humantime::format_rfc3339_seconds(from),
                    humantime::format_rfc3339_seconds(oldest),
                    humantime::format_rfc3339_seconds(oldest)
                ),
            );
            from = oldest;
        }
        while from < now {
            let to = (from + self.settings.max_window).min(now);
            let lower = match state.window_end {
                Some(_) => from.checked_sub(self.settings.overlap).unwrap_or(from),
                None => from,
            };
            let rows = self.fetch(lower, to).await?;
            self.deliver(rows, out, state).await?;
            state.advance(to, self.settings.overlap);
            checkpoint::save(path, state).map_err(Cut::Fatal)?;
            self.component.metrics.checkpointed();
            self.component.metrics.high_water_mark(to);
            from = to;
        }
        Ok(())
    }

    fn call_context(&self) -> CallContext<'_> {
        CallContext {
            metrics: &self.component.metrics,
            shutdown: self.shutdown,
            give_up_after: Some(GIVE_UP_AFTER),
        }
    }

    /// Every row of `(lower, upper]`, splitting windows whose result the API cut.
    async fn fetch(&self, lower: SystemTime, upper: SystemTime) -> Result<Vec<Row>, Cut> {
        let mut windows = vec![(lower, upper)];
        let mut rows = Vec::new();
        while let Some((from, to)) = windows.pop() {
            match self.query(from, to).await? {
                Outcome::Complete(found) => rows.extend(found),
                Outcome::Cut(found, why) => {
                    let width = to.duration_since(from).unwrap_or_default();
                    if width <= NARROWEST {
                        self.component.metrics.error(
                            "window_too_dense",
                            &format_args!(
                                "{why} in the one-second window ending {}: the rows past the cap cannot be read; the {} that came are sent",
                                humantime::format_rfc3339_micros(to),
                                found.len()
                            ),
                        );
                        rows.extend(found);
                        continue;
                    }
                    let middle = from + width / 2;
                    tracing::info!(
                        "{why} for the window from {} to {}: querying it again in two halves",
                        humantime::format_rfc3339_micros(from),
                        humantime::format_rfc3339_micros(to)
                    );
                    windows.push((middle, to));
                    windows.push((from, middle));
                }
            }
        }
        Ok(rows)
    }

    /// One query for `(from, to]`.
    async fn query(&self, from: SystemTime, to: SystemTime) -> Result<Outcome, Cut> {
        let url = self
            .client
            .url(PATH)
            .map_err(|error| Cut::Fatal(ComponentError::Config(error)))?;
        let body = json!({
            "Query": query::windowed(&self.settings.query, from, to),
            "Timespan": query::timespan(from, to),
        });
        let answer = match self
            .client
            .call(Method::POST, &url, Some(&body), self.call_context())
            .await
        {
            Ok(answer) => answer,
            Err(ApiError::Stopped) => return Err(Cut::Stopped),
            Err(ApiError::Auth(error)) => {
                return Err(Cut::Fatal(ComponentError::Other(error.to_string())));
            }
            Err(ApiError::Refused {
                status: 400,
                message,
                ..
            }) if message.contains("result size") => {
                return Ok(Outcome::Cut(
                    Vec::new(),
                    format!("Graph refused the result as too large ({message})"),
                ));
            }
            Err(ApiError::Refused {
                status: status @ (400 | 401 | 403),
                code,
                message,
            }) => {
                let advice = if status == 400 {
                    "fix the `query`".to_string()
                } else {
                    "check that the app has the ThreatHunting.Read.All permission (Microsoft Graph) with admin consent".to_string()
                };
                return Err(Cut::Fatal(ComponentError::Other(format!(
                    "advanced hunting refused the query (HTTP {status} {code}: {message}); {advice}"
                ))));
            }
            Err(error) => {
                let why = format!("POST {PATH}: {error}");
                self.component.metrics.error(
                    "query_failed",
                    &format_args!("{why}; the next poll tries again"),
                );
                return Err(Cut::Failed(why));
            }
        };
        let (rows, bytes, largest) = match read_rows(&answer, to) {
            Ok(read) => read,
            Err(error) => {
                let why = format!("POST {PATH}: the answer has no `results` array ({error})");
                self.component.metrics.error(
                    "invalid_response",
                    &format_args!("{why}; the next poll tries again"),
                );
                return Err(Cut::Failed(why));
            }
        };
        self.component.metrics.received(rows.len(), answer.len());
        if rows.len() >= self.settings.row_limit {
            return Ok(Outcome::Cut(
                rows,
                format!(
                    "the result reached the cap of {} rows",
                    self.settings.row_limit
                ),
            ));
        }
        if bytes + largest > self.settings.size_limit {
            return Ok(Outcome::Cut(
                rows,
                format!(
                    "the result came within one row of the cap of {} bytes",
                    self.settings.size_limit
                ),
            ));
        }
        Ok(Outcome::Complete(rows))
    }

    /// Sends the rows not delivered before, and waits for their acknowledgement; delivered rows
    /// are recorded in `state` as their batches are acknowledged.
    async fn deliver(
        &self,
        rows: Vec<Row>,
        out: &mut SourceSender,
        state: &mut HuntingState,
    ) -> Result<(), Cut> {
        let read_at = humantime::format_rfc3339_micros(SystemTime::now()).to_string();
        let mut seen = HashSet::new();
        let mut sent: Vec<Sent<(String, i64)>> = Vec::new();
        let mut gathering = Gathering::default();
        let mut repeated = 0usize;
        for row in rows {
            if state.was_delivered(&row.digest) || !seen.insert(row.digest.clone()) {
                repeated += 1;
                continue;
            }
            let body = query::envelope(
                &row.body,
                self.settings.category.as_deref(),
                &self.settings.tenant,
                &read_at,
            );
            let mut metadata = EventMetadata::new(
                self.origin.clone(),
                EventId::derive(&[b"hunting", row.digest.as_bytes()]),
            );
            metadata.event_type = Some(self.event_type.clone());
            gathering.push(Event::json(body, metadata), (row.digest, row.timestamp));
            if gathering.len() >= self.settings.batch_size {
                sent.push(self.send(out, std::mem::take(&mut gathering)).await?);
            }
        }
        self.component
            .metrics
            .discarded(repeated, "already_delivered");
        if !gathering.is_empty() {
            sent.push(self.send(out, gathering).await?);
        }
        let mut delivered = true;
        for batch in sent {
            match batch
                .acknowledged(
                    &self.component.metrics,
                    "the window is queried again next poll",
                )
                .await
            {
                Some(rows) => state.delivered(&rows),
                None => delivered = false,
            }
        }
        if delivered {
            Ok(())
        } else {
            Err(Cut::Failed("some rows were not delivered".into()))
        }
    }

    async fn send(
        &self,
        out: &mut SourceSender,
        gathering: Gathering<(String, i64)>,
    ) -> Result<Sent<(String, i64)>, Cut> {
        gathering
            .send(out, &self.component.metrics)
            .await
            .map_err(|closed| Cut::Fatal(ComponentError::Closed(closed)))
    }
}
