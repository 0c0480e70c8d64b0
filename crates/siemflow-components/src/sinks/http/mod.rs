//! `type: http`: posts events to any HTTP endpoint that takes logs (a collector, a SIEM's HTTP
//! input, a webhook), batched, compressed if asked, and acknowledged only on a 2xx answer.
//!
//! Each request holds up to `batch:` events in one [`encode::Encoding`]: newline-delimited JSON
//! (default), a JSON array, or text lines. A JSON event whose body is not JSON is dead-lettered
//! (`malformed JSON: ...`) before it can spoil a request. Answers are handled per status (see
//! [`response`]): 408, 429, 5xx and network errors are sent again with backoff and at least the
//! server's `Retry-After`; a refused credential or a wrong path holds the events (nothing is
//! dropped) while it is reported; 413 and other 4xx split the request until the event at fault is
//! alone, and dead-letter it with the server's reason.

mod encode;
mod response;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use reqwest::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, HeaderName, HeaderValue};
use serde::Deserialize;
use siemflow_core::backoff::Backoff;
use siemflow_core::component::{
    ComponentContext, ComponentError, ComponentTask, Reach, ReachCheck, SinkConfig, SinkContext,
};
use siemflow_core::config::duration;
use siemflow_core::event::{Event, EventStatus, resolve_batch};
use siemflow_core::secret::SecretString;

pub use self::encode::Encoding;
use self::response::Outcome;
use crate::batching::{BatchConfig, Batcher};
use crate::compression::Compression;
use crate::endpoint::HttpEndpoint;
use crate::http_client;
use crate::tls::TlsOptions;

/// Posts events to an HTTP endpoint.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpSinkConfig {
    /// The URL events are sent to, e.g. `https://collector.example.com/ingest`.
    pub endpoint: HttpEndpoint,
    /// `post` (default) or `put`.
    #[serde(default)]
    pub method: HttpMethod,
    /// `ndjson` (default), `json_array` or `text`.
    #[serde(default)]
    pub encoding: Encoding,
    /// Credentials sent in `Authorization`.
    #[serde(default)]
    pub auth: Option<HttpAuth>,
    /// Extra headers on every request, e.g. `{ X-Api-Key: "${API_KEY}" }`; values are kept
    /// secret.
    #[serde(default)]
    pub headers: BTreeMap<String, SecretString>,
    /// `none` (default) or `gzip`.
    #[serde(default = "no_compression")]
    pub compression: Compression,
    /// How events are grouped into requests.
    #[serde(default)]
    pub batch: BatchConfig,
    /// Requests in flight at once (default 2).
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// TLS options for an `https://` endpoint.
    #[serde(default)]
    pub tls: Option<TlsOptions>,
    /// Giving up on one connection attempt (default `10s`).
    #[schemars(with = "String")]
    #[serde(default = "default_connect_timeout", with = "duration")]
    pub connect_timeout: Duration,
    /// Giving up on one request (default `30s`); it is then sent again.
    #[schemars(with = "String")]
    #[serde(default = "default_request_timeout", with = "duration")]
    pub request_timeout: Duration,
}

/// `method:`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum HttpMethod {
    /// `POST`.
    #[default]
    Post,
    /// `PUT`.
    Put,
}

/// `auth:`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(tag = "strategy", rename_all = "lowercase", deny_unknown_fields)]
pub enum HttpAuth {
    /// `Authorization: Bearer <token>`.
    Bearer {
        /// The token.
        token: SecretString,
    },
    /// `Authorization: Basic <base64(user:password)>`.
    Basic {
        /// The user name.
        user: String,
        /// The password.
        password: SecretString,
    },
}

