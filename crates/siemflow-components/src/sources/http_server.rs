//! `type: http_server`: events POSTed by other systems (a SIEM sending triage decisions back,
//! a webhook), answered once their outcome is known.
//!
//! A request body is one JSON object (one event) or an array of objects (one event each). The
//! answer tells the sender what became of them, so it can retry safely and a SIEM's alert action
//! can say whether Defender took the decision:
//!
//! | answer | when |
//! |---|---|
//! | 200 `{"accepted": N}` | every event of the request was delivered by the sinks |
//! | 404 `{"error", "reasons": [...]}` | a sink refused them because what they name does not exist (a `defender_alert_update` for an alert Defender does not know), with the service's code and message |
//! | 422 `{"error", "reasons": [...]}` | a sink refused some of them for good (Defender refused the update, a value it does not take, not a decision): they went to the dead-letter file; the reasons carry the service's code and message |
//! | 202 `{"accepted": N, "pending": true}` | the outcome was not known within `response_timeout`: the events are on their way, and end delivered or dead-lettered |
//! | 400 with the reason | not JSON, invalid UTF-8, an element that is not an object, empty |
//! | 401 | `auth_token` is set and the request lacks `Authorization: Bearer <token>` |
//! | 404, 405 | another path; a method other than POST or PUT |
//! | 413 | the body is over `max_body_bytes` |
//! | 429 with `Retry-After` | more than `max_pending_events` are waiting for delivery |
//! | 503 | the events were not delivered (a sink failed them, or the pipeline stopped): send again |
//!
//! On shutdown the server stops accepting, finishes the requests it has, and waits for their
//! delivery before it ends.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::value::RawValue;
use siemflow_core::component::{
    ComponentContext, ComponentError, ComponentTask, Reach, ReachCheck, SourceConfig, SourceContext,
};
use siemflow_core::config::duration;
use siemflow_core::event::{BatchNotifier, Event, EventBatch, EventId, EventMetadata};
use siemflow_core::secret::SecretString;
use siemflow_core::telemetry::reason_kind;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::tls::ServerTlsOptions;

/// Receives JSON events over HTTP(S).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpServerConfig {
    /// `IP:PORT` to listen on (`0.0.0.0:8080`, `[::]:8080`).
    #[schemars(with = "String")]
    #[serde(deserialize_with = "crate::endpoint::listen_address")]
    pub address: SocketAddr,
    /// The one path taken (default `/`).
    #[serde(default = "default_path")]
    pub path: String,
    /// When set, requests must carry `Authorization: Bearer <auth_token>`.
    #[serde(default)]
    pub auth_token: Option<SecretString>,
    /// Serve HTTPS, `{ cert_file, key_file }`.
    #[serde(default)]
    pub tls: Option<ServerTlsOptions>,
    /// Largest request body (default 1048576, 1 MiB).
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// Events waiting for delivery beyond which requests get 429 (default 10000).
    #[serde(default = "default_max_pending_events")]
    pub max_pending_events: usize,
    /// How long a request waits for the outcome of its events before it is answered 202
    /// (default `30s`).
    #[schemars(with = "String")]
    #[serde(default = "default_response_timeout", with = "duration")]
    pub response_timeout: Duration,
}

fn default_response_timeout() -> Duration {
    Duration::from_secs(30)
}

fn default_path() -> String {
    "/".into()
}

fn default_max_body_bytes() -> usize {
    1 << 20
}

fn default_max_pending_events() -> usize {
    10_000
}

impl SourceConfig for HttpServerConfig {
    fn resolve_paths(&mut self, base: &std::path::Path) {
        if let Some(tls) = &mut self.tls {
            tls.resolve_paths(base);
        }
    }

    fn check(&self) -> Result<(), String> {
        if !self.path.starts_with('/') {
            return Err(format!("`path` must start with `/`, not `{}`", self.path));
        }
        if self.max_body_bytes == 0 || self.max_pending_events == 0 {
            return Err("`max_body_bytes` and `max_pending_events` must be more than 0".into());
        }
        if self
            .auth_token
            .as_ref()
            .is_some_and(|token| token.expose().is_empty())
        {
            return Err("`auth_token` is empty".into());
        }
        Ok(())
    }

