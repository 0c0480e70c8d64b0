//! `type: defender_alert_update`: triage decisions from a SIEM written back to Defender alerts.
//!
//! For each event ([`triage::Triage`]): read the alert (`GET`), work out what differs, and send
//! only that (`PATCH /v1.0/security/alerts_v2/{id}` or `PATCH /api/alerts/{id}`), then, for
//! Graph, the comment (`POST .../comments`; Defender for Endpoint takes it in the PATCH). A
//! decision that changes nothing sends nothing. Calls share the app's budget with the alert
//! sources and are retried like theirs ([`crate::defender_api::client`]).
//!
//! Dead-lettered, with the API's own message: an alert the API does not know (404), an update
//! it refuses (400), and input that is not a decision. Refused credentials stop the sink: no
//! event is acknowledged that was not written back.

pub mod triage;

use std::sync::Arc;

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;
use siemflow_core::component::{
    ComponentError, ComponentTask, Reach, ReachCheck, SinkConfig, SinkContext,
};
use siemflow_core::event::{Event, EventStatus};
use tokio_util::sync::CancellationToken;

use self::triage::{Dialect, Triage};
use crate::azure::credentials::EntraAppConfig;
use crate::defender_api::client::{ApiClient, ApiError, CallContext};
use crate::defender_api::options::DefenderApiConfig;
use crate::defender_api::reach::reach;
use crate::sources::defender::AlertsApi;

/// Writes triage decisions back to Defender alerts.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DefenderAlertUpdateConfig {
    /// `graph` (default): Graph `alerts_v2`; `mde`: Defender for Endpoint `/api/alerts`. The
    /// alert ids must be that API's.
    #[serde(default)]
    pub api: AlertsApi,
    /// The app (with `SecurityAlert.ReadWrite.All` or `Alert.ReadWrite.All`) and how it logs in.
    #[serde(flatten)]
    pub app: EntraAppConfig,
    /// API host, TLS trust, call budget.
    #[serde(flatten)]
    pub connection: DefenderApiConfig,
}

impl DefenderAlertUpdateConfig {
    fn dialect(&self) -> Dialect {
        match self.api {
            AlertsApi::Graph => Dialect::Graph,
            AlertsApi::Mde => Dialect::Mde,
        }
    }

    fn collection(&self) -> &'static str {
        match self.api {
            AlertsApi::Graph => "/v1.0/security/alerts_v2",
            AlertsApi::Mde => "/api/alerts",
        }
    }

    fn service(&self) -> crate::azure::cloud::Service {
        match self.api {
            AlertsApi::Graph => crate::azure::cloud::Service::Graph,
            AlertsApi::Mde => crate::azure::cloud::Service::Endpoint,
        }
    }
}

impl SinkConfig for DefenderAlertUpdateConfig {
    fn resolve_paths(&mut self, base: &std::path::Path) {
        self.app.resolve_paths(base);
        self.connection.resolve_paths(base);
    }

    fn check(&self) -> Result<(), String> {
        self.connection.check(&self.app)
    }

    fn reach(&self) -> ReachCheck<'_> {
        Box::pin(async move {
            let client = self
                .connection
                .client(&self.app, self.service(), "validate")?;
            let first = format!("{}?$top=1", self.collection());
            let read = reach(&client, Some(&first)).await?;
            Ok(Reach::Reached(format!(
                "{read}; the write permission is tried by the first update"
            )))
        })
    }

    fn build(&self, cx: SinkContext) -> Result<ComponentTask, ComponentError> {
        let client = self
            .connection
            .client(&self.app, self.service(), &cx.component.id)
            .map_err(ComponentError::Config)?;
        let writer = Arc::new(Writer {
            client,
            dialect: self.dialect(),
            collection: self.collection(),
        });
        Ok(Box::pin(async move {
            let SinkContext {
                component,
                mut input,
            } = cx;
            // Calls are retried until they work: the drain timeout bounds a stop.
            let never = CancellationToken::new();
            let call = CallContext {
                metrics: &component.metrics,
                shutdown: &never,
                give_up_after: None,
            };
            while let Some(batch) = input.recv().await {
                for event in batch {
                    let written = match decision(&event) {
                        Ok(triage) => writer.write(&triage, call).await,
                        Err(reason) => Err(Failure::DeadLetter(reason)),
                    };
                    match written {
                        Ok(Written::Changed) => {
                            component.metrics.delivered(std::slice::from_ref(&event));
                            event.resolve(EventStatus::Delivered);
                        }
                        Ok(Written::Unchanged) => {
                            component.metrics.discarded(1, "unchanged");
                            event.resolve(EventStatus::Delivered);
                        }
                        Err(Failure::DeadLetter(reason)) => {
                            component.dead_letters.events(vec![(event, reason)]);
                        }
                        Err(Failure::Fatal(message)) => {
                            event.resolve(EventStatus::Errored);
                            return Err(ComponentError::Other(message));
                        }
                    }
                }
            }
            Ok(())
        }))
    }
}

