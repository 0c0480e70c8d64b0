//! Cutting a byte stream into JSON frames: JSON lines, or concatenated (pretty-printed) documents.
//!
//! The framer never holds more than `max_frame_bytes` of one frame: a longer frame is skipped to
//! its end while only a prefix is kept, and comes out as [`Frame::Oversize`] for the dead-letter
//! file. Every frame carries its byte range in the stream, which is what file checkpoints store.

use bytes::{Bytes, BytesMut};

/// How to cut the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Framing {
    /// Decide from the first line: a line that is only `{` or `[`, or that ends with one (as in
    /// `{"records": [`), starts pretty-printed documents; anything else is JSON lines.
    #[default]
    Auto,
    /// One JSON value per line (`\n` or `\r\n`); blank lines are skipped.
    Lines,
    /// Complete JSON objects or arrays one after another, whatever the line breaks.
    Documents,
}

/// How many bytes of an oversize frame are kept for its dead letter.
pub const OVERSIZE_PREFIX_BYTES: usize = 64 * 1024;

/// One piece of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A frame to decode.
    Data {
        /// The frame's bytes (without the line terminator).
        bytes: Bytes,
        /// Stream offset of its first byte.
        start: u64,
        /// Stream offset just past it and its terminator.
        end: u64,
    },
    /// A frame longer than the limit: only its first bytes are kept.
    Oversize {
        /// The first [`OVERSIZE_PREFIX_BYTES`] bytes.
        prefix: Bytes,
        /// Its full size.
        size: u64,
        /// Stream offset of its first byte.
        start: u64,
        /// Stream offset just past it.
        end: u64,
    },
}

impl Frame {
    /// Stream offset just past this frame.
    pub fn end(&self) -> u64 {
        match self {
            Frame::Data { end, .. } | Frame::Oversize { end, .. } => *end,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Undecided,
    Lines,
    Documents,
}

#[derive(Debug, Default, Clone, Copy)]
struct DocumentScan {
    started: bool,
    depth: u32,
    in_string: bool,
    escaped: bool,
}

impl DocumentScan {
    /// Feeds one byte; returns true when this byte completes a document.
    fn feed(&mut self, byte: u8) -> bool {
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if byte == b'\\' {
                self.escaped = true;
            } else if byte == b'"' {
                self.in_string = false;
            }
            return false;
        }
        match byte {
            b'"' => self.in_string = true,
            b'{' | b'[' => {
                self.started = true;
                self.depth += 1;
            }
            b'}' | b']' => {
                self.depth = self.depth.saturating_sub(1);
                return self.started && self.depth == 0;
            }
            _ => {}
        }
        false
    }
}

#[derive(Debug)]
struct Skipping {
    prefix: Vec<u8>,
    start: u64,
    size: u64,
}

/// The framer state for one stream.
#[derive(Debug)]
pub struct Framer {
    mode: Mode,
    max_frame_bytes: usize,
    buffer: BytesMut,
    /// Stream offset of `buffer[0]`.
    offset: u64,
    /// Bytes of `buffer` already scanned without finding a frame end.
    scanned: usize,
    document: DocumentScan,
    skipping: Option<Skipping>,
}

impl Framer {
    /// A framer starting at stream offset `offset`.
    pub fn new(framing: Framing, max_frame_bytes: usize, offset: u64) -> Self {
        Self {
            mode: match framing {
                Framing::Auto => Mode::Undecided,
                Framing::Lines => Mode::Lines,
                Framing::Documents => Mode::Documents,
            },
            max_frame_bytes: max_frame_bytes.max(1),
            buffer: BytesMut::new(),
            offset,
            scanned: 0,
            document: DocumentScan::default(),
            skipping: None,
        }
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, data: &[u8]) {
        self.buffer.extend_from_slice(data);
    }

    /// The stream offset up to which every byte belongs to a frame already returned (or to blank
    /// space): where reading must resume after a restart.
    pub fn consumed(&self) -> u64 {
        match &self.skipping {
            Some(skipping) => skipping.start,
            None => self.offset,
        }
    }