    fn reach(&self) -> ReachCheck<'_> {
        Box::pin(async move {
            if let Some(tls) = &self.tls {
                tls.config()?;
            }
            std::net::TcpListener::bind(self.address)
                .map_err(|error| format!("cannot listen on {}: {error}", self.address))?;
            Ok(Reach::Reached(format!(
                "can listen on {}{}",
                self.address,
                if self.tls.is_some() {
                    ", TLS certificate and key read"
                } else {
                    ""
                }
            )))
        })
    }

    fn build(&self, cx: SourceContext) -> Result<ComponentTask, ComponentError> {
        self.check().map_err(ComponentError::Config)?;
        let address = self.address;
        let acceptor = match &self.tls {
            Some(tls) => Some(tokio_rustls::TlsAcceptor::from(Arc::new(
                tls.config().map_err(ComponentError::Config)?,
            ))),
            None => None,
        };
        let listener = std::net::TcpListener::bind(address)
            .map_err(|error| ComponentError::io(format!("cannot listen on {address}"), error))?;
        listener
            .set_nonblocking(true)
            .map_err(|error| ComponentError::io("cannot set up the listener", error))?;
        tracing::info!(
            pipeline = %cx.component.pipeline,
            component = %cx.component.id,
            %address,
            tls = acceptor.is_some(),
            "listening for events"
        );
        let shared = Arc::new(Shared {
            config: self.clone(),
            component: cx.component.clone(),
            pending: AtomicUsize::new(0),
        });
        Ok(Box::pin(serve(listener, acceptor, shared, cx)))
    }
}

struct Shared {
    config: HttpServerConfig,
    component: ComponentContext,
    pending: AtomicUsize,
}

/// A request's events on their way to the source's output, with where to say they were sent.
type Submission = (EventBatch, oneshot::Sender<()>);

async fn serve(
    listener: std::net::TcpListener,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Shared>,
    cx: SourceContext,
) -> Result<(), ComponentError> {
    let SourceContext {
        mut out, shutdown, ..
    } = cx;
    let listener = tokio::net::TcpListener::from_std(listener)
        .map_err(|error| ComponentError::io("cannot use the listener", error))?;
    let (submit, mut submissions) = mpsc::channel::<Submission>(64);
    let accepting = {
        let shutdown = shutdown.clone();
        let shared = shared.clone();
        tokio::spawn(tracing::Instrument::in_current_span(async move {
            loop {
                let stream = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok((stream, _)) => stream,
                        Err(error) => {
                            tracing::warn!("accepting a connection failed: {error}");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    },
                    () = shutdown.cancelled() => break,
                };
                let _ = stream.set_nodelay(true);
                tokio::spawn(tracing::Instrument::in_current_span(connection(
                    stream,
                    acceptor.clone(),
                    shared.clone(),
                    submit.clone(),
                    shutdown.clone(),
                )));
            }
        }))
    };
    // Ends when the acceptor and every connection have dropped their senders.
    while let Some((events, sent)) = submissions.recv().await {
        out.send(events).await?;
        let _ = sent.send(());
    }
    let _ = accepting.await;
    Ok(())
}

async fn connection(
    stream: tokio::net::TcpStream,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Shared>,
    submit: mpsc::Sender<Submission>,
    shutdown: CancellationToken,
) {
    let service = hyper::service::service_fn(move |request| {
        let shared = shared.clone();
        let submit = submit.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(&shared, &submit, request).await) }
    });
    match acceptor {
        Some(acceptor) => {
            if let Ok(tls) = acceptor.accept(stream).await {
                drive(TokioIo::new(tls), service, shutdown).await;
            }
        }
        None => drive(TokioIo::new(stream), service, shutdown).await,
    }
}

async fn drive<I, S>(io: I, service: S, shutdown: CancellationToken)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::HttpService<Incoming, ResBody = Full<Bytes>> + Send,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let connection = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        () = shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

fn refuse(
    shared: &Shared,
    status: StatusCode,
    kind: &str,
    reason: String,
) -> Response<Full<Bytes>> {
    shared
        .component
        .metrics
        .error(kind, &format_args!("HTTP {}: {reason}", status.as_u16()));
    answer(status, serde_json::json!({ "error": reason }))
}

