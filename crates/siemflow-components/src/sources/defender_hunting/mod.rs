//! `type: defender_hunting`: a KQL query run through Microsoft Graph advanced hunting
//! (`POST /v1.0/security/runHuntingQuery`) on a moving time window, each new row an event.
//!
//! Graph's `runHuntingQuery` replaces the Defender for Endpoint and XDR advanced hunting APIs
//! being retired (`shared/reference/defender-apis.md` section 8). Nobody offers a cursor over
//! it; this source keeps one ([`poll`]): windows of time, re-read by `overlap` for rows that
//! land late, rows seen again dropped by digest ([`state`]), the window moved only once its
//! rows are acknowledged, results cut by the API's caps split and queried again. A row of a
//! query on one table becomes that table's streaming record ([`query`]), so the built-in
//! mappings apply to it as to the streaming API's.

pub mod poll;
pub mod query;
pub mod state;

use super::start_time::StartTime;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use siemflow_core::component::{
    ComponentError, ComponentTask, Reach, ReachCheck, SourceConfig, SourceContext,
};
use siemflow_core::config::{duration, size};

use crate::azure::cloud::Service;
use crate::azure::credentials::EntraAppConfig;
use crate::defender_api::budget::Quota;
use crate::defender_api::options::DefenderApiConfig;
use crate::defender_api::reach::reach;

/// `type: defender_hunting`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DefenderHuntingConfig {
    /// The KQL query, **without a time filter**: the source appends `| where Timestamp >
    /// datetime(from) and Timestamp <= datetime(to)` for each window, so the query's output must
    /// keep `Timestamp`.
    pub query: String,
    /// The table the rows come from, when the query does not start with it (`union ...`, `let
    /// ...`): rows become `AdvancedHunting-<table>` streaming records (default: the query's first
    /// word when it names a table; else rows are sent as they are, event type `HuntingResult`).
    #[serde(default)]
    pub table: Option<String>,
    /// The app (with `ThreatHunting.Read.All`) and how it logs in.
    #[serde(flatten)]
    pub app: EntraAppConfig,
    /// API host, TLS trust, call budget.
    #[serde(flatten)]
    pub connection: DefenderApiConfig,
    /// Time between polls (default `5m`).
    #[schemars(with = "String")]
    #[serde(default = "default_interval", with = "duration")]
    pub interval: Duration,
    /// Where the first window starts: an RFC 3339 time or a duration before now (default `1h`;
    /// advanced hunting keeps 30 days). Ignored once a window is stored.
    #[serde(default)]
    pub start_time: Option<StartTime>,
    /// How far before each window's start rows are read again, for rows that land late
    /// (default `15m`).
    #[schemars(with = "String")]
    #[serde(default = "default_overlap", with = "duration")]
    pub overlap: Duration,
    /// The longest time one query covers (default `6h`): a backfill is queried in windows.
    #[schemars(with = "String")]
    #[serde(default = "default_max_window", with = "duration")]
    pub max_window: Duration,
    /// Rows a result holds at most (default 100,000, the API's cap): a result this long is taken
    /// as cut, and its window split.
    #[serde(default = "default_row_limit")]
    pub result_row_limit: usize,
    /// Bytes of rows a result holds at most (default `50MB`, the API's cap).
    #[schemars(with = "String")]
    #[serde(default = "default_size_limit", deserialize_with = "size::deserialize")]
    pub result_size_limit: u64,
    /// Events per batch sent downstream (default 500).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
}

fn default_interval() -> Duration {
    Duration::from_secs(300)
}

fn default_overlap() -> Duration {
    Duration::from_secs(900)
}

fn default_max_window() -> Duration {
    Duration::from_secs(6 * 3600)
}

fn default_row_limit() -> usize {
    100_000
}

fn default_size_limit() -> u64 {
    50_000_000
}

fn default_batch_size() -> usize {
    500
}

/// How long a hunting request may take unless `request_timeout` says otherwise: the API gives up
/// on a query after three minutes.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(200);

/// The CPU allocation's cycle: a 429 that names no wait lasts until the cycle ends.
const QUOTA_CYCLE: Duration = Duration::from_secs(15 * 60);

impl DefenderHuntingConfig {
    fn start(&self, now: SystemTime) -> SystemTime {
        super::start_time::resolve(self.start_time, Duration::from_secs(3600), now)
    }

