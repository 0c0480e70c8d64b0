//! What every HTTP test server here shares: a listener on 127.0.0.1, its own thread and
//! current-thread runtime, HTTP/1.1 connections served by hyper, a switch to play dead, and a
//! clean stop when dropped.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use std::io::Read;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Response;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

/// Returned by a handler to close the connection without answering.
#[derive(Debug)]
pub struct Reset;

impl std::fmt::Display for Reset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by fault injection")
    }
}

impl std::error::Error for Reset {}

/// A handler's result.
pub type Answer = Result<Response<Full<Bytes>>, Reset>;

/// A request body as the application sees it.
#[derive(Debug)]
pub struct Body {
    /// The bytes, decompressed.
    pub bytes: Vec<u8>,
    /// Whether it came gzip-compressed.
    pub gzip: bool,
}

/// Why a body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// Over the limit, before or after decompression.
    TooLarge,
    /// `Content-Encoding: gzip` on something that is not gzip.
    BadGzip,
}

/// Reads a body of at most `limit` bytes (decompressed), honouring `Content-Encoding: gzip`.
pub async fn read_body(request: hyper::Request<Incoming>, limit: usize) -> Result<Body, BodyError> {
    let gzip = request
        .headers()
        .get("content-encoding")
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"gzip"));
    let raw = Limited::new(request.into_body(), limit)
        .collect()
        .await
        .map_err(|_| BodyError::TooLarge)?
        .to_bytes();
    if !gzip {
        return Ok(Body {
            bytes: raw.to_vec(),
            gzip,
        });
    }
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(&raw[..])
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|_| BodyError::BadGzip)?;
    if bytes.len() > limit {
        return Err(BodyError::TooLarge);
    }
    Ok(Body { bytes, gzip })
}

/// Seeded uniform draws (xorshift64*) for fault injection and generated data: the same seed
/// fails the same requests and generates the same records, so a failing test can be replayed.
#[derive(Debug, Clone)]
pub struct Dice(u64);

impl Dice {
    /// Starts from `seed` (any value).
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    /// A draw in [0, 1).
    pub fn draw(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A whole number in [0, `bound`) (0 when `bound` is 0).
    pub fn below(&mut self, bound: usize) -> usize {
        ((self.draw() * bound as f64) as usize).min(bound.saturating_sub(1))
    }
}

/// A running server; stopped when dropped.
#[derive(Debug)]
pub struct Server {
    address: SocketAddr,
    available: Arc<AtomicBool>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Listens on `port` (0 for a free one) and serves every request with `handle`.
    pub fn start<H, F>(name: &str, port: u16, handle: H) -> Self
    where
        H: Fn(hyper::Request<Incoming>) -> F + Clone + Send + Sync + 'static,
        F: Future<Output = Answer> + Send + 'static,
    {
        Self::start_with(name, port, None, handle)
    }

    /// Like [`Server::start`], over TLS with `tls` (see [`crate::tls::Certificates`]).
    pub fn start_tls<H, F>(name: &str, port: u16, tls: Arc<rustls::ServerConfig>, handle: H) -> Self
    where
        H: Fn(hyper::Request<Incoming>) -> F + Clone + Send + Sync + 'static,
        F: Future<Output = Answer> + Send + 'static,
    {
        Self::start_with(name, port, Some(tls), handle)
    }

    fn start_with<H, F>(
        name: &str,
        port: u16,
        tls: Option<Arc<rustls::ServerConfig>>,
        handle: H,
    ) -> Self
    where
        H: Fn(hyper::Request<Incoming>) -> F + Clone + Send + Sync + 'static,
        F: Future<Output = Answer> + Send + 'static,
    {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))
            .unwrap_or_else(|error| panic!("{name}: cannot listen on 127.0.0.1:{port}: {error}"));
        listener.set_nonblocking(true).unwrap_or_else(|error| {
            panic!("{name}: cannot make the listener non-blocking: {error}")
        });
        let address = listener
            .local_addr()
            .unwrap_or_else(|error| panic!("{name}: no local address: {error}"));
        let available = Arc::new(AtomicBool::new(true));
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let serving = available.clone();
        let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || serve(listener, serving, acceptor, handle, stopped))
            .unwrap_or_else(|error| panic!("{name}: cannot start the server thread: {error}"));
        Self {
            address,
            available,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Down (`false`): every connection is closed without an answer, as a dead server would.
    pub fn set_available(&self, available: bool) {
        self.available.store(available, Ordering::SeqCst);
    }

    /// Whether the server plays dead right now.
    pub fn is_available(&self) -> bool {
        self.available.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve<H, F>(
    listener: std::net::TcpListener,
    available: Arc<AtomicBool>,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    handle: H,
    stopped: tokio::sync::oneshot::Receiver<()>,
) where
    H: Fn(hyper::Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Answer> + Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|error| panic!("cannot start a test server runtime: {error}"));
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)
            .unwrap_or_else(|error| panic!("cannot use the listener: {error}"));
        let accepting = async {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                if !available.load(Ordering::SeqCst) {
                    drop(stream);
                    continue;
                }
                let _ = stream.set_nodelay(true);
                let handle = handle.clone();
                let available = available.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    match acceptor {
                        // A client that does not trust the certificate gives up here.
                        Some(acceptor) => {
                            if let Ok(tls) = acceptor.accept(stream).await {
                                connection(tls, available, handle).await;
                            }
                        }
                        None => connection(stream, available, handle).await,
                    }
                });
            }
        };
        tokio::select! {
            () = accepting => {}
            _ = stopped => {}
        }
    });
}

/// Serves HTTP/1.1 on one connection.
async fn connection<S, H, F>(stream: S, available: Arc<AtomicBool>, handle: H)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    H: Fn(hyper::Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Answer> + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| {
        let handle = handle.clone();
        let up = available.load(Ordering::SeqCst);
        async move {
            if up {
                handle(request).await
            } else {
                Err(Reset)
            }
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}
