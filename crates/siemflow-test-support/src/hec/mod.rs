//! A Splunk HTTP Event Collector, faithful to the HEC documentation, with fault injection.
//!
//! Endpoints: `/services/collector/event` (also `/services/collector` and `/event/1.0`),
//! `/services/collector/raw`, `/services/collector/ack` and `/services/collector/health`.
//! It checks the token (`Splunk <token>` or Basic), channels (a GUID, required with
//! acknowledgement on), gzip bodies, the concatenated-JSON event protocol with each HEC status
//! code, and keeps every accepted request in a [`ledger::Ledger`] so a test can ask what was
//! indexed.
//!
//! Faults, drawn from a seeded generator so a run repeats: answer "server busy" (503, code 9) to
//! a share of data requests, close the connection without answering (a reset) on another share,
//! make acknowledgements late (each request indexed after a random delay up to `ack_delay`) or
//! never come (a request lost by the indexer), and go down entirely ([`HecServer::set_available`]).
//!
//! Not modelled: per-token settings other than the token itself, indexes other than the allowed
//! list, the 413 body text (Splunk's own wording was not available; the status is 413).

pub mod ledger;
pub mod protocol;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Method, Request, Response};
use serde_json::{Value, json};

use self::ledger::Ledger;
use self::protocol::{Rejection, Status, status};
use crate::server::{self, Answer, BodyError, Dice, Reset, Server};

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct HecOptions {
    /// The one valid token.
    pub token: String,
    /// Indexer acknowledgement on (channels required, ack ids returned).
    pub acks: bool,
    /// Indexes events may name; `None` allows any.
    pub allowed_indexes: Option<Vec<String>>,
    /// The largest body accepted, after decompression (Splunk's `max_content_length`).
    pub max_content_length: usize,
    /// Faults to inject.
    pub faults: Faults,
}

impl Default for HecOptions {
    fn default() -> Self {
        Self {
            token: "00000000-0000-0000-0000-000000000000".into(),
            acks: true,
            allowed_indexes: None,
            max_content_length: 800 << 20,
            faults: Faults::default(),
        }
    }
}

/// Faults injected into data requests (`/event`, `/raw`).
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Share of data requests answered 503 "Server is busy" (0.0 to 1.0).
    pub busy: f64,
    /// Share of data requests whose connection is closed without an answer.
    pub reset: f64,
    /// Each accepted request is indexed (its ack turns true) after a delay up to this.
    pub ack_delay: Duration,
    /// Share of accepted requests never indexed: their acks stay false for ever.
    pub ack_never: f64,
    /// Seed of the fault generator.
    pub seed: u64,
}

/// What the server has seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Data requests received (before any fault).
    pub data_requests: u64,
    /// Data requests accepted (code 0).
    pub accepted: u64,
    /// Answered "server busy" by injection.
    pub busy: u64,
    /// Connections closed without an answer by injection.
    pub resets: u64,
    /// Rejected with a 4xx code, by HEC code.
    pub rejected: HashMap<u16, u64>,
    /// Ack queries answered.
    pub ack_queries: u64,
    /// Data requests that came gzip-compressed.
    pub gzip: u64,
    /// Health checks answered.
    pub health_checks: u64,
}

#[derive(Debug)]
struct State {
    dice: Dice,
    ledger: Ledger,
    stats: Stats,
}

#[derive(Debug)]
struct Shared {
    options: HecOptions,
    state: Mutex<State>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl State {
    fn draw(&mut self) -> f64 {
        self.dice.draw()
    }
}

/// A running HEC server on 127.0.0.1; stopped when dropped.
#[derive(Debug)]
pub struct HecServer {
    server: Server,
    shared: Arc<Shared>,
    scheme: &'static str,
}

impl HecServer {
    /// Starts a server on a free port.
    pub fn start(options: HecOptions) -> Self {
        Self::start_on(0, options)
    }

    /// Starts a server on `port` (0 for a free one).
    pub fn start_on(port: u16, options: HecOptions) -> Self {
        Self::start_with(port, options, None)
    }