fn no_compression() -> Compression {
    Compression::None
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

fn secret_header(value: &str, what: &str) -> Result<HeaderValue, String> {
    let mut header = HeaderValue::try_from(value)
        .map_err(|_| format!("{what} holds characters a header cannot"))?;
    header.set_sensitive(true);
    Ok(header)
}

impl HttpSinkConfig {
    fn headers(&self) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
        let mut headers = Vec::new();
        for (name, value) in &self.headers {
            let header = HeaderName::try_from(name.as_str())
                .map_err(|_| format!("`headers`: `{name}` is not a header name"))?;
            headers.push((
                header,
                secret_header(value.expose(), &format!("header `{name}`"))?,
            ));
        }
        match &self.auth {
            None => {}
            Some(HttpAuth::Bearer { token }) => {
                if token.expose().trim().is_empty() {
                    return Err("`auth.token` cannot be empty".into());
                }
                let value = format!("Bearer {}", token.expose());
                headers.push((AUTHORIZATION, secret_header(&value, "`auth.token`")?));
            }
            Some(HttpAuth::Basic { user, password }) => {
                let pair = format!("{user}:{}", password.expose());
                let value = format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                );
                headers.push((AUTHORIZATION, secret_header(&value, "`auth`")?));
            }
        }
        if self.auth.is_some()
            && self
                .headers
                .keys()
                .any(|name| name.eq_ignore_ascii_case("authorization"))
        {
            return Err("set `Authorization` with `auth` or with `headers`, not both".into());
        }
        Ok(headers)
    }

    /// The HTTP client with the request's parts, for the sink and its `--connect` check.
    fn client(&self) -> Result<Client, ComponentError> {
        let url = self.endpoint.url().clone();
        let http = http_client::client(
            &url,
            self.tls.as_ref(),
            self.connect_timeout,
            self.request_timeout,
        )
        .map_err(ComponentError::Config)?;
        Ok(Client {
            http,
            origin: url.origin().ascii_serialization(),
            url,
            method: match self.method {
                HttpMethod::Post => reqwest::Method::POST,
                HttpMethod::Put => reqwest::Method::PUT,
            },
            headers: self.headers().map_err(ComponentError::Config)?,
            encoding: self.encoding,
            compression: self.compression,
        })
    }
}

impl SinkConfig for HttpSinkConfig {
    fn resolve_paths(&mut self, base: &std::path::Path) {
        if let Some(tls) = &mut self.tls {
            tls.resolve_paths(base);
        }
    }

    fn check(&self) -> Result<(), String> {
        http_client::check_tls(self.endpoint.url(), self.tls.as_ref())?;
        self.batch.check()?;
        if self.concurrency == 0 {
            return Err("`concurrency` must be at least 1".into());
        }
        self.headers().map(|_| ())
    }

    fn reach(&self) -> ReachCheck<'_> {
        Box::pin(async move {
            let client = self.client().map_err(|error| error.to_string())?;
            client.reach().await.map(Reach::Reached)
        })
    }

    fn build(&self, cx: SinkContext) -> Result<ComponentTask, ComponentError> {
        let client = self.client()?;
        Ok(Box::pin(run(
            cx,
            Arc::new(client),
            self.batch,
            self.concurrency,
        )))
    }
}

/// What every request needs.
#[derive(Debug)]
struct Client {
    http: reqwest::Client,
    url: reqwest::Url,
    /// `scheme://host:port` only, for logs: some collectors put the token in the path or query.
    origin: String,
    method: reqwest::Method,
    headers: Vec<(HeaderName, HeaderValue)>,
    encoding: Encoding,
    compression: Compression,
}

impl Client {
    /// A `HEAD` request with the sink's headers: any answer but a refusal of the credentials
    /// shows the connection, TLS and endpoint work; no event is sent.
    async fn reach(&self) -> Result<String, String> {
        let mut request = self.http.head(self.url.clone());
        for (name, value) in &self.headers {
            request = request.header(name, value.clone());
        }
        let answer = request
            .send()
            .await
            .map_err(|error| format!("{}: {}", self.origin, http_client::describe_error(error)))?;
        let status = answer.status();
        if matches!(status.as_u16(), 401 | 403) {
            return Err(format!(
                "{} refused the credentials: a HEAD request was answered HTTP {status}",
                self.origin
            ));
        }
        Ok(format!(
            "{}: connected, a HEAD request was answered HTTP {status}",
            self.origin
        ))
    }

