//! OAuth 2.0 client credentials against the Microsoft identity platform.
//!
//! One [`TokenProvider`] per app; it caches one token per resource (an MDE token is refused by
//! Graph, and a request may name only one resource). A token is renewed once 80% of its
//! lifetime has passed, or as soon as an API answers 401 ([`TokenProvider::invalidate`]); if
//! renewing fails for a passing reason while the old token is still valid, the old one is used.
//! Both response forms are read: v2.0 numbers and v1.0 strings (`"expires_in": "3599"`).
//!
//! Errors are split by what the caller should do: [`AuthError::Rejected`] (the credentials are
//! wrong: stop and say so, retrying would only lock the app out) and [`AuthError::Unavailable`]
//! (network, 429, 5xx: try again later). Secrets and tokens never appear in either.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Url;
use serde::Deserialize;
use siemflow_core::secret::SecretString;

use super::certificate::ClientCertificate;
use super::credentials::TokenVersion;

/// How the app proves itself.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A client secret.
    Secret(SecretString),
    /// A certificate, as a signed client assertion.
    Certificate(Arc<ClientCertificate>),
}

/// A bearer token for one resource.
#[derive(Debug, Clone)]
pub struct AccessToken {
    value: SecretString,
    issued: Instant,
    expires_at: Instant,
}

impl AccessToken {
    /// `Bearer <token>`, for the `Authorization` header.
    pub fn header(&self) -> String {
        format!("Bearer {}", self.value.expose())
    }

    /// The token itself, for protocols that carry it elsewhere than a header (AMQP CBS).
    pub fn secret(&self) -> &str {
        self.value.expose()
    }

    /// How long it stays valid from now.
    pub fn remaining(&self) -> Duration {
        self.expires_at.saturating_duration_since(Instant::now())
    }

    fn is_fresh(&self, now: Instant) -> bool {
        let lifetime = self.expires_at.saturating_duration_since(self.issued);
        now < self.issued + lifetime.mul_f64(0.8)
    }

    fn is_valid(&self, now: Instant) -> bool {
        now + Duration::from_secs(5) < self.expires_at
    }
}

/// Why no token could be had.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    /// The identity platform refused the request: wrong secret, unknown app or tenant, bad
    /// scope. Not worth retrying.
    #[error(
        "the identity platform refused the credentials of app {client_id} in tenant {tenant} (HTTP {status}, {code}): {description}"
    )]
    Rejected {
        /// The app.
        client_id: String,
        /// The tenant.
        tenant: String,
        /// HTTP status.
        status: u16,
        /// OAuth `error`.
        code: String,
        /// `error_description` (AADSTS code and text).
        description: String,
    },
    /// Could not reach the token endpoint, or it is busy: try again.
    #[error("cannot get a token from {endpoint}: {reason}")]
    Unavailable {
        /// The token endpoint.
        endpoint: String,
        /// What happened.
        reason: String,
        /// The server's `Retry-After`.
        retry_after: Option<Duration>,
    },
}

/// Tokens of one app, per resource.
#[derive(Debug, Clone)]
pub struct TokenProvider {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    endpoint: Url,
    version: TokenVersion,
    tenant: String,
    client_id: String,
    credential: Credential,
    tokens: Mutex<HashMap<String, AccessToken>>,
    /// One renewal at a time, so a burst of callers makes one request.
    renewing: tokio::sync::Mutex<()>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(deserialize_with = "number_or_string")]
    expires_in: u64,
}

#[derive(Deserialize, Default)]
struct TokenErrorBody {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

fn number_or_string<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Number(u64),
        Text(String),
    }
    match Either::deserialize(deserializer)? {
        Either::Number(number) => Ok(number),
        Either::Text(text) => text.trim().parse().map_err(serde::de::Error::custom),
    }
}

