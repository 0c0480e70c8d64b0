//! One API call, done properly: within the app's budget, with a token for the service, retried
//! on what is worth retrying, and stopped by the component's shutdown.
//!
//! | answer | what happens |
//! |---|---|
//! | 2xx | the body |
//! | 401 | the token is dropped and renewed, and the call made once more; a second 401 is refused |
//! | 429 | every call of the app waits `Retry-After` (or the wait the answer's message names, or the end of the quota's cycle, or the backoff), then again |
//! | 408, 5xx, no answer | backoff with jitter (at least `Retry-After`), then again; after [`CallContext::give_up_after`] of these in a row, [`ApiError::Unavailable`] |
//! | other 4xx | [`ApiError::Refused`] with the service's `error.code` and `error.message` |
//! | token refused | [`ApiError::Auth`]: wrong credentials are not retried |
//!
//! A sink retries until the call works (`give_up_after: None`): what it holds is not acknowledged
//! until then. A polling source gives up after a few attempts and decides what to do about a
//! request that keeps failing the same way (a smaller page, the next poll), so that one bad
//! request cannot hold it forever without a word. Waiting ends early, with
//! [`ApiError::Stopped`], when the component is told to stop.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, Url};
use serde_json::Value;
use siemflow_core::backoff::Backoff;
use siemflow_core::telemetry::ComponentMetrics;
use tokio_util::sync::CancellationToken;

use super::budget::CallBudget;
use crate::azure::token::{AuthError, TokenProvider};
use crate::http_client::{describe_error, parse_retry_after};

/// Why a call gave no answer to use.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// The identity platform refused the app's credentials.
    #[error(transparent)]
    Auth(AuthError),
    /// The service refused the request.
    #[error("HTTP {status} {code}: {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The service's `error.code`, or empty.
        code: String,
        /// The service's `error.message`, or the start of the body.
        message: String,
    },
    /// The service failed the request every time it was tried (5xx, timeouts, no answer).
    #[error("failed {attempts} times in a row, the last time with {last}")]
    Unavailable {
        /// Attempts made.
        attempts: u32,
        /// The HTTP status of the last attempt, if it got an answer.
        status: Option<u16>,
        /// What the last attempt got: the status with the service's code and message, or why
        /// there was no answer.
        last: String,
    },
    /// The component stopped while waiting.
    #[error("stopped")]
    Stopped,
}

/// What a call reports to and is stopped by.
#[derive(Debug, Clone, Copy)]
pub struct CallContext<'a> {
    /// The calling component's metrics.
    pub metrics: &'a ComponentMetrics,
    /// Its shutdown.
    pub shutdown: &'a CancellationToken,
    /// Give up with [`ApiError::Unavailable`] after this many failed attempts in a row (5xx,
    /// 408, no answer); `None` to retry until the call works or the component stops.
    pub give_up_after: Option<u32>,
}

/// A client of one service for one app.
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    tokens: TokenProvider,
    resource: String,
    base: Url,
    budget: Arc<CallBudget>,
    component: Arc<str>,
    user_agent: String,
    quota_cycle: Option<Duration>,
}

impl ApiClient {
    /// A client calling `base` with tokens for `resource`.
    pub fn new(
        http: reqwest::Client,
        tokens: TokenProvider,
        resource: String,
        base: Url,
        budget: Arc<CallBudget>,
        component: Arc<str>,
    ) -> Self {
        // Microsoft asks partner integrations to say who they are (MISA): MdePartner- for the
        // Defender for Endpoint API, M365DPartner- for Defender XDR.
        let version = env!("CARGO_PKG_VERSION");
        let user_agent = if resource.contains("securitycenter") {
            format!("MdePartner-siemflow-siemflow/{version}")
        } else if resource.contains("api.security") || resource.contains("api-g") {
            format!("M365DPartner-siemflow-siemflow/{version}")
        } else {
            format!("siemflow/{version}")
        };
        Self {
            http,
            tokens,
            resource,
            base,
            budget,
            component,
            user_agent,
            quota_cycle: None,
        }
    }

