//! Microsoft identity platform and Defender/Graph security APIs in one test server, written from
//! the public docs (`shared/reference/defender-apis.md` sections 1 to 3).
//!
//! - [`identity`]: `POST /{tenant}/oauth2/v2.0/token` and `/{tenant}/oauth2/token` (client
//!   secret or certificate assertion), opaque tokens with one audience and an expiry.
//! - [`resources`]: `GET/PATCH /api/alerts[/{id}]` (Defender for Endpoint), `GET /api/incidents`
//!   (Defender XDR), `GET/PATCH /v1.0/security/alerts_v2[/{id}]`, `POST .../{id}/comments` and
//!   `GET /v1.0/security/incidents[/{id}]` (Graph), with [`odata`] `$filter`, `$top`, `$skip`,
//!   `$skiptoken`, `$expand`, `$count`, `$orderby` and `@odata.nextLink`, and Graph's limits on
//!   large tenants ([`resources::ScaleLimits`]: the `$top` caps, the paging cap that ends a list
//!   without a word, the `$expand=alerts` 500s).
//! - [`hunting`]: `POST /v1.0/security/runHuntingQuery` over in-memory tables with a [`kql`]
//!   subset, rows that become visible late, the row and size caps that truncate silently, and
//!   the call and CPU quotas.
//!
//! Every API call needs a bearer token for its resource (`https://api.securitycenter.microsoft.com`
//! for `/api/alerts`, `https://api.security.microsoft.com` for `/api/incidents`,
//! `https://graph.microsoft.com` for `/v1.0/security`, or their US Government twins); an expired
//! one gets 401 as on the real services. A per-client quota ([`Quota`], the documented 100 calls
//! a minute and 1,500 an hour for alerts by default off) answers 429 with `Retry-After`.
//!
//! Faults ([`Faults`], seeded): 429 with `Retry-After`, 500, slow answers, connection resets, and
//! full pages whose `@odata.nextLink` is missing. Every request is logged ([`RequestRecord`]) so
//! a test can check what a client sent and when.

pub mod hunting;
pub mod identity;
pub mod kql;
pub mod odata;
pub mod resources;
pub mod scenario;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use serde_json::{Value, json};

use self::hunting::{Hunting, HuntingOptions};
use self::identity::{ClientCredential, Identity, TokenProblem};
use self::resources::{ApiError, Collection, Kind, ScaleLimits};
use crate::server::{self, Answer, Dice, Reset, Server};

/// Faults to inject into API calls (not token requests), drawn from a seeded generator.
#[derive(Debug, Clone)]
pub struct Faults {
    /// Seed of the draws.
    pub seed: u64,
    /// Share of calls answered 429 with `retry_after`.
    pub throttle_rate: f64,
    /// The `Retry-After` of injected 429s.
    pub retry_after: Duration,
    /// Share of calls answered 500.
    pub error_rate: f64,
    /// Share of calls answered after `slow`.
    pub slow_rate: f64,
    /// How slow a slow answer is.
    pub slow: Duration,
    /// Share of calls whose connection is closed without an answer.
    pub reset_rate: f64,
    /// Share of list pages that have more behind them but no `@odata.nextLink`.
    pub omit_next_link_rate: f64,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            seed: 1,
            throttle_rate: 0.0,
            retry_after: Duration::from_secs(1),
            error_rate: 0.0,
            slow_rate: 0.0,
            slow: Duration::from_millis(500),
            reset_rate: 0.0,
            omit_next_link_rate: 0.0,
        }
    }
}

/// Calls allowed per client, as the services' documented limits.
#[derive(Debug, Clone, Copy)]
pub struct Quota {
    /// Calls in any 60 s.
    pub per_minute: usize,
    /// Calls in any hour.
    pub per_hour: usize,
}

