//! `type: splunk_hec`: sends events to a Splunk HTTP Event Collector, acknowledging them only once
//! Splunk says they are indexed.
//!
//! Events are grouped into requests (`batch:`), gzip-compressed by default, and posted to
//! `/services/collector/event` (one JSON envelope per event) or `/services/collector/raw`. With
//! indexer acknowledgement on (the default), each request goes on this sink's channel (a random
//! GUID) and HEC answers with an ack id; the sink polls `/services/collector/ack` and resolves the
//! request's events as delivered only when HEC reports the id as indexed. A request not confirmed
//! within `acknowledgements.timeout` is sent again: delivery is at least once. When the token has
//! acknowledgement off, HEC's 200 is the acknowledgement.
//!
//! Answers are handled per HEC status code (see [`response`]): busy servers and network errors
//! are retried with backoff, bad events are dead-lettered alone, and a refused token holds the
//! pipeline (nothing is dropped) while it is reported. At start, the sink checks HEC's health
//! endpoint and the token: a refused token stops the pipeline with the reason; an unreachable
//! server is reported and the sink starts anyway, holding events until the server is back.

mod acks;
mod encode;
pub(crate) mod response;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use reqwest::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HeaderValue};
use serde::Deserialize;
use siemflow_core::component::{
    ComponentContext, ComponentError, ComponentTask, Reach, ReachCheck, SinkConfig, SinkContext,
};
use siemflow_core::config::duration;
use siemflow_core::event::{Event, EventStatus, resolve_batch};
use siemflow_core::secret::SecretString;

use self::acks::PendingAcks;
use self::encode::{Envelope, EnvelopeFields};
use self::response::Outcome;
use crate::batching::{BatchConfig, Batcher};
use crate::compression::Compression;
use crate::endpoint::HttpEndpoint;
use crate::http_client;
use crate::tls::TlsOptions;
use siemflow_core::backoff::Backoff;

/// Sends events to Splunk's HTTP Event Collector.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SplunkHecSinkConfig {
    /// HEC's base URL, e.g. `https://splunk.example.com:8088`.
    pub endpoint: HttpEndpoint,
    /// The HEC token.
    pub token: SecretString,
    /// `event` (default): JSON envelopes to `/services/collector/event`; or `raw`: lines to
    /// `/services/collector/raw`, metadata in the query string.
    #[serde(default)]
    pub api: HecApi,
    /// The index (default: the token's default index).
    #[serde(default)]
    pub index: Option<String>,
    /// `source` (default: the token's).
    #[serde(default)]
    pub source: Option<String>,
    /// `sourcetype` when the plugin did not label the event with one (default: the token's).
    #[serde(default)]
    pub sourcetype: Option<String>,
    /// `host` (default: the token's, usually the sender's address).
    #[serde(default)]
    pub host: Option<String>,
    /// Indexed fields added to every event (`event` API only), e.g. `{ tenant: contoso }`.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// A dotted path to the event's time in a JSON body (RFC 3339 or epoch seconds), e.g.
    /// `time` or `properties.Timestamp`; default (or when absent): when siemflow read the event.
    #[serde(default)]
    pub timestamp_field: Option<String>,
    /// `gzip` (default) or `none`.
    #[serde(default)]
    pub compression: Compression,
    /// How events are grouped into requests.
    #[serde(default)]
    pub batch: BatchConfig,
    /// Indexer acknowledgement.
    #[serde(default)]
    pub acknowledgements: AckConfig,
    /// Requests in flight at once (default 2).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Check HEC's health and the token at start (default `true`).
    #[serde(default = "yes")]
    pub health_check: bool,
    /// TLS options for an `https://` endpoint.
    #[serde(default)]
    pub tls: Option<TlsOptions>,
    /// Giving up on one connection attempt (default `10s`).
    #[schemars(with = "String")]
    #[serde(default = "default_connect_timeout", with = "duration")]
    pub connect_timeout: Duration,
    /// Giving up on one request (default `30s`); it is then retried.
    #[schemars(with = "String")]
    #[serde(default = "default_request_timeout", with = "duration")]
    pub request_timeout: Duration,
}

/// `api:`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum HecApi {
    /// The JSON event protocol.
    #[default]
    Event,
    /// Raw lines.
    Raw,
}

