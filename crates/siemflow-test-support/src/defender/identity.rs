//! The Microsoft identity platform's client-credentials token endpoint, as the docs describe it.
//!
//! `POST /{tenant}/oauth2/v2.0/token` takes `scope=<resource>/.default`; the v1.0 form
//! `POST /{tenant}/oauth2/token` takes `resource=<resource>` and answers numbers as strings with
//! `expires_on`, `not_before` and `resource` added. The client proves itself with `client_secret`
//! (form field or HTTP Basic) or with a signed JWT `client_assertion`: PS256 or RS256, `x5t#S256`
//! naming the registered certificate, `aud` the token endpoint, `iss` = `sub` = the client id,
//! a `jti`, and `nbf`/`exp` in range. Errors are HTTP 400 (401 for a bad client) with the AADSTS
//! codes a real tenant returns (`invalid_client` 7000215, 700027; `invalid_scope` 1002012 for a
//! mixed scope; `unauthorized_client` 700016 for an unknown client).
//!
//! Tokens are JWTs shaped like Entra's v1 access tokens (`aud` the resource, `iss`
//! `https://sts.windows.net/<tenant>/`, `appid`, `tid`, `iat`/`nbf`/`exp`; HS256 with a key of
//! this server's, so no client can verify them, as with Entra's): Azurite's `--oauth basic` takes
//! them by their claims, and this server's API endpoints look them up. Each has one audience and an
//! expiry, so a client that reuses a token across resources or past its expiry gets 401.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde_json::{Value, json};

/// How a registered client proves who it is.
#[derive(Debug, Clone)]
pub enum ClientCredential {
    /// A client secret.
    Secret(String),
    /// A certificate: its public key (PEM) and the base64url SHA-256 thumbprint of its DER.
    Certificate {
        /// `-----BEGIN PUBLIC KEY-----` PEM of the certificate's RSA key.
        public_key_pem: String,
        /// `x5t#S256` the assertion header must carry.
        thumbprint_s256: String,
    },
}

/// A token the server issued.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The app it was issued to.
    pub client_id: String,
    /// Its audience.
    pub resource: String,
    /// When it stops working.
    pub expires_at: Instant,
}

/// Why an API request's token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    /// No `Authorization: Bearer` header.
    Missing,
    /// Not a token this server issued.
    Unknown,
    /// Past its expiry.
    Expired,
    /// Issued for another resource.
    WrongAudience,
}

/// Clients, issued tokens and counters.
#[derive(Debug, Default)]
pub struct Identity {
    /// `(tenant, client id)` to credential.
    pub clients: HashMap<(String, String), ClientCredential>,
    /// Issued tokens by value.
    pub tokens: HashMap<String, IssuedToken>,
    /// Token requests answered with a token, per form: `(v1, v2)`.
    pub issued: (u64, u64),
    /// Token requests refused.
    pub refused: u64,
    /// `jti` values seen, to refuse a replayed assertion.
    jtis: std::collections::HashSet<String>,
    counter: u64,
}

/// A token request's answer: status and JSON body.
pub type TokenAnswer = (u16, Value);

impl Identity {
    /// Answers a token request. `form` is the decoded form body; `basic` the HTTP Basic
    /// credentials if any; `endpoint` the URL the request was sent to (the assertion's `aud`).
    pub fn token_request(
        &mut self,
        tenant: &str,
        v1: bool,
        form: &HashMap<String, String>,
        basic: Option<(String, String)>,
        endpoint: &str,
        lifetime: Duration,
    ) -> TokenAnswer {
        let answer = self.check_request(tenant, v1, form, basic, endpoint);
        match answer {
            Ok((client_id, resource)) => self.issue(tenant, client_id, resource, v1, lifetime),
            Err(refusal) => {
                self.refused += 1;
                refusal
            }
        }
    }

