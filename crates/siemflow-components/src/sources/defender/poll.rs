//! One Defender polling source at work: poll, send, wait for acknowledgement, store, sleep.
//!
//! A poll walks the changes from the high-water mark minus the overlap up to the poll's start
//! ([`paging`](super::paging): by time on Graph, by offset on Defender for Endpoint and XDR).
//! Each change whose `(id, last update)` was not delivered before becomes an event with that
//! change's stable id; with `include_alerts`, a Graph incident change carries its alerts
//! ([`incident_alerts`](super::incident_alerts)). A poll is done when its last page is read
//! and every event it sent is acknowledged; only then does the high-water mark move (to the
//! latest last-update time the poll saw). Each delivered change is remembered as soon as it is
//! acknowledged, so a poll cut short (a stop, a refused page, an undelivered batch) is simply
//! done again from the same mark without re-sending what got through.
//!
//! A cursor that cannot move shows: every failed poll is logged with the request and
//! Microsoft's answer and counted in `siemflow_component_errors_total`, and
//! [`PollHealth`](crate::sources::poll_health::PollHealth) reports the source degraded once no
//! poll has completed for three intervals.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures::StreamExt;
use siemflow_core::checkpoint;
use siemflow_core::component::{ComponentContext, ComponentError, SourceContext, SourceSender};
use siemflow_core::dead_letter::DeadLetter;
use siemflow_core::event::{Event, EventId, EventMetadata};
use tokio_util::sync::CancellationToken;

use super::incident_alerts;
use super::paging::{Entry, Item, PageError, PageProblem, Pager};
use super::state::{PollState, change_key, parse_time};
use crate::defender_api::client::{ApiClient, ApiError, CallContext};
use crate::defender_api::endpoints::ListApi;
use crate::sources::acked_batch::{Gathering, Sent};
use crate::sources::poll_health::{GIVE_UP_AFTER, PollEnd as Cut, PollHealth};

/// How the source polls.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Which API.
    pub api: ListApi,
    /// Between polls.
    pub interval: Duration,
    /// The first poll's lower bound.
    pub start: SystemTime,
    /// How far before the mark to read again.
    pub overlap: Duration,
    /// `$top`.
    pub page_size: usize,
    /// Events per batch.
    pub batch_size: usize,
    /// Whether incident events carry their alerts.
    pub include_alerts: bool,
}

/// Incidents whose alerts are read at the same time (within the app's call budget).
const CONCURRENT_EXPANSIONS: usize = 4;

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
    let mut state: PollState = checkpoint::load(&path)
        .map_err(|error| ComponentError::io("cannot read the source's checkpoint", error))?
        .unwrap_or_default();
    let poller = Poller {
        client: &client,
        settings: &settings,
        component: &component,
        shutdown: &shutdown,
        origin: component.origin(),
        event_type: Arc::from(settings.api.event_type()),
    };
    let mut health = PollHealth::start(settings.interval, &component.metrics);
    loop {
        let outcome = poller.poll(&mut out, &mut state).await;
        checkpoint::save(&path, &state)?;
        component.metrics.checkpointed();
        if let Some(mark) = state.high_water_mark.as_deref().and_then(parse_time) {
            component.metrics.high_water_mark(mark);
        }
        if let ControlFlow::Break(end) = health.after(&component.metrics, outcome) {
            return end;
        }
        if !health.wait(&shutdown).await {
            return Ok(());
        }
    }
}

struct Poller<'a> {
    client: &'a ApiClient,
    settings: &'a Settings,
    component: &'a ComponentContext,
    shutdown: &'a CancellationToken,
    origin: Arc<siemflow_core::event::Origin>,
    event_type: Arc<str>,
}

/// A change an event carries: its key and its last-update time.
type Change = (String, String);

/// What one poll has seen so far.
#[derive(Default)]
struct Seen {
    /// Change keys read in this poll (ties are read twice).
    keys: HashSet<String>,
    /// The latest last-update time read.
    latest: Option<SystemTime>,
}

