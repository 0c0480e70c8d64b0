//! The socket a syslog sink writes to: UDP, TCP or TLS over TCP.

use std::future::poll_fn;
use std::io;
use std::ops::Range;
use std::task::Poll;
use std::time::Duration;

use tokio::io::{AsyncWriteExt, BufWriter};
use tokio::net::{TcpStream, UdpSocket};
use tokio_rustls::client::TlsStream;

use crate::tls::TlsClient;

/// How to reach the receiver.
#[derive(Debug, Clone)]
pub struct Connector {
    /// `host:port`.
    pub address: String,
    /// UDP, TCP or TLS.
    pub transport: Transport,
    /// Giving up on one connection attempt.
    pub connect_timeout: Duration,
}

/// The transport, with what TLS needs.
#[derive(Debug, Clone)]
pub enum Transport {
    /// One datagram per message, best effort.
    Udp,
    /// A TCP stream.
    Tcp,
    /// TLS over TCP.
    Tls(TlsClient),
}

/// An open connection.
#[derive(Debug)]
pub enum Connection {
    /// A connected UDP socket.
    Udp(UdpSocket),
    /// A buffered TCP stream.
    Tcp(BufWriter<TcpStream>),
    /// A buffered TLS stream.
    Tls(Box<BufWriter<TlsStream<TcpStream>>>),
}

impl Connector {
    /// Opens a connection (resolving the address each time, so that a moved receiver is found).
    pub async fn connect(&self) -> io::Result<Connection> {
        let attempt = async {
            match &self.transport {
                Transport::Udp => {
                    let socket = UdpSocket::bind(if self.is_ipv6().await {
                        "[::]:0"
                    } else {
                        "0.0.0.0:0"
                    })
                    .await?;
                    socket.connect(&self.address).await?;
                    Ok(Connection::Udp(socket))
                }
                Transport::Tcp => {
                    let stream = TcpStream::connect(&self.address).await?;
                    stream.set_nodelay(true)?;
                    Ok(Connection::Tcp(BufWriter::with_capacity(256 << 10, stream)))
                }
                Transport::Tls(client) => {
                    let stream = TcpStream::connect(&self.address).await?;
                    stream.set_nodelay(true)?;
                    let stream = client.connect(stream).await?;
                    Ok(Connection::Tls(Box::new(BufWriter::with_capacity(
                        256 << 10,
                        stream,
                    ))))
                }
            }
        };
        tokio::time::timeout(self.connect_timeout, attempt)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connection attempt timed out"))?
    }

    async fn is_ipv6(&self) -> bool {
        tokio::net::lookup_host(&self.address)
            .await
            .ok()
            .and_then(|mut addresses| addresses.next())
            .is_some_and(|address| address.is_ipv6())
    }
}

impl Connection {
    /// Writes a batch and flushes it. `messages` are the byte ranges of the messages in `buffer`:
    /// UDP sends one datagram each, streams write the whole buffer.
    pub async fn send(&mut self, buffer: &[u8], messages: &[Range<usize>]) -> io::Result<()> {
        match self {
            Connection::Udp(socket) => {
                for range in messages {
                    socket.send(&buffer[range.clone()]).await?;
                }
                Ok(())
            }
            Connection::Tcp(stream) => {
                stream.write_all(buffer).await?;
                stream.flush().await
            }
            Connection::Tls(stream) => {
                stream.write_all(buffer).await?;
                stream.flush().await
            }
        }
    }

    /// Closes a stream cleanly (TLS sends its close_notify).
    pub async fn close(self) {
        match self {
            Connection::Udp(_) => {}
            Connection::Tcp(mut stream) => {
                let _ = stream.shutdown().await;
            }
            Connection::Tls(mut stream) => {
                let _ = stream.shutdown().await;
            }
        }
    }

    /// Whether the receiver has closed a stream connection (it sends nothing otherwise), so that
    /// a batch is not written into a socket that is going away. Does not wait.
    pub async fn is_closed(&self) -> bool {
        let tcp = match self {
            Connection::Udp(_) => return false,
            Connection::Tcp(stream) => stream.get_ref(),
            Connection::Tls(stream) => stream.get_ref().get_ref().0,
        };
        let mut probe = [0u8; 1];
        poll_fn(|cx| {
            let mut buf = tokio::io::ReadBuf::new(&mut probe);
            match tcp.poll_peek(cx, &mut buf) {
                Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => Poll::Ready(true),
                Poll::Ready(Ok(_)) | Poll::Pending => Poll::Ready(false),
            }
        })
        .await
    }
}
