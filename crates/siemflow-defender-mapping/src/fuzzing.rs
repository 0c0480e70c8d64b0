//! Entry points for the fuzz targets in `fuzz/`: the record parser, the four mappings and the CEF
//! and LEEF encoders, run natively.
//!
//! Each function takes arbitrary bytes and panics only when a promise breaks: every output is
//! UTF-8; CEF and LEEF lines read back with the strict readers of
//! [`siemflow_plugin_sdk::parse`] with their length limits kept; JSON outputs are JSON with no
//! key twice in an object; and what the encoders are given is what a reader gets back.

use std::collections::HashSet;
use std::fmt::{self, Write};

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::json;
use siemflow_plugin_sdk::cef::{Cef, CefHeader, CefVersion, max_chars};
use siemflow_plugin_sdk::leef::{Delimiter, Leef, LeefHeader, LeefVersion};
use siemflow_plugin_sdk::value::Value;
use siemflow_plugin_sdk::{Event, Plugin, parse};

use crate::cef::CefFormat;
use crate::leef::LeefFormat;
use crate::ocsf::OcsfFormat;
use crate::plugin::MappingPlugin;
use crate::splunk::SplunkFormat;

/// One record through the four built-in mappings. The first byte chooses the CEF version and the
/// LEEF version and delimiter; the rest is the record.
pub fn mappings(data: &[u8]) {
    let [choice, record @ ..] = data else {
        return;
    };
    let event = Event::from_json(record.to_vec(), None);
    let cef_version = choice & 1;
    let leef = match (choice >> 1) % 3 {
        0 => json!({"leef_version": "1.0"}),
        1 => json!({"leef_version": "2.0", "delimiter": "^"}),
        _ => json!({"leef_version": "2.0", "delimiter": "\u{a6}"}),
    };

    if let Some(body) = mapped::<CefFormat>(json!({ "cef_version": cef_version }), &event) {
        let line = String::from_utf8(body).expect("CEF output is UTF-8");
        let read = parse::cef(&line).unwrap_or_else(|error| panic!("{error}: {line}"));
        assert_eq!(read.version, cef_version);
        let mut keys = HashSet::new();
        for (key, value) in &read.extension {
            assert!(keys.insert(key.as_str()), "CEF key {key} twice: {line}");
            assert!(
                value.chars().count() <= max_chars(key),
                "{key} over its limit"
            );
        }
    }
    if let Some(body) = mapped::<LeefFormat>(leef, &event) {
        let line = String::from_utf8(body).expect("LEEF output is UTF-8");
        let read = parse::leef(&line).unwrap_or_else(|error| panic!("{error}: {line}"));
        assert!(read.header[3].chars().count() <= 255, "an EventID over 255");
        let mut keys = HashSet::new();
        for (key, _) in &read.attributes {
            assert!(keys.insert(key.as_str()), "LEEF key {key} twice: {line}");
        }
    }
    let unique_input = UniqueKeys
        .deserialize(&mut serde_json::Deserializer::from_slice(record))
        .is_ok();
    for body in [
        mapped::<SplunkFormat>(json!({}), &event),
        mapped::<OcsfFormat>(json!({}), &event),
    ]
    .into_iter()
    .flatten()
    {
        let text = std::str::from_utf8(&body).expect("JSON output is UTF-8");
        let mut deserializer = serde_json::Deserializer::from_str(text);
        match UniqueKeys.deserialize(&mut deserializer) {
            Ok(()) => {}
            // Deeper than serde_json reads by default: the input was nested as deep.
            Err(error) if error.to_string().starts_with("recursion limit exceeded") => {}
            // Nested values pass through as written: a key twice in the record stays twice.
            Err(_) if !unique_input => {
                assert!(
                    serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok(),
                    "{text}"
                );
            }
            Err(error) => panic!("not JSON with unique keys ({error}): {text}"),
        }
    }
}

/// The body one mapping gives, `None` when it fails the event (a dead letter, not a crash).
fn mapped<F: crate::plugin::Format>(config: serde_json::Value, event: &Event) -> Option<Vec<u8>> {
    let mut plugin = MappingPlugin::<F>::new(config).expect("a valid configuration");
    let output = plugin.map(event).ok()?;
    Some(output.into_parts().body)
}

/// Reads any JSON value and fails on an object with a key twice.
struct UniqueKeys;

impl<'de> DeserializeSeed<'de> for UniqueKeys {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueKeys {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!("key {key:?} twice")));
            }
            map.next_value_seed(UniqueKeys)?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(UniqueKeys)?.is_some() {}
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// The CEF and LEEF encoders given header fields and pairs from the input (NUL-separated after a
/// first byte of choices), then read back: each field and pair comes back as the encoder's rules
/// say (control characters as spaces, CEF's cuts at the dictionary sizes, invalid keys, empty
/// values and repeated keys left out), and the counts of cuts and rejects are exact.
pub fn encoders(data: &[u8]) {
    let [choice, rest @ ..] = data else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let mut parts = text.split('\0');
    let mut header: [&str; 5] = [""; 5];
    for field in &mut header {
        *field = parts.next().unwrap_or_default();
    }
    let mut pairs = Vec::new();
    while let (Some(key), Some(value)) = (parts.next(), parts.next()) {
        pairs.push((key, value));
    }
    let in_pieces = choice & 0x80 != 0;
    cef_round_trip(*choice, &header, &pairs, in_pieces);
    leef_round_trip(*choice, &header, &pairs, in_pieces);
}

/// Text handed to an encoder a few characters at a time, as a `Display` value would be.
struct Pieces<'a>(&'a str);

