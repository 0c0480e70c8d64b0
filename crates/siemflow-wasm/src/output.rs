//! A plugin's stdout and stderr: kept in a bounded buffer and sent to the log after each batch.
//!
//! Writes always succeed for the guest (a Rust `println!` panics on a failed write), but only the
//! first [`CAPACITY`] bytes per batch are kept, and at most [`MAX_LINES`] lines are logged.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// Bytes kept per batch and stream.
pub const CAPACITY: usize = 16 * 1024;
/// Lines logged per batch and stream.
pub const MAX_LINES: usize = 20;

#[derive(Debug, Default)]
struct Buffer {
    kept: Vec<u8>,
    dropped: usize,
}

/// One captured stream.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    buffer: Arc<Mutex<Buffer>>,
}

impl Captured {
    /// Takes what was written since the last call, as log lines, and how many bytes were dropped.
    pub fn drain(&self) -> (Vec<String>, usize) {
        let mut buffer = self
            .buffer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let text = String::from_utf8_lossy(&buffer.kept).into_owned();
        let mut dropped = std::mem::take(&mut buffer.dropped);
        buffer.kept.clear();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        if lines.len() > MAX_LINES {
            dropped += lines[MAX_LINES..]
                .iter()
                .map(|l| l.len() + 1)
                .sum::<usize>();
            lines.truncate(MAX_LINES);
        }
        (lines, dropped)
    }

    fn write(&self, data: &[u8]) {
        let mut buffer = self
            .buffer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let room = CAPACITY.saturating_sub(buffer.kept.len());
        let kept = data.len().min(room);
        buffer.kept.extend_from_slice(&data[..kept]);
        buffer.dropped += data.len() - kept;
    }
}

impl IsTerminal for Captured {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Captured {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(Writer(self.clone()))
    }
}

struct Writer(Captured);

impl AsyncWrite for Writer {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.0.write(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_bounded_prefix_and_counts_the_rest() {
        let captured = Captured::default();
        captured.write(b"one\ntwo\n");
        captured.write(&vec![b'x'; CAPACITY]);
        let (lines, dropped) = captured.drain();
        assert_eq!(lines[..2], ["one".to_string(), "two".to_string()]);
        assert_eq!(dropped, 8);
        assert_eq!(captured.drain(), (Vec::new(), 0));
    }
}
