//! A certificate credential: the app proves itself with a JWT signed by the certificate's key.
//!
//! The file is PEM with the certificate and its RSA private key, in either order (what
//! `az ad sp create-for-rbac --create-cert` and `openssl pkcs12 -nodes` write). The key may be
//! PKCS#1 (`RSA PRIVATE KEY`), PKCS#8 (`PRIVATE KEY`) or encrypted PKCS#8
//! (`ENCRYPTED PRIVATE KEY`, opened with `password`). The assertion follows the identity
//! platform's certificate-credentials page: header `alg: PS256`, `typ: JWT`, `x5t#S256` (the
//! base64url SHA-256 of the certificate's DER); claims `aud` (the token endpoint), `iss` = `sub`
//! = the client id, a fresh `jti`, `nbf`/`iat` now and `exp` ten minutes later.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde::Serialize;

/// How long an assertion is valid.
const ASSERTION_LIFETIME_SECS: u64 = 600;

/// A loaded certificate credential.
pub struct ClientCertificate {
    key: jsonwebtoken::EncodingKey,
    thumbprint_s256: String,
}

impl std::fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("thumbprint_s256", &self.thumbprint_s256)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: String,
    nbf: u64,
    iat: u64,
    exp: u64,
}

impl ClientCertificate {
    /// Reads the PEM file at `path`; `password` opens an encrypted key.
    pub fn load(path: &Path, password: Option<&str>) -> Result<Self, String> {
        let pem = std::fs::read(path).map_err(|error| {
            format!(
                "cannot read `client_certificate` {}: {error}",
                path.display()
            )
        })?;
        Self::from_pem(&pem, password)
            .map_err(|error| format!("`client_certificate` {}: {error}", path.display()))
    }

    /// Parses certificate and key from PEM text.
    pub fn from_pem(pem: &[u8], password: Option<&str>) -> Result<Self, String> {
        let certificate = CertificateDer::pem_slice_iter(pem)
            .next()
            .ok_or("no CERTIFICATE block")?
            .map_err(|error| format!("bad CERTIFICATE block: {error}"))?;
        let digest = ring::digest::digest(&ring::digest::SHA256, certificate.as_ref());
        let thumbprint_s256 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
        let text = String::from_utf8_lossy(pem);
        let key = match pem_block(&text) {
            Some(("RSA PRIVATE KEY" | "PRIVATE KEY", block)) => {
                jsonwebtoken::EncodingKey::from_rsa_pem(block.as_bytes())
                    .map_err(|error| format!("the private key is not a usable RSA key: {error}"))?
            }
            Some(("ENCRYPTED PRIVATE KEY", block)) => {
                let password = password
                    .ok_or("the private key is encrypted: set `client_certificate.password`")?;
                let decrypted = decrypt_pkcs8(block, password)?;
                jsonwebtoken::EncodingKey::from_rsa_pem(decrypted.as_bytes())
                    .map_err(|error| format!("the private key is not a usable RSA key: {error}"))?
            }
            Some((label, _)) => {
                return Err(format!(
                    "a {label} block is not an RSA private key; Entra certificate credentials use RSA"
                ));
            }
            None => {
                return Err(
                    "no private key block (RSA PRIVATE KEY, PRIVATE KEY or ENCRYPTED PRIVATE KEY)"
                        .into(),
                );
            }
        };
        let certificate = Self {
            key,
            thumbprint_s256,
        };
        // Fail at start, not at the first token request, if the key cannot sign.
        certificate.assertion("check", "https://login.invalid/check")?;
        Ok(certificate)
    }

    /// `x5t#S256` of the certificate.
    pub fn thumbprint_s256(&self) -> &str {
        &self.thumbprint_s256
    }

    /// A signed client assertion for `client_id` at the token endpoint `audience`.
    pub fn assertion(&self, client_id: &str, audience: &str) -> Result<String, String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::PS256);
        header.typ = Some("JWT".into());
        header.x5t_s256 = Some(self.thumbprint_s256.clone());
        let claims = Claims {
            aud: audience,
            iss: client_id,
            sub: client_id,
            jti: uuid::Uuid::new_v4().to_string(),
            nbf: now,
            iat: now,
            exp: now + ASSERTION_LIFETIME_SECS,
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|error| format!("cannot sign the client assertion: {error}"))
    }
}

/// The first private-key block of a PEM text: its label and the whole block.
fn pem_block(text: &str) -> Option<(&str, &str)> {
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let label_end = after.find("-----")?;
        let label = &after[..label_end];
        let end_marker = format!("-----END {label}-----");
        let end = after.find(&end_marker)? + end_marker.len();
        if label.contains("PRIVATE KEY") {
            return Some((label, &rest[start..start + 11 + end]));
        }
        rest = &after[end..];
    }
    None
}

/// Decrypts an `ENCRYPTED PRIVATE KEY` block to a `PRIVATE KEY` PEM block.
fn decrypt_pkcs8(block: &str, password: &str) -> Result<String, String> {
    use pkcs8::der::Decode;
    let (_, document) = pkcs8::der::SecretDocument::from_pem(block)
        .map_err(|error| format!("bad ENCRYPTED PRIVATE KEY block: {error}"))?;
    let info = pkcs8::EncryptedPrivateKeyInfo::from_der(document.as_bytes())
        .map_err(|error| format!("bad ENCRYPTED PRIVATE KEY block: {error}"))?;
    let decrypted = info
        .decrypt(password)
        .map_err(|_| "cannot decrypt the private key: wrong `password`?".to_string())?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(decrypted.as_bytes());
    let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in encoded.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END PRIVATE KEY-----\n");
    Ok(pem)
}