    /// `AdvancedHunting-<Table>`, when the table is known.
    fn category(&self) -> Option<String> {
        self.table
            .clone()
            .or_else(|| query::table_of(&self.query))
            .map(|table| format!("AdvancedHunting-{table}"))
    }
}

impl SourceConfig for DefenderHuntingConfig {
    fn resolve_paths(&mut self, base: &std::path::Path) {
        self.app.resolve_paths(base);
        self.connection.resolve_paths(base);
    }

    fn check(&self) -> Result<(), String> {
        self.connection.check(&self.app)?;
        query::check(&self.query)?;
        if self.interval.is_zero() || self.max_window.is_zero() {
            return Err("`interval` and `max_window` must be more than 0".into());
        }
        if self.result_row_limit == 0 || self.result_size_limit == 0 || self.batch_size == 0 {
            return Err(
                "`result_row_limit`, `result_size_limit` and `batch_size` must be more than 0"
                    .into(),
            );
        }
        if let Some(table) = &self.table
            && (table.is_empty() || !table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            return Err(format!("`table` `{table}` is not a table name"));
        }
        Ok(())
    }

    fn reach(&self) -> ReachCheck<'_> {
        Box::pin(async move {
            let client = self.connection.client_for(
                &self.app,
                Service::Graph,
                Quota::Hunting,
                REQUEST_TIMEOUT,
                "validate",
            )?;
            let token = reach(&client, None).await?;
            Ok(Reach::Reached(format!(
                "{token}; no query run: each spends the tenant's hunting quota"
            )))
        })
    }

    fn build(&self, cx: SourceContext) -> Result<ComponentTask, ComponentError> {
        self.check().map_err(ComponentError::Config)?;
        let client = self
            .connection
            .client_for(
                &self.app,
                Service::Graph,
                Quota::Hunting,
                REQUEST_TIMEOUT,
                &cx.component.id,
            )
            .map_err(ComponentError::Config)?
            .with_quota_cycle(QUOTA_CYCLE);
        let settings = poll::Settings {
            query: self.query.clone(),
            category: self.category().map(Arc::from),
            tenant: self.app.tenant_id.trim().to_string(),
            interval: self.interval,
            start: self.start(SystemTime::now()),
            overlap: self.overlap,
            max_window: self.max_window,
            row_limit: self.result_row_limit,
            size_limit: usize::try_from(self.result_size_limit).unwrap_or(usize::MAX),
            batch_size: self.batch_size,
        };
        Ok(Box::pin(poll::run(client, settings, cx)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<DefenderHuntingConfig, String> {
        let node = siemflow_core::config::yaml::parse(yaml).map_err(|e| format!("{e:?}"))?;
        siemflow_core::config::de::from_node(&node).map_err(|e| e.to_string())
    }

    #[test]
    fn options_defaults_and_checks() {
        let config = parse(
            "{query: 'DeviceProcessEvents | where ActionType == \"ProcessCreated\"', tenant_id: t, client_id: c, client_secret: s}",
        )
        .unwrap();
        config.check().unwrap();
        assert_eq!(config.interval, Duration::from_secs(300));
        assert_eq!(config.overlap, Duration::from_secs(900));
        assert_eq!(
            config.category().as_deref(),
            Some("AdvancedHunting-DeviceProcessEvents")
        );
        let union = parse(
            "{query: 'union DeviceEvents, DeviceFileEvents', table: DeviceEvents, tenant_id: t, client_id: c, client_secret: s, result_size_limit: 10MiB}",
        )
        .unwrap();
        assert_eq!(
            union.category().as_deref(),
            Some("AdvancedHunting-DeviceEvents")
        );
        assert_eq!(union.result_size_limit, 10 << 20);
        let bad = parse("{query: 'DeviceEvents |', tenant_id: t, client_id: c, client_secret: s}")
            .unwrap();
        assert!(bad.check().unwrap_err().contains("query"));
        let bad = parse("{query: x, tenant_id: t, client_id: c, client_secret: s, table: 'a b'}")
            .unwrap();
        assert!(bad.check().unwrap_err().contains("table"));
        assert!(
            parse("{query: x, tenant_id: t, client_id: c, client_secret: s, page_size: 5}")
                .unwrap_err()
                .contains("page_size")
        );
    }
}
