//! One Defender polling source at work: poll, send, wait for acknowledgement, store, sleep.
//!
//! A poll is done when its last page is read and every event it sent is acknowledged; only then
//! does the high-water mark move (to the latest last-update time the poll saw). Each delivered
//! change is remembered as soon as it is acknowledged, so a poll cut short (a stop, a refused
//! page, an undelivered batch) is simply done again from the same mark without re-sending what
//! got through.
//!
//! Paging: `@odata.nextLink` while there is one (only to the API's own scheme, host and port:
//! the bearer token goes with it); a full page without one (the Graph `alerts_v2` known issue)
//! goes on with `$skip` at the number of items read so far. A poll that reads the same change
//! twice (items shifting between pages) sends it once.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::{Method, Url};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use siemflow_core::checkpoint;
use siemflow_core::component::{ComponentContext, ComponentError, SourceContext, SourceSender};
use siemflow_core::dead_letter::DeadLetter;
use siemflow_core::event::{BatchNotifier, BatchStatusReceiver, Event, EventId, EventMetadata};
use tokio_util::sync::CancellationToken;

use super::state::{PollState, change_key, filter_time, parse_time};
use crate::defender_api::client::{ApiClient, ApiError, CallContext};
use crate::defender_api::endpoints::ListApi;

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
}

#[derive(Deserialize)]
struct Page<'a> {
    #[serde(borrow)]
    value: Vec<&'a RawValue>,
    #[serde(rename = "@odata.nextLink", default)]
    next_link: Option<String>,
}

/// The properties of an item the source tracks it by (the APIs name them differently).
#[derive(Deserialize, Default)]
struct Keys<'a> {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default, rename = "incidentId")]
    incident_id: Option<Value>,
    #[serde(default, borrow, rename = "lastUpdateTime")]
    last_update_time: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow, rename = "lastUpdateDateTime")]
    last_update_date_time: Option<std::borrow::Cow<'a, str>>,
}