    /// Starts a server on a free port speaking HTTPS with `tls`; [`HecServer::url`] is then
    /// `https://`.
    pub fn start_tls(options: HecOptions, tls: Arc<rustls::ServerConfig>) -> Self {
        Self::start_with(0, options, Some(tls))
    }

    fn start_with(port: u16, options: HecOptions, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let dice = Dice::new(options.faults.seed);
        let shared = Arc::new(Shared {
            options,
            state: Mutex::new(State {
                dice,
                ledger: Ledger::default(),
                stats: Stats::default(),
            }),
        });
        let serving = shared.clone();
        let handle = move |request| {
            let shared = serving.clone();
            async move { handle(&shared, request).await }
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let server = match tls {
            Some(tls) => Server::start_tls("hec-server", port, tls, handle),
            None => Server::start("hec-server", port, handle),
        };
        Self {
            server,
            shared,
            scheme,
        }
    }

    /// `http://127.0.0.1:PORT` (or `https://`), the HEC base URL.
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.server.address())
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.server.address().port()
    }

    /// The token to send.
    pub fn token(&self) -> &str {
        &self.shared.options.token
    }

    /// Every event indexed so far (the envelopes as received), in acceptance order.
    pub fn indexed(&self) -> Vec<Value> {
        self.shared.state().ledger.indexed(Instant::now())
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        self.shared.state().stats.clone()
    }

    /// Down (`false`): every connection is closed without an answer, as a dead Splunk would.
    pub fn set_available(&self, available: bool) {
        self.server.set_available(available);
    }
}

fn answer(status: Status, body: &Value) -> Answer {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status.http).unwrap_or(hyper::StatusCode::BAD_REQUEST);
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    Ok(response)
}

fn reject(shared: &Shared, rejection: impl Into<Rejection>) -> Answer {
    let rejection = rejection.into();
    if rejection.status.http < 500 {
        *shared
            .state()
            .stats
            .rejected
            .entry(rejection.status.code)
            .or_default() += 1;
    }
    answer(rejection.status, &rejection.body())
}

fn query_pairs(request: &Request<Incoming>) -> HashMap<String, String> {
    request
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect()
}

async fn handle(shared: &Shared, request: Request<Incoming>) -> Answer {
    let path = request.uri().path().trim_end_matches('/').to_string();
    match path.as_str() {
        "/services/collector/health" | "/services/collector/health/1.0" => {
            shared.state().stats.health_checks += 1;
            answer(status::HEALTHY, &status::HEALTHY.body())
        }
        "/services/collector/event" | "/services/collector" | "/services/collector/event/1.0" => {
            data(shared, request, false).await
        }
        "/services/collector/raw" | "/services/collector/raw/1.0" => {
            data(shared, request, true).await
        }
        "/services/collector/ack" => ack(shared, request).await,
        _ => answer(
            Status {
                http: 404,
                code: 404,
                text: "The requested URL was not found on this server.",
            },
            &json!({"text": "The requested URL was not found on this server.", "code": 404}),
        ),
    }
}

fn authenticate(
    shared: &Shared,
    request: &Request<Incoming>,
    query: &HashMap<String, String>,
) -> Result<(), Status> {
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok());
    protocol::authenticate(
        authorization,
        query.contains_key("token"),
        &shared.options.token,
    )
}

/// The channel, from `X-Splunk-Request-Channel` or `?channel=`.
fn channel_of(request: &Request<Incoming>, query: &HashMap<String, String>) -> Option<String> {
    request
        .headers()
        .get("x-splunk-request-channel")
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
        .or_else(|| query.get("channel").cloned())
}

/// The body, decompressed when it says gzip; `Err` is the rejection to send.
async fn read_body(shared: &Shared, request: Request<Incoming>) -> Result<Vec<u8>, Rejection> {
    let body = server::read_body(request, shared.options.max_content_length).await;
    match body {
        Ok(body) => {
            if body.gzip {
                shared.state().stats.gzip += 1;
            }
            Ok(body.bytes)
        }
        Err(BodyError::TooLarge) => Err(Rejection::from(Status {
            http: 413,
            code: 413,
            text: "Content length too large",
        })),
        Err(BodyError::BadGzip) => Err(Rejection::from(status::INVALID_DATA_FORMAT)),
    }
}