    /// Bytes held but not yet framed.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// The next complete frame, if the buffered bytes hold one.
    pub fn next_frame(&mut self) -> Option<Frame> {
        loop {
            if self.mode == Mode::Undecided && !self.decide(false) {
                return None;
            }
            let frame = match self.mode {
                Mode::Lines => self.next_line(),
                _ => self.next_document(),
            };
            match frame {
                Some(Some(frame)) => return Some(frame),
                Some(None) => continue,
                None => return None,
            }
        }
    }

    /// At the end of a finished stream: what is left, as a last frame.
    pub fn finish(&mut self) -> Option<Frame> {
        if let Some(frame) = self.next_frame() {
            return Some(frame);
        }
        if self.mode == Mode::Undecided {
            self.decide(true);
        }
        if let Some(skipping) = self.skipping.take() {
            let len = self.buffer.len();
            let end = self.offset + len as u64;
            return Some(self.end_oversize(skipping, len, end));
        }
        if self.buffer.len() > self.max_frame_bytes {
            let len = self.buffer.len();
            let skipping = self.start_skipping(len);
            return Some(self.end_oversize(skipping, 0, self.offset));
        }
        let content = trim_end(&self.buffer);
        if content.iter().all(u8::is_ascii_whitespace) {
            let len = self.buffer.len();
            self.consume(len);
            return None;
        }
        let start_skip = self.buffer.len() - trim_start(&self.buffer).len();
        let start = self.offset + start_skip as u64;
        let content_len = content.len();
        let end = self.offset + self.buffer.len() as u64;
        let mut all = self.buffer.split_to(self.buffer.len());
        self.offset = end;
        self.scanned = 0;
        self.document = DocumentScan::default();
        let bytes = all.split_to(content_len).split_off(start_skip).freeze();
        Some(Frame::Data { bytes, start, end })
    }

    /// Ends an oversize frame whose remaining `len` buffered bytes run up to `end`.
    fn end_oversize(&mut self, mut skipping: Skipping, len: usize, end: u64) -> Frame {
        let size = skipping.size + len as u64;
        let room = OVERSIZE_PREFIX_BYTES.saturating_sub(skipping.prefix.len());
        skipping
            .prefix
            .extend_from_slice(&self.buffer[..len.min(room)]);
        self.consume(len);
        Frame::Oversize {
            prefix: Bytes::from(skipping.prefix),
            size,
            start: skipping.start,
            end,
        }
    }

    fn consume(&mut self, len: usize) {
        let _ = self.buffer.split_to(len);
        self.offset += len as u64;
        self.scanned = 0;
    }

    /// Picks lines or documents from the first non-blank line. Returns false if it needs more.
    fn decide(&mut self, at_end: bool) -> bool {
        let content = trim_start(&self.buffer);
        if content.is_empty() && !at_end {
            return false;
        }
        let line = match memchr::memchr(b'\n', content) {
            Some(end) => &content[..end],
            None if at_end || content.len() > self.max_frame_bytes => content,
            None => return false,
        };
        // A first line over the limit is decided the same whether it came whole or in pieces.
        let long = line.len() > self.max_frame_bytes;
        let line = trim_end(line);
        self.mode = if !long && (line.ends_with(b"{") || line.ends_with(b"[")) {
            Mode::Documents
        } else {
            Mode::Lines
        };
        true
    }

    /// `Some(Some(frame))`, `Some(None)` when something was consumed without a frame, `None` when
    /// more input is needed.
    fn next_line(&mut self) -> Option<Option<Frame>> {
        match memchr::memchr(b'\n', &self.buffer[self.scanned..]) {
            Some(position) => {
                let newline = self.scanned + position;
                let end = self.offset + newline as u64 + 1;
                if let Some(skipping) = self.skipping.take() {
                    let frame = self.end_oversize(skipping, newline, end);
                    self.consume(1);
                    return Some(Some(frame));
                }
                let start = self.offset;
                if newline > self.max_frame_bytes {
                    let skipping = self.start_skipping(newline);
                    let frame = self.end_oversize(skipping, 0, end);
                    self.consume(1);
                    return Some(Some(frame));
                }
                let mut line = self.buffer.split_to(newline + 1);
                self.offset = end;
                self.scanned = 0;
                line.truncate(newline);
                if line.last() == Some(&b'\r') {
                    line.truncate(newline - 1);
                }
                if line.iter().all(u8::is_ascii_whitespace) {
                    return Some(None);
                }
                Some(Some(Frame::Data {
                    bytes: line.freeze(),
                    start,
                    end,
                }))
            }
            None => {
                self.scanned = self.buffer.len();
                self.spill_if_too_long();
                None
            }
        }
    }