    fn check_request(
        &mut self,
        tenant: &str,
        v1: bool,
        form: &HashMap<String, String>,
        basic: Option<(String, String)>,
        endpoint: &str,
    ) -> Result<(String, String), TokenAnswer> {
        let field = |name: &str| form.get(name).map(String::as_str);
        if field("grant_type") != Some("client_credentials") {
            return Err(error(
                400,
                "unsupported_grant_type",
                70003,
                "The app requested an unsupported grant type.",
            ));
        }
        let (client_id, basic_secret) = match (field("client_id"), basic) {
            (Some(id), basic) => (id.to_string(), basic.map(|(_, secret)| secret)),
            (None, Some((id, secret))) => (id, Some(secret)),
            (None, None) => {
                return Err(error(
                    400,
                    "invalid_request",
                    900144,
                    "The request body must contain the following parameter: 'client_id'.",
                ));
            }
        };
        let resource = resource_of(v1, form)?;
        let Some(credential) = self.clients.get(&(tenant.to_string(), client_id.clone())) else {
            return Err(error(
                400,
                "unauthorized_client",
                700016,
                &format!(
                    "Application with identifier '{client_id}' was not found in the directory '{tenant}'."
                ),
            ));
        };
        match credential.clone() {
            ClientCredential::Secret(expected) => {
                let given = field("client_secret").map(str::to_string).or(basic_secret);
                if given.as_deref() != Some(expected.as_str()) {
                    return Err(error(
                        401,
                        "invalid_client",
                        7000215,
                        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
                    ));
                }
            }
            ClientCredential::Certificate {
                public_key_pem,
                thumbprint_s256,
            } => {
                if field("client_assertion_type")
                    != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
                {
                    return Err(error(
                        401,
                        "invalid_client",
                        7000216,
                        "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
                    ));
                }
                let assertion = field("client_assertion").unwrap_or_default();
                self.check_assertion(
                    assertion,
                    &client_id,
                    &public_key_pem,
                    &thumbprint_s256,
                    endpoint,
                )?;
            }
        }
        Ok((client_id, resource))
    }

    fn check_assertion(
        &mut self,
        assertion: &str,
        client_id: &str,
        public_key_pem: &str,
        thumbprint_s256: &str,
        endpoint: &str,
    ) -> Result<(), TokenAnswer> {
        let bad = |code: u64, text: &str| error(401, "invalid_client", code, text);
        let header = jsonwebtoken::decode_header(assertion)
            .map_err(|e| bad(700027, &format!("Client assertion is not a JWT: {e}")))?;
        if !matches!(
            header.alg,
            jsonwebtoken::Algorithm::PS256 | jsonwebtoken::Algorithm::RS256
        ) {
            return Err(bad(
                700027,
                "Client assertion must be signed with PS256 or RS256.",
            ));
        }
        if header.x5t_s256.as_deref() != Some(thumbprint_s256) {
            return Err(bad(
                700027,
                "Client assertion contains an invalid signature. Key was not found (x5t#S256).",
            ));
        }
        let key = jsonwebtoken::DecodingKey::from_rsa_pem(public_key_pem.as_bytes())
            .map_err(|e| bad(700027, &format!("registered key unusable: {e}")))?;
        let mut validation = jsonwebtoken::Validation::new(header.alg);
        validation.set_audience(&[endpoint]);
        validation.set_issuer(&[client_id]);
        validation.set_required_spec_claims(&["exp", "nbf", "aud", "iss", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 60;
        let data = jsonwebtoken::decode::<Value>(assertion, &key, &validation)
            .map_err(|e| bad(700027, &format!("Client assertion failed validation: {e}")))?;
        let claims = data.claims;
        if claims.get("sub").and_then(Value::as_str) != Some(client_id) {
            return Err(bad(
                700023,
                "Client assertion subject does not match the client id.",
            ));
        }
        let Some(jti) = claims.get("jti").and_then(Value::as_str) else {
            return Err(bad(700027, "Client assertion has no jti."));
        };
        if !self.jtis.insert(jti.to_string()) {
            return Err(bad(
                700025,
                "Client assertion has been replayed (jti already used).",
            ));
        }
        let now = unix_now();
        let expiry = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
        if expiry > now + 24 * 3600 {
            return Err(bad(700024, "Client assertion lives too long."));
        }
        Ok(())
    }

    fn issue(
        &mut self,
        tenant: &str,
        client_id: String,
        resource: String,
        v1: bool,
        lifetime: Duration,
    ) -> TokenAnswer {
        self.counter += 1;
        let mut random = [0u8; 16];
        fill_random(&mut random, self.counter);
        let seconds = lifetime.as_secs().max(1);
        let now = unix_now();
        let claims = json!({
            "aud": resource,
            "iss": format!("https://sts.windows.net/{tenant}/"),
            "iat": now,
            "nbf": now,
            "exp": now + seconds,
            "appid": client_id,
            "tid": tenant,
            "ver": "1.0",
            "uti": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random),
        });
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(&random),
        )
        .unwrap_or_else(|error| panic!("cannot sign a test token: {error}"));
        self.tokens.insert(
            token.clone(),
            IssuedToken {
                client_id,
                resource: resource.clone(),
                expires_at: Instant::now() + lifetime,
            },
        );
        if v1 {
            self.issued.0 += 1;
            (
                200,
                json!({
                    "token_type": "Bearer",
                    "expires_in": seconds.to_string(),
                    "ext_expires_in": seconds.to_string(),
                    "expires_on": (now + seconds).to_string(),
                    "not_before": now.to_string(),
                    "resource": resource,
                    "access_token": token,
                }),
            )
        } else {
            self.issued.1 += 1;
            (
                200,
                json!({
                    "token_type": "Bearer",
                    "expires_in": seconds,
                    "ext_expires_in": seconds,
                    "access_token": token,
                }),
            )
        }
    }

