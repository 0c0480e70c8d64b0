//! Splitting a JSON frame into event records, the way the Defender streaming API packs them.
//!
//! An Event Hubs message (and a saved copy of one) is an envelope `{"records":[...]}`; each record
//! becomes an event whose type is its `category` (`AdvancedHunting-DeviceProcessEvents`). A
//! top-level array is split the same way; any other object is one event. Record bodies are slices
//! of the frame: no copy, and numbers keep their exact text. One pass validates the whole frame.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use serde::de::{self, Deserializer as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use smallvec::SmallVec;

/// One record cut from a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The record's JSON text.
    pub body: Bytes,
    /// Its `category`, when it has one.
    pub event_type: Option<Arc<str>>,
    /// Index in the frame (0 for an unsplit object), part of the stable event id.
    pub index: u32,
}

/// Why a frame is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Bytes that are not UTF-8 (JSON must be).
    #[error("invalid UTF-8 at byte {0}")]
    InvalidUtf8(usize),
    /// Not JSON.
    #[error("malformed JSON: {0}")]
    Malformed(String),
    /// JSON, but not an object or array.
    #[error("not a JSON object: top-level value is {0}")]
    NotObject(&'static str),
}

impl DecodeError {
    /// A short stable label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            DecodeError::InvalidUtf8(_) => "invalid_utf8",
            DecodeError::Malformed(_) => "malformed_json",
            DecodeError::NotObject(_) => "not_an_object",
        }
    }
}

/// Interns event type names so that each event holds a shared `Arc<str>`, not its own string.
#[derive(Debug, Default)]
pub struct EventTypes {
    known: HashMap<Box<str>, Arc<str>>,
}

impl EventTypes {
    const MAX: usize = 4096;

    fn intern(&mut self, name: &str) -> Arc<str> {
        if let Some(known) = self.known.get(name) {
            return known.clone();
        }
        let shared: Arc<str> = Arc::from(name);
        if self.known.len() < Self::MAX {
            self.known.insert(Box::from(name), shared.clone());
        }
        shared
    }
}

/// Splits a frame into records.
pub fn decode(frame: &Bytes, types: &mut EventTypes) -> Result<SmallVec<[Record; 1]>, DecodeError> {
    let text = std::str::from_utf8(frame)
        .map_err(|error| DecodeError::InvalidUtf8(error.valid_up_to()))?;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let top = deserializer
        .deserialize_any(TopVisitor)
        .map_err(|error| DecodeError::Malformed(error.to_string()))?;
    deserializer
        .end()
        .map_err(|error| DecodeError::Malformed(error.to_string()))?;
    let slice = |raw: &RawValue| frame.slice_ref(raw.get().as_bytes());
    let mut records = SmallVec::new();
    match top {
        Top::Object {
            category,
            records: Some(inner),
            keys: 1,
        } if inner.get().starts_with('[') => {
            drop(category);
            let items: Vec<&RawValue> = serde_json::from_str(inner.get())
                .map_err(|error| DecodeError::Malformed(error.to_string()))?;
            push_all(&mut records, items, types, slice);
        }
        Top::Object { category, .. } => records.push(Record {
            body: frame.clone(),
            event_type: category.map(|name| types.intern(&name)),
            index: 0,
        }),
        Top::Array(items) => push_all(&mut records, items, types, slice),
        Top::Scalar(kind) => return Err(DecodeError::NotObject(kind)),
    }
    Ok(records)
}

fn push_all(
    records: &mut SmallVec<[Record; 1]>,
    items: Vec<&RawValue>,
    types: &mut EventTypes,
    slice: impl Fn(&RawValue) -> Bytes,
) {
    for (index, item) in items.into_iter().enumerate() {
        let event_type = record_category(item).map(|name| types.intern(&name));
        records.push(Record {
            body: slice(item),
            event_type,
            index: index as u32,
        });
    }
}

/// The `category` of a record, if it is an object with a string `category`.
fn record_category(item: &RawValue) -> Option<String> {
    if !item.get().starts_with('{') {
        return None;
    }
    let mut deserializer = serde_json::Deserializer::from_str(item.get());
    match deserializer.deserialize_any(TopVisitor) {
        Ok(Top::Object { category, .. }) => category.map(Cow::into_owned),
        _ => None,
    }
}

