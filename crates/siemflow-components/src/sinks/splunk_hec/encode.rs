//! Events to HEC request bodies: the JSON event protocol (one envelope per event, concatenated)
//! or `/raw` lines.
//!
//! The envelope's constant part (`host`, `source`, `index`, `fields`) is rendered once. Per
//! event: `time` (from `timestamp_field` in a JSON body, else when the event was read), the
//! `sourcetype` (the plugin's label, else the configured one) and `event`: a JSON body embedded as
//! is, formatted text as a JSON string.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;
use siemflow_core::event::{BodyFormat, Event};

/// What every envelope carries.
#[derive(Debug, Clone)]
pub(super) struct Envelope {
    /// `,"host":...,"source":...,"index":...,"fields":{...}`, rendered once.
    constant: Vec<u8>,
    sourcetype: Option<String>,
    timestamp_field: Option<Vec<String>>,
}

/// The metadata an envelope holds, from the sink's config.
#[derive(Debug, Clone, Default)]
pub(super) struct EnvelopeFields<'a> {
    pub host: Option<&'a str>,
    pub source: Option<&'a str>,
    pub sourcetype: Option<&'a str>,
    pub index: Option<&'a str>,
    pub fields: Option<&'a serde_json::Map<String, Value>>,
    pub timestamp_field: Option<&'a str>,
}

/// Bytes of an envelope around its event, beyond the constant part: `{"time":...,"sourcetype":
/// ...,"event":}` with room for a long sourcetype. Used to size requests before encoding.
const PER_EVENT_OVERHEAD: usize = 96;

impl Envelope {
    pub(super) fn new(fields: EnvelopeFields<'_>) -> Self {
        let mut constant = Vec::new();
        for (key, value) in [
            ("host", fields.host),
            ("source", fields.source),
            ("index", fields.index),
        ] {
            if let Some(value) = value {
                write_key(&mut constant, key);
                write_string(&mut constant, value);
            }
        }
        if let Some(map) = fields.fields.filter(|map| !map.is_empty()) {
            write_key(&mut constant, "fields");
            // A map of strings and string arrays always serializes.
            let _ = serde_json::to_writer(&mut constant, map);
        }
        Self {
            constant,
            sourcetype: fields.sourcetype.map(str::to_string),
            timestamp_field: fields
                .timestamp_field
                .map(|path| path.split('.').map(str::to_string).collect()),
        }
    }

    /// About how many bytes `event` takes in a request.
    pub(super) fn size(&self, event: &Event) -> usize {
        event.body().len() + self.constant.len() + PER_EVENT_OVERHEAD
    }

    /// Appends `event`'s envelope.
    pub(super) fn write_event(&self, out: &mut Vec<u8>, event: &Event) {
        out.extend_from_slice(b"{\"time\":");
        let time = self
            .event_time(event)
            .unwrap_or(event.metadata().received_at);
        let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
        let _ = write!(out, "{}.{:03}", since.as_secs(), since.subsec_millis());
        let sourcetype = event
            .metadata()
            .labels
            .as_ref()
            .and_then(|labels| labels.sourcetype.as_deref())
            .or(self.sourcetype.as_deref());
        if let Some(sourcetype) = sourcetype {
            write_key(out, "sourcetype");
            write_string(out, sourcetype);
        }
        out.extend_from_slice(&self.constant);
        write_key(out, "event");
        match event.format() {
            BodyFormat::Json => out.extend_from_slice(&event.to_line()),
            BodyFormat::Text => write_string(out, &String::from_utf8_lossy(event.body())),
        }
        out.push(b'}');
    }

    /// The event's own time: `timestamp_field` of a JSON body, an RFC 3339 string or epoch seconds.
    fn event_time(&self, event: &Event) -> Option<SystemTime> {
        let path = self.timestamp_field.as_ref()?;
        if event.format() != BodyFormat::Json {
            return None;
        }
        let mut value = event.parsed().ok()?;
        for key in path {
            value = value.get(key)?;
        }
        match value {
            Value::String(text) => humantime::parse_rfc3339_weak(text.trim()).ok(),
            Value::Number(number) => {
                let seconds = number.as_f64().filter(|s| s.is_finite() && *s >= 0.0)?;
                UNIX_EPOCH.checked_add(std::time::Duration::try_from_secs_f64(seconds).ok()?)
            }
            _ => None,
        }
    }
}

/// Appends `event` as one `/raw` line.
pub(super) fn write_raw(out: &mut Vec<u8>, event: &Event) {
    out.extend_from_slice(&event.to_line());
    out.push(b'\n');
}

/// `,"key":`: every member but the first (`time`) is written this way.
fn write_key(out: &mut Vec<u8>, key: &str) {
    out.push(b',');
    write_string(out, key);
    out.push(b':');
}

fn write_string(out: &mut Vec<u8>, value: &str) {
    // Writing a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::json_batch;

    fn envelope(timestamp_field: Option<&str>) -> Envelope {
        let fields: serde_json::Map<String, Value> =
            serde_json::from_str(r#"{"tenant":"contoso"}"#).unwrap();
        Envelope::new(EnvelopeFields {
            host: Some("h1"),
            source: Some("siemflow:p"),
            sourcetype: Some("mscs:defender"),
            index: Some("security"),
            fields: Some(&fields),
            timestamp_field,
        })
    }

    fn encode(envelope: &Envelope, body: &str) -> Value {
        let (events, _status) = json_batch(&[body]);
        let mut out = Vec::new();
        envelope.write_event(&mut out, &events[0]);
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn embeds_json_and_quotes_text_with_the_configured_metadata() {
        let envelope = envelope(Some("properties.Timestamp"));
        let json = encode(
            &envelope,
            r#"{"properties":{"Timestamp":"2024-05-01T10:00:00.1234567Z"},"n":18446744073709551615}"#,
        );
        assert_eq!(json["time"].as_f64(), Some(1_714_557_600.123));
        assert_eq!(json["event"]["n"].as_u64(), Some(u64::MAX));
        assert_eq!(json["host"], "h1");
        assert_eq!(json["index"], "security");
        assert_eq!(json["sourcetype"], "mscs:defender");
        assert_eq!(json["fields"]["tenant"], "contoso");
        let text = encode(&envelope, "CEF:0|Microsoft|a\"b\\c|\n");
        assert_eq!(text["event"], "CEF:0|Microsoft|a\"b\\c|\n");
    }

    #[test]
    fn concatenated_envelopes_parse_back_one_by_one() {
        let envelope = envelope(None);
        let (events, _status) = json_batch(&["{\"a\":1}", "text with \u{1F600}", "{\"b\":[1,2]}"]);
        let mut out = Vec::new();
        for event in &events {
            envelope.write_event(&mut out, event);
        }
        let parsed: Vec<Value> = serde_json::Deserializer::from_slice(&out)
            .into_iter::<Value>()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[1]["event"], "text with \u{1F600}");
        assert!(out.len() <= events.iter().map(|e| envelope.size(e)).sum::<usize>());
    }
}
