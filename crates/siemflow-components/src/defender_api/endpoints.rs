//! The four list APIs and what differs between them.
//!
//! | `api` | path | last update | page (`$top`) | paging | limits (per min / hour) |
//! |---|---|---|---|---|---|
//! | `defender_alerts`, `graph` | `/v1.0/security/alerts_v2` | `lastUpdateDateTime` | 1,000 | by time | 150 / 9,000 |
//! | `defender_alerts`, `mde` | `/api/alerts?$expand=evidence` | `lastUpdateTime` | 10,000 | by offset | 100 / 1,500 |
//! | `defender_incidents`, `graph` | `/v1.0/security/incidents` | `lastUpdateDateTime` | 50 | by time | 150 / 9,000 |
//! | `defender_incidents`, `xdr` | `/api/incidents` | `lastUpdateTime` | 100 | by offset | 50 / 1,500 |
//! | `defender_hunting` | `POST /v1.0/security/runHuntingQuery` | | | | 45 / 2,700 |
//!
//! Documented: the MDE and XDR page sizes and limits, Graph's 150 calls a minute per app and
//! tenant for `/security`, advanced hunting's "at least 45 calls per minute per tenant". Graph's
//! page sizes are what large tenants see (`alerts_v2` clamps `$top` to 1,000, `incidents`
//! refuses more than 50: `shared/reference/defender-apis.md` section 7); the Graph hourly figures
//! are simply 60 minutes of the minute limits. The Graph incident list is never asked to
//! `$expand=alerts` (with `$filter` it fails on incidents with many alerts): the source reads
//! each changed incident's alerts on its own (`GET /v1.0/security/incidents/{id}?$expand=alerts`).

use super::budget::Quota;
use crate::azure::cloud::Service;

/// A list API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListApi {
    /// Graph `alerts_v2`.
    GraphAlerts,
    /// Defender for Endpoint `/api/alerts`.
    MdeAlerts,
    /// Graph `incidents`.
    GraphIncidents,
    /// Defender XDR `/api/incidents`.
    XdrIncidents,
}

impl ListApi {
    /// The service it belongs to (its token resource and budget).
    pub fn service(self) -> Service {
        match self {
            Self::GraphAlerts | Self::GraphIncidents => Service::Graph,
            Self::MdeAlerts => Service::Endpoint,
            Self::XdrIncidents => Service::Xdr,
        }
    }

    /// The collection's path below the API base URL.
    pub fn path(self) -> &'static str {
        match self {
            Self::GraphAlerts => "/v1.0/security/alerts_v2",
            Self::MdeAlerts => "/api/alerts",
            Self::GraphIncidents => "/v1.0/security/incidents",
            Self::XdrIncidents => "/api/incidents",
        }
    }

    /// The property holding the last update time, filtered on.
    pub fn time_field(self) -> &'static str {
        match self {
            Self::GraphAlerts | Self::GraphIncidents => "lastUpdateDateTime",
            Self::MdeAlerts | Self::XdrIncidents => "lastUpdateTime",
        }
    }

    /// The id property.
    pub fn id_field(self) -> &'static str {
        match self {
            Self::XdrIncidents => "incidentId",
            _ => "id",
        }
    }

    /// The largest `$top`.
    pub fn max_page(self) -> usize {
        match self {
            Self::GraphAlerts => 1_000,
            Self::MdeAlerts => 10_000,
            Self::GraphIncidents => 50,
            Self::XdrIncidents => 100,
        }
    }

    /// The page size when none is set: the largest, up to 1,000 (fewer requests; MDE pages
    /// carry evidence and stay at 1,000).
    pub fn default_page(self) -> usize {
        self.max_page().min(1_000)
    }

    /// Whether the list is walked by time (Graph) rather than by offset (see
    /// `sources::defender::paging`).
    pub fn pages_by_time(self) -> bool {
        matches!(self, Self::GraphAlerts | Self::GraphIncidents)
    }

    /// `$expand` that makes each listed item complete.
    pub fn expand(self) -> Option<&'static str> {
        match self {
            Self::MdeAlerts => Some("evidence"),
            Self::GraphAlerts | Self::GraphIncidents | Self::XdrIncidents => None,
        }
    }

    /// The event type given to the events.
    pub fn event_type(self) -> &'static str {
        match self {
            Self::GraphAlerts | Self::MdeAlerts => "Alert",
            Self::GraphIncidents | Self::XdrIncidents => "Incident",
        }
    }
}

/// Documented calls per minute and per hour for one app in one tenant.
pub fn default_limits(quota: Quota) -> (u32, u32) {
    match quota {
        Quota::Api(Service::Endpoint) => (100, 1_500),
        Quota::Api(Service::Xdr) => (50, 1_500),
        Quota::Api(Service::Graph) => (150, 9_000),
        Quota::Hunting => (45, 2_700),
    }
}
