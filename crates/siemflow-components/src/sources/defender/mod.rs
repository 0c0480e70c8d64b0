//! `type: defender_alerts` and `type: defender_incidents`: alerts and incidents pulled from the
//! Defender and Graph REST APIs, each change an event.
//!
//! Both poll the same way ([`poll`]): every `interval`, walk the items whose last update is at
//! or after the high-water mark minus `overlap` (`start_time` before the first poll) page by page
//! ([`paging`]: by time on Graph, which cannot page deep; by offset on Defender for Endpoint and
//! XDR); each item whose change (`id` + last-update time) was not delivered before becomes an
//! event with that change's stable id; the mark and the delivered changes are stored ([`state`])
//! once acknowledged.
//!
//! | `type` | `api` | calls |
//! |---|---|---|
//! | `defender_alerts` | `graph` (default) | `GET /v1.0/security/alerts_v2` |
//! | `defender_alerts` | `mde` | `GET /api/alerts?$expand=evidence` |
//! | `defender_incidents` | `graph` (default) | `GET /v1.0/security/incidents`, and per changed incident `GET /v1.0/security/incidents/{id}?$expand=alerts` ([`incident_alerts`]) |
//! | `defender_incidents` | `xdr` | `GET /api/incidents` |

pub mod incident_alerts;
pub mod paging;
pub mod poll;
pub mod state;

use super::start_time::StartTime;
use std::time::{Duration, SystemTime};

use serde::Deserialize;
use siemflow_core::component::{
    ComponentError, ComponentTask, Reach, ReachCheck, SourceConfig, SourceContext,
};
use siemflow_core::config::duration;

use crate::azure::credentials::EntraAppConfig;
use crate::defender_api::client::ApiClient;
use crate::defender_api::endpoints::ListApi;
use crate::defender_api::options::DefenderApiConfig;
use crate::defender_api::reach::reach;

/// `type: defender_alerts` (`A` = [`AlertsApi`]) and `type: defender_incidents`
/// (`A` = [`IncidentsApi`]): the same source over a different list API.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(bound = "A: schemars::JsonSchema + Default")]
pub struct DefenderSourceConfig<A> {
    /// Which API: for `defender_alerts`, `graph` (default, Graph `alerts_v2`, every Defender
    /// product) or `mde` (Defender for Endpoint `/api/alerts`, with evidence); for
    /// `defender_incidents`, `graph` (default, Graph `incidents`) or `xdr` (Defender XDR
    /// `/api/incidents`).
    #[serde(default)]
    pub api: A,
    /// The app and how it logs in.
    #[serde(flatten)]
    pub app: EntraAppConfig,
    /// API host, TLS trust, call budget.
    #[serde(flatten)]
    pub connection: DefenderApiConfig,
    /// When and how much to poll.
    #[serde(flatten)]
    pub poll: PollConfig,
}

/// `type: defender_alerts`.
pub type DefenderAlertsConfig = DefenderSourceConfig<AlertsApi>;

/// `type: defender_incidents`.
pub type DefenderIncidentsConfig = DefenderSourceConfig<IncidentsApi>;

/// The `api:` choice of a Defender source.
pub trait ApiChoice: Copy + Default + std::fmt::Debug + Send + Sync {
    /// The list API chosen.
    fn list_api(self) -> ListApi;
}

/// Which alerts API: `graph` (default), Microsoft Graph `alerts_v2`, every Defender product;
/// `mde`, the Defender for Endpoint `/api/alerts` API with evidence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AlertsApi {
    /// Graph `alerts_v2`.
    #[default]
    Graph,
    /// Defender for Endpoint `/api/alerts`.
    Mde,
}

impl ApiChoice for AlertsApi {
    fn list_api(self) -> ListApi {
        match self {
            Self::Graph => ListApi::GraphAlerts,
            Self::Mde => ListApi::MdeAlerts,
        }
    }
}

impl ApiChoice for IncidentsApi {
    fn list_api(self) -> ListApi {
        match self {
            Self::Graph => ListApi::GraphIncidents,
            Self::Xdr => ListApi::XdrIncidents,
        }
    }
}

/// Which incidents API: `graph` (default), Microsoft Graph `incidents` with their alerts;
/// `xdr`, the Defender XDR `/api/incidents` API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IncidentsApi {
    /// Graph `incidents`.
    #[default]
    Graph,
    /// Defender XDR `/api/incidents`.
    Xdr,
}

/// How both sources poll.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct PollConfig {
    /// Time between polls (default `60s`).
    #[schemars(with = "String")]
    #[serde(default = "default_interval", with = "duration")]
    pub interval: Duration,
    /// Where the first poll starts: an RFC 3339 time (`2026-11-01T00:00:00Z`) or a duration back
    /// from now (`7d`) (default `1d`). Ignored once a high-water mark is stored.
    #[serde(default)]
    pub start_time: Option<StartTime>,
    /// How far before the high-water mark each poll reads again, for changes that reach the API
    /// late (default `5m`). Changes read again and already delivered are dropped.
    #[schemars(with = "String")]
    #[serde(default = "default_overlap", with = "duration")]
    pub overlap: Duration,
    /// Items per page, `$top` (default: the API's page size, up to 1,000): at most 1,000 (Graph
    /// alerts), 10,000 (MDE), 50 (Graph incidents), 100 (XDR); `validate` refuses more, as Graph
    /// clamps or refuses a larger page.
    #[serde(default)]
    pub page_size: Option<usize>,
    /// `defender_incidents` only: whether each incident event carries its alerts, as
    /// `$expand=alerts` shows them (default `true`). Graph: one more request per changed incident;
    /// XDR: the API always sends them, `false` takes them out.
    #[serde(default)]
    pub include_alerts: Option<bool>,
    /// Events per batch (default 500).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
}

