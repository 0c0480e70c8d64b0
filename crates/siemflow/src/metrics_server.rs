//! `--metrics-addr`: Prometheus `/metrics` and a `/health` endpoint.

use std::net::SocketAddr;

use axum::Router;
use axum::http::header;
use axum::routing::get;
use siemflow_core::telemetry::Telemetry;

/// Binds the address and serves in the background; returns the bound address.
pub async fn start(address: SocketAddr, telemetry: Telemetry) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
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
        .route("/health", get(|| async { "ok\n" }));
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!("metrics server stopped: {error}");
        }
    });
    Ok(bound)
}