/// `acknowledgements:` of the HEC sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AckConfig {
    /// Use indexer acknowledgement when the token has it on (default `true`).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// How often to ask which requests are indexed (default `1s`).
    #[schemars(with = "String")]
    #[serde(default = "AckConfig::default_poll_interval", with = "duration")]
    pub poll_interval: Duration,
    /// Send a request again when it is not confirmed within this (default `5m`).
    #[schemars(with = "String")]
    #[serde(default = "AckConfig::default_timeout", with = "duration")]
    pub timeout: Duration,
    /// Events sent but not yet confirmed, at most; beyond it the sink stops taking new events
    /// (default 100000).
    #[serde(default = "AckConfig::default_max_pending_events")]
    pub max_pending_events: usize,
}

impl AckConfig {
    fn default_poll_interval() -> Duration {
        Duration::from_secs(1)
    }

    fn default_timeout() -> Duration {
        Duration::from_secs(300)
    }

    fn default_max_pending_events() -> usize {
        100_000
    }
}

impl Default for AckConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            poll_interval: Self::default_poll_interval(),
            timeout: Self::default_timeout(),
            max_pending_events: Self::default_max_pending_events(),
        }
    }
}

fn yes() -> bool {
    true
}

fn default_concurrency() -> usize {
    2
}

fn default_connect_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_request_timeout() -> Duration {
    Duration::from_secs(30)
}

impl SplunkHecSinkConfig {
    /// The HTTP client with its URLs and authorization, for the sink and its `--connect` check.
    fn client(&self) -> Result<Client, ComponentError> {
        let url = self.endpoint.url().clone();
        let http = http_client::client(
            &url,
            self.tls.as_ref(),
            self.connect_timeout,
            self.request_timeout,
        )
        .map_err(ComponentError::Config)?;
        let mut authorization = HeaderValue::try_from(format!("Splunk {}", self.token.expose()))
            .map_err(|_| {
                ComponentError::Config("`token` holds characters a header cannot".into())
            })?;
        authorization.set_sensitive(true);
        let base = self.endpoint.base();
        let mut raw_url = reqwest::Url::parse(&format!("{base}/services/collector/raw"))
            .map_err(|error| ComponentError::Config(format!("`endpoint`: {error}")))?;
        {
            let mut query = raw_url.query_pairs_mut();
            for (key, value) in [
                ("index", &self.index),
                ("source", &self.source),
                ("sourcetype", &self.sourcetype),
                ("host", &self.host),
            ] {
                if let Some(value) = value {
                    query.append_pair(key, value);
                }
            }
        }
        let fields: serde_json::Map<String, serde_json::Value> = self
            .fields
            .iter()
            .map(|(key, value)| (key.clone(), serde_json::Value::from(value.as_str())))
            .collect();
        Ok(Client {
            http,
            data_url: match self.api {
                HecApi::Event => format!("{base}/services/collector/event"),
                HecApi::Raw => raw_url.to_string(),
            },
            check_url: format!("{base}/services/collector/event"),
            ack_url: format!("{base}/services/collector/ack"),
            health_url: format!("{base}/services/collector/health"),
            authorization,
            api: self.api,
            compression: self.compression,
            envelope: Envelope::new(EnvelopeFields {
                host: self.host.as_deref(),
                source: self.source.as_deref(),
                sourcetype: self.sourcetype.as_deref(),
                index: self.index.as_deref(),
                fields: Some(&fields),
                timestamp_field: self.timestamp_field.as_deref(),
            }),
            endpoint: base.to_string(),
        })
    }
}

impl SinkConfig for SplunkHecSinkConfig {
    fn resolve_paths(&mut self, base: &std::path::Path) {
        if let Some(tls) = &mut self.tls {
            tls.resolve_paths(base);
        }
    }

