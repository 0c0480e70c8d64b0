//! TLS for every component that connects out: the `tls:` options and a rustls client from them.
//!
//! Verification is on by default, against the system's trusted roots or a `ca_file`; the server
//! name (SNI and the name checked) is the host of the component's address unless `server_name`
//! says otherwise. A client certificate is sent when `cert_file` and `key_file` are given.
//!
//! A certificate in `ca_file` is also **pinned**: a server that presents exactly that
//! certificate is trusted as it is, the way OpenSSL-based senders (rsyslog, syslog-ng, Vector)
//! trust a self-signed certificate given as their CA file. That is how SIEM receivers that ship a
//! self-signed certificate made with `openssl req -x509` (marked CA:TRUE, which rustls would
//! otherwise refuse as "a CA certificate used as an end-entity certificate") are trusted; the
//! certificate itself being the trust decision, its names and dates are not checked then. Any
//! other certificate is verified against the `ca_file` chain as usual.
//!
//! Certificate errors are worded with their fix ([`explain`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
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
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsOptions {
    /// PEM file of the CA certificates to trust, and of server certificates to pin (default: the
    /// system's roots).
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
    /// The name sent (SNI) and checked against the certificate (default: the host of the
    /// component's address).
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
    /// Takes relative certificate paths from the pipeline file's folder.
    pub fn resolve_paths(&mut self, base: &std::path::Path) {
        use siemflow_core::config::paths::resolve_opt;
        resolve_opt(base, &mut self.ca_file);
        resolve_opt(base, &mut self.cert_file);
        resolve_opt(base, &mut self.key_file);
    }

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
            match &self.ca_file {
                Some(ca_file) => {
                    let pinned = read_certificates(ca_file)?;
                    let chain = WebPkiServerVerifier::builder_with_provider(
                        Arc::new(self.roots()?),
                        provider,
                    )
                    .build()
                    .map_err(|error| {
                        format!(
                            "cannot trust the certificates of {}: {error}",
                            ca_file.display()
                        )
                    })?;
                    builder
                        .dangerous()
                        .with_custom_certificate_verifier(Arc::new(PinnedOrChain { pinned, chain }))
                }
                None => builder.with_root_certificates(self.roots()?),
            }
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
    /// Runs the TLS handshake over a connected socket; a refused certificate is worded with its
    /// fix.
    pub async fn connect(&self, tcp: TcpStream) -> std::io::Result<TlsStream<TcpStream>> {
        self.connector
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(|error| match explain(&error) {
                Some(words) => std::io::Error::new(error.kind(), words),
                None => error,
            })
    }
}

/// `tls:` of a component that accepts connections (the `http_server` source).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerTlsOptions {
    /// PEM file of the server certificate and its chain.
    pub cert_file: PathBuf,
    /// PEM file of its private key.
    pub key_file: PathBuf,
}

impl ServerTlsOptions {
    /// Takes relative certificate paths from the pipeline file's folder.
    pub fn resolve_paths(&mut self, base: &std::path::Path) {
        siemflow_core::config::paths::resolve(base, &mut self.cert_file);
        siemflow_core::config::paths::resolve(base, &mut self.key_file);
    }

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

/// `ca_file` given: a server certificate that is exactly one of its certificates is trusted as
/// it is (pinned); any other is verified against them as a chain.
#[derive(Debug)]
struct PinnedOrChain {
    pinned: Vec<CertificateDer<'static>>,
    chain: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for PinnedOrChain {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self
            .pinned
            .iter()
            .any(|pinned| pinned.as_ref() == end_entity.as_ref())
        {
            return Ok(ServerCertVerified::assertion());
        }
        self.chain
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.chain.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.chain.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.chain.supported_verify_schemes()
    }
}

/// A TLS error in words, with what to do about it; `None` when `error` holds no TLS error.
pub fn explain(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(explain_tls(tls));
        }
        // tokio-rustls reports a handshake failure as an io::Error wrapping the rustls::Error,
        // which hyper wraps in another; io::Error's `source` skips what it wraps.
        if let Some(io) = current.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(words) = explain(inner)
        {
            return Some(words);
        }
        cause = current.source();
    }
    None
}