/// How the server behaves.
#[derive(Debug, Clone)]
pub struct DefenderApiOptions {
    /// Lifetime of issued tokens (the real one is about an hour).
    pub token_lifetime: Duration,
    /// Per-client call quota; `None` for none.
    pub quota: Option<Quota>,
    /// Injected faults.
    pub faults: Faults,
    /// Graph's limits on large tenants (on by default, as on the real service).
    pub limits: ScaleLimits,
    /// Advanced hunting's caps and quotas.
    pub hunting: HuntingOptions,
}

impl Default for DefenderApiOptions {
    fn default() -> Self {
        Self {
            token_lifetime: Duration::from_secs(3599),
            quota: None,
            faults: Faults::default(),
            limits: ScaleLimits::default(),
            hunting: HuntingOptions::default(),
        }
    }
}

/// One request the server saw.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    /// When it arrived.
    pub at: Instant,
    /// When it was answered.
    pub answered: Instant,
    /// `GET`, `PATCH`, `POST`.
    pub method: String,
    /// Path and query.
    pub target: String,
    /// The app its token belongs to, when it had a valid one.
    pub client_id: Option<String>,
    /// The status answered (0 for a reset).
    pub status: u16,
    /// The `Retry-After` answered with a 429.
    pub retry_after: Option<Duration>,
    /// The body, for PATCH and POST.
    pub body: Option<Value>,
}

/// A rule that fails the API requests it matches (path and query, decoded), the same way every
/// time: `Some((status, code, message))`.
pub type FailureRule = Box<dyn Fn(&str) -> Option<(u16, &'static str, String)> + Send>;

struct State {
    options: DefenderApiOptions,
    failing: Option<FailureRule>,
    dice: Dice,
    identity: Identity,
    collections: HashMap<Kind, Collection>,
    hunting: Hunting,
    requests: Vec<RequestRecord>,
    calls: HashMap<String, VecDeque<Instant>>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("options", &self.options)
            .field("failing", &self.failing.is_some())
            .field("requests", &self.requests.len())
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    base: Mutex<String>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn base(&self) -> String {
        self.base
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

/// A running server on 127.0.0.1; stopped when dropped.
#[derive(Debug)]
pub struct DefenderApi {
    server: Server,
    shared: Arc<Shared>,
}

impl DefenderApi {
    /// Starts on a free port, over HTTP.
    pub fn start(options: DefenderApiOptions) -> Self {
        Self::start_with(options, None, 0)
    }

    /// Starts over HTTPS with `tls` (see [`crate::tls::Certificates`]).
    pub fn start_tls(options: DefenderApiOptions, tls: Arc<rustls::ServerConfig>) -> Self {
        Self::start_with(options, Some(tls), 0)
    }

    /// Starts on `port` (0 for a free one), over HTTPS when `tls` is given.
    pub fn start_with(
        options: DefenderApiOptions,
        tls: Option<Arc<rustls::ServerConfig>>,
        port: u16,
    ) -> Self {
        let collections = [
            Kind::MdeAlerts,
            Kind::XdrIncidents,
            Kind::GraphAlerts,
            Kind::GraphIncidents,
        ]
        .into_iter()
        .map(|kind| (kind, Collection::new(kind)))
        .collect();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                failing: None,
                dice: Dice::new(options.faults.seed),
                hunting: Hunting::new(options.hunting.clone()),
                options,
                identity: Identity::default(),
                collections,
                requests: Vec::new(),
                calls: HashMap::new(),
            }),
            base: Mutex::new(String::new()),
        });
        let serving = shared.clone();
        let handle = move |request| {
            let shared = serving.clone();
            async move { handle(&shared, request).await }
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let server = match tls {
            Some(tls) => Server::start_tls("defender-api", port, tls, handle),
            None => Server::start("defender-api", port, handle),
        };
        *shared
            .base
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) =
            format!("{scheme}://{}", server.address());
        Self { server, shared }
    }

    /// `http://127.0.0.1:PORT` (or `https://`): both the authority host and the API base URL.
    pub fn url(&self) -> String {
        self.shared.base()
    }

    /// Registers an app that authenticates with a client secret.
    pub fn add_secret_client(&self, tenant: &str, client_id: &str, secret: &str) {
        self.shared.state().identity.clients.insert(
            (tenant.into(), client_id.into()),
            ClientCredential::Secret(secret.into()),
        );
    }

    /// Registers an app that authenticates with a certificate (see [`crate::tls::ClientCertificate`]).
    pub fn add_certificate_client(
        &self,
        tenant: &str,
        client_id: &str,
        public_key_pem: &str,
        thumbprint_s256: &str,
    ) {
        self.shared.state().identity.clients.insert(
            (tenant.into(), client_id.into()),
            ClientCredential::Certificate {
                public_key_pem: public_key_pem.into(),
                thumbprint_s256: thumbprint_s256.into(),
            },
        );
    }

    /// Works on a collection: seed items, change them, read them.
    pub fn with<R>(&self, kind: Kind, work: impl FnOnce(&mut Collection) -> R) -> R {
        let mut state = self.shared.state();
        let collection = state
            .collections
            .get_mut(&kind)
            .unwrap_or_else(|| panic!("no {kind:?} collection"));
        work(collection)
    }

    /// Works on the advanced hunting tables: add rows, read the calls.
    pub fn hunting<R>(&self, work: impl FnOnce(&mut Hunting) -> R) -> R {
        work(&mut self.shared.state().hunting)
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.state().requests.clone()
    }

    /// Tokens issued so far: `(v1, v2)`.
    pub fn tokens_issued(&self) -> (u64, u64) {
        self.shared.state().identity.issued
    }

    /// Token requests refused so far.
    pub fn token_refusals(&self) -> u64 {
        self.shared.state().identity.refused
    }

    /// Makes every token issued so far expire now, as if an hour had passed: the next call with
    /// one gets 401.
    pub fn expire_tokens(&self) {
        let now = Instant::now();
        for token in self.shared.state().identity.tokens.values_mut() {
            token.expires_at = now;
        }
    }

    /// Fails every API request that `rule` matches (given the path and decoded query), until
    /// replaced by `None`: a request that fails the same way however often it is sent.
    pub fn set_failing(&self, rule: Option<FailureRule>) {
        self.shared.state().failing = rule;
    }

    /// Replaces the faults (the draws go on from where they were).
    pub fn set_faults(&self, faults: Faults) {
        self.shared.state().options.faults = faults;
    }

    /// Down (`false`): connections are closed without an answer.
    pub fn set_available(&self, available: bool) {
        self.server.set_available(available);
    }
}

