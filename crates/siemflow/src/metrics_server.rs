//! `--metrics-addr`: Prometheus `/metrics`, per-pipeline `/health` and `/ready`, and `/tap`
//! (live events, [`crate::tap`]).

use std::net::SocketAddr;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use siemflow_core::telemetry::Telemetry;

use crate::supervisor::status::Statuses;

/// Binds the address and serves in the background; returns the bound address.
///
/// `/health` answers 200 with each pipeline's state as JSON, or 503 when any pipeline is failing;
/// `/ready` answers 200 once the files were read and every pipeline is running or finished.
pub async fn start(
    address: SocketAddr,
    telemetry: Telemetry,
    statuses: Statuses,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    let for_ready = statuses.clone();
    let for_tap = telemetry.clone();
    let app = Router::new()
        .route(
            "/metrics",
            get(move || {
                let telemetry = telemetry.clone();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        telemetry.encode(),
                    )
                }
            }),
        )
        .route(
            "/health",
            get(move || {
                let health = statuses.health();
                async move {
                    let code = if health.is_healthy() {
                        StatusCode::OK
                    } else {
                        StatusCode::SERVICE_UNAVAILABLE
                    };
                    let body = serde_json::to_string_pretty(&health).unwrap_or_default();
                    (code, [(header::CONTENT_TYPE, "application/json")], body).into_response()
                }
            }),
        )
        .route(
            "/tap",
            get(move |uri: axum::http::Uri| {
                let telemetry = for_tap.clone();
                async move { crate::tap::endpoint(&telemetry, &uri) }
            }),
        )
        .route(
            "/ready",
            get(move || {
                let ready = for_ready.is_ready();
                async move {
                    if ready {
                        (StatusCode::OK, "ready\n")
                    } else {
                        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
                    }
                }
            }),
        );
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!("metrics server stopped: {error}");
        }
    });
    Ok(bound)
}