async fn data(shared: &Shared, request: Request<Incoming>, raw: bool) -> Answer {
    let query = query_pairs(&request);
    {
        let mut state = shared.state();
        state.stats.data_requests += 1;
        if state.draw() < shared.options.faults.reset {
            state.stats.resets += 1;
            return Err(Reset);
        }
    }
    if let Err(status) = authenticate(shared, &request, &query) {
        return reject(shared, status);
    }
    {
        let mut state = shared.state();
        if state.draw() < shared.options.faults.busy {
            state.stats.busy += 1;
            drop(state);
            return answer(status::SERVER_BUSY, &status::SERVER_BUSY.body());
        }
    }
    let channel = channel_of(&request, &query);
    match &channel {
        None if shared.options.acks => return reject(shared, status::CHANNEL_MISSING),
        Some(channel) if !protocol::is_guid(channel) => {
            return reject(shared, status::INVALID_CHANNEL);
        }
        _ => {}
    }
    let body = match read_body(shared, request).await {
        Ok(body) => body,
        Err(rejection) => return reject(shared, rejection),
    };
    let parsed = if raw {
        raw_events(&body, &query)
    } else {
        protocol::parse_events(&body, shared.options.allowed_indexes.as_deref())
    };
    let events = match parsed {
        Ok(events) => events,
        Err(rejection) => return reject(shared, rejection),
    };
    let mut state = shared.state();
    let faults = &shared.options.faults;
    let indexed_at = if state.draw() < faults.ack_never {
        None
    } else {
        Some(Instant::now() + faults.ack_delay.mul_f64(state.draw()))
    };
    let channel = channel.filter(|_| shared.options.acks);
    let ack_id = state.ledger.accept(channel.as_deref(), events, indexed_at);
    state.stats.accepted += 1;
    drop(state);
    let mut body = status::SUCCESS.body();
    if let Some(id) = ack_id {
        body["ackId"] = json!(id);
    }
    answer(status::SUCCESS, &body)
}

/// `/raw`: one event per non-empty line, metadata from the query string.
fn raw_events(body: &[u8], query: &HashMap<String, String>) -> Result<Vec<Value>, Rejection> {
    let text = String::from_utf8_lossy(body);
    let events: Vec<Value> = text
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let mut event = json!({ "event": line });
            for key in ["host", "source", "sourcetype", "index"] {
                if let Some(value) = query.get(key) {
                    event[key] = json!(value);
                }
            }
            event
        })
        .collect();
    if events.is_empty() {
        return Err(status::NO_DATA.into());
    }
    Ok(events)
}

async fn ack(shared: &Shared, request: Request<Incoming>) -> Answer {
    let query = query_pairs(&request);
    if request.method() != Method::POST {
        return reject(shared, status::INVALID_DATA_FORMAT);
    }
    if let Err(status) = authenticate(shared, &request, &query) {
        return reject(shared, status);
    }
    if !shared.options.acks {
        return reject(shared, status::ACK_DISABLED);
    }
    let channel = channel_of(&request, &query);
    let Some(channel) = channel else {
        return reject(shared, status::CHANNEL_MISSING);
    };
    if !protocol::is_guid(&channel) {
        return reject(shared, status::INVALID_CHANNEL);
    }
    let body = match read_body(shared, request).await {
        Ok(body) => body,
        Err(rejection) => return reject(shared, rejection),
    };
    let ids: Option<Vec<u64>> = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|value| value.get("acks").cloned())
        .and_then(|acks| serde_json::from_value(acks).ok());
    let Some(ids) = ids else {
        return reject(shared, status::INVALID_DATA_FORMAT);
    };
    let mut state = shared.state();
    state.stats.ack_queries += 1;
    let answers = state.ledger.query(&channel, &ids, Instant::now());
    drop(state);
    let acks: serde_json::Map<String, Value> = answers
        .into_iter()
        .map(|(id, indexed)| (id.to_string(), Value::Bool(indexed)))
        .collect();
    answer(status::SUCCESS, &json!({ "acks": acks }))
}
