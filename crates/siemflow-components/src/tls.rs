//! TLS for every component that connects out: the `tls:` options and a rustls client from them.
//!
//! Verification is on by default, against the system's trusted roots or a `ca_file`; the server
//! name (SNI and the name checked) is the host of the component's address unless `server_name`
//! says otherwise. A client certificate is sent when `cert_file` and `key_file` are given.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde::Deserialize;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// `tls:` of a component that connects to a server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsOptions {
    /// PEM file of the CA certificates to trust, instead of the system's.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// PEM file of a client certificate (and its chain), for servers that ask for one.
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    /// PEM file of the private key of `cert_file`.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// Check the server's certificate and name (default `true`). `false` accepts any server:
    /// for tests only, as anyone on the path can then read and change the traffic.
    #[serde(default = "verify_by_default")]
    pub verify: bool,
    /// The name to ask for (SNI) and to check the certificate against; default: the host of the
    /// component's address.
    #[serde(default)]
    pub server_name: Option<String>,
}

fn verify_by_default() -> bool {
    true
}

impl Default for TlsOptions {
    fn default() -> Self {
        Self {
            ca_file: None,
            cert_file: None,
            key_file: None,
            verify: true,
            server_name: None,
        }
    }
}

/// A TLS client ready to connect: its rustls configuration and the server name to use.
#[derive(Clone)]
pub struct TlsClient {
    connector: TlsConnector,
    server_name: ServerName<'static>,
}

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsClient")
            .field("server_name", &self.server_name)
            .finish()
    }
}

impl TlsOptions {
    /// Checks the options without reading any file.
    pub fn check(&self) -> Result<(), String> {
        match (&self.cert_file, &self.key_file) {
            (Some(_), None) => Err("`tls.cert_file` needs `tls.key_file`".into()),
            (None, Some(_)) => Err("`tls.key_file` needs `tls.cert_file`".into()),
            _ => Ok(()),
        }
    }

    /// Reads the certificate files and builds a client for a server at `host`.
    pub fn client(&self, host: &str) -> Result<TlsClient, String> {
        let config = self.config()?;
        let name = self.server_name.as_deref().unwrap_or(host);
        let server_name = ServerName::try_from(name.to_string())
            .map_err(|error| format!("`{name}` is not a server name for TLS: {error}"))?;
        Ok(TlsClient {
            connector: TlsConnector::from(Arc::new(config)),
            server_name,
        })
    }

    /// Reads the certificate files into a rustls client configuration (for HTTP clients, which
    /// take the server name from the URL).
    pub fn config(&self) -> Result<ClientConfig, String> {
        self.check()?;
        let (builder, provider) = builder()?;
        let builder = if self.verify {
            builder.with_root_certificates(self.roots()?)
        } else {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyServer(provider)))
        };
        match (&self.cert_file, &self.key_file) {
            (Some(cert_file), Some(key_file)) => {
                let chain = read_certificates(cert_file)?;
                let key = PrivateKeyDer::from_pem_file(key_file).map_err(|error| {
                    format!("cannot read the key in {}: {error}", key_file.display())
                })?;
                builder.with_client_auth_cert(chain, key).map_err(|error| {
                    format!(
                        "cannot use the client certificate {}: {error}",
                        cert_file.display()
                    )
                })
            }
            _ => Ok(builder.with_no_client_auth()),
        }
    }

    /// A configuration that trusts nothing: what a client that only speaks plain HTTP is given,
    /// so that it never reads the system's certificates for nothing.
    pub fn untrusting() -> Result<ClientConfig, String> {
        let (builder, _) = builder()?;
        Ok(builder
            .with_root_certificates(RootCertStore::empty())
            .with_no_client_auth())
    }

    fn roots(&self) -> Result<RootCertStore, String> {
        let mut roots = RootCertStore::empty();
        match &self.ca_file {
            Some(ca_file) => {
                for certificate in read_certificates(ca_file)? {
                    roots.add(certificate).map_err(|error| {
                        format!(
                            "cannot trust a certificate of {}: {error}",
                            ca_file.display()
                        )
                    })?;
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                let (added, _) = roots.add_parsable_certificates(found.certs);
                if added == 0 {
                    return Err(
                        "no trusted CA certificates found on this system: set `tls.ca_file`".into(),
                    );
                }
            }
        }
        Ok(roots)
    }
}

impl TlsClient {
    /// Runs the TLS handshake over a connected socket.
    pub async fn connect(&self, tcp: TcpStream) -> std::io::Result<TlsStream<TcpStream>> {
        self.connector.connect(self.server_name.clone(), tcp).await
    }
}

/// `tls:` of a component that accepts connections (the `http_server` source).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerTlsOptions {
    /// PEM file of the server certificate and its chain.
    pub cert_file: PathBuf,
    /// PEM file of its private key.
    pub key_file: PathBuf,
}

impl ServerTlsOptions {
    /// Reads the files into a rustls server configuration.
    pub fn config(&self) -> Result<rustls::ServerConfig, String> {
        let chain = read_certificates(&self.cert_file)?;
        let key = PrivateKeyDer::from_pem_file(&self.key_file).map_err(|error| {
            format!(
                "cannot read the key in {}: {error}",
                self.key_file.display()
            )
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| format!("cannot set up TLS: {error}"))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|error| {
                format!(
                    "cannot use the certificate {}: {error}",
                    self.cert_file.display()
                )
            })
    }
}

/// A client configuration builder on the ring provider with the safe protocol versions.
fn builder() -> Result<
    (
        rustls::ConfigBuilder<ClientConfig, rustls::WantsVerifier>,
        Arc<CryptoProvider>,
    ),
    String,
> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|error| format!("cannot set up TLS: {error}"))?;
    Ok((builder, provider))
}

fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certificates = CertificateDer::pem_file_iter(path)
        .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
        .map_err(|error| format!("cannot read certificates from {}: {error}", path.display()))?;
    if certificates.is_empty() {
        return Err(format!("{} holds no PEM certificate", path.display()));
    }
    Ok(certificates)
}

/// `verify: false`: any certificate is accepted (the handshake's signatures are still checked,
/// so the connection is at least with whoever holds the key it shows).
#[derive(Debug)]
struct AcceptAnyServer(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