    fn next_document(&mut self) -> Option<Option<Frame>> {
        if !self.document.started {
            if self.skipping.is_some() {
                // An oversize non-document frame is being skipped line-wise.
                return self.next_line();
            }
            let blank = self.buffer.len() - trim_start(&self.buffer).len();
            if blank > 0 {
                self.consume(blank);
            }
            match self.buffer.first() {
                None => return None,
                Some(b'{' | b'[') => {}
                // Not an object or array: hand the rest of the line over as a (malformed) frame.
                Some(_) => return self.next_line(),
            }
        }
        let mut index = self.scanned;
        while index < self.buffer.len() {
            let byte = self.buffer[index];
            index += 1;
            if self.document.feed(byte) {
                self.document = DocumentScan::default();
                let end = self.offset + index as u64;
                if let Some(skipping) = self.skipping.take() {
                    return Some(Some(self.end_oversize(skipping, index, end)));
                }
                if index > self.max_frame_bytes {
                    let skipping = self.start_skipping(index);
                    return Some(Some(self.end_oversize(skipping, 0, end)));
                }
                let start = self.offset;
                let bytes = self.buffer.split_to(index).freeze();
                self.offset = end;
                self.scanned = 0;
                return Some(Some(Frame::Data { bytes, start, end }));
            }
        }
        self.scanned = index;
        self.spill_if_too_long();
        None
    }

    /// Once an unfinished frame passes the limit, keep its prefix and drop the rest as it comes.
    fn spill_if_too_long(&mut self) {
        let held = self.buffer.len();
        match &mut self.skipping {
            Some(skipping) => {
                skipping.size += held as u64;
                let room = OVERSIZE_PREFIX_BYTES.saturating_sub(skipping.prefix.len());
                skipping
                    .prefix
                    .extend_from_slice(&self.buffer[..held.min(room)]);
                self.consume_keeping_scan(held);
            }
            None if held > self.max_frame_bytes => {
                let skipping = self.start_skipping(held);
                self.skipping = Some(skipping);
                self.scanned = 0;
            }
            None => {}
        }
    }

    /// Starts skipping an oversize frame whose first `len` bytes are buffered: keeps their
    /// prefix and drops them.
    fn start_skipping(&mut self, len: usize) -> Skipping {
        let skipping = Skipping {
            prefix: self.buffer[..len.min(OVERSIZE_PREFIX_BYTES)].to_vec(),
            start: self.offset,
            size: len as u64,
        };
        let _ = self.buffer.split_to(len);
        self.offset += len as u64;
        skipping
    }