impl TokenProvider {
    /// A provider for `client_id` in `tenant` at `authority` (e.g. `https://login.microsoftonline.com`).
    pub fn new(
        http: reqwest::Client,
        authority: &str,
        tenant: &str,
        client_id: &str,
        credential: Credential,
        version: TokenVersion,
    ) -> Result<Self, String> {
        let path = match version {
            TokenVersion::V2 => "oauth2/v2.0/token",
            TokenVersion::V1 => "oauth2/token",
        };
        let endpoint = Url::parse(&format!("{authority}/{tenant}/{path}"))
            .map_err(|error| format!("bad token endpoint for authority `{authority}`: {error}"))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                endpoint,
                version,
                tenant: tenant.into(),
                client_id: client_id.into(),
                credential,
                tokens: Mutex::default(),
                renewing: tokio::sync::Mutex::default(),
            }),
        })
    }

    /// The token endpoint, for messages.
    pub fn endpoint(&self) -> &str {
        self.inner.endpoint.as_str()
    }

    /// A token for `resource` (e.g. `https://graph.microsoft.com`), from the cache or fetched.
    pub async fn token(&self, resource: &str) -> Result<AccessToken, AuthError> {
        if let Some(token) = self.cached(resource, true) {
            return Ok(token);
        }
        let _renewing = self.inner.renewing.lock().await;
        if let Some(token) = self.cached(resource, true) {
            return Ok(token);
        }
        match self.request(resource).await {
            Ok(token) => {
                self.tokens().insert(resource.to_string(), token.clone());
                Ok(token)
            }
            Err(AuthError::Unavailable { reason, .. })
                if self.cached(resource, false).is_some() =>
            {
                tracing::warn!(
                    endpoint = %self.inner.endpoint,
                    resource,
                    "cannot renew the token yet ({reason}); using the current one until it expires"
                );
                self.cached(resource, false)
                    .ok_or_else(|| AuthError::Unavailable {
                        endpoint: self.inner.endpoint.to_string(),
                        reason,
                        retry_after: None,
                    })
            }
            Err(error) => Err(error),
        }
    }

    /// Forgets `token` for `resource` after an API refused it (401), so the next call renews.
    pub fn invalidate(&self, resource: &str, token: &AccessToken) {
        let mut tokens = self.tokens();
        if tokens
            .get(resource)
            .is_some_and(|cached| cached.value == token.value)
        {
            tokens.remove(resource);
        }
    }

    fn tokens(&self) -> std::sync::MutexGuard<'_, HashMap<String, AccessToken>> {
        self.inner
            .tokens
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn cached(&self, resource: &str, fresh: bool) -> Option<AccessToken> {
        let now = Instant::now();
        self.tokens()
            .get(resource)
            .filter(|token| {
                if fresh {
                    token.is_fresh(now)
                } else {
                    token.is_valid(now)
                }
            })
            .cloned()
    }

    async fn request(&self, resource: &str) -> Result<AccessToken, AuthError> {
        let inner = &self.inner;
        let unavailable = |reason: String, retry_after| AuthError::Unavailable {
            endpoint: inner.endpoint.to_string(),
            reason,
            retry_after,
        };
        let form = self.form(resource)?;
        let issued = Instant::now();
        let response = inner
            .http
            .post(inner.endpoint.clone())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .map_err(|error| unavailable(crate::http_client::describe_error(error), None))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .and_then(crate::http_client::parse_retry_after);
        let body = response
            .bytes()
            .await
            .map_err(|error| unavailable(crate::http_client::describe_error(error), None))?;
        match read_answer(status, &body, issued) {
            TokenAnswer::Token(token) => {
                tracing::debug!(
                    endpoint = %inner.endpoint,
                    resource,
                    expires_in = token.remaining().as_secs(),
                    "got a token"
                );
                Ok(token)
            }
            TokenAnswer::Unavailable(reason) => Err(unavailable(reason, retry_after)),
            TokenAnswer::Rejected { code, description } => {
                Err(self.rejected(status, &code, description))
            }
        }
    }

    /// The form body of a token request.
    fn form(&self, resource: &str) -> Result<String, AuthError> {
        let inner = &self.inner;
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials");
        form.append_pair("client_id", &inner.client_id);
        match inner.version {
            TokenVersion::V2 => form.append_pair("scope", &format!("{resource}/.default")),
            TokenVersion::V1 => form.append_pair("resource", resource),
        };
        match &inner.credential {
            Credential::Secret(secret) => {
                form.append_pair("client_secret", secret.expose());
            }
            Credential::Certificate(certificate) => {
                let assertion = certificate
                    .assertion(&inner.client_id, inner.endpoint.as_str())
                    .map_err(|reason| self.rejected(0, "invalid_client", reason))?;
                form.append_pair(
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                );
                form.append_pair("client_assertion", &assertion);
            }
        }
        Ok(form.finish())
    }

    fn rejected(&self, status: u16, code: &str, description: String) -> AuthError {
        AuthError::Rejected {
            client_id: self.inner.client_id.clone(),
            tenant: self.inner.tenant.clone(),
            status,
            code: code.to_string(),
            description,
        }
    }
}

/// What a token endpoint's answer says.
#[derive(Debug)]
pub(crate) enum TokenAnswer {
    /// A token.
    Token(AccessToken),
    /// No token this time: try again (the reason says why).
    Unavailable(String),
    /// The credentials were refused.
    Rejected {
        /// The OAuth error code (`invalid_client`).
        code: String,
        /// The first line of its description.
        description: String,
    },
}

/// The longest a token is kept, whatever its answer says: Entra ID issues tokens for at most a
/// day, and a larger `expires_in` is a broken answer, not a reason to overflow the clock.
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Reads an answer of the token endpoint, received at `issued`.
pub(crate) fn read_answer(status: u16, body: &[u8], issued: Instant) -> TokenAnswer {
    match status {
        200 => match serde_json::from_slice::<TokenResponse>(body) {
            Ok(parsed) => TokenAnswer::Token(AccessToken {
                value: SecretString::new(parsed.access_token),
                issued,
                expires_at: issued + Duration::from_secs(parsed.expires_in).min(MAX_LIFETIME),
            }),
            Err(error) => TokenAnswer::Unavailable(format!(
                "the token response is not what the docs describe: {error}"
            )),
        },
        408 | 429 | 500..=599 => TokenAnswer::Unavailable(format!("HTTP {status}")),
        _ => {
            let error: TokenErrorBody = serde_json::from_slice(body).unwrap_or_default();
            TokenAnswer::Rejected {
                code: if error.error.is_empty() {
                    "unknown_error".to_string()
                } else {
                    error.error
                },
                description: first_line(&error.error_description),
            }
        }
    }
}

/// AADSTS descriptions carry trace and correlation ids after the message; the message is enough.
fn first_line(description: &str) -> String {
    let text = description
        .split(" Trace ID:")
        .next()
        .unwrap_or(description);
    text.lines().next().unwrap_or("").trim().to_string()
}
