//! `siemflow tap`: the live events leaving a component of a running instance, as JSON lines.
//!
//! The instance serves them on its `--metrics-addr` at `/tap?pipeline=P[&component=C][&limit=N]`
//! ([`endpoint`]); without a component, the pipeline's sources are watched. Each line is a
//! [`TapEvent`](siemflow_core::tap::TapEvent); a viewer that falls behind loses copies (a line
//! `{"not_shown": N}` says how many), never slows delivery.

use std::convert::Infallible;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use clap::Args;
use siemflow_components::http_client;
use siemflow_core::tap::{TapReceiver, TapTarget};
use siemflow_core::telemetry::Telemetry;

use crate::top::scrape::Reading;

/// Copies a viewer may be behind by before some are not shown.
const VIEWER_CAPACITY: usize = 1000;

/// `siemflow tap` arguments.
#[derive(Debug, Args)]
pub struct TapArgs {
    /// `PIPELINE` (its sources) or `PIPELINE.COMPONENT`.
    #[arg(value_name = "PIPELINE[.COMPONENT]")]
    target: String,
    /// The instance's `--metrics-addr`, e.g. `127.0.0.1:9598`, or its URL.
    #[arg(long, default_value = "127.0.0.1:9598", value_name = "ADDR_OR_URL")]
    metrics: String,
    /// Stop after this many events.
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
}

/// Runs `siemflow tap`: exit 1 when the instance cannot be reached or refuses the target.
pub fn run(args: &TapArgs) -> ExitCode {
    crate::output::run_client(watch(args))
}

async fn watch(args: &TapArgs) -> Result<(), String> {
    let (pipeline, component) = match args.target.split_once('.') {
        Some((pipeline, component)) => (pipeline, Some(component)),
        None => (args.target.as_str(), None),
    };
    let base = if args.metrics.contains("://") {
        args.metrics.trim_end_matches("/metrics").to_string()
    } else {
        format!("http://{}", args.metrics)
    };
    let mut url = http_client::parse_endpoint(&format!("{}/tap", base.trim_end_matches('/')))?;
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("pipeline", pipeline);
        if let Some(component) = component {
            query.append_pair("component", component);
        }
        if let Some(limit) = args.limit {
            query.append_pair("limit", &limit.to_string());
        }
    }
    // The answer streams for as long as the viewer watches.
    let forever = Duration::from_secs(10 * 365 * 24 * 3600);
    let client = http_client::client(&url, None, Duration::from_secs(5), forever)?;
    let failed = |error: String| format!("cannot tap {url}: {error}");
    let response = client
        .get(url.clone())
        .send()
        .await
        .map_err(|error| failed(http_client::describe_error(error)))?;
    if !response.status().is_success() {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        return Err(failed(format!("HTTP {status}: {}", body.trim())));
    }
    let mut response = response;
    let mut pending = Vec::new();
    loop {
        let chunk = tokio::select! {
            chunk = response.chunk() => chunk,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let chunk = chunk.map_err(|error| failed(http_client::describe_error(error)))?;
        let Some(chunk) = chunk else { return Ok(()) };
        pending.extend_from_slice(&chunk);
        while let Some(end) = pending.iter().position(|byte| *byte == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            if line.starts_with("{\"not_shown\"") {
                eprint!("{line}");
            } else {
                print!("{line}");
            }
        }
    }
}

/// `GET /tap?pipeline=P[&component=C][&limit=N]` on the metrics address: 404 for a pipeline or
/// component the instance does not run, else a stream of JSON lines.
pub fn endpoint(telemetry: &Telemetry, uri: &Uri) -> Response {
    let mut pipeline = None;
    let mut component = None;
    let mut limit = None;
    for pair in uri.query().unwrap_or_default().split('&') {
        match pair.split_once('=') {
            Some(("pipeline", value)) => pipeline = Some(value.to_string()),
            Some(("component", value)) => component = Some(value.to_string()),
            Some(("limit", value)) => match value.parse::<u64>() {
                Ok(value) => limit = Some(value),
                Err(_) => return refuse(StatusCode::BAD_REQUEST, "`limit` is a number"),
            },
            _ => {}
        }
    }
    let Some(pipeline) = pipeline else {
        return refuse(StatusCode::BAD_REQUEST, "`pipeline` is required");
    };
    let components = match Reading::parse(&telemetry.encode(), Instant::now()) {
        Ok(reading) => reading.components,
        Err(error) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, &error),
    };
    let known = components.keys().any(|(owner, id)| {
        *owner == pipeline && component.as_ref().is_none_or(|component| component == id)
    });
    if !known {
        let what = match &component {
            Some(component) => format!("no component `{component}` in a pipeline `{pipeline}`"),
            None => format!("no pipeline `{pipeline}`"),
        };
        return refuse(StatusCode::NOT_FOUND, &format!("{what} runs here"));
    }
    let receiver = telemetry.taps().subscribe(
        TapTarget {
            pipeline,
            component,
        },
        VIEWER_CAPACITY,
    );
    let lines =
        futures::stream::unfold((receiver, 0u64, 0u64), move |state| next_line(state, limit));
    (
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(lines),
    )
        .into_response()
}

/// The next line for the viewer: a notice of copies not shown, or the next event.
async fn next_line(
    (mut receiver, sent, reported): (TapReceiver, u64, u64),
    limit: Option<u64>,
) -> Option<(Result<String, Infallible>, (TapReceiver, u64, u64))> {
    if limit.is_some_and(|limit| sent >= limit) {
        return None;
    }
    let dropped = receiver.dropped.load(Ordering::Relaxed);
    if dropped > reported {
        let line = format!("{{\"not_shown\":{}}}\n", dropped - reported);
        return Some((Ok(line), (receiver, sent, dropped)));
    }
    let event = receiver.events.recv().await?;
    let line = serde_json::to_string(&event).unwrap_or_default() + "\n";
    Some((Ok(line), (receiver, sent + 1, reported)))
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, format!("{message}\n")).into_response()
}