    /// The service blocks an app for the rest of a fixed cycle when its allocation is spent
    /// (advanced hunting: 15 minutes), so a 429 that names no wait waits for the cycle's end.
    pub fn with_quota_cycle(mut self, cycle: Duration) -> Self {
        self.quota_cycle = Some(cycle);
        self
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> Result<Url, String> {
        let base = self.base.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}{path}"))
            .map_err(|error| format!("bad URL {base}{path}: {error}"))
    }

    /// The resource its tokens are for, e.g. `https://graph.microsoft.com`.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The token provider (for tests and for components that need the token endpoint).
    pub fn tokens(&self) -> &TokenProvider {
        &self.tokens
    }

    /// [`ApiClient::call`], with the answer parsed (`null` for an empty one).
    pub async fn call_json(
        &self,
        method: Method,
        url: &Url,
        body: Option<&Value>,
        cx: CallContext<'_>,
    ) -> Result<Value, ApiError> {
        let bytes = self.call(method, url, body, cx).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|error| ApiError::Refused {
            status: 200,
            code: "InvalidResponse".into(),
            message: format!("the answer is not JSON: {error}"),
        })
    }

    /// Sends a request until it works, is refused, keeps failing (see
    /// [`CallContext::give_up_after`]), or the component stops; the 2xx body.
    pub async fn call(
        &self,
        method: Method,
        url: &Url,
        body: Option<&Value>,
        cx: CallContext<'_>,
    ) -> Result<bytes::Bytes, ApiError> {
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(60));
        let mut renewed = false;
        let mut failures = 0u32;
        let path = url.path();
        let graph = self.resource.contains("graph");
        loop {
            let waited = self
                .budget
                .acquire(cx.shutdown)
                .await
                .map_err(|_| ApiError::Stopped)?;
            if waited > Duration::from_millis(10) {
                cx.metrics.throttled("budget", waited);
            }
            let token = match self.tokens.token(&self.resource).await {
                Ok(token) => token,
                Err(error @ AuthError::Rejected { .. }) => return Err(ApiError::Auth(error)),
                Err(error @ AuthError::Unavailable { retry_after, .. }) => {
                    cx.metrics.error("token_unavailable", &error);
                    self.wait(retry_after, &mut backoff, cx).await?;
                    continue;
                }
            };
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .header("authorization", token.header())
                .header("user-agent", &self.user_agent)
                .header("accept", "application/json");
            if graph {
                // Evolvable enums come back as `unknownFutureValue` without it.
                request = request.header("prefer", "include-unknown-enum-members");
            }
            if let Some(body) = body {
                request = request
                    .header("content-type", "application/json; charset=utf-8")
                    .body(body.to_string());
            }
            let response = tokio::select! {
                response = request.send() => response,
                () = cx.shutdown.cancelled() => return Err(ApiError::Stopped),
            };
            let failed = |last: String, status: Option<u16>, attempts: u32| {
                cx.metrics.error(
                    if status.is_some() {
                        "server_error"
                    } else {
                        "request_failed"
                    },
                    &format_args!("{method} {path}: {last}"),
                );
                ApiError::Unavailable {
                    attempts,
                    status,
                    last,
                }
            };
            let response = match response {
                Ok(response) => response,
                Err(error) => {
                    failures += 1;
                    let unavailable = failed(describe_error(error), None, failures);
                    if cx.give_up_after.is_some_and(|limit| failures >= limit) {
                        return Err(unavailable);
                    }
                    self.wait(None, &mut backoff, cx).await?;
                    continue;
                }
            };
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|value| value.to_str().ok())
                .and_then(parse_retry_after);
            let bytes = match response.bytes().await {
                Ok(bytes) => bytes,
                Err(error) => {
                    failures += 1;
                    let unavailable = failed(
                        format!("reading the answer failed: {}", describe_error(error)),
                        None,
                        failures,
                    );
                    if cx.give_up_after.is_some_and(|limit| failures >= limit) {
                        return Err(unavailable);
                    }
                    self.wait(None, &mut backoff, cx).await?;
                    continue;
                }
            };
            match status {
                200..=299 => return Ok(bytes),
                401 if !renewed => {
                    renewed = true;
                    self.tokens.invalidate(&self.resource, &token);
                    tracing::info!(
                        component = %self.component,
                        "{method} {path}: token refused (401), renewing it"
                    );
                }
                429 => {
                    let delay = retry_after
                        .or_else(|| wait_named_in(&bytes))
                        .or_else(|| self.quota_cycle.map(until_cycle_end))
                        .unwrap_or_else(|| backoff.next_delay());
                    self.budget.pause(delay);
                    cx.metrics.throttled("retry_after", delay);
                    let (code, message) = error_of(&bytes);
                    tracing::warn!(
                        component = %self.component,
                        "{method} {path}: throttled (429 {code}: {message}), waiting {delay:?} before any call"
                    );
                }
                408 | 500..=599 => {
                    failures += 1;
                    let (code, message) = error_of(&bytes);
                    let unavailable = failed(
                        format!("HTTP {status} {code}: {message}"),
                        Some(status),
                        failures,
                    );
                    if cx.give_up_after.is_some_and(|limit| failures >= limit) {
                        return Err(unavailable);
                    }
                    self.wait(retry_after, &mut backoff, cx).await?;
                }
                _ => {
                    let (code, message) = error_of(&bytes);
                    return Err(ApiError::Refused {
                        status,
                        code,
                        message,
                    });
                }
            }
        }
    }

    async fn wait(
        &self,
        at_least: Option<Duration>,
        backoff: &mut Backoff,
        cx: CallContext<'_>,
    ) -> Result<(), ApiError> {
        let delay = backoff.next_delay().max(at_least.unwrap_or_default());
        tokio::select! {
            () = tokio::time::sleep(delay) => Ok(()),
            () = cx.shutdown.cancelled() => Err(ApiError::Stopped),
        }
    }
}