    fn consume_keeping_scan(&mut self, len: usize) {
        let _ = self.buffer.split_to(len);
        self.offset += len as u64;
        self.scanned = 0;
    }
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let skip = bytes.iter().take_while(|b| b.is_ascii_whitespace()).count();
    &bytes[skip..]
}

fn trim_end(bytes: &[u8]) -> &[u8] {
    let keep = bytes.len()
        - bytes
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
    &bytes[..keep]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(framing: Framing, max: usize, input: &[u8], chunk: usize) -> Vec<Frame> {
        let mut framer = Framer::new(framing, max, 0);
        let mut out = Vec::new();
        for piece in input.chunks(chunk.max(1)) {
            framer.push(piece);
            while let Some(frame) = framer.next_frame() {
                out.push(frame);
            }
        }
        while let Some(frame) = framer.finish() {
            out.push(frame);
        }
        out
    }

    #[test]
    fn a_frame_over_the_limit_is_oversize_however_it_was_read() {
        let lines = b"{\"a\":\"0123456789\"}\r\n{\"b\":1}\n";
        let documents = b"{\n \"a\": \"0123456789\"\n}\n{\"b\":1}\n";
        for chunk in [1, 4, 64] {
            for (framing, input, size, end) in [
                (Framing::Lines, &lines[..], 19, 20),
                (Framing::Documents, &documents[..], 22, 22),
            ] {
                let got = frames(framing, 10, input, chunk);
                assert_eq!(got.len(), 2, "{chunk}: {got:?}");
                match &got[0] {
                    Frame::Oversize {
                        prefix,
                        size: got_size,
                        start: 0,
                        end: got_end,
                    } => {
                        assert_eq!((*got_size, *got_end), (size, end), "{chunk}: {got:?}");
                        assert_eq!(&prefix[..], &input[..size as usize]);
                    }
                    other => panic!("{chunk}: {other:?}"),
                }
                assert_eq!(data(&got[1]).0, b"{\"b\":1}");
            }
        }
    }

    fn data(frame: &Frame) -> (&[u8], u64, u64) {
        match frame {
            Frame::Data { bytes, start, end } => (bytes, *start, *end),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn lines_with_crlf_blank_lines_and_no_final_newline() {
        let input = b"{\"a\":1}\r\n\r\n{\"b\":2}\n{\"c\":3}";
        for chunk in [1, 3, 100] {
            let out = frames(Framing::Auto, 1000, input, chunk);
            assert_eq!(out.len(), 3, "chunk {chunk}");
            assert_eq!(data(&out[0]), (&b"{\"a\":1}"[..], 0, 9));
            assert_eq!(data(&out[1]), (&b"{\"b\":2}"[..], 11, 19));
            assert_eq!(data(&out[2]), (&b"{\"c\":3}"[..], 19, 26));
        }
    }

    #[test]
    fn pretty_documents_are_detected_and_split() {
        let input = b"{\n  \"records\": [\n    {\"a\": \"}\\\"{\"}\n  ]\n}\n{\n \"b\": [1]\n}\n";
        for chunk in [1, 5, 1000] {
            let out = frames(Framing::Auto, 1000, input, chunk);
            assert_eq!(out.len(), 2, "chunk {chunk}: {out:?}");
            let (first, start, _) = data(&out[0]);
            assert_eq!(start, 0);
            assert!(first.starts_with(b"{\n  \"records\""));
            assert!(first.ends_with(b"]\n}"));
            assert_eq!(data(&out[1]).0, b"{\n \"b\": [1]\n}");
        }
    }

    #[test]
    fn records_envelope_on_first_line_means_documents() {
        let out = frames(
            Framing::Auto,
            1000,
            b"{\"records\": [\n{\"a\":1}\n]}\n",
            1000,
        );
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn malformed_line_does_not_swallow_the_next() {
        let out = frames(Framing::Auto, 1000, b"{\"a\": 1\n{\"b\":2}\n", 1000);
        assert_eq!(out.len(), 2);
        assert_eq!(data(&out[1]).0, b"{\"b\":2}");
    }

    #[test]
    fn oversize_lines_keep_a_prefix_and_their_size() {
        let mut input = Vec::new();
        input.extend_from_slice(b"{\"ok\":1}\n");
        let big = vec![b'x'; 200_000];
        input.extend_from_slice(&big);
        input.extend_from_slice(b"\n{\"ok\":2}\n");
        let out = frames(Framing::Lines, 1024, &input, 4096);
        assert_eq!(out.len(), 3);
        match &out[1] {
            Frame::Oversize {
                prefix,
                size,
                start,
                end,
            } => {
                assert_eq!(*size, 200_000);
                assert_eq!(*start, 9);
                assert_eq!(*end, 9 + 200_001);
                assert_eq!(prefix.len(), OVERSIZE_PREFIX_BYTES);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(data(&out[2]).0, b"{\"ok\":2}");
    }

    #[test]
    fn oversize_documents_are_skipped_to_their_end() {
        let mut input = b"{\n \"big\": \"".to_vec();
        input.extend(vec![b'y'; 5000]);
        input.extend_from_slice(b"\"\n}\n{\n \"small\": 1\n}\n");
        let out = frames(Framing::Auto, 1000, &input, 700);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(matches!(out[0], Frame::Oversize { size, .. } if size == 5014));
        assert_eq!(data(&out[1]).0, b"{\n \"small\": 1\n}");
    }

    #[test]
    fn resumes_at_an_offset() {
        let mut framer = Framer::new(Framing::Lines, 100, 1000);
        framer.push(b"{}\n");
        assert_eq!(
            framer.next_frame(),
            Some(Frame::Data {
                bytes: Bytes::from_static(b"{}"),
                start: 1000,
                end: 1003
            })
        );
    }
}