    fn check(&self) -> Result<(), String> {
        http_client::check_tls(self.endpoint.url(), self.tls.as_ref())?;
        if self.token.expose().trim().is_empty() {
            return Err("`token` cannot be empty".into());
        }
        self.batch.check()?;
        if self.concurrency == 0 {
            return Err("`concurrency` must be at least 1".into());
        }
        if self.api == HecApi::Raw && !self.fields.is_empty() {
            return Err("`fields` (indexed fields) are not supported by the raw API".into());
        }
        if self.api == HecApi::Raw && self.timestamp_field.is_some() {
            return Err("`timestamp_field` needs `api: event`: raw lines carry no time".into());
        }
        let acks = &self.acknowledgements;
        if acks.poll_interval.is_zero() || acks.timeout < acks.poll_interval {
            return Err(
                "`acknowledgements.poll_interval` must be above zero and below `timeout`".into(),
            );
        }
        Ok(())
    }

    fn reach(&self) -> ReachCheck<'_> {
        Box::pin(async move {
            let client = self.client().map_err(|error| error.to_string())?;
            client
                .probe(&new_channel())
                .await
                .map(Reach::Reached)
                .map_err(|failure| failure.describe(&client.endpoint))
        })
    }

    fn build(&self, cx: SinkContext) -> Result<ComponentTask, ComponentError> {
        let client = self.client()?;
        let settings = Settings {
            batch: self.batch,
            acks: self.acknowledgements,
            concurrency: self.concurrency,
            health_check: self.health_check,
        };
        Ok(Box::pin(run(cx, Arc::new(client), settings)))
    }
}

/// What one request round needs, shared by the requests in flight.
#[derive(Debug)]
struct Client {
    http: reqwest::Client,
    data_url: String,
    check_url: String,
    ack_url: String,
    health_url: String,
    authorization: HeaderValue,
    api: HecApi,
    compression: Compression,
    envelope: Envelope,
    endpoint: String,
}

/// How an ack query went.
enum AckAnswer {
    Indexed(Vec<u64>),
    Disabled,
    ChannelRefused(String),
    Failed(String),
}

impl Client {
    fn encode(&self, events: &[Event]) -> Vec<u8> {
        let mut body =
            Vec::with_capacity(events.iter().map(|event| self.envelope.size(event)).sum());
        for event in events {
            match self.api {
                HecApi::Event => self.envelope.write_event(&mut body, event),
                HecApi::Raw => encode::write_raw(&mut body, event),
            }
        }
        body
    }

    async fn post(&self, body: Vec<u8>, channel: &str) -> Outcome {
        let mut request = self
            .http
            .post(&self.data_url)
            .header(AUTHORIZATION, self.authorization.clone())
            .header("x-splunk-request-channel", channel)
            .header(CONTENT_TYPE, "application/json");
        let body = match self.compression.compress(body) {
            Ok((body, Some(encoding))) => {
                request = request.header(CONTENT_ENCODING, encoding);
                body
            }
            Ok((body, None)) => body,
            Err(error) => {
                return Outcome::Retry {
                    kind: "encode_failed",
                    reason: format!("cannot compress a request: {error}"),
                };
            }
        };
        match request.body(body).send().await {
            Ok(answer) => {
                let status = answer.status().as_u16();
                match answer.bytes().await {
                    Ok(bytes) => response::classify(status, &bytes),
                    Err(error) => Outcome::Retry {
                        kind: "send_failed",
                        reason: format!("the answer was cut off: {error}"),
                    },
                }
            }
            Err(error) => Outcome::Retry {
                kind: "send_failed",
                reason: http_client::describe_error(error),
            },
        }
    }

    async fn query_acks(&self, channel: &str, ids: &[u64]) -> AckAnswer {
        let body = serde_json::json!({ "acks": ids }).to_string();
        let sent = self
            .http
            .post(&self.ack_url)
            .header(AUTHORIZATION, self.authorization.clone())
            .header("x-splunk-request-channel", channel)
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await;
        let answer = match sent {
            Ok(answer) => answer,
            Err(error) => return AckAnswer::Failed(http_client::describe_error(error)),
        };
        let status = answer.status().as_u16();
        let bytes = match answer.bytes().await {
            Ok(bytes) => bytes,
            Err(error) => return AckAnswer::Failed(format!("the answer was cut off: {error}")),
        };
        if status == 200 {
            return match response::indexed_acks(&bytes) {
                Ok(ids) => AckAnswer::Indexed(ids),
                Err(error) => AckAnswer::Failed(error),
            };
        }
        if response::code(&bytes) == Some(14) {
            return AckAnswer::Disabled;
        }
        match response::classify(status, &bytes) {
            Outcome::Channel { reason } => AckAnswer::ChannelRefused(reason),
            Outcome::Retry { reason, .. }
            | Outcome::BadEvent { reason, .. }
            | Outcome::TooLarge { reason } => AckAnswer::Failed(reason),
            Outcome::Accepted { .. } => AckAnswer::Failed(format!("HTTP {status}")),
        }
    }