const MDE_AUDIENCES: &[&str] = &[
    "https://api.securitycenter.microsoft.com",
    "https://securitycenter.onmicrosoft.com/windowsatpservice",
    "https://api-gcc.securitycenter.microsoft.us",
    "https://api-gov.securitycenter.microsoft.us",
];
const XDR_AUDIENCES: &[&str] = &[
    "https://api.security.microsoft.com",
    "https://api-gcc.security.microsoft.us",
    "https://api-gov.security.microsoft.us",
];
const GRAPH_AUDIENCES: &[&str] = &[
    "https://graph.microsoft.com",
    "https://graph.microsoft.us",
    "https://dod-graph.microsoft.us",
];

/// Largest request body taken.
const MAX_BODY: usize = 1 << 20;

async fn handle(shared: &Shared, request: Request<Incoming>) -> Answer {
    let path = request.uri().path().to_string();
    if let Some((tenant, v1)) = token_path(&path) {
        return token(shared, request, &tenant, v1).await;
    }
    let method = request.method().clone();
    let target = request
        .uri()
        .path_and_query()
        .map_or(path.clone(), |p| p.to_string());
    let raw_query = request.uri().query().unwrap_or("").to_string();
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let body = if method == Method::PATCH || method == Method::POST {
        match server::read_body(request, MAX_BODY).await {
            Ok(body) => Some(body.bytes),
            Err(_) => {
                return Ok(error(
                    413,
                    "RequestEntityTooLarge",
                    "Body too large.",
                    false,
                ));
            }
        }
    } else {
        None
    };
    let mut record = RequestRecord {
        at: Instant::now(),
        answered: Instant::now(),
        method: method.to_string(),
        target,
        client_id: None,
        status: 0,
        retry_after: None,
        body: body
            .as_deref()
            .map(|bytes| serde_json::from_slice(bytes).unwrap_or(Value::Null)),
    };
    let (answer, delay) = {
        let mut state = shared.state();
        let answer = route(
            &mut state,
            shared,
            &method,
            &path,
            &raw_query,
            authorization,
            body.as_deref(),
            &mut record,
        );
        let delay = state.dice_slow();
        (answer, delay)
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    if let Ok(response) = &answer {
        record.status = response.status().as_u16();
        record.retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse().ok())
            .map(Duration::from_secs);
    }
    record.answered = Instant::now();
    shared.state().requests.push(record);
    answer
}