enum Top<'a> {
    Object {
        category: Option<Cow<'a, str>>,
        records: Option<&'a RawValue>,
        keys: usize,
    },
    Array(Vec<&'a RawValue>),
    Scalar(&'static str),
}

struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Top<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object or array")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top<'de>, A::Error> {
        let mut category = None;
        let mut records = None;
        let mut keys = 0;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            keys += 1;
            match &*key {
                "category" => {
                    // A key written twice means its last value, as for serde_json and
                    // JavaScript: the event type is what a reader of the body finds.
                    let raw: &'de RawValue = map.next_value()?;
                    category = raw
                        .get()
                        .starts_with('"')
                        .then(|| serde_json::from_str::<Cow<'de, str>>(raw.get()).ok())
                        .flatten();
                }
                "records" => records = Some(map.next_value::<&'de RawValue>()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Top::Object {
            category,
            records,
            keys,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Top<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element::<&'de RawValue>()? {
            items.push(item);
        }
        Ok(Top::Array(items))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Top<'de>, E> {
        Ok(Top::Scalar("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Top<'de>, E> {
        Ok(Top::Scalar("a number"))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Top<'de>, E> {
        Ok(Top::Scalar("a number"))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Top<'de>, E> {
        Ok(Top::Scalar("a number"))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Top<'de>, E> {
        Ok(Top::Scalar("a string"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Top<'de>, E> {
        Ok(Top::Scalar("null"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_category_written_twice_means_its_last_value() {
        let mut types = EventTypes::default();
        let frame = Bytes::from_static(br#"{"category":"Malware","category":5}"#);
        assert_eq!(decode(&frame, &mut types).unwrap()[0].event_type, None);
        let frame = Bytes::from_static(br#"[{"category":1,"category":"Malware"}]"#);
        assert_eq!(
            decode(&frame, &mut types).unwrap()[0].event_type.as_deref(),
            Some("Malware")
        );
    }

    fn run(input: &'static [u8]) -> Result<SmallVec<[Record; 1]>, DecodeError> {
        decode(&Bytes::from_static(input), &mut EventTypes::default())
    }

    #[test]
    fn splits_a_records_envelope() {
        let records = run(br#"{"records":[{"category":"AdvancedHunting-DeviceProcessEvents","ReportId":9007199254740993},{"category":"AdvancedHunting-EmailEvents"},{"x":1}]}"#).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(
            &records[0].body[..],
            br#"{"category":"AdvancedHunting-DeviceProcessEvents","ReportId":9007199254740993}"#
        );
        assert_eq!(
            records[0].event_type.as_deref(),
            Some("AdvancedHunting-DeviceProcessEvents")
        );
        assert_eq!(records[1].index, 1);
        assert_eq!(records[2].event_type, None);
    }

    #[test]
    fn a_record_is_one_event() {
        let records =
            run(br#"{"category":"AdvancedHunting-AlertInfo","records":"not an array"}"#).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(
            records[0].event_type.as_deref(),
            Some("AdvancedHunting-AlertInfo")
        );
    }

    #[test]
    fn envelope_with_other_keys_is_not_split() {
        let records = run(br#"{"records":[{"a":1}],"other":true}"#).unwrap();
        assert_eq!(records.len(), 1);
    }

    #[test]
    fn arrays_are_split() {
        let records = run(b"[{\"a\":1}, {\"b\":2}]").unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(&records[1].body[..], b"{\"b\":2}");
    }

    #[test]
    fn reports_what_is_wrong() {
        assert_eq!(
            run(b"{\"a\":\"\xff\"}").unwrap_err(),
            DecodeError::InvalidUtf8(6)
        );
        assert!(matches!(run(b"{\"a\":1,}"), Err(DecodeError::Malformed(_))));
        assert!(matches!(
            run(b"{\"a\":1} x"),
            Err(DecodeError::Malformed(_))
        ));
        assert_eq!(run(b"42").unwrap_err(), DecodeError::NotObject("a number"));
    }

    #[test]
    fn event_types_are_shared() {
        let mut types = EventTypes::default();
        let a = types.intern("AdvancedHunting-DeviceEvents");
        let b = types.intern("AdvancedHunting-DeviceEvents");
        assert!(Arc::ptr_eq(&a, &b));
    }
}
