//! AMQP over WebSockets as Event Hubs serves it: an HTTP upgrade on `/$servicebus/websocket`
//! asking for the `amqp` subprotocol (the OASIS binding's name) or `AMQPWSB10` (its draft's,
//! which the Python SDK sends), then AMQP frames in binary messages. A connection that
//! starts with `GET` is taken as one; anything else is plain AMQP, so one port serves both.

use std::sync::Arc;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};

use super::Shared;
use super::links;

const PATH: &str = "/$servicebus/websocket";
const PROTOCOL: &str = "Sec-WebSocket-Protocol";
const SUBPROTOCOLS: [&str; 2] = ["amqp", "AMQPWSB10"];

/// Serves one connection, AMQP or AMQP over a WebSocket, until it closes.
pub(crate) async fn serve<Io>(shared: Arc<Shared>, stream: Io)
where
    Io: AsyncRead + AsyncWrite + std::fmt::Debug + Send + Unpin + 'static,
{
    let mut stream = tokio::io::BufReader::new(stream);
    let upgrade = match stream.fill_buf().await {
        Ok(start) if !start.is_empty() => start[0] == b'G',
        _ => return,
    };
    if !upgrade {
        links::serve(shared, stream).await;
        return;
    }
    let Ok(socket) = tokio_tungstenite::accept_hdr_async(stream, check_upgrade).await else {
        return;
    };
    shared.count(|counters| counters.websockets += 1);
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    tokio::spawn(pump(socket, ours));
    links::serve(shared, theirs).await;
}

fn refusal(status: StatusCode, why: &str) -> ErrorResponse {
    let mut refusal = ErrorResponse::new(Some(why.to_string()));
    *refusal.status_mut() = status;
    refusal
}

/// Accepts only the Event Hubs path with an AMQP subprotocol, and answers with it.
#[expect(
    clippy::result_large_err,
    reason = "the signature of tungstenite's handshake callback"
)]
fn check_upgrade(request: &Request, mut response: Response) -> Result<Response, ErrorResponse> {
    if request.uri().path() != PATH {
        return Err(refusal(StatusCode::NOT_FOUND, "no such endpoint"));
    }
    let chosen = request
        .headers()
        .get_all(PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .find_map(|asked| SUBPROTOCOLS.into_iter().find(|known| *known == asked));
    let Some(chosen) = chosen else {
        return Err(refusal(
            StatusCode::BAD_REQUEST,
            "the amqp subprotocol is required",
        ));
    };
    response
        .headers_mut()
        .insert(PROTOCOL, HeaderValue::from_static(chosen));
    Ok(response)
}

/// Carries bytes between the WebSocket's binary messages and the AMQP side's pipe.
async fn pump<S>(socket: tokio_tungstenite::WebSocketStream<S>, pipe: tokio::io::DuplexStream)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut sink, mut messages) = socket.split();
    let (mut from_amqp, mut to_amqp) = tokio::io::split(pipe);
    let inbound = async {
        while let Some(Ok(message)) = messages.next().await {
            let written = match message {
                Message::Binary(bytes) => to_amqp.write_all(&bytes).await,
                Message::Close(_) => break,
                _ => Ok(()),
            };
            if written.is_err() {
                break;
            }
        }
        let _ = to_amqp.shutdown().await;
    };
    let outbound = async {
        let mut buffer = vec![0; 16 * 1024];
        loop {
            match from_amqp.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let frame = Message::Binary(Bytes::copy_from_slice(&buffer[..n]));
                    if sink.send(frame).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = sink.close().await;
    };
    tokio::select! {
        () = inbound => {}
        () = outbound => {}
    }
}