impl State {
    fn dice_slow(&mut self) -> Option<Duration> {
        let faults = &self.options.faults;
        let (rate, slow) = (faults.slow_rate, faults.slow);
        (rate > 0.0 && self.dice.draw() < rate).then_some(slow)
    }

    fn quota_exceeded(&mut self, client_id: &str) -> Option<Duration> {
        let quota = self.options.quota?;
        let now = Instant::now();
        let calls = self.calls.entry(client_id.to_string()).or_default();
        while calls
            .front()
            .is_some_and(|&at| now.duration_since(at) >= Duration::from_secs(3600))
        {
            calls.pop_front();
        }
        let minute_ago = now.checked_sub(Duration::from_secs(60));
        let in_minute: Vec<Instant> = calls
            .iter()
            .copied()
            .filter(|&at| minute_ago.is_none_or(|start| at > start))
            .collect();
        let wait = |oldest: Instant, window: u64| {
            let free = oldest + Duration::from_secs(window);
            Duration::from_secs(free.saturating_duration_since(now).as_secs() + 1)
        };
        if in_minute.len() >= quota.per_minute {
            return Some(wait(in_minute[in_minute.len() - quota.per_minute], 60));
        }
        if calls.len() >= quota.per_hour {
            return Some(wait(calls[calls.len() - quota.per_hour], 3600));
        }
        calls.push_back(now);
        None
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "one request's parts, read before locking"
)]
fn route(
    state: &mut State,
    shared: &Shared,
    method: &Method,
    path: &str,
    raw_query: &str,
    authorization: Option<String>,
    body: Option<&[u8]>,
    record: &mut RequestRecord,
) -> Answer {
    if path == HUNTING_PATH {
        return hunt(state, method, authorization, body, record);
    }
    let (kind, rest) = match split_api_path(path) {
        Some(found) => found,
        None => return Ok(error(404, "ResourceNotFound", "No such API.", false)),
    };
    let graph = matches!(kind, Kind::GraphAlerts | Kind::GraphIncidents);
    let audiences = match kind {
        Kind::MdeAlerts => MDE_AUDIENCES,
        Kind::XdrIncidents => XDR_AUDIENCES,
        Kind::GraphAlerts | Kind::GraphIncidents => GRAPH_AUDIENCES,
    };
    let client_id = match state
        .identity
        .check_bearer(authorization.as_deref(), audiences)
    {
        Ok(client_id) => client_id,
        Err(problem) => return Ok(unauthorized(problem, graph)),
    };
    record.client_id = Some(client_id.clone());
    if let Some(wait) = state.quota_exceeded(&client_id) {
        return Ok(throttled(wait, graph));
    }
    if let Some(rule) = &state.failing {
        let decoded: Vec<String> = url::form_urlencoded::parse(raw_query.as_bytes())
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        if let Some((status, code, message)) = rule(&format!("{path}?{}", decoded.join("&"))) {
            return Ok(error(status, code, &message, graph));
        }
    }
    let faults = state.options.faults.clone();
    if faults.throttle_rate > 0.0 && state.dice.draw() < faults.throttle_rate {
        return Ok(throttled(faults.retry_after, graph));
    }
    if faults.error_rate > 0.0 && state.dice.draw() < faults.error_rate {
        return Ok(error(
            500,
            "InternalServerError",
            "An internal error occurred; retry the operation.",
            graph,
        ));
    }
    if faults.reset_rate > 0.0 && state.dice.draw() < faults.reset_rate {
        return Err(Reset);
    }
    let omit_next_link =
        faults.omit_next_link_rate > 0.0 && state.dice.draw() < faults.omit_next_link_rate;
    let base = shared.base();
    let limits = state.options.limits;
    let collection = state.collections.get_mut(&kind).ok_or(Reset)?;
    let query = || {
        odata::parse_query(Some(raw_query)).map_err(|message| ApiError {
            status: 400,
            code: "BadRequest",
            message,
        })
    };
    let result = match (method, rest.as_slice()) {
        (&Method::GET, []) => query()
            .and_then(|query| collection.list(&base, &query, raw_query, omit_next_link, &limits)),
        (&Method::GET, [id]) => query().and_then(|query| collection.get_one(id, &query, &limits)),
        (&Method::PATCH, [id]) => {
            resources::patch_alert(collection, id, body.unwrap_or_default(), &client_id)
        }
        (&Method::POST, [id, "comments"]) if kind == Kind::GraphAlerts => {
            resources::comment_alert(collection, id, body.unwrap_or_default(), &client_id)
        }
        _ => Err(ApiError {
            status: 405,
            code: "MethodNotAllowed",
            message: format!("{method} is not supported on {path}."),
        }),
    };
    Ok(match result {
        Ok(body) => json_response(200, &body),
        Err(api) => error(api.status, api.code, &api.message, graph),
    })
}

