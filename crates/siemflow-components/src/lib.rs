//! siemflow's built-in components, one module each, and the registry that names them.
//!
//! A component is a config struct (its `///` comments are the option reference) implementing
//! [`siemflow_core::component::SourceConfig`], [`TransformConfig`](siemflow_core::component::TransformConfig)
//! or [`SinkConfig`](siemflow_core::component::SinkConfig). Adding one is a module here and a line
//! in [`registry`]. The `wasm` transform lives in its own crate, `siemflow-wasm`.
//!
//! What components that talk to servers share lives once: [`tls`] (the `tls:` options and a
//! rustls client), [`http_client`] (an HTTP client over that TLS),
//! [`batching`] (requests by count, bytes and time) and [`compression`]; the retry delays are
//! [`siemflow_core::backoff`], shared with the engine's disk buffers.

pub mod azure;
pub mod batching;
pub mod compression;
pub mod defender_api;
pub mod endpoint;
pub mod fuzzing;
pub mod http_client;
pub mod reference;
pub mod sinks;
pub mod sources;
pub mod tls;
pub mod transforms;

#[cfg(test)]
mod test_util;

use siemflow_core::registry::Registry;

/// Every built-in component type under its `type:` name.
pub fn registry() -> Registry {
    let mut registry = Registry::default();
    registry
        .source::<sources::file::FileSourceConfig>("file")
        .source::<sources::stdin::StdinSourceConfig>("stdin")
        .source::<sources::defender::DefenderAlertsConfig>("defender_alerts")
        .source::<sources::defender::DefenderIncidentsConfig>("defender_incidents")
        .source::<sources::defender_hunting::DefenderHuntingConfig>("defender_hunting")
        .source::<sources::http_server::HttpServerConfig>("http_server")
        .source::<sources::azure_blob::AzureBlobSourceConfig>("azure_blob")
        .source::<sources::event_hubs::EventHubsSourceConfig>("event_hubs")
        .transform::<transforms::filter::FilterConfig>("filter")
        .transform::<transforms::route::RouteConfig>("route")
        .transform::<transforms::dedupe::DedupeConfig>("dedupe")
        .transform::<siemflow_wasm::WasmTransformConfig>("wasm")
        .sink::<sinks::console::ConsoleSinkConfig>("console")
        .sink::<sinks::file::FileSinkConfig>("file")
        .sink::<sinks::syslog::SyslogSinkConfig>("syslog")
        .sink::<sinks::splunk_hec::SplunkHecSinkConfig>("splunk_hec")
        .sink::<sinks::http::HttpSinkConfig>("http")
        .sink::<sinks::defender_alert_update::DefenderAlertUpdateConfig>("defender_alert_update");
    registry
}