struct Writer {
    client: ApiClient,
    dialect: Dialect,
    collection: &'static str,
}

enum Written {
    Changed,
    Unchanged,
}

enum Failure {
    DeadLetter(String),
    Fatal(String),
}

impl Writer {
    async fn write(&self, triage: &Triage, call: CallContext<'_>) -> Result<Written, Failure> {
        let url = self
            .client
            .url(&format!(
                "{}/{}",
                self.collection,
                encode_segment(&triage.id)
            ))
            .map_err(|reason| Failure::DeadLetter(format!("invalid_update: {reason}")))?;
        let current = self
            .client
            .call_json(Method::GET, &url, None, call)
            .await
            .map_err(|error| self.failure(triage, error))?;
        let changes = triage
            .changes(&current, self.dialect)
            .map_err(|reason| Failure::DeadLetter(format!("invalid_update: {reason}")))?;
        let comment = match self.dialect {
            Dialect::Graph => triage.comment.clone(),
            Dialect::Mde => None,
        };
        if changes.is_empty() && comment.is_none() {
            tracing::info!(alert = %triage.id, "write-back: the alert already says so, nothing sent");
            return Ok(Written::Unchanged);
        }
        let fields: Vec<&str> = changes.keys().map(String::as_str).collect();
        let what = match (fields.is_empty(), comment.is_some()) {
            (false, true) => format!("{} and a comment", fields.join(", ")),
            (false, false) => fields.join(", "),
            (true, _) => "a comment".to_string(),
        };
        if !changes.is_empty() {
            self.client
                .call(Method::PATCH, &url, Some(&Value::Object(changes)), call)
                .await
                .map_err(|error| self.failure(triage, error))?;
        }
        if let Some(comment) = comment {
            let comments = self
                .client
                .url(&format!(
                    "{}/{}/comments",
                    self.collection,
                    encode_segment(&triage.id)
                ))
                .map_err(|reason| Failure::DeadLetter(format!("invalid_update: {reason}")))?;
            let body = serde_json::json!({
                "@odata.type": "microsoft.graph.security.alertComment",
                "comment": comment,
            });
            self.client
                .call(Method::POST, &comments, Some(&body), call)
                .await
                .map_err(|error| self.failure(triage, error))?;
        }
        tracing::info!(alert = %triage.id, "write-back: updated {what}");
        Ok(Written::Changed)
    }

    fn failure(&self, triage: &Triage, error: ApiError) -> Failure {
        match error {
            ApiError::Auth(error) => Failure::Fatal(error.to_string()),
            ApiError::Stopped => Failure::Fatal("stopped".into()),
            // Not given up on by this sink (`give_up_after: None`); should it happen, the event
            // is not acknowledged and the sink stops rather than drop the decision.
            unavailable @ ApiError::Unavailable { .. } => {
                Failure::Fatal(format!("updating alert {}: {unavailable}", triage.id))
            }
            ApiError::Refused {
                status: 404,
                code,
                message,
            } => Failure::DeadLetter(format!(
                "alert_not_found: alert {}: HTTP 404 {code}: {message}",
                triage.id
            )),
            ApiError::Refused {
                status: status @ (401 | 403),
                code,
                message,
            } => Failure::Fatal(format!(
                "the API refused to update alert {} (HTTP {status} {code}: {message}); the app needs {} with admin consent",
                triage.id,
                match self.dialect {
                    Dialect::Graph => "SecurityAlert.ReadWrite.All (Microsoft Graph)",
                    Dialect::Mde => "Alert.ReadWrite.All (WindowsDefenderATP)",
                }
            )),
            ApiError::Refused {
                status,
                code,
                message,
            } => Failure::DeadLetter(format!(
                "update_refused: alert {}: HTTP {status} {code}: {message}",
                triage.id
            )),
        }
    }
}

/// The decision an event carries, or why it carries none.
fn decision(event: &Event) -> Result<Triage, String> {
    let body = event
        .parsed()
        .map_err(|error| format!("invalid_update: not JSON: {error}"))?;
    Triage::parse(body).map_err(|reason| format!("invalid_update: {reason}"))
}

/// An id as one URL path segment.
fn encode_segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