/// Advanced hunting through Graph.
const HUNTING_PATH: &str = "/v1.0/security/runHuntingQuery";

/// `POST /v1.0/security/runHuntingQuery`: a Graph token, the injected faults, then the query.
fn hunt(
    state: &mut State,
    method: &Method,
    authorization: Option<String>,
    body: Option<&[u8]>,
    record: &mut RequestRecord,
) -> Answer {
    let client_id = match state
        .identity
        .check_bearer(authorization.as_deref(), GRAPH_AUDIENCES)
    {
        Ok(client_id) => client_id,
        Err(problem) => return Ok(unauthorized(problem, true)),
    };
    record.client_id = Some(client_id.clone());
    if method != Method::POST {
        return Ok(error(
            405,
            "MethodNotAllowed",
            "Only POST is supported.",
            true,
        ));
    }
    let faults = state.options.faults.clone();
    if faults.throttle_rate > 0.0 && state.dice.draw() < faults.throttle_rate {
        return Ok(throttled(faults.retry_after, true));
    }
    if faults.error_rate > 0.0 && state.dice.draw() < faults.error_rate {
        return Ok(error(
            500,
            "InternalServerError",
            "An internal error occurred; retry the operation.",
            true,
        ));
    }
    if faults.reset_rate > 0.0 && state.dice.draw() < faults.reset_rate {
        return Err(Reset);
    }
    Ok(
        match state.hunting.run(&client_id, body.unwrap_or_default()) {
            Ok(answer) => json_response(200, &answer),
            Err((api, retry_after)) => {
                let mut response = error(api.status, api.code, &api.message, true);
                if let Some(wait) = retry_after
                    && let Ok(value) =
                        hyper::header::HeaderValue::from_str(&wait.as_secs().max(1).to_string())
                {
                    response.headers_mut().insert("retry-after", value);
                }
                response
            }
        },
    )
}

