//! Claims-based security: the `$cbs` node's `put-token`, with the checks Event Hubs makes.
//!
//! A `servicebus.windows.net:sastoken` is `SharedAccessSignature sr=<url-encoded resource>&sig=
//! <url-encoded base64 HMAC-SHA256 of "<sr as sent>\n<se>">&se=<expiry, unix seconds>&skn=<key
//! name>`, signed with the named key; the resource must cover the audience the token is put for.
//! A `jwt` (an Entra token) must name `https://eventhubs.azure.net` as its audience and not be
//! expired; its signature is not checked (no client can: only Entra can).

use base64::Engine;

/// A successful put-token: the audience and when the token stops working (unix seconds).
#[derive(Debug, Clone)]
pub struct Grant {
    /// The entity path the token covers, lower case, e.g. `myhub` or `myhub/consumergroups/$default`.
    pub path: String,
    /// Expiry.
    pub expires: u64,
}

/// Checks a put-token request; `keys` are the namespace's `(key name, key)`.
pub fn put_token(
    token_type: &str,
    audience: &str,
    token: &str,
    keys: &[(String, String)],
    now: u64,
) -> Result<Grant, String> {
    match token_type {
        "servicebus.windows.net:sastoken" => sas(audience, token, keys, now),
        "jwt" => jwt(audience, token, now),
        other => Err(format!("unsupported token type {other}")),
    }
}

fn sas(audience: &str, token: &str, keys: &[(String, String)], now: u64) -> Result<Grant, String> {
    let fields = token
        .strip_prefix("SharedAccessSignature ")
        .ok_or("not a SharedAccessSignature")?;
    let mut raw_resource = None;
    let mut signature = None;
    let mut expiry = None;
    let mut key_name = None;
    for pair in fields.split('&') {
        let (name, value) = pair.split_once('=').ok_or("malformed signature field")?;
        match name {
            "sr" => raw_resource = Some(value),
            "sig" => signature = Some(decode(value)),
            "se" => expiry = Some(value),
            "skn" => key_name = Some(decode(value)),
            _ => {}
        }
    }
    let (raw_resource, signature, expiry, key_name) = (
        raw_resource.ok_or("no sr")?,
        signature.ok_or("no sig")?,
        expiry.ok_or("no se")?,
        key_name.ok_or("no skn")?,
    );
    let (_, key) = keys
        .iter()
        .find(|(name, _)| *name == key_name)
        .ok_or_else(|| format!("unknown key name {key_name}"))?;
    let signing = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(ring::hmac::sign(
        &signing,
        format!("{raw_resource}\n{expiry}").as_bytes(),
    ));
    if expected != signature {
        return Err("InvalidSignature: the token has an invalid signature".into());
    }
    let expires: u64 = expiry.parse().map_err(|_| "se is not a number")?;
    if expires <= now {
        return Err("ExpiredToken: the token is expired".into());
    }
    let resource = entity_path(&decode(raw_resource));
    let path = entity_path(audience);
    if !path.starts_with(&resource) {
        return Err(format!(
            "InvalidAudience: the token's resource {resource} does not cover {path}"
        ));
    }
    Ok(Grant { path, expires })
}

fn jwt(audience: &str, token: &str, now: u64) -> Result<Grant, String> {
    let payload = token.split('.').nth(1).ok_or("not a JWT")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| "the JWT payload is not base64url")?;
    let claims: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| "the JWT payload is not JSON")?;
    let aud = claims["aud"]
        .as_str()
        .unwrap_or_default()
        .trim_end_matches('/');
    if aud != "https://eventhubs.azure.net" {
        return Err(format!("InvalidAudience: the token is for {aud}"));
    }
    let expires = claims["exp"].as_u64().ok_or("the JWT has no exp")?;
    if expires <= now {
        return Err("ExpiredToken: the token is expired".into());
    }
    Ok(Grant {
        path: entity_path(audience),
        expires,
    })
}

/// The path of an entity URI (`sb://host/myhub/ConsumerGroups/$Default` to
/// `myhub/consumergroups/$default`), or of a bare path.
pub fn entity_path(uri: &str) -> String {
    let rest = match uri.split_once("://") {
        Some((_, rest)) => rest.split_once('/').map_or("", |(_, path)| path),
        None => uri,
    };
    rest.trim_matches('/').to_ascii_lowercase()
}

fn decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(resource: &str, key: &str, expiry: u64) -> String {
        let encoded: String = url::form_urlencoded::byte_serialize(resource.as_bytes()).collect();
        let signing = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes());
        let signature = base64::engine::general_purpose::STANDARD.encode(ring::hmac::sign(
            &signing,
            format!("{encoded}\n{expiry}").as_bytes(),
        ));
        let signature: String =
            url::form_urlencoded::byte_serialize(signature.as_bytes()).collect();
        format!("SharedAccessSignature sr={encoded}&sig={signature}&se={expiry}&skn=Root")
    }

    #[test]
    fn sas_tokens_are_checked_for_signature_expiry_and_scope() {
        let keys = vec![("Root".to_string(), "c2VjcmV0".to_string())];
        let token = sign("sb://127.0.0.1/myhub", "c2VjcmV0", 2_000);
        let sas = "servicebus.windows.net:sastoken";
        let grant = put_token(
            sas,
            "sb://127.0.0.1/myhub/consumergroups/$Default",
            &token,
            &keys,
            1_000,
        )
        .unwrap();
        assert_eq!(grant.path, "myhub/consumergroups/$default");
        assert!(
            put_token(sas, "sb://127.0.0.1/myhub", &token, &keys, 2_001)
                .unwrap_err()
                .contains("Expired")
        );
        assert!(
            put_token(sas, "sb://127.0.0.1/other", &token, &keys, 1_000)
                .unwrap_err()
                .contains("Audience")
        );
        let forged = sign("sb://127.0.0.1/myhub", "d3Jvbmc=", 2_000);
        assert!(
            put_token(sas, "sb://127.0.0.1/myhub", &forged, &keys, 1_000)
                .unwrap_err()
                .contains("Signature")
        );
    }
}