/// Why a poll ended early.
enum Cut {
    /// Stop the source with this error.
    Fatal(ComponentError),
    /// The source is stopping.
    Stopped,
    /// This poll failed; the next one tries again.
    Failed,
}

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
    let mut poller = Poller {
        client: &client,
        settings: &settings,
        component: &component,
        shutdown: &shutdown,
        origin: component.origin(),
        event_type: Arc::from(settings.api.event_type()),
    };
    loop {
        let outcome = poller.poll(&mut out, &mut state).await;
        checkpoint::save(&path, &state)?;
        component.metrics.checkpointed();
        if let Some(mark) = state.high_water_mark.as_deref().and_then(parse_time) {
            component.metrics.high_water_mark(mark);
        }
        match outcome {
            Ok(()) | Err(Cut::Failed) => {}
            Err(Cut::Stopped) => return Ok(()),
            Err(Cut::Fatal(error)) => return Err(error),
        }
        tokio::select! {
            () = tokio::time::sleep(settings.interval) => {}
            () = shutdown.cancelled() => return Ok(()),
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

/// A batch sent: its acknowledgement, the changes `(key, last update)` it carries, its size.
type Sent = (BatchStatusReceiver, Vec<(String, String)>, usize);

/// Events being gathered into a batch, with the changes they carry.
struct Gathering {
    events: Vec<Event>,
    changes: Vec<(String, String)>,
    notifier: BatchNotifier,
    status: BatchStatusReceiver,
}

impl Gathering {
    fn new() -> Self {
        let (notifier, status) = BatchNotifier::new();
        Self {
            events: Vec::new(),
            changes: Vec::new(),
            notifier,
            status,
        }
    }
}

impl Poller<'_> {
    async fn poll(&mut self, out: &mut SourceSender, state: &mut PollState) -> Result<(), Cut> {
        let since = state.since(self.settings.start, self.settings.overlap);
        let first = self
            .first_page(since)
            .map_err(|error| Cut::Fatal(ComponentError::Config(error)))?;
        let mut url = first.clone();
        let mut read = 0usize;
        let mut seen_now: HashSet<String> = HashSet::new();
        let mut latest: Option<SystemTime> = None;
        let mut gathering = Gathering::new();
        let mut sent: Vec<Sent> = Vec::new();
        let mut cut = None;
        loop {
            let body = match self
                .client
                .call(Method::GET, &url, None, self.call_context())
                .await
            {
                Ok(body) => body,
                Err(error) => {
                    cut = Some(self.cut(error));
                    break;
                }
            };
            let page: Page<'_> = match serde_json::from_slice(&body) {
                Ok(page) => page,
                Err(error) => {
                    self.component.metrics.error(
                        "invalid_response",
                        &format_args!(
                            "GET {}: the answer is not an OData collection ({error}); this poll ends here",
                            url.path()
                        ),
                    );
                    cut = Some(Cut::Failed);
                    break;
                }
            };
            let count = page.value.len();
            read += count;
            self.component.metrics.received(count, body.len());
            for raw in page.value {
                self.take(raw, state, &mut seen_now, &mut latest, &mut gathering);
                if gathering.events.len() >= self.settings.batch_size {
                    let full = std::mem::replace(&mut gathering, Gathering::new());
                    sent.push(self.send(out, full).await?);
                }
            }
            match page.next_link {
                Some(link) => match self.same_origin(&link) {
                    Ok(next) => url = next,
                    Err(error) => {
                        self.component.metrics.error("invalid_response", &error);
                        cut = Some(Cut::Failed);
                        break;
                    }
                },
                None if count >= self.settings.page_size => {
                    tracing::debug!(
                        pipeline = %self.component.pipeline,
                        component = %self.component.id,
                        read,
                        "a full page came without @odata.nextLink; going on with $skip"
                    );
                    url = with_skip(&first, read);
                }
                None => break,
            }
        }
        if !gathering.events.is_empty() {
            sent.push(self.send(out, gathering).await?);
        }
        let mut delivered = true;
        for (status, changes, events) in sent {
            let status = status.await;
            self.component.metrics.pending_changed(-(events as i64));
            if status.is_delivered() {
                state.delivered(&changes);
            } else {
                delivered = false;
                self.component.metrics.error(
                    "batch_not_delivered",
                    &format_args!(
                        "{events} change(s) were not delivered ({status:?}); the next poll reads them again"
                    ),
                );
            }
        }
        match cut {
            Some(cut) => Err(cut),
            None if delivered => {
                if let Some(latest) = latest {
                    state.advance(latest, self.settings.overlap);
                }
                Ok(())
            }
            None => Err(Cut::Failed),
        }
    }

    fn call_context(&self) -> CallContext<'_> {
        CallContext {
            metrics: &self.component.metrics,
            shutdown: self.shutdown,
        }
    }

    /// Makes an event of one item, unless its change was delivered already.
    fn take(
        &self,
        raw: &RawValue,
        state: &PollState,
        seen_now: &mut HashSet<String>,
        latest: &mut Option<SystemTime>,
        gathering: &mut Gathering,
    ) {
        let api = self.settings.api;
        // Only the two properties are decoded; the rest of the item is skipped, not built.
        let keys: Keys<'_> = serde_json::from_str(raw.get()).unwrap_or_default();
        let id = match api.id_field() {
            "incidentId" => keys.incident_id,
            _ => keys.id,
        }
        .and_then(|id| match id {
            Value::String(text) => Some(text),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        });
        let last_update = match api.time_field() {
            "lastUpdateTime" => keys.last_update_time,
            _ => keys.last_update_date_time,
        }
        .filter(|text| parse_time(text).is_some());
        let (Some(id), Some(last_update)) = (id, last_update) else {
            let reason = format!(
                "the item has no `{}` or no valid `{}`; it cannot be tracked",
                api.id_field(),
                api.time_field()
            );
            self.component.dead_letters.raw(DeadLetter {
                reason: &reason,
                body: raw.get().as_bytes(),
                size: raw.get().len(),
                event_id: None,
                event_type: Some(api.event_type()),
                position: None,
            });
            return;
        };
        let last_update: &str = &last_update;
        let key = change_key(&id, last_update);
        if let Some(time) = parse_time(last_update) {
            *latest = Some(latest.map_or(time, |current| current.max(time)));
        }
        if state.was_delivered(&key) || !seen_now.insert(key.clone()) {
            self.component.metrics.discarded(1, "already_delivered");
            return;
        }
        let mut metadata = EventMetadata::new(
            self.origin.clone(),
            EventId::derive(&[id.as_bytes(), last_update.as_bytes()]),
        );
        metadata.event_type = Some(self.event_type.clone());
        let mut event = Event::json(Bytes::copy_from_slice(raw.get().as_bytes()), metadata);
        event.add_finalizer(gathering.notifier.finalizer());
        gathering.events.push(event);
        gathering.changes.push((key, last_update.to_string()));
    }

    async fn send(&self, out: &mut SourceSender, gathering: Gathering) -> Result<Sent, Cut> {
        let Gathering {
            events,
            changes,
            notifier,
            status,
        } = gathering;
        drop(notifier);
        let count = events.len();
        self.component.metrics.pending_changed(count as i64);
        out.send(events)
            .await
            .map_err(|closed| Cut::Fatal(ComponentError::Closed(closed)))?;
        Ok((status, changes, count))
    }

    fn cut(&self, error: ApiError) -> Cut {
        match error {
            ApiError::Stopped => Cut::Stopped,
            ApiError::Auth(error) => Cut::Fatal(ComponentError::Other(error.to_string())),
            ApiError::Refused {
                status,
                code,
                message,
            } if status == 401 || status == 403 => Cut::Fatal(ComponentError::Other(format!(
                "the API refused app access (HTTP {status} {code}: {message}); check that the app has the {} permission with admin consent",
                permission(self.settings.api)
            ))),
            refused @ ApiError::Refused { .. } => {
                self.component.metrics.error(
                    "request_refused",
                    &format_args!("listing failed: {refused}; the next poll tries again"),
                );
                Cut::Failed
            }
        }
    }

    fn first_page(&self, since: SystemTime) -> Result<Url, String> {
        let api = self.settings.api;
        let mut url = self.client.url(api.path())?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair(
                "$filter",
                &format!("{} ge {}", api.time_field(), filter_time(since)),
            );
            query.append_pair("$top", &self.settings.page_size.to_string());
            if let Some(expand) = api.expand() {
                query.append_pair("$expand", expand);
            }
        }
        Ok(url)
    }

    fn same_origin(&self, link: &str) -> Result<Url, String> {
        let next = Url::parse(link)
            .map_err(|error| format!("@odata.nextLink `{link}` is not a URL: {error}"))?;
        let base = self.client.url("")?;
        if next.origin() != base.origin() {
            return Err(format!(
                "@odata.nextLink points to {} instead of the API host {}; not following it with the token",
                next.origin().ascii_serialization(),
                base.origin().ascii_serialization()
            ));
        }
        Ok(next)
    }
}

/// `first` with `$skip=read`.
fn with_skip(first: &Url, read: usize) -> Url {
    let mut url = first.clone();
    let kept: Vec<(String, String)> = first
        .query_pairs()
        .filter(|(key, _)| key != "$skip")
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair("$skip", &read.to_string());
    url
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