/// `/api/alerts/ID` -> (MdeAlerts, ["ID"]).
fn split_api_path(path: &str) -> Option<(Kind, Vec<&str>)> {
    for kind in [
        Kind::MdeAlerts,
        Kind::XdrIncidents,
        Kind::GraphAlerts,
        Kind::GraphIncidents,
    ] {
        if let Some(rest) = path.strip_prefix(kind.path())
            && (rest.is_empty() || rest.starts_with('/'))
        {
            let parts = rest.split('/').filter(|part| !part.is_empty()).collect();
            return Some((kind, parts));
        }
    }
    None
}

/// `/{tenant}/oauth2/v2.0/token` -> (tenant, false); `/{tenant}/oauth2/token` -> (tenant, true).
fn token_path(path: &str) -> Option<(String, bool)> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        [tenant, "oauth2", "v2.0", "token"] => Some((tenant.to_string(), false)),
        [tenant, "oauth2", "token"] => Some((tenant.to_string(), true)),
        _ => None,
    }
}

async fn token(shared: &Shared, request: Request<Incoming>, tenant: &str, v1: bool) -> Answer {
    if request.method() != Method::POST {
        return Ok(json_response(405, &json!({"error": "invalid_request"})));
    }
    let basic = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .ok()
        })
        .and_then(|decoded| String::from_utf8(decoded).ok())
        .and_then(|pair| {
            pair.split_once(':')
                .map(|(id, secret)| (decode_form(id), decode_form(secret)))
        });
    let path = request.uri().path().to_string();
    let body = match server::read_body(request, MAX_BODY).await {
        Ok(body) => body.bytes,
        Err(_) => return Ok(json_response(413, &json!({"error": "invalid_request"}))),
    };
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body)
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    let endpoint = format!("{}{path}", shared.base());
    let mut state = shared.state();
    let lifetime = state.options.token_lifetime;
    let (status, body) = state
        .identity
        .token_request(tenant, v1, &form, basic, &endpoint, lifetime);
    state.requests.push(RequestRecord {
        at: Instant::now(),
        answered: Instant::now(),
        method: "POST".into(),
        target: path,
        client_id: form.get("client_id").cloned(),
        status,
        retry_after: None,
        body: None,
    });
    Ok(json_response(status, &body))
}

/// RFC 6749 2.3.1: Basic credentials are form-encoded first.
fn decode_form(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map_or_else(|| text.to_string(), |(_, value)| value.into_owned())
}

fn json_response(status: u16, body: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// An OData error: Defender's `{"error":{"code","message","target"}}` or Graph's with
/// `innerError`.
fn error(status: u16, code: &str, message: &str, graph: bool) -> Response<Full<Bytes>> {
    let body = if graph {
        json!({"error": {"code": code, "message": message, "innerError": {
            "request-id": "00000000-0000-4000-8000-000000000003",
            "client-request-id": "00000000-0000-4000-8000-000000000004",
        }}})
    } else {
        json!({"error": {"code": code, "message": message, "target": "00000000-0000-4000-8000-000000000005"}})
    };
    json_response(status, &body)
}

fn unauthorized(problem: TokenProblem, graph: bool) -> Response<Full<Bytes>> {
    let message = match problem {
        TokenProblem::Missing => "Authorization header is missing.",
        TokenProblem::Unknown => "The access token is invalid.",
        TokenProblem::Expired => "Access token has expired or is not yet valid.",
        TokenProblem::WrongAudience => "The access token audience is not valid for this API.",
    };
    let code = if graph {
        "InvalidAuthenticationToken"
    } else {
        "Unauthorized"
    };
    let mut response = error(401, code, message, graph);
    response.headers_mut().insert(
        "www-authenticate",
        hyper::header::HeaderValue::from_static("Bearer error=\"invalid_token\""),
    );
    response
}

fn throttled(wait: Duration, graph: bool) -> Response<Full<Bytes>> {
    let mut response = error(
        429,
        "TooManyRequests",
        "API calls quota exceeded! Maximum allowed 100 per 1 Minutes.",
        graph,
    );
    if let Ok(value) = hyper::header::HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
        response.headers_mut().insert("retry-after", value);
    }
    response
}