fn default_interval() -> Duration {
    Duration::from_secs(60)
}

fn default_overlap() -> Duration {
    Duration::from_secs(300)
}

fn default_batch_size() -> usize {
    500
}

impl PollConfig {
    fn check(&self, api: ListApi) -> Result<(), String> {
        if self.interval.is_zero() {
            return Err("`interval` must be more than 0".into());
        }
        if let Some(size) = self.page_size
            && (size == 0 || size > api.max_page())
        {
            return Err(format!(
                "`page_size` must be between 1 and {} for this API",
                api.max_page()
            ));
        }
        if self.batch_size == 0 {
            return Err("`batch_size` must be more than 0".into());
        }
        if self.include_alerts.is_some() && api.event_type() != "Incident" {
            return Err("`include_alerts` is an option of `defender_incidents`".into());
        }
        Ok(())
    }

    /// `start_time` resolved against `now`.
    fn start(&self, now: SystemTime) -> SystemTime {
        super::start_time::resolve(self.start_time, Duration::from_secs(86_400), now)
    }

    fn build(
        &self,
        api: ListApi,
        client: ApiClient,
        cx: SourceContext,
    ) -> Result<ComponentTask, ComponentError> {
        self.check(api).map_err(ComponentError::Config)?;
        let settings = poll::Settings {
            api,
            interval: self.interval,
            start: self.start(SystemTime::now()),
            overlap: self.overlap,
            page_size: self
                .page_size
                .unwrap_or_else(|| api.default_page())
                .min(api.max_page()),
            batch_size: self.batch_size,
            include_alerts: self.include_alerts.unwrap_or(true),
        };
        Ok(Box::pin(poll::run(client, settings, cx)))
    }
}

impl<A: ApiChoice> SourceConfig for DefenderSourceConfig<A> {
    fn resolve_paths(&mut self, base: &std::path::Path) {
        self.app.resolve_paths(base);
        self.connection.resolve_paths(base);
    }

    fn check(&self) -> Result<(), String> {
        self.connection.check(&self.app)?;
        self.poll.check(self.api.list_api())
    }

    fn reach(&self) -> ReachCheck<'_> {
        Box::pin(async move {
            let api = self.api.list_api();
            let client = self
                .connection
                .client(&self.app, api.service(), "validate")?;
            let first = format!("{}?$top=1", api.path());
            reach(&client, Some(&first)).await.map(Reach::Reached)
        })
    }

    fn build(&self, cx: SourceContext) -> Result<ComponentTask, ComponentError> {
        let api = self.api.list_api();
        let client = self
            .connection
            .client(&self.app, api.service(), &cx.component.id)
            .map_err(ComponentError::Config)?;
        self.poll.build(api, client, cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<T: serde::de::DeserializeOwned>(yaml: &str) -> Result<T, String> {
        let node = siemflow_core::config::yaml::parse(yaml).map_err(|e| format!("{e:?}"))?;
        siemflow_core::config::de::from_node(&node).map_err(|e| e.to_string())
    }

    #[test]
    fn options_flatten_and_unknown_keys_are_refused() {
        let config: DefenderAlertsConfig = parse(
            "{api: mde, tenant_id: t, client_id: c, client_secret: s, interval: 30s, start_time: 2d, cloud: gcc}",
        )
        .unwrap();
        assert_eq!(config.api, AlertsApi::Mde);
        assert_eq!(config.poll.interval, Duration::from_secs(30));
        config.check().unwrap();
        let error = parse::<DefenderAlertsConfig>(
            "{tenant_id: t, client_id: c, client_secret: s, intervall: 30s}",
        )
        .unwrap_err();
        assert!(error.contains("intervall"), "{error}");
        let bad: DefenderIncidentsConfig =
            parse("{api: xdr, tenant_id: t, client_id: c, client_secret: s, page_size: 101}")
                .unwrap();
        assert!(bad.check().unwrap_err().contains("page_size"));
        let bad = parse::<DefenderIncidentsConfig>(
            "{tenant_id: t, client_id: c, client_secret: s, start_time: yesterday}",
        )
        .unwrap_err();
        assert!(bad.contains("not `yesterday`"), "{bad}");
        let capped: DefenderAlertsConfig =
            parse("{tenant_id: t, client_id: c, client_secret: s, page_size: 2000}").unwrap();
        assert!(
            capped.check().unwrap_err().contains("between 1 and 1000"),
            "Graph clamps alerts_v2 to 1,000: a larger page would look like the last one"
        );
        let graph: DefenderIncidentsConfig =
            parse("{tenant_id: t, client_id: c, client_secret: s, page_size: 51}").unwrap();
        assert!(graph.check().unwrap_err().contains("between 1 and 50"));
        let misplaced: DefenderAlertsConfig =
            parse("{tenant_id: t, client_id: c, client_secret: s, include_alerts: false}").unwrap();
        assert!(misplaced.check().unwrap_err().contains("include_alerts"));
    }
}