fn explain_tls(error: &rustls::Error) -> String {
    use rustls::CertificateError as Certificate;
    let rustls::Error::InvalidCertificate(problem) = error else {
        return format!("TLS failed: {error}");
    };
    let words = match problem {
        Certificate::UnknownIssuer => "the server's certificate is not signed by a CA this client trusts: put the CA that issued it in `tls.ca_file` (or `ca_file`), or the server's own certificate to pin it".to_string(),
        Certificate::NotValidForName | Certificate::NotValidForNameContext { .. } => {
            let presented = match problem {
                Certificate::NotValidForNameContext { expected, presented } => format!(
                    " (it is for {}, not {expected:?})",
                    if presented.is_empty() { "no name at all".to_string() } else { presented.join(", ") }
                ),
                _ => String::new(),
            };
            format!("the server's certificate is not for the name connected to{presented}: connect by a name it holds, or set `tls.server_name` to one; or pin the certificate in `tls.ca_file`")
        }
        Certificate::Expired | Certificate::ExpiredContext { .. } => "the server's certificate has expired: the SIEM's administrator must renew it".to_string(),
        Certificate::NotValidYet | Certificate::NotValidYetContext { .. } => "the server's certificate is not valid yet: check this machine's clock and the server's".to_string(),
        Certificate::Revoked => "the server's certificate was revoked".to_string(),
        Certificate::BadSignature => "the server's certificate is not signed by the CA it names: the chain the server sends is wrong".to_string(),
        Certificate::Other(other) if format!("{other:?}").contains("CaUsedAsEndEntity") => "the server presents a CA certificate as its own (a self-signed certificate made with `openssl req -x509` is one) that is not in `tls.ca_file`: put exactly that certificate in `tls.ca_file` to pin it".to_string(),
        other => format!("the server's certificate is refused ({other:?})"),
    };
    format!("invalid server certificate: {words}")
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate marked CA:TRUE, as `openssl req -x509` makes them: PEM files of
    /// the certificate and the key in `dir`, and a server configuration presenting it.
    fn self_signed(dir: &Path, name: &str) -> (PathBuf, Arc<rustls::ServerConfig>) {
        let mut params =
            rcgen::CertificateParams::new(vec![format!("{name}.siem.example")]).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().expect("a key");
        let certificate = params.self_signed(&key).expect("a certificate");
        let cert_file = dir.join(format!("{name}.crt"));
        let key_file = dir.join(format!("{name}.key"));
        std::fs::write(&cert_file, certificate.pem()).expect("write");
        std::fs::write(&key_file, key.serialize_pem()).expect("write");
        let server = ServerTlsOptions {
            cert_file: cert_file.clone(),
            key_file,
        }
        .config()
        .expect("a server configuration");
        (cert_file, Arc::new(server))
    }

    /// Accepts TLS connections with `server`, answering each with a minimal HTTP 200.
    async fn serve(server: Arc<rustls::ServerConfig>) -> std::net::SocketAddr {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let acceptor = tokio_rustls::TlsAcceptor::from(server);
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(mut tls) = acceptor.accept(tcp).await {
                        let mut request = [0u8; 1024];
                        let _ = tls.read(&mut request).await;
                        let _ = tls
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                            .await;
                        let _ = tls.shutdown().await;
                    }
                });
            }
        });
        address
    }

    #[tokio::test]
    async fn a_pinned_self_signed_certificate_is_trusted_over_tcp_and_https_and_another_is_explained()
     {
        let dir = tempfile::tempdir().expect("a directory");
        let (pinned, server) = self_signed(dir.path(), "qradar");
        let (other, _) = self_signed(dir.path(), "other");
        let address = serve(server).await;
        let options = |ca_file: &Path| TlsOptions {
            ca_file: Some(ca_file.to_path_buf()),
            ..TlsOptions::default()
        };

        let client = options(&pinned).client("127.0.0.1").expect("a client");
        let tcp = TcpStream::connect(address).await.expect("connect");
        client
            .connect(tcp)
            .await
            .expect("the pinned certificate is trusted");
        let http = crate::http_client::client_with(
            &options(&pinned),
            std::time::Duration::from_secs(5),
            std::time::Duration::from_secs(5),
        )
        .expect("an HTTP client");
        let answer = http
            .get(format!("https://{address}/"))
            .send()
            .await
            .expect("HTTPS with the pinned certificate");
        assert_eq!(answer.status().as_u16(), 200);

        let refused = options(&other).client("127.0.0.1").expect("a client");
        let tcp = TcpStream::connect(address).await.expect("connect");
        let error = refused
            .connect(tcp)
            .await
            .expect_err("another certificate is refused");
        assert!(
            error
                .to_string()
                .contains("put exactly that certificate in `tls.ca_file`"),
            "{error}"
        );
        let http = crate::http_client::client_with(
            &options(&other),
            std::time::Duration::from_secs(5),
            std::time::Duration::from_secs(5),
        )
        .expect("an HTTP client");
        let error = http
            .get(format!("https://{address}/"))
            .send()
            .await
            .expect_err("refused over HTTPS too");
        let described = crate::http_client::describe_error(error);
        assert!(
            described.contains(
                "invalid server certificate: the server presents a CA certificate as its own"
            ),
            "{described}"
        );
    }
}
