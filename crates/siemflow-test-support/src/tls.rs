//! Test certificates: a certificate authority and a server certificate for `127.0.0.1` and
//! `localhost` signed by it, written as PEM files for clients (`ca_file`) and servers, and the
//! rustls server configuration the HTTP test servers use with them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};

/// PEM files of a fresh test CA and server certificate.
#[derive(Debug, Clone)]
pub struct Certificates {
    /// The CA certificate: what a client trusts.
    pub ca_file: PathBuf,
    /// The server certificate.
    pub cert_file: PathBuf,
    /// The server certificate's key.
    pub key_file: PathBuf,
}

impl Certificates {
    /// Creates `ca.pem`, `server.pem` and `server.key` in `dir`.
    pub fn create(dir: &Path) -> Self {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())
            .unwrap_or_else(|error| panic!("CA parameters: {error}"));
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "siemflow test CA");
        let ca_key = KeyPair::generate().unwrap_or_else(|error| panic!("CA key: {error}"));
        let ca_cert = ca_params
            .self_signed(&ca_key)
            .unwrap_or_else(|error| panic!("CA certificate: {error}"));
        let issuer = Issuer::new(ca_params, ca_key);
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
                .unwrap_or_else(|error| panic!("server parameters: {error}"));
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let key = KeyPair::generate().unwrap_or_else(|error| panic!("server key: {error}"));
        let cert = params
            .signed_by(&key, &issuer)
            .unwrap_or_else(|error| panic!("server certificate: {error}"));
        let certificates = Self {
            ca_file: dir.join("ca.pem"),
            cert_file: dir.join("server.pem"),
            key_file: dir.join("server.key"),
        };
        for (path, pem) in [
            (&certificates.ca_file, ca_cert.pem()),
            (&certificates.cert_file, cert.pem()),
            (&certificates.key_file, key.serialize_pem()),
        ] {
            std::fs::write(path, pem)
                .unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
        }
        certificates
    }

    /// A rustls server configuration presenting the server certificate.
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&self.cert_file)
            .and_then(|certificates| certificates.collect())
            .unwrap_or_else(|error| panic!("server certificate: {error}"));
        let key = PrivateKeyDer::from_pem_file(&self.key_file)
            .unwrap_or_else(|error| panic!("server key: {error}"));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap_or_else(|error| panic!("TLS versions: {error}"))
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap_or_else(|error| panic!("TLS server configuration: {error}"));
        Arc::new(config)
    }
}

/// An app's certificate credential for the identity test server: an RSA key and a self-signed
/// certificate, written as one PEM file (certificate then key, the layout `az ad sp
/// create-for-rbac --create-cert` produces) for the client, with what the server registers.
#[derive(Debug, Clone)]
pub struct ClientCertificate {
    /// Certificate and unencrypted PKCS#8 key, PEM.
    pub pem_file: PathBuf,
    /// The key as encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`) beside the certificate, for
    /// `password`.
    pub encrypted_pem_file: PathBuf,
    /// The password of `encrypted_pem_file`.
    pub password: String,
    /// The public key, PEM (what the server verifies assertions with).
    pub public_key_pem: String,
    /// base64url SHA-256 of the certificate's DER: the `x5t#S256` assertions must carry.
    pub thumbprint_s256: String,
}

impl ClientCertificate {
    /// Generates a 2048-bit RSA key and a certificate for `subject` in `dir`.
    pub fn create(dir: &Path, subject: &str) -> Self {
        use base64::Engine;
        use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
        let mut rng = rsa::rand_core::OsRng;
        let key = rsa::RsaPrivateKey::new(&mut rng, 2048)
            .unwrap_or_else(|error| panic!("RSA key: {error}"));
        let key_pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .unwrap_or_else(|error| panic!("PKCS#8: {error}"));
        let password = "correct horse battery staple".to_string();
        let encrypted = key
            .to_pkcs8_encrypted_pem(&mut rng, password.as_bytes(), LineEnding::LF)
            .unwrap_or_else(|error| panic!("encrypted PKCS#8: {error}"));
        let public_key_pem = key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap_or_else(|error| panic!("public key: {error}"));
        let key_pair =
            KeyPair::from_pem(&key_pem).unwrap_or_else(|error| panic!("rcgen key: {error}"));
        let mut params = CertificateParams::new(Vec::<String>::new())
            .unwrap_or_else(|error| panic!("certificate parameters: {error}"));
        params.distinguished_name.push(DnType::CommonName, subject);
        let cert = params
            .self_signed(&key_pair)
            .unwrap_or_else(|error| panic!("client certificate: {error}"));
        let digest = ring::digest::digest(&ring::digest::SHA256, cert.der());
        let thumbprint_s256 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
        let pem_file = dir.join("client.pem");
        let encrypted_pem_file = dir.join("client-encrypted.pem");
        for (path, key) in [
            (&pem_file, key_pem.as_str()),
            (&encrypted_pem_file, encrypted.as_str()),
        ] {
            std::fs::write(path, format!("{}{key}", cert.pem()))
                .unwrap_or_else(|error| panic!("cannot write {}: {error}", path.display()));
        }
        Self {
            pem_file,
            encrypted_pem_file,
            password,
            public_key_pem,
            thumbprint_s256,
        }
    }
}
