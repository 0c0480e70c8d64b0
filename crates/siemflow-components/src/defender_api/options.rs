//! The options every component that calls a Defender API shares, flattened into its config.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;
use siemflow_core::config::duration;

use super::budget::{BudgetKey, CallBudget, Quota};
use super::client::ApiClient;
use super::endpoints::default_limits;
use crate::azure::cloud::Service;
use crate::azure::credentials::EntraAppConfig;
use crate::tls::TlsOptions;

/// API host override, TLS trust, call budget and timeout (flattened beside an
/// [`EntraAppConfig`]: serde cannot refuse unknown keys through nested flattening, so each
/// component flattens both at its own level).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct DefenderApiConfig {
    /// Overrides the API host of `cloud` (default: the cloud's), e.g. a regional host
    /// (`https://eu.api.security.microsoft.com`), a proxy or a test server.
    #[serde(default)]
    pub api_base_url: Option<String>,
    /// PEM file of CA certificates to trust for the login and API hosts, instead of the system's.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Calls allowed for this app in this tenant, `{ per_minute, per_hour }` (default: the API's
    /// documented limits; see the pipeline reference).
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// How long one request may take (default `60s`; `200s` for `defender_hunting`, whose
    /// queries may run three minutes).
    #[schemars(with = "String")]
    #[serde(default, deserialize_with = "duration::deserialize_some")]
    pub request_timeout: Option<Duration>,
}

/// `rate_limit: { per_minute, per_hour }`.
#[derive(Debug, Clone, Copy, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Calls in any minute.
    pub per_minute: u32,
    /// Calls in any hour.
    pub per_hour: u32,
}

/// `request_timeout` when unset, for list and update calls.
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

impl DefenderApiConfig {
    /// Takes a relative `ca_file` from the pipeline file's folder.
    pub fn resolve_paths(&mut self, base: &std::path::Path) {
        siemflow_core::config::paths::resolve_opt(base, &mut self.ca_file);
    }

    /// Checks the options without reading files or connecting.
    pub fn check(&self, app: &EntraAppConfig) -> Result<(), String> {
        app.check()?;
        if let Some(base) = &self.api_base_url {
            crate::http_client::parse_endpoint(base)
                .map_err(|error| error.replace("`endpoint`", "`api_base_url`"))?;
        }
        if let Some(limit) = self.rate_limit
            && (limit.per_minute == 0 || limit.per_hour == 0)
        {
            return Err("`rate_limit` values must be at least 1".into());
        }
        Ok(())
    }

    /// The base URL of `service`: `api_base_url`, or the cloud's host.
    pub fn base_url(&self, app: &EntraAppConfig, service: Service) -> Result<Url, String> {
        let base = self
            .api_base_url
            .clone()
            .unwrap_or_else(|| app.cloud.api_host(service).to_string());
        Url::parse(base.trim_end_matches('/'))
            .map_err(|error| format!("`api_base_url` `{base}` is not a URL: {error}"))
    }

    /// A client for `service`: HTTP with the TLS trust, tokens, the app's shared budget for
    /// that API.
    pub fn client(
        &self,
        app: &EntraAppConfig,
        service: Service,
        component: &str,
    ) -> Result<ApiClient, String> {
        self.client_for(
            app,
            service,
            Quota::Api(service),
            DEFAULT_REQUEST_TIMEOUT,
            component,
        )
    }

    /// A client for `service` that spends `quota`, whose requests may take
    /// `default_timeout` unless `request_timeout` says otherwise.
    pub fn client_for(
        &self,
        app: &EntraAppConfig,
        service: Service,
        quota: Quota,
        default_timeout: Duration,
        component: &str,
    ) -> Result<ApiClient, String> {
        self.check(app)?;
        let tls = TlsOptions {
            ca_file: self.ca_file.clone(),
            ..TlsOptions::default()
        };
        let http = crate::http_client::client_with(
            &tls,
            Duration::from_secs(10),
            self.request_timeout.unwrap_or(default_timeout),
        )?;
        let tokens = app.provider(http.clone())?;
        let limits = self.rate_limit.map_or_else(
            || default_limits(quota),
            |limit| (limit.per_minute, limit.per_hour),
        );
        let budget = CallBudget::shared(
            BudgetKey {
                quota,
                tenant: app.tenant_id.trim().to_string(),
                client_id: app.client_id.trim().to_string(),
            },
            limits,
        );
        Ok(ApiClient::new(
            http,
            tokens,
            app.cloud.api_host(service).to_string(),
            self.base_url(app, service)?,
            budget,
            Arc::from(component),
        ))
    }
}