    async fn send(&self, body: Vec<u8>) -> Outcome {
        let mut request = self
            .http
            .request(self.method.clone(), self.url.clone())
            .header(CONTENT_TYPE, self.encoding.content_type());
        for (name, value) in &self.headers {
            request = request.header(name, value.clone());
        }
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
                    after: None,
                };
            }
        };
        match request.body(body).send().await {
            Ok(answer) => {
                let status = answer.status().as_u16();
                let retry_after = answer
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_string);
                match answer.bytes().await {
                    Ok(body) => response::classify(status, retry_after.as_deref(), &body),
                    Err(error) => Outcome::Retry {
                        kind: "send_failed",
                        reason: format!("the answer was cut off: {error}"),
                        after: None,
                    },
                }
            }
            Err(error) => Outcome::Retry {
                kind: "send_failed",
                reason: http_client::describe_error(error),
                after: None,
            },
        }
    }
}

/// A request's events back with the answer.
type Answered = (Vec<Event>, Outcome);

/// The sink between answers.
struct Sender {
    component: ComponentContext,
    client: Arc<Client>,
    in_flight: FuturesUnordered<BoxFuture<'static, Answered>>,
    backoff: Backoff,
}

impl Sender {
    fn send(&mut self, events: Vec<Event>, delay: Duration) {
        let client = self.client.clone();
        self.in_flight.push(Box::pin(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            let body = client.encoding.encode(&events);
            let outcome = client.send(body).await;
            (events, outcome)
        }));
    }

    /// Dead-letters what no request can carry, and sends the rest.
    fn take(&mut self, events: Vec<Event>) {
        let encoding = self.client.encoding;
        let (mut good, mut bad) = (Vec::with_capacity(events.len()), Vec::new());
        for event in events {
            match encoding.invalid(&event) {
                Some(reason) => bad.push((event, reason)),
                None => good.push(event),
            }
        }
        if !bad.is_empty() {
            self.component.dead_letters.events(bad);
        }
        if !good.is_empty() {
            self.send(good, Duration::ZERO);
        }
    }

    fn answered(&mut self, (mut events, outcome): Answered) {
        match outcome {
            Outcome::Delivered => {
                self.backoff.reset();
                self.component.metrics.delivered(&events);
                resolve_batch(events, EventStatus::Delivered);
            }
            Outcome::Retry {
                kind,
                reason,
                after,
            } => {
                let delay = self.backoff.next_delay().max(after.unwrap_or_default());
                self.component.metrics.error(
                    kind,
                    &format_args!(
                        "{} {}: {reason}; sending {} events again in {delay:?}",
                        self.client.method,
                        self.client.origin,
                        events.len()
                    ),
                );
                self.send(events, delay);
            }
            Outcome::Refused { reason, .. } if events.len() > 1 => {
                let second = events.split_off(events.len() / 2);
                tracing::debug!(
                    pipeline = %self.component.pipeline,
                    component = %self.component.id,
                    "{reason}: splitting a request of {} events to find what was refused",
                    events.len() + second.len()
                );
                self.send(events, Duration::ZERO);
                self.send(second, Duration::ZERO);
            }
            Outcome::Refused { too_large, reason } => {
                let kind = if too_large { "oversize" } else { "rejected" };
                let reason = format!("{kind}: {reason}");
                self.component.dead_letters.events(
                    events
                        .into_iter()
                        .map(|event| (event, reason.clone()))
                        .collect(),
                );
            }
        }
    }
}

/// Takes requests from the batcher while there is room and handles the answers.
async fn run(
    cx: SinkContext,
    client: Arc<Client>,
    batch: BatchConfig,
    concurrency: usize,
) -> Result<(), ComponentError> {
    let SinkContext {
        component,
        mut input,
    } = cx;
    let mut batcher = Batcher::new(batch);
    let encoding = client.encoding;
    let mut sender = Sender {
        component,
        client,
        in_flight: FuturesUnordered::new(),
        backoff: Backoff::default(),
    };
    loop {
        if batcher.is_done() && sender.in_flight.is_empty() {
            break;
        }
        let room = !batcher.is_done() && sender.in_flight.len() < concurrency;
        tokio::select! {
            Some(events) = batcher.next(&mut input, |event| encoding.size(event)), if room => {
                sender.take(events);
            }
            Some(answered) = sender.in_flight.next() => sender.answered(answered),
            else => break,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
