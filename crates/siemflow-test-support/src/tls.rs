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
