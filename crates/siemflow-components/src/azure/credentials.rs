//! The options that name an Entra ID app and how it authenticates, shared by every component
//! that calls a Microsoft API (flattened into their configs).

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use siemflow_core::secret::SecretString;

use super::certificate::ClientCertificate;
use super::cloud::Cloud;
use super::token::{Credential, TokenProvider};

/// `tenant_id`, `client_id`, and `client_secret` or `client_certificate`, plus where to log in.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct EntraAppConfig {
    /// The customer's directory (tenant) id, or one of its domain names.
    pub tenant_id: String,
    /// The app (client) id registered in that tenant.
    pub client_id: String,
    /// The app's client secret (its value, not its id).
    #[serde(default)]
    pub client_secret: Option<SecretString>,
    /// A certificate instead of a secret, `{ path, password }`: the app signs a PS256 client
    /// assertion with it (`x5t#S256`).
    #[serde(default)]
    pub client_certificate: Option<CertificateConfig>,
    /// `commercial` (default), `gcc`, `gcc_high` or `dod`: sets the login and API hosts.
    #[serde(default)]
    pub cloud: Cloud,
    /// Overrides the login host of `cloud` (default: the cloud's), e.g. a proxy or a test server.
    #[serde(default)]
    pub authority_host: Option<String>,
    /// `v2` (default): `/oauth2/v2.0/token` with `scope=<resource>/.default`; or `v1`:
    /// `/oauth2/token` with `resource=`, for tenants or proxies that only take the older form.
    #[serde(default)]
    pub token_version: TokenVersion,
}

/// [`EntraAppConfig`] as a nested block (`entra: {tenant_id: ..., ...}`) of a component whose
/// other options are not about the app, refusing unknown keys (the flattened form cannot).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntraAppBlock {
    /// The app.
    #[serde(flatten)]
    pub app: EntraAppConfig,
}

/// A certificate credential file.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateConfig {
    /// PEM file with the certificate and its RSA private key (PKCS#1, PKCS#8, or encrypted PKCS#8
    /// opened with `password`).
    pub path: PathBuf,
    /// Password of an encrypted (`ENCRYPTED PRIVATE KEY`) key.
    #[serde(default)]
    pub password: Option<SecretString>,
}

/// Which token endpoint form to use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TokenVersion {
    /// `/oauth2/v2.0/token`, `scope`.
    #[default]
    V2,
    /// `/oauth2/token`, `resource`.
    V1,
}

impl EntraAppConfig {
    /// Takes a relative certificate path from the pipeline file's folder.
    pub fn resolve_paths(&mut self, base: &std::path::Path) {
        if let Some(certificate) = &mut self.client_certificate {
            siemflow_core::config::paths::resolve(base, &mut certificate.path);
        }
    }
}

impl EntraAppBlock {
    /// Takes a relative certificate path from the pipeline file's folder.
    pub fn resolve_paths(&mut self, base: &std::path::Path) {
        self.app.resolve_paths(base);
    }
}

impl EntraAppConfig {
    /// Checks the options without reading files or connecting.
    pub fn check(&self) -> Result<(), String> {
        let tenant = self.tenant_id.trim();
        if tenant.is_empty()
            || !tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        {
            return Err(format!(
                "`tenant_id` must be a directory id (a GUID) or domain name, not `{tenant}`"
            ));
        }
        if self.client_id.trim().is_empty() {
            return Err("`client_id` must not be empty".into());
        }
        match (&self.client_secret, &self.client_certificate) {
            (Some(_), Some(_)) => {
                return Err("set `client_secret` or `client_certificate`, not both".into());
            }
            (None, None) => return Err("set `client_secret` or `client_certificate`".into()),
            (Some(secret), None) if secret.expose().is_empty() => {
                return Err("`client_secret` is empty".into());
            }
            _ => {}
        }
        if let Some(host) = &self.authority_host {
            crate::http_client::parse_endpoint(host)
                .map_err(|error| error.replace("`endpoint`", "`authority_host`"))?;
        }
        Ok(())
    }

    /// The login host: `authority_host`, or the cloud's.
    pub fn authority(&self) -> String {
        self.authority_host
            .clone()
            .unwrap_or_else(|| self.cloud.authority_host().to_string())
            .trim_end_matches('/')
            .to_string()
    }

    /// Loads the credential (reads the certificate) and returns a token provider using `http`.
    pub fn provider(&self, http: reqwest::Client) -> Result<TokenProvider, String> {
        self.check()?;
        let credential = match (&self.client_secret, &self.client_certificate) {
            (Some(secret), _) => Credential::Secret(secret.clone()),
            (None, Some(certificate)) => {
                Credential::Certificate(Arc::new(ClientCertificate::load(
                    &certificate.path,
                    certificate.password.as_ref().map(SecretString::expose),
                )?))
            }
            (None, None) => return Err("set `client_secret` or `client_certificate`".into()),
        };
        TokenProvider::new(
            http,
            &self.authority(),
            self.tenant_id.trim(),
            self.client_id.trim(),
            credential,
            self.token_version,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> EntraAppConfig {
        let node = siemflow_core::config::yaml::parse(yaml).unwrap();
        siemflow_core::config::de::from_node(&node).unwrap()
    }

    #[test]
    fn needs_exactly_one_credential_and_a_sane_tenant() {
        let both = config(
            "{tenant_id: t, client_id: c, client_secret: s, client_certificate: {path: x.pem}}",
        );
        assert!(both.check().unwrap_err().contains("not both"));
        let none = config("{tenant_id: t, client_id: c}");
        assert!(none.check().unwrap_err().contains("client_secret"));
        let slash = config("{tenant_id: 'a/b', client_id: c, client_secret: s}");
        assert!(slash.check().unwrap_err().contains("tenant_id"));
        let good = config(
            "{tenant_id: contoso.onmicrosoft.com, client_id: c, client_secret: s, cloud: gcc_high}",
        );
        good.check().unwrap();
        assert_eq!(good.authority(), "https://login.microsoftonline.us");
        let local = config(
            "{tenant_id: t, client_id: c, client_secret: s, authority_host: 'http://127.0.0.1:9/'}",
        );
        assert_eq!(local.authority(), "http://127.0.0.1:9");
    }
}