impl Value for Pieces<'_> {
    fn write_to(&self, out: &mut dyn Write) -> fmt::Result {
        let mut rest = self.0;
        while !rest.is_empty() {
            let end = rest.char_indices().nth(3).map_or(rest.len(), |(at, _)| at);
            out.write_str(&rest[..end])?;
            rest = &rest[end..];
        }
        Ok(())
    }
}

fn first_chars(text: &str, limit: usize) -> (String, bool) {
    let kept: String = text.chars().take(limit).collect();
    let cut = kept.len() < text.len();
    (kept, cut)
}

fn cef_round_trip(choice: u8, header: &[&str; 5], pairs: &[(&str, &str)], in_pieces: bool) {
    let version = if choice & 1 == 0 {
        CefVersion::V0
    } else {
        CefVersion::V1
    };
    let severity = choice % 12;
    let mut cef = Cef::new(
        version,
        &CefHeader {
            vendor: header[0],
            product: header[1],
            version: header[2],
            class_id: header[3],
            name: header[4],
            severity,
        },
    );
    let mut expected = Vec::new();
    let (mut seen, mut rejected, mut truncated) = (HashSet::new(), 0, 0);
    for &(key, value) in pairs {
        if in_pieces {
            cef.ext(key, Pieces(value));
        } else {
            cef.ext(key, value);
        }
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric()) || seen.contains(key) {
            rejected += 1;
            continue;
        }
        if value.is_empty() {
            continue;
        }
        let clean: String = value
            .chars()
            .map(|c| match c {
                '\t' | '\n' | '\r' => c,
                c if c.is_control() => ' ',
                c => c,
            })
            .collect();
        let (kept, cut) = first_chars(&clean, max_chars(key));
        truncated += u32::from(cut);
        seen.insert(key);
        expected.push((key.to_string(), kept));
    }
    let stats = cef.stats();
    let line = cef.finish();
    let read = parse::cef(&line).unwrap_or_else(|error| panic!("{error}: {line:?}"));
    assert_eq!(read.extension, expected, "{line:?}");
    assert_eq!(read.header[5], severity.min(10).to_string());
    let mut header_cuts = 0;
    for (written, given) in read.header.iter().zip(header) {
        let clean: String = given
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        assert!(
            clean.starts_with(written.as_str()),
            "header {written:?} from {given:?}"
        );
        header_cuts += u32::from(written.len() < clean.len());
    }
    assert_eq!(stats.rejected, rejected);
    assert_eq!(stats.truncated, truncated + header_cuts);
}

fn leef_round_trip(choice: u8, header: &[&str; 5], pairs: &[(&str, &str)], in_pieces: bool) {
    let version = match (choice >> 1) % 4 {
        0 => LeefVersion::V1,
        1 => LeefVersion::V2(Delimiter::parse("^").expect("a delimiter")),
        2 => LeefVersion::V2(Delimiter::parse("x09").expect("a delimiter")),
        _ => LeefVersion::V2(Delimiter::parse("\u{a6}").expect("a delimiter")),
    };
    let delimiter = match &version {
        LeefVersion::V1 => '\t',
        LeefVersion::V2(delimiter) => delimiter.character(),
    };
    let mut leef = Leef::new(
        &version,
        &LeefHeader {
            vendor: header[0],
            product: header[1],
            version: header[2],
            event_id: header[3],
        },
    );
    let mut expected = Vec::new();
    let (mut seen, mut rejected) = (HashSet::new(), 0);
    for &(key, value) in pairs {
        if in_pieces {
            leef.attr(key, Pieces(value));
        } else {
            leef.attr(key, value);
        }
        let valid = !key.is_empty()
            && !key.chars().any(|c| {
                matches!(c, '=' | '|') || c == delimiter || c.is_whitespace() || c.is_control()
            });
        if !valid || seen.contains(key) {
            rejected += 1;
            continue;
        }
        if value.is_empty() {
            continue;
        }
        let clean: String = value
            .chars()
            .map(|c| {
                if c == delimiter || c.is_control() {
                    ' '
                } else {
                    c
                }
            })
            .collect();
        seen.insert(key);
        expected.push((key.to_string(), clean));
    }
    let stats = leef.stats();
    let line = leef.finish();
    let read = parse::leef(&line).unwrap_or_else(|error| panic!("{error}: {line:?}"));
    assert_eq!(read.delimiter, delimiter);
    assert_eq!(read.attributes, expected, "{line:?}");
    let clean = |given: &str| -> String {
        given
            .chars()
            .map(|c| if c == '|' || c.is_control() { ' ' } else { c })
            .collect()
    };
    for (written, given) in read.header[..3].iter().zip(header) {
        assert_eq!(*written, clean(given));
    }
    let (event_id, cut) = first_chars(&clean(header[3]), 255);
    assert_eq!(read.header[3], event_id);
    assert_eq!(stats.truncated, u32::from(cut));
    assert_eq!(stats.rejected, rejected);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoders_round_trip_awkward_text() {
        encoders(b"\x00V\0P|x\0\\1\0C\x01\0N\0act\0a=b\\c\nd\0bad key\0x\0act\0again\0msg\0\0cs1\0\xc2\x85");
        encoders(b"\x87V\0P\0\0\0\0k\0\xe2\x82\xac^\t\xa6\0k2\0v");
    }

    #[test]
    fn the_four_mappings_take_any_record() {
        mappings(b"\x00{\"records\":[]}");
        mappings(b"\x01{\"category\":\"AdvancedHunting-DeviceProcessEvents\",\"properties\":{\"FileName\":\"a|b=c\\\\\",\"Timestamp\":\"x\"}}");
        mappings(b"\x02not json");
        mappings(b"\x05[1,2]");
    }
}