impl Poller<'_> {
    async fn poll(&self, out: &mut SourceSender, state: &mut PollState) -> Result<(), Cut> {
        let since = state.since(self.settings.start, self.settings.overlap);
        let collection = self
            .client
            .url(self.settings.api.path())
            .map_err(|error| Cut::Fatal(ComponentError::Config(error)))?;
        let mut pager = Pager::new(
            self.settings.api,
            collection,
            since,
            SystemTime::now(),
            self.settings.page_size,
        );
        let began = std::time::Instant::now();
        let (mut pages, mut items, mut changes) = (0usize, 0usize, 0usize);
        let mut seen = Seen::default();
        let mut gathering = Gathering::default();
        let mut sent: Vec<Sent<Change>> = Vec::new();
        let mut cut = None;
        loop {
            let page = match pager.next(self.client, self.call_context()).await {
                Ok(Some(page)) => page,
                Ok(None) => break,
                Err(error) => {
                    cut = Some(self.cut(error));
                    break;
                }
            };
            pages += 1;
            items += page.entries.len();
            self.component
                .metrics
                .received(page.entries.len(), page.bytes);
            let mut fresh = Vec::new();
            for entry in page.entries {
                match entry {
                    Entry::Untracked(body) => self.untracked(&body),
                    Entry::Tracked(item) => {
                        if self.is_new(&item, state, &mut seen) {
                            fresh.push(item);
                        }
                    }
                }
            }
            let poller = self;
            let mut completed = futures::stream::iter(fresh)
                .map(|item| async move {
                    let body = poller.complete(&item).await;
                    (item, body)
                })
                .buffered(CONCURRENT_EXPANSIONS);
            while let Some((item, body)) = completed.next().await {
                let body = match body {
                    Ok(body) => body,
                    Err(stop) => {
                        cut = Some(stop);
                        break;
                    }
                };
                changes += 1;
                self.push(item, body, &mut gathering);
                if gathering.len() >= self.settings.batch_size {
                    sent.push(self.send(out, std::mem::take(&mut gathering)).await?);
                }
            }
            if cut.is_some() {
                break;
            }
        }
        if !gathering.is_empty() {
            sent.push(self.send(out, gathering).await?);
        }
        let mut delivered = true;
        for batch in sent {
            match batch
                .acknowledged(&self.component.metrics, "the next poll reads them again")
                .await
            {
                Some(changes) => state.delivered(&changes),
                None => delivered = false,
            }
        }
        match cut {
            Some(cut) => Err(cut),
            None if delivered => {
                if let Some(latest) = seen.latest {
                    state.advance(latest, self.settings.overlap);
                }
                tracing::info!(
                    pipeline = %self.component.pipeline,
                    component = %self.component.id,
                    pages,
                    items,
                    changes,
                    "poll done in {:.1} s: {pages} page(s), {items} item(s), {changes} new \
                     change(s) delivered",
                    began.elapsed().as_secs_f64()
                );
                Ok(())
            }
            None => Err(Cut::Failed("some changes were not delivered".into())),
        }
    }

    fn call_context(&self) -> CallContext<'_> {
        CallContext {
            metrics: &self.component.metrics,
            shutdown: self.shutdown,
            give_up_after: Some(GIVE_UP_AFTER),
        }
    }

    /// An item without an id or a valid last-update time goes to the dead-letter file.
    fn untracked(&self, body: &[u8]) {
        let api = self.settings.api;
        let reason = format!(
            "the item has no `{}` or no valid `{}`; it cannot be tracked",
            api.id_field(),
            api.time_field()
        );
        self.component.dead_letters.raw(DeadLetter {
            reason: &reason,
            body,
            size: body.len(),
            event_id: None,
            event_type: Some(api.event_type()),
            position: None,
            text: false,
            labels: None,
        });
    }

    /// Whether a change was neither delivered before nor read earlier in this poll (ties at
    /// page boundaries are read twice); a repeat is counted as dropped.
    fn is_new(&self, item: &Item, state: &PollState, seen: &mut Seen) -> bool {
        seen.latest = Some(
            seen.latest
                .map_or(item.time, |latest| latest.max(item.time)),
        );
        let key = change_key(&item.id, &item.last_update);
        if state.was_delivered(&key) || !seen.keys.insert(key) {
            self.component.metrics.discarded(1, "already_delivered");
            return false;
        }
        true
    }

    /// Makes an event of one change, with the change's stable id.
    fn push(&self, item: Item, body: Bytes, gathering: &mut Gathering<Change>) {
        let mut metadata = EventMetadata::new(
            self.origin.clone(),
            EventId::derive(&[item.id.as_bytes(), item.last_update.as_bytes()]),
        );
        metadata.event_type = Some(self.event_type.clone());
        let key = change_key(&item.id, &item.last_update);
        gathering.push(Event::json(body, metadata), (key, item.last_update));
    }

    /// The event body of a change: the item, with its alerts for a Graph incident when
    /// `include_alerts`, without them for an XDR incident when not.
    async fn complete(&self, item: &Item) -> Result<Bytes, Cut> {
        match (self.settings.api, self.settings.include_alerts) {
            (ListApi::GraphIncidents, true) => {}
            (ListApi::XdrIncidents, false) => {
                return Ok(incident_alerts::without_alerts(&item.body));
            }
            _ => return Ok(item.body.clone()),
        }
        let fetched = incident_alerts::fetch(
            self.client,
            self.settings.api.path(),
            &item.id,
            self.call_context(),
        )
        .await;
        let merged = match fetched {
            Ok(alerts) => incident_alerts::with_alerts(&item.body, &alerts),
            Err(ApiError::Stopped) => return Err(Cut::Stopped),
            Err(ApiError::Auth(error)) => {
                return Err(Cut::Fatal(ComponentError::Other(error.to_string())));
            }
            Err(ApiError::Refused {
                status: status @ (401 | 403),
                code,
                message,
            }) => return Err(self.permission_refused(status, &code, &message)),
            Err(error) => {
                let why = format!(
                    "GET {}/{}?$expand=alerts: {error}",
                    self.settings.api.path(),
                    item.id
                );
                self.component.metrics.error(
                    "incident_alerts_unavailable",
                    &format_args!(
                        "the alerts of incident {} could not be read ({why}); it is sent with `alerts@siemflow.error` instead",
                        item.id
                    ),
                );
                incident_alerts::with_alerts_error(&item.body, &why)
            }
        };
        Ok(merged.unwrap_or_else(|| item.body.clone()))
    }

    async fn send(
        &self,
        out: &mut SourceSender,
        gathering: Gathering<Change>,
    ) -> Result<Sent<Change>, Cut> {
        gathering
            .send(out, &self.component.metrics)
            .await
            .map_err(|closed| Cut::Fatal(ComponentError::Closed(closed)))
    }

    fn permission_refused(&self, status: u16, code: &str, message: &str) -> Cut {
        Cut::Fatal(ComponentError::Other(format!(
            "the API refused app access (HTTP {status} {code}: {message}); check that the app has the {} permission with admin consent",
            permission(self.settings.api)
        )))
    }

    fn cut(&self, failure: PageError) -> Cut {
        let (reason, next) = match &failure.error {
            PageProblem::Api(ApiError::Stopped) => return Cut::Stopped,
            PageProblem::Api(ApiError::Auth(error)) => {
                return Cut::Fatal(ComponentError::Other(error.to_string()));
            }
            PageProblem::Api(ApiError::Refused {
                status: status @ (401 | 403),
                code,
                message,
            }) => return self.permission_refused(*status, code, message),
            PageProblem::Api(ApiError::Refused { .. }) => {
                ("request_refused", "the next poll tries again")
            }
            PageProblem::Api(ApiError::Unavailable { .. }) => (
                "page_unavailable",
                "even one item a page fails; the next poll tries again",
            ),
            PageProblem::Invalid(_) => ("invalid_response", "the next poll tries again"),
        };
        self.component
            .metrics
            .error(reason, &format_args!("{failure}; {next}"));
        Cut::Failed(failure.to_string())
    }
}

/// The application permission a list API needs.
fn permission(api: ListApi) -> &'static str {
    match api {
        ListApi::GraphAlerts => "SecurityAlert.Read.All (Microsoft Graph)",
        ListApi::MdeAlerts => "Alert.Read.All (WindowsDefenderATP)",
        ListApi::GraphIncidents => "SecurityIncident.Read.All (Microsoft Graph)",
        ListApi::XdrIncidents => "Incident.Read.All (Microsoft Threat Protection)",
    }
}