/// The longest wait a throttled answer's message is followed for: the longest quota cycle of the
/// Defender APIs (an hour). A larger figure is a broken answer, not a reason to stop for years.
const MAX_NAMED_WAIT: Duration = Duration::from_secs(3600);

/// The wait a throttled answer's message names: advanced hunting's "You can run queries again
/// in 00:04:12." (the portal's wording, `hh:mm:ss`), at most [`MAX_NAMED_WAIT`].
pub(crate) fn wait_named_in(body: &[u8]) -> Option<Duration> {
    let (_, message) = error_of(body);
    let after = &message[message.find("again in ")? + "again in ".len()..];
    let clock: String = after
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ':')
        .collect();
    let parts: Vec<u64> = clock
        .split(':')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let [hours, minutes, seconds] = parts[..] else {
        return None;
    };
    let seconds = hours
        .checked_mul(3600)
        .and_then(|total| total.checked_add(minutes.checked_mul(60)?))
        .and_then(|total| total.checked_add(seconds))
        .map_or(MAX_NAMED_WAIT, Duration::from_secs);
    Some(seconds.min(MAX_NAMED_WAIT))
}

/// The time left until the current `cycle` of the wall clock ends (cycles start on the hour).
fn until_cycle_end(cycle: Duration) -> Duration {
    let cycle = cycle.as_millis().max(1);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis());
    let left = cycle - now % cycle;
    Duration::from_millis(u64::try_from(left).unwrap_or(u64::MAX))
}

/// `error.code` and `error.message` of an OData error body, or the start of the body.
pub fn error_of(body: &[u8]) -> (String, String) {
    if let Ok(value) = serde_json::from_slice::<Value>(body)
        && let Some(error) = value.get("error")
    {
        let text = |name| {
            error
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        return (text("code"), text("message"));
    }
    let text = String::from_utf8_lossy(body);
    (String::new(), text.chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throttled_answer_can_name_its_wait() {
        let body = br#"{"error":{"code":"TooManyRequests","message":"You have exceeded processing resources allocated to this tenant. You can run queries again in 00:04:12."}}"#;
        assert_eq!(wait_named_in(body), Some(Duration::from_secs(252)));
        assert_eq!(
            wait_named_in(
                br#"{"error":{"code":"TooManyRequests","message":"Please retry again later."}}"#
            ),
            None
        );
        let left = until_cycle_end(Duration::from_secs(900));
        assert!(left > Duration::ZERO && left <= Duration::from_secs(900));
    }
}
