//! Request bodies of the `http` sink: newline-delimited JSON, a JSON array, or text lines.

use serde::Deserialize;
use siemflow_core::event::{BodyFormat, Event};

/// `encoding:`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// One JSON value per line, `application/x-ndjson` (the default). Formatted text (CEF, LEEF)
    /// becomes a JSON string.
    #[default]
    Ndjson,
    /// One JSON array per request, `application/json`; text becomes JSON strings.
    JsonArray,
    /// One line per event as it is, `text/plain`; JSON on one line.
    Text,
}

impl Encoding {
    /// The `Content-Type` of a body.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Ndjson => "application/x-ndjson",
            Self::JsonArray => "application/json",
            Self::Text => "text/plain; charset=utf-8",
        }
    }

    /// About how many bytes `event` adds to a body, for batching.
    pub fn size(self, event: &Event) -> usize {
        event.body().len() + 2
    }

    /// Why `event` cannot go into a body of this encoding: a JSON event whose body is not JSON
    /// would make the whole request unreadable.
    pub fn invalid(self, event: &Event) -> Option<String> {
        if self == Self::Text || event.format() == BodyFormat::Text {
            return None;
        }
        serde_json::from_slice::<serde::de::IgnoredAny>(event.body())
            .err()
            .map(|error| format!("malformed JSON: {error}"))
    }

    /// The body for `events` (each already checked with [`Encoding::invalid`]).
    pub fn encode(self, events: &[Event]) -> Vec<u8> {
        let mut body = Vec::with_capacity(events.iter().map(|e| self.size(e)).sum::<usize>() + 2);
        if self == Self::JsonArray {
            body.push(b'[');
        }
        for (index, event) in events.iter().enumerate() {
            match self {
                Self::JsonArray if index > 0 => body.push(b','),
                Self::Ndjson | Self::Text if index > 0 => body.push(b'\n'),
                _ => {}
            }
            match (self, event.format()) {
                (Self::Text, _) | (_, BodyFormat::Json) => body.extend_from_slice(&event.to_line()),
                (_, BodyFormat::Text) => {
                    let text = String::from_utf8_lossy(event.body());
                    // Writing a string into a Vec cannot fail.
                    let _ = serde_json::to_writer(&mut body, text.as_ref());
                }
            }
        }
        match self {
            Self::JsonArray => body.push(b']'),
            Self::Ndjson | Self::Text if !events.is_empty() => body.push(b'\n'),
            _ => {}
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::json_batch;

    #[test]
    fn each_encoding_writes_what_its_content_type_promises() {
        let (events, _status) = json_batch(&["{\"a\":\n 1}", "CEF:0|x|\"y\"|\\n", "{\"b\":2}"]);
        let ndjson = Encoding::Ndjson.encode(&events);
        assert_eq!(
            String::from_utf8(ndjson).unwrap(),
            "{\"a\":1}\n\"CEF:0|x|\\\"y\\\"|\\\\n\"\n{\"b\":2}\n"
        );
        let array: serde_json::Value =
            serde_json::from_slice(&Encoding::JsonArray.encode(&events)).unwrap();
        assert_eq!(array[1], "CEF:0|x|\"y\"|\\n");
        assert_eq!(array[2]["b"], 2);
        assert_eq!(Encoding::JsonArray.encode(&[]), b"[]");
        let text = Encoding::Text.encode(&events);
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "{\"a\":1}\nCEF:0|x|\"y\"|\\n\n{\"b\":2}\n"
        );
    }

    #[test]
    fn a_json_event_that_is_not_json_is_caught_before_it_spoils_a_request() {
        let (events, _status) = json_batch(&["{\"a\":", "plain text", "{\"ok\":true}"]);
        let reason = Encoding::Ndjson.invalid(&events[0]).unwrap();
        assert!(reason.starts_with("malformed JSON"), "{reason}");
        assert!(Encoding::Ndjson.invalid(&events[1]).is_none());
        assert!(Encoding::JsonArray.invalid(&events[2]).is_none());
        assert!(Encoding::Text.invalid(&events[0]).is_none());
    }
}
