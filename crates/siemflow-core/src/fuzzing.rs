//! Entry points for the fuzz targets in `fuzz/`: the engine's parsers of outside data.
//!
//! Each function takes arbitrary bytes, accepts any input the parser may reject, and panics only
//! when one of the parser's promises breaks. They live here, not in `fuzz/`, so that the ordinary
//! stable test run replays every committed corpus file through exactly the code the fuzzer ran.

use bytes::Bytes;
use serde::de::IgnoredAny;
use serde_json::Value;

use crate::codec::{EventTypes, Frame, Framer, Framing, decode};
use crate::condition::{Condition, FieldPath};

/// Line framing and record decoding, as the `file`, `stdin` and `azure_blob` sources use them.
///
/// The first two bytes choose the framing and the frame limit; the rest is the stream. The stream
/// is framed whole and again in small chunks: the frames must be the same (a CR/LF or a document
/// split across reads changes nothing), lie in order inside the stream, never exceed the limit,
/// and leave nothing unconsumed. Every record decoded from a frame is valid JSON cut from it.
pub fn framing_and_records(data: &[u8]) {
    let [mode, limit, stream @ ..] = data else {
        return;
    };
    let framing = match mode % 3 {
        0 => Framing::Auto,
        1 => Framing::Lines,
        _ => Framing::Documents,
    };
    let max_frame_bytes = 1 + usize::from(*limit) * 4;
    let chunk = 1 + usize::from(mode / 3 % 16);

    let whole = frames(framing, max_frame_bytes, &[stream]);
    let pieces: Vec<&[u8]> = stream.chunks(chunk).collect();
    let chunked = frames(framing, max_frame_bytes, &pieces);
    assert_eq!(whole, chunked, "frames depend on how the stream was read");

    let mut types = EventTypes::default();
    let mut previous_end = 0;
    for frame in &whole {
        match frame {
            Frame::Data { bytes, start, end } => {
                assert!(previous_end <= *start && *start < *end && *end <= stream.len() as u64);
                let at = *start as usize;
                assert_eq!(
                    &stream[at..at + bytes.len()],
                    &bytes[..],
                    "a frame is not its bytes"
                );
                assert!(bytes.len() <= max_frame_bytes, "a frame over the limit");
                check_records(bytes, &mut types);
            }
            Frame::Oversize {
                prefix,
                size,
                start,
                end,
            } => {
                assert!(previous_end <= *start && *start < *end && *end <= stream.len() as u64);
                assert!(
                    *size > max_frame_bytes as u64,
                    "an oversize frame under the limit"
                );
                assert!(prefix.len() <= crate::codec::OVERSIZE_PREFIX_BYTES);
                let at = *start as usize;
                assert_eq!(&stream[at..at + prefix.len()], &prefix[..]);
            }
        }
        previous_end = frame.end();
    }
}

fn frames(framing: Framing, max_frame_bytes: usize, pieces: &[&[u8]]) -> Vec<Frame> {
    let mut framer = Framer::new(framing, max_frame_bytes, 0);
    let mut out = Vec::new();
    let mut total = 0;
    for piece in pieces {
        framer.push(piece);
        total += piece.len() as u64;
        while let Some(frame) = framer.next_frame() {
            out.push(frame);
        }
    }
    while let Some(frame) = framer.finish() {
        out.push(frame);
    }
    assert_eq!(framer.consumed(), total, "bytes left unconsumed at the end");
    assert_eq!(framer.buffered(), 0);
    out
}

fn check_records(frame: &Bytes, types: &mut EventTypes) {
    let Ok(records) = decode(frame, types) else {
        return;
    };
    let range = frame.as_ptr_range();
    for record in &records {
        let body = record.body.as_ptr_range();
        assert!(
            range.start <= body.start && body.end <= range.end,
            "a record is not a slice of its frame"
        );
        assert!(
            serde_json::from_slice::<IgnoredAny>(&record.body).is_ok(),
            "a decoded record is not JSON"
        );
        if let Some(event_type) = &record.event_type {
            let parsed: Value = serde_json::from_slice(&record.body).unwrap_or_default();
            assert_eq!(
                parsed.get("category").and_then(Value::as_str),
                Some(&**event_type),
                "an event type that is not the record's category"
            );
        }
    }
}

/// `filter`/`route` conditions and `dedupe` field paths: the first line is the expression, the
/// rest the event. Compiling and evaluating never panics, whatever either holds.
pub fn conditions(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (expression, event) = text.split_once('\n').unwrap_or((&text, "{}"));
    let event: Value = serde_json::from_str(event).unwrap_or(Value::Null);
    if let Ok(condition) = Condition::new(expression) {
        let (_, back) = condition.matches_value(event.clone());
        assert_eq!(back, event, "evaluating a condition changed the event");
    }
    if let Ok(path) = FieldPath::new(expression) {
        drop(path.select(&event));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crlf_split_across_reads_gives_the_same_lines() {
        framing_and_records(b"\x01\xff{\"a\":1}\r\n{\"b\":2}\r\n\r\n");
        framing_and_records(b"\x00\x02{\"records\": [\n{\"category\": \"x\"}\n]}\n");
    }

    #[test]
    fn conditions_take_any_text() {
        conditions(b"$.a == 1\n{\"a\": 1}");
        conditions(b"match($.a, '(((')\n{\"a\": \"x\"}");
        conditions(b"\xff\xfe");
    }
}
