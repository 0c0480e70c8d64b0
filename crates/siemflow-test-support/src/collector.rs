//! A generic HTTP log collector, the peer of siemflow's `http` sink, behaving like the ingest
//! endpoints of log platforms (Elastic's `_bulk`-style NDJSON, Logstash's `http` input, Datadog's
//! and Sumo Logic's HTTP sources): POST (or PUT) of newline-delimited JSON
//! (`application/x-ndjson`), a JSON array (`application/json`) or text lines (`text/plain`),
//! optionally gzip-compressed, behind an `Authorization` header.
//!
//! Answers: 200 with what was taken; 401 for a wrong or missing credential; 413 for a body over
//! `max_body`; 400 with a reason for a body that does not parse, or (fault) that holds an event
//! containing `bad_marker`. Faults: 503 with `Retry-After`, 429 with `Retry-After`, connections
//! closed without an answer, and the whole server down ([`Collector::set_available`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use serde_json::Value;

use crate::server::{self, Answer, BodyError, Dice, Reset, Server};

/// How the collector behaves.
#[derive(Debug, Clone)]
pub struct CollectorOptions {
    /// The path it takes events on.
    pub path: String,
    /// The exact `Authorization` value required; `None` accepts any request.
    pub authorization: Option<String>,
    /// The largest body taken, after decompression.
    pub max_body: usize,
    /// Faults to inject.
    pub faults: CollectorFaults,
}

impl Default for CollectorOptions {
    fn default() -> Self {
        Self {
            path: "/ingest".into(),
            authorization: None,
            max_body: 10 << 20,
            faults: CollectorFaults::default(),
        }
    }
}

/// Faults injected into requests.
#[derive(Debug, Clone, Default)]
pub struct CollectorFaults {
    /// Share answered 503 with `Retry-After: 1`.
    pub unavailable: f64,
    /// Share answered 429 with `Retry-After: 1`.
    pub throttled: f64,
    /// Share whose connection is closed without an answer.
    pub reset: f64,
    /// A request holding an event that contains this text is answered 400.
    pub bad_marker: Option<String>,
    /// Seed of the fault generator.
    pub seed: u64,
}

/// What the collector has seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CollectorStats {
    /// Requests to the ingest path.
    pub requests: u64,
    /// Requests taken (200).
    pub accepted: u64,
    /// Answered by status, for every status other than 200.
    pub refused: BTreeMap<u16, u64>,
    /// Connections closed without an answer by injection.
    pub resets: u64,
    /// Requests that came gzip-compressed.
    pub gzip: u64,
    /// `Content-Type`s seen, with how often.
    pub content_types: BTreeMap<String, u64>,
    /// Methods seen, with how often.
    pub methods: BTreeMap<String, u64>,
}

#[derive(Debug)]
struct State {
    dice: Dice,
    received: Vec<Value>,
    stats: CollectorStats,
}

#[derive(Debug)]
struct Shared {
    options: CollectorOptions,
    state: Mutex<State>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A running collector on 127.0.0.1; stopped when dropped.
#[derive(Debug)]
pub struct Collector {
    server: Server,
    shared: Arc<Shared>,
    scheme: &'static str,
}

impl Collector {
    /// Starts a collector on a free port.
    pub fn start(options: CollectorOptions) -> Self {
        Self::start_with(options, None)
    }

    /// Starts a collector that speaks HTTPS with `tls`; [`Collector::url`] is then `https://`.
    pub fn start_tls(options: CollectorOptions, tls: Arc<rustls::ServerConfig>) -> Self {
        Self::start_with(options, Some(tls))
    }

    fn start_with(options: CollectorOptions, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                dice: Dice::new(options.faults.seed),
                received: Vec::new(),
                stats: CollectorStats::default(),
            }),
            options,
        });
        let serving = shared.clone();
        let handle = move |request| {
            let shared = serving.clone();
            async move { handle(&shared, request).await }
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let server = match tls {
            Some(tls) => Server::start_tls("collector", 0, tls, handle),
            None => Server::start("collector", 0, handle),
        };
        Self {
            server,
            shared,
            scheme,
        }
    }

    /// The ingest URL, `http://127.0.0.1:PORT/ingest` (or `https://`).
    pub fn url(&self) -> String {
        format!(
            "{}://{}{}",
            self.scheme,
            self.server.address(),
            self.shared.options.path
        )
    }

    /// Every event taken so far, in order: JSON values, text lines as strings.
    pub fn received(&self) -> Vec<Value> {
        self.shared.state().received.clone()
    }

    /// Counters so far.
    pub fn stats(&self) -> CollectorStats {
        self.shared.state().stats.clone()
    }

    /// Down (`false`): connections are closed without an answer.
    pub fn set_available(&self, available: bool) {
        self.server.set_available(available);
    }
}