    /// Checks an API request's bearer token for `audiences`; the client id on success.
    pub fn check_bearer(
        &self,
        authorization: Option<&str>,
        audiences: &[&str],
    ) -> Result<String, TokenProblem> {
        let token = authorization
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or(TokenProblem::Missing)?;
        let issued = self.tokens.get(token).ok_or(TokenProblem::Unknown)?;
        if Instant::now() >= issued.expires_at {
            return Err(TokenProblem::Expired);
        }
        if !audiences.contains(&issued.resource.as_str()) {
            return Err(TokenProblem::WrongAudience);
        }
        Ok(issued.client_id.clone())
    }
}

/// The resource a request asks for: v1 `resource`, v2 `scope` (exactly one `<resource>/.default`).
fn resource_of(v1: bool, form: &HashMap<String, String>) -> Result<String, TokenAnswer> {
    if v1 {
        return form.get("resource").cloned().ok_or_else(|| {
            error(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'resource'.",
            )
        });
    }
    let Some(scope) = form.get("scope") else {
        return Err(error(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.",
        ));
    };
    let scopes: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
    match scopes.as_slice() {
        [one] => one
            .strip_suffix("/.default")
            .map(str::to_string)
            .ok_or_else(|| {
                error(
                    400,
                    "invalid_scope",
                    1002012,
                    &format!(
                        "The provided value for scope {one} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
                    ),
                )
            }),
        _ => Err(error(
            400,
            "invalid_scope",
            70011,
            "The provided request must include a single resource's /.default scope.",
        )),
    }
}

/// An identity platform error body.
fn error(status: u16, code: &str, aadsts: u64, text: &str) -> TokenAnswer {
    (
        status,
        json!({
            "error": code,
            "error_description": format!("AADSTS{aadsts}: {text}"),
            "error_codes": [aadsts],
            "timestamp": humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            "trace_id": "00000000-0000-4000-8000-000000000001",
            "correlation_id": "00000000-0000-4000-8000-000000000002",
        }),
    )
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// Token bytes that differ per token and per run (not a security property: a test server).
fn fill_random(bytes: &mut [u8], counter: u64) {
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos() as u64)
        ^ counter.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mut dice = crate::server::Dice::new(seed);
    for byte in bytes {
        *byte = (dice.draw() * 256.0) as u8;
    }
}