    /// HEC's health, then the token (an empty request: "No data" means the token is good).
    async fn probe(&self, channel: &str) -> Result<String, ProbeFailure> {
        let health = match self.http.get(&self.health_url).send().await {
            Ok(answer) if answer.status().is_success() => answer.status().as_u16(),
            Ok(answer) => {
                let status = answer.status().as_u16();
                let body = answer.bytes().await.unwrap_or_default();
                return Err(ProbeFailure::Unhealthy(format!(
                    "HTTP {status}: {}",
                    String::from_utf8_lossy(&body).trim()
                )));
            }
            Err(error) => {
                return Err(ProbeFailure::Unhealthy(http_client::describe_error(error)));
            }
        };
        let answer = self
            .http
            .post(&self.check_url)
            .header(AUTHORIZATION, self.authorization.clone())
            .header("x-splunk-request-channel", channel)
            .send()
            .await
            .map_err(|error| ProbeFailure::Unhealthy(http_client::describe_error(error)))?;
        let status = answer.status().as_u16();
        let body = answer.bytes().await.unwrap_or_default();
        match response::classify(status, &body) {
            Outcome::Retry {
                kind: "unauthorized",
                reason,
            } => Err(ProbeFailure::TokenRefused(reason)),
            _ => Ok(format!(
                "{}: health HTTP {health}; token taken (an empty request: HTTP {status} {})",
                self.endpoint,
                String::from_utf8_lossy(&body).trim()
            )),
        }
    }

    /// The start's check: a refused token stops the sink, an unhealthy HEC is reported and the
    /// sink starts anyway, holding events until HEC is back.
    async fn health_check(
        &self,
        component: &ComponentContext,
        channel: &str,
    ) -> Result<(), ComponentError> {
        match self.probe(channel).await {
            Ok(_) => Ok(()),
            Err(ProbeFailure::Unhealthy(reason)) => {
                component.metrics.error(
                    "health_check_failed",
                    &format_args!(
                        "Splunk HEC at {} is not healthy ({reason}); starting anyway, events wait until it is",
                        self.endpoint
                    ),
                );
                Ok(())
            }
            Err(failure @ ProbeFailure::TokenRefused(_)) => {
                Err(ComponentError::Config(failure.describe(&self.endpoint)))
            }
        }
    }
}

/// Why HEC's health or token check failed.
enum ProbeFailure {
    /// No answer, or the health endpoint said unhealthy.
    Unhealthy(String),
    /// HEC refused the token.
    TokenRefused(String),
}