async fn handle(
    shared: &Shared,
    submit: &mpsc::Sender<Submission>,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let config = &shared.config;
    if request.uri().path() != config.path {
        return answer(
            StatusCode::NOT_FOUND,
            serde_json::json!({"error": "no such path"}),
        );
    }
    if request.method() != Method::POST && request.method() != Method::PUT {
        return answer(
            StatusCode::METHOD_NOT_ALLOWED,
            serde_json::json!({"error": "POST or PUT JSON events"}),
        );
    }
    if let Some(token) = &config.auth_token {
        let given = request
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        if !given.is_some_and(|given| constant_time_eq(given.as_bytes(), token.expose().as_bytes()))
        {
            let mut response = refuse(
                shared,
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing or wrong bearer token".into(),
            );
            response.headers_mut().insert(
                hyper::header::WWW_AUTHENTICATE,
                hyper::header::HeaderValue::from_static("Bearer"),
            );
            return response;
        }
    }
    let declared = request
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    let too_large = || {
        refuse(
            shared,
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is over {} bytes", config.max_body_bytes),
        )
    };
    if declared.is_some_and(|length| length > config.max_body_bytes) {
        return too_large();
    }
    let body = match Limited::new(request.into_body(), config.max_body_bytes)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(error)
            if error
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return too_large();
        }
        Err(error) => {
            return refuse(
                shared,
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("cannot read the body: {error}"),
            );
        }
    };
    let events = match parse(&body) {
        Ok(events) => events,
        Err(reason) => return refuse(shared, StatusCode::BAD_REQUEST, "bad_request", reason),
    };
    let count = events.len();
    let before = shared.pending.fetch_add(count, Ordering::SeqCst);
    let _pending = Pending(&shared.pending, count);
    if before + count > config.max_pending_events {
        let mut response = refuse(
            shared,
            StatusCode::TOO_MANY_REQUESTS,
            "saturated",
            format!("{before} events are waiting for delivery; try again shortly"),
        );
        response.headers_mut().insert(
            hyper::header::RETRY_AFTER,
            hyper::header::HeaderValue::from_static("1"),
        );
        return response;
    }
    shared.component.metrics.received(count, body.len());
    let (notifier, status) = BatchNotifier::new();
    let origin = shared.component.origin();
    let batch: EventBatch = events
        .into_iter()
        .enumerate()
        .map(|(index, raw)| {
            let id = EventId::derive(&[raw.as_bytes(), &index.to_le_bytes()]);
            let mut event = Event::json(
                Bytes::copy_from_slice(raw.as_bytes()),
                EventMetadata::new(origin.clone(), id),
            );
            event.add_finalizer(notifier.finalizer());
            event
        })
        .collect();
    drop(notifier);
    let (sent, was_sent) = oneshot::channel();
    if submit.send((batch, sent)).await.is_err() || was_sent.await.is_err() {
        return answer(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({"error": "the pipeline is stopping"}),
        );
    }
    let Ok(outcome) = tokio::time::timeout(config.response_timeout, status.outcome()).await else {
        return answer(
            StatusCode::ACCEPTED,
            serde_json::json!({ "accepted": count, "pending": true }),
        );
    };
    if !outcome.status.is_delivered() {
        return answer(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({ "error": format!("not delivered ({:?}); send again", outcome.status) }),
        );
    }
    if outcome.dead_lettered.is_empty() {
        return answer(StatusCode::OK, serde_json::json!({ "accepted": count }));
    }
    let reasons: Vec<&str> = outcome.dead_lettered.iter().map(|r| r.as_ref()).collect();
    // "not found" when that is all that went wrong, so that a caller can tell a stale id.
    let not_found = reasons
        .iter()
        .all(|reason| reason_kind(reason).ends_with("not_found"));
    let status = if not_found {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    answer(
        status,
        serde_json::json!({
            "error": format!(
                "of the {count} event(s), some were refused by a sink and written to the dead-letter file; why, for the first ones:"
            ),
            "reasons": reasons,
        }),
    )
}

/// Releases a request's share of the pending count when it is answered.
struct Pending<'a>(&'a AtomicUsize, usize);

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(self.1, Ordering::SeqCst);
    }
}

/// The events of a body: an object, or an array of objects.
fn parse(body: &[u8]) -> Result<Vec<String>, String> {
    let text =
        std::str::from_utf8(body).map_err(|error| format!("the body is not UTF-8: {error}"))?;
    let value: &RawValue =
        serde_json::from_str(text).map_err(|error| format!("the body is not JSON: {error}"))?;
    let trimmed = value.get().trim_start();
    let items: Vec<&RawValue> = if trimmed.starts_with('[') {
        serde_json::from_str(value.get())
            .map_err(|error| format!("the body is not JSON: {error}"))?
    } else {
        vec![value]
    };
    if items.is_empty() {
        return Err("the body is an empty array".into());
    }
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            if item.get().trim_start().starts_with('{') {
                Ok(item.get().to_string())
            } else {
                Err(format!("element {index} is not a JSON object"))
            }
        })
        .collect()
}

/// Compares digests, so the time taken says nothing about how much of the token was right.
fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    let digest = |bytes| ring::digest::digest(&ring::digest::SHA256, bytes);
    digest(left).as_ref() == digest(right).as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_an_object_or_an_array_of_objects() {
        assert_eq!(parse(br#"{"id":"a"}"#).unwrap(), vec![r#"{"id":"a"}"#]);
        assert_eq!(parse(br#" [ {"a":1} , {"b":2} ] "#).unwrap().len(), 2);
        assert!(parse(b"{\"a\":").unwrap_err().contains("not JSON"));
        assert!(parse(b"[1]").unwrap_err().contains("element 0"));
        assert!(parse(b"[]").unwrap_err().contains("empty"));
        assert!(parse(b"{\"a\":\"\xff\"}").unwrap_err().contains("UTF-8"));
    }
}