fn answer(status: u16, retry_after: bool, text: &str) -> Answer {
    let mut response = Response::new(Full::new(Bytes::from(format!("{text}\n"))));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::BAD_REQUEST);
    if retry_after {
        response
            .headers_mut()
            .insert("retry-after", hyper::header::HeaderValue::from_static("1"));
    }
    Ok(response)
}

fn refuse(shared: &Shared, status: u16, retry_after: bool, text: &str) -> Answer {
    *shared.state().stats.refused.entry(status).or_default() += 1;
    answer(status, retry_after, text)
}

async fn handle(shared: &Shared, request: Request<Incoming>) -> Answer {
    if request.uri().path() != shared.options.path {
        return answer(404, false, "no such path");
    }
    if request.method() != Method::POST && request.method() != Method::PUT {
        return refuse(shared, 405, false, "POST or PUT");
    }
    let content_type = request
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    {
        let mut state = shared.state();
        state.stats.requests += 1;
        *state
            .stats
            .content_types
            .entry(content_type.clone())
            .or_default() += 1;
        *state
            .stats
            .methods
            .entry(request.method().to_string())
            .or_default() += 1;
        let faults = &shared.options.faults;
        let draw = state.dice.draw();
        if draw < faults.reset {
            state.stats.resets += 1;
            return Err(Reset);
        }
        if draw < faults.reset + faults.unavailable {
            drop(state);
            return refuse(shared, 503, true, "unavailable, try again");
        }
        if draw < faults.reset + faults.unavailable + faults.throttled {
            drop(state);
            return refuse(shared, 429, true, "too many requests");
        }
    }
    if let Some(expected) = &shared.options.authorization {
        let given = request
            .headers()
            .get("authorization")
            .and_then(|value| value.to_str().ok());
        if given != Some(expected.as_str()) {
            return refuse(shared, 401, false, "unauthorized");
        }
    }
    let body = match server::read_body(request, shared.options.max_body).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => return refuse(shared, 413, false, "request entity too large"),
        Err(BodyError::BadGzip) => return refuse(shared, 400, false, "bad gzip body"),
    };
    let events = match parse(&content_type, &body.bytes) {
        Ok(events) => events,
        Err(reason) => return refuse(shared, 400, false, &reason),
    };
    if let Some(marker) = &shared.options.faults.bad_marker
        && let Some(index) = events
            .iter()
            .position(|event| event.to_string().contains(marker.as_str()))
    {
        return refuse(shared, 400, false, &format!("event {index} is invalid"));
    }
    let mut state = shared.state();
    state.stats.accepted += 1;
    if body.gzip {
        state.stats.gzip += 1;
    }
    let taken = events.len();
    state.received.extend(events);
    drop(state);
    answer(200, false, &format!("{{\"accepted\":{taken}}}"))
}

/// The events of a body, by content type.
fn parse(content_type: &str, body: &[u8]) -> Result<Vec<Value>, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_string())?;
    match content_type {
        "application/x-ndjson" | "application/jsonl" => text
            .split('\n')
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(number, line)| {
                serde_json::from_str(line)
                    .map_err(|error| format!("line {}: not JSON: {error}", number + 1))
            })
            .collect(),
        "application/json" => match serde_json::from_str(text) {
            Ok(Value::Array(events)) => Ok(events),
            Ok(single) => Ok(vec![single]),
            Err(error) => Err(format!("not JSON: {error}")),
        },
        "text/plain" => Ok(text
            .split('\n')
            .filter(|line| !line.is_empty())
            .map(|line| Value::String(line.to_string()))
            .collect()),
        other => Err(format!("unsupported content type `{other}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_content_type_is_parsed_its_own_way() {
        let lines = parse("application/x-ndjson", b"{\"a\":1}\n\n[2]\n").unwrap();
        assert_eq!(
            lines,
            vec![serde_json::json!({"a": 1}), serde_json::json!([2])]
        );
        let array = parse("application/json", b"[{\"a\":1},\"x\"]").unwrap();
        assert_eq!(array.len(), 2);
        let text = parse("text/plain", b"CEF:0|a|b\nCEF:0|c|d\n").unwrap();
        assert_eq!(text[1], Value::String("CEF:0|c|d".into()));
        assert!(
            parse("application/x-ndjson", b"{\"a\":\n")
                .unwrap_err()
                .contains("line 1")
        );
        assert!(parse("application/xml", b"<a/>").is_err());
    }
}