impl ProbeFailure {
    fn describe(&self, endpoint: &str) -> String {
        match self {
            Self::Unhealthy(reason) => format!("Splunk HEC at {endpoint} is not healthy: {reason}"),
            Self::TokenRefused(reason) => {
                format!("Splunk HEC at {endpoint} refused the token: {reason}")
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Settings {
    batch: BatchConfig,
    acks: AckConfig,
    concurrency: usize,
    health_check: bool,
}

/// A request's events coming back from HEC, with the channel it went on and the answer.
type Sent = (Vec<Event>, Arc<str>, Outcome);

fn new_channel() -> Arc<str> {
    Arc::from(uuid::Uuid::new_v4().to_string())
}

/// Requests on their way (or waiting out a backoff before going again).
struct InFlight {
    requests: FuturesUnordered<BoxFuture<'static, Sent>>,
    events: usize,
}

impl InFlight {
    fn send(
        &mut self,
        client: &Arc<Client>,
        channel: &Arc<str>,
        events: Vec<Event>,
        delay: Duration,
    ) {
        self.events += events.len();
        let client = client.clone();
        let channel = channel.clone();
        self.requests.push(Box::pin(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let body = client.encode(&events);
            let outcome = client.post(body, &channel).await;
            (events, channel, outcome)
        }));
    }

    async fn next(&mut self) -> Option<Sent> {
        let sent = self.requests.next().await?;
        self.events -= sent.0.len();
        Some(sent)
    }

    fn len(&self) -> usize {
        self.requests.len()
    }

    fn is_empty(&self) -> bool {
        self.requests.is_empty()
    }
}

/// Requests HEC took, and how many events they hold.
#[derive(Default)]
struct Waiting {
    acks: PendingAcks,
    events: usize,
}

impl Waiting {
    fn insert(&mut self, id: u64, events: Vec<Event>) -> Option<Vec<Event>> {
        self.events += events.len();
        let again = self.acks.insert(id, events)?;
        self.events -= again.len();
        Some(again)
    }

    fn indexed(&mut self, id: u64) -> Option<Vec<Event>> {
        let events = self.acks.indexed(id)?;
        self.events -= events.len();
        Some(events)
    }

    fn take_all(&mut self) -> Vec<Vec<Event>> {
        self.events = 0;
        self.acks.take_all()
    }

    fn expired(&mut self, timeout: Duration) -> Vec<Vec<Event>> {
        let expired = self.acks.expired(timeout);
        self.events -= expired.iter().map(Vec::len).sum::<usize>();
        expired
    }
}

/// The sink's state between answers.
struct Hec {
    component: ComponentContext,
    client: Arc<Client>,
    settings: Settings,
    channel: Arc<str>,
    in_flight: InFlight,
    waiting: Waiting,
    backoff: Backoff,
    ack_off_reported: bool,
}

impl Hec {
    fn deliver(&self, events: Vec<Event>) {
        self.component.metrics.delivered(&events);
        resolve_batch(events, EventStatus::Delivered);
    }

    fn send(&mut self, events: Vec<Event>, delay: Duration) {
        self.in_flight
            .send(&self.client, &self.channel, events, delay);
    }

    fn dead_letter(&self, events: Vec<Event>, reason: &str) {
        self.component.dead_letters.events(
            events
                .into_iter()
                .map(|event| (event, reason.to_string()))
                .collect(),
        );
    }

    /// Moves to a new channel: what waits for an ack on the old one is sent again.
    fn change_channel(&mut self, reason: &str) {
        self.channel = new_channel();
        let again = self.waiting.take_all();
        self.component.metrics.error(
            "channel_refused",
            &format_args!(
                "Splunk HEC at {} refused the channel ({reason}); sending {} waiting requests again on a new channel",
                self.client.endpoint,
                again.len()
            ),
        );
        for events in again {
            self.send(events, Duration::ZERO);
        }
    }

    fn answered(&mut self, (mut events, sent_on, outcome): Sent) {
        match outcome {
            Outcome::Accepted { ack_id: Some(id) } if self.settings.acks.enabled => {
                self.backoff.reset();
                if sent_on != self.channel {
                    // Taken on a channel HEC has since refused: its ack can never be asked for.
                    self.send(events, Duration::ZERO);
                } else if let Some(again) = self.waiting.insert(id, events) {
                    self.send(again, Duration::ZERO);
                }
            }
            Outcome::Accepted { ack_id } => {
                self.backoff.reset();
                if ack_id.is_none() && self.settings.acks.enabled && !self.ack_off_reported {
                    self.ack_off_reported = true;
                    tracing::warn!(
                        pipeline = %self.component.pipeline,
                        component = %self.component.id,
                        "the HEC token has indexer acknowledgement off: events count as delivered when HEC answers 200"
                    );
                }
                self.deliver(events);
            }
            Outcome::Retry { kind, reason } => {
                let delay = self.backoff.next_delay();
                self.component.metrics.error(
                    kind,
                    &format_args!(
                        "Splunk HEC at {}: {reason}; sending {} events again in {delay:?}",
                        self.client.endpoint,
                        events.len()
                    ),
                );
                self.send(events, delay);
            }
            Outcome::Channel { reason } => {
                if sent_on == self.channel {
                    self.change_channel(&reason);
                }
                let delay = self.backoff.next_delay();
                self.send(events, delay);
            }
            Outcome::BadEvent { number, reason } => {
                let reason = format!("rejected: Splunk HEC: {reason}");
                match number.filter(|n| *n < events.len()) {
                    Some(n) => {
                        let bad = events.remove(n);
                        self.dead_letter(vec![bad], &reason);
                    }
                    None if events.len() > 1 => {
                        let second = events.split_off(events.len() / 2);
                        self.send(second, Duration::ZERO);
                    }
                    None => self.dead_letter(std::mem::take(&mut events), &reason),
                }
                if !events.is_empty() {
                    self.send(events, Duration::ZERO);
                }
            }
            Outcome::TooLarge { reason } => {
                if events.len() > 1 {
                    let second = events.split_off(events.len() / 2);
                    self.send(events, Duration::ZERO);
                    self.send(second, Duration::ZERO);
                } else {
                    self.dead_letter(events, &format!("oversize: Splunk HEC: {reason}"));
                }
            }
        }
    }

    async fn poll_acks(&mut self) {
        let ids = self.waiting.acks.ids();
        match self.client.query_acks(&self.channel, &ids).await {
            AckAnswer::Indexed(indexed) => {
                for id in indexed {
                    if let Some(events) = self.waiting.indexed(id) {
                        self.deliver(events);
                    }
                }
            }
            AckAnswer::Disabled => {
                tracing::warn!(
                    pipeline = %self.component.pipeline,
                    component = %self.component.id,
                    "HEC says acknowledgement is off for this token: {} taken requests count as delivered",
                    ids.len()
                );
                for events in self.waiting.take_all() {
                    self.deliver(events);
                }
            }
            AckAnswer::ChannelRefused(reason) => self.change_channel(&reason),
            AckAnswer::Failed(reason) => self.component.metrics.error(
                "ack_query_failed",
                &format_args!(
                    "cannot ask Splunk HEC at {} which requests are indexed: {reason}; asking again in {:?}",
                    self.client.endpoint, self.settings.acks.poll_interval
                ),
            ),
        }
        let expired = self.waiting.expired(self.settings.acks.timeout);
        if !expired.is_empty() {
            self.component.metrics.error(
                "ack_timeout",
                &format_args!(
                    "Splunk HEC at {} did not confirm {} requests within {:?}; sending them again (Splunk may index them twice)",
                    self.client.endpoint,
                    expired.len(),
                    self.settings.acks.timeout
                ),
            );
        }
        for events in expired {
            self.send(events, Duration::ZERO);
        }
    }
}

/// The sink's loop: take requests from the batcher while there is room, handle answers, poll acks.
async fn run(
    cx: SinkContext,
    client: Arc<Client>,
    settings: Settings,
) -> Result<(), ComponentError> {
    let SinkContext {
        component,
        mut input,
    } = cx;
    let channel = new_channel();
    if settings.health_check {
        client.health_check(&component, &channel).await?;
    }
    let mut batcher = Batcher::new(settings.batch);
    let mut poll = tokio::time::interval(settings.acks.poll_interval);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut hec = Hec {
        component,
        client,
        settings,
        channel,
        in_flight: InFlight {
            requests: FuturesUnordered::new(),
            events: 0,
        },
        waiting: Waiting::default(),
        backoff: Backoff::default(),
        ack_off_reported: false,
    };
    loop {
        if batcher.is_done() && hec.in_flight.is_empty() && hec.waiting.acks.is_empty() {
            break;
        }
        let room = !batcher.is_done()
            && hec.in_flight.len() < settings.concurrency
            && hec.in_flight.events + hec.waiting.events < settings.acks.max_pending_events;
        let client = hec.client.clone();
        tokio::select! {
            Some(events) = batcher.next(&mut input, |event| client.envelope.size(event)), if room => {
                hec.send(events, Duration::ZERO);
            }
            Some(sent) = hec.in_flight.next() => hec.answered(sent),
            _ = poll.tick(), if !hec.waiting.acks.is_empty() => hec.poll_acks().await,
            else => break,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use siemflow_core::config::WhenFull;
    use siemflow_core::event::BatchStatus;
    use siemflow_core::topology::buffer::channel;
    use siemflow_test_support::hec::{HecOptions, HecServer};

    use super::*;
    use crate::test_util::json_batch;

    fn config(server: &HecServer, extra: serde_json::Value) -> SplunkHecSinkConfig {
        let mut value = json!({
            "endpoint": server.url(),
            "token": server.token(),
            "batch": { "max_events": 10, "timeout": "50ms" },
            "acknowledgements": { "poll_interval": "50ms" },
        });
        for (key, extra) in extra.as_object().into_iter().flatten() {
            value[key] = extra.clone();
        }
        let config: SplunkHecSinkConfig = serde_json::from_value(value).unwrap();
        config.check().unwrap();
        config
    }

    /// Runs the sink over one batch; returns the batch's status and the dead letters.
    async fn deliver(config: &SplunkHecSinkConfig, bodies: &[&str]) -> (BatchStatus, Vec<String>) {
        let component = ComponentContext::detached("test", "splunk", "splunk_hec");
        let (sender, input) = channel(100, WhenFull::Block, component.metrics.clone());
        let (events, status) = json_batch(bodies);
        let task = config
            .build(SinkContext {
                component: component.clone(),
                input,
            })
            .unwrap();
        sender.send(events).await.unwrap();
        drop(sender);
        tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .expect("the sink finishes")
            .unwrap();
        (status.await, component.dead_letters.memory_lines())
    }

    #[tokio::test]
    async fn a_blank_event_is_dead_lettered_alone_and_the_others_are_indexed() {
        let server = HecServer::start(HecOptions::default());
        let config = config(&server, json!({}));
        let (status, letters) = deliver(&config, &["{\"n\":1}", "", "text \"two\""]).await;
        // A dead-lettered event is done with: the batch counts as delivered.
        assert_eq!(status, BatchStatus::Delivered);
        assert_eq!(letters.len(), 1, "{letters:?}");
        assert!(
            letters[0].contains("HEC code 13: Event field cannot be blank"),
            "{letters:?}"
        );
        let indexed = server.indexed();
        let events: Vec<&serde_json::Value> = indexed.iter().map(|e| &e["event"]).collect();
        assert_eq!(events, [&json!({"n": 1}), &json!("text \"two\"")]);
    }

    #[tokio::test]
    async fn raw_lines_carry_their_metadata_in_the_query() {
        let server = HecServer::start(HecOptions::default());
        let config = config(
            &server,
            json!({ "api": "raw", "sourcetype": "cef", "index": "main", "compression": "none" }),
        );
        let (status, letters) =
            deliver(&config, &["CEF:0|a|b|1|x|y|5|", "CEF:0|c|d|1|x|y|5|"]).await;
        assert_eq!(status, BatchStatus::Delivered, "{letters:?}");
        let indexed = server.indexed();
        assert_eq!(indexed.len(), 2);
        assert_eq!(indexed[1]["event"], "CEF:0|c|d|1|x|y|5|");
        assert_eq!(indexed[1]["sourcetype"], "cef");
        assert_eq!(server.stats().gzip, 0);
    }

    #[tokio::test]
    async fn a_server_that_is_down_at_start_gets_the_events_once_it_is_back() {
        let server = HecServer::start(HecOptions::default());
        server.set_available(false);
        let config = config(&server, json!({}));
        let delivered = deliver(&config, &["{\"n\":1}", "{\"n\":2}"]);
        tokio::pin!(delivered);
        let early = tokio::time::timeout(Duration::from_millis(700), &mut delivered).await;
        assert!(early.is_err(), "nothing can be delivered while HEC is down");
        server.set_available(true);
        let (status, _) = delivered.await;
        assert_eq!(status, BatchStatus::Delivered);
        assert_eq!(server.indexed().len(), 2);
    }

    #[tokio::test]
    async fn https_to_hec_is_verified_against_the_configured_ca() {
        let dir = tempfile::tempdir().unwrap();
        let certificates = siemflow_test_support::tls::Certificates::create(dir.path());
        let server = HecServer::start_tls(HecOptions::default(), certificates.server_config());
        assert!(server.url().starts_with("https://"));
        let config = config(
            &server,
            json!({ "tls": { "ca_file": certificates.ca_file.display().to_string() } }),
        );
        let (status, letters) = deliver(&config, &["{\"n\":1}"]).await;
        assert_eq!(status, BatchStatus::Delivered, "{letters:?}");
        assert_eq!(server.indexed().len(), 1);
        assert!(
            server.stats().health_checks > 0,
            "the health check went over TLS too"
        );
    }
}
