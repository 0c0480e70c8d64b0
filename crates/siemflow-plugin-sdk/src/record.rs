//! A tolerant view of a Defender record, parsed once and read field by field.
//!
//! Defender records come in two shapes: streaming API records (Event Hubs or the storage export),
//! an envelope `{"time", "tenantId", "category": "AdvancedHunting-<Table>", "properties": {...}}`
//! whose `properties` hold the table's columns; and REST alerts and incidents, whose fields sit at
//! the top level. [`Record`] reads both the same way: [`Record::get`] looks a column up in
//! `properties` first, then at the top level.
//!
//! Parsing keeps every field as its exact JSON text (a borrowed [`RawValue`]) and decodes a field
//! only when asked, so:
//!
//! - unknown fields are never lost: [`Record::fields`] lists them all, in order;
//! - numbers are exact whatever their size (`ReportId` 9007199254740993 stays that, where a
//!   float would make it ...992): [`Field::number`] gives the digits, [`Field::text`] too;
//! - a mapping pays only for the fields it reads;
//! - stringified JSON columns (`AdditionalFields`, `AttackTechniques`, `LoggedOnUsers`) are
//!   parsed on demand with [`Field::json`], which also accepts a real JSON object in their place.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::Failure;
use crate::timestamp::Timestamp;
use crate::value::{fingerprint, same};

/// The prefix of streaming API categories.
pub const STREAMING_PREFIX: &str = "AdvancedHunting-";

/// One Defender record.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    top: Fields<'a>,
    properties: Option<Fields<'a>>,
}

/// One field's value, still JSON text.
#[derive(Debug, Clone, Copy)]
pub struct Field<'a>(&'a RawValue);

/// The fields of one JSON object, in order, each with the fingerprint of its name, and a small
/// open-addressing index from fingerprint to position so that a lookup reads one or two slots.
#[derive(Debug, Clone)]
struct Fields<'a> {
    entries: Vec<(u64, Cow<'a, str>, &'a RawValue)>,
    /// Position + 1 of the entry whose fingerprint picks the slot; 0 for an empty slot. Objects
    /// with more fields than [`INDEXED`] are searched in order instead.
    index: [u8; SLOTS],
}

const SLOTS: usize = 128;
const INDEXED: usize = SLOTS / 2;

impl Default for Fields<'_> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            index: [0; SLOTS],
        }
    }
}

fn slot_of(hash: u64) -> usize {
    (hash >> 57) as usize
}

impl<'a> Record<'a> {
    /// Parses a record. Fails only when the bytes are not a JSON object.
    pub fn parse(body: &'a [u8]) -> Result<Self, Failure> {
        // Validate UTF-8 once, so that no field is checked again when it is borrowed.
        let text = std::str::from_utf8(body)
            .map_err(|error| Failure::new(format!("not UTF-8 at byte {}", error.valid_up_to())))?;
        // One pass: `properties` is read into its fields as the envelope is read.
        let Envelope { top, properties } = serde_json::from_str(text)
            .map_err(|error| Failure::new(format!("not a JSON object: {error}")))?;
        match properties {
            Properties::Absent => Ok(Self {
                top,
                properties: None,
            }),
            Properties::Object(properties) => Ok(Self {
                top,
                properties: Some(properties),
            }),
            Properties::Other => {
                // Rare: `properties` is not an object. Read again, keeping it as a plain field.
                let top: Fields<'a> = serde_json::from_str(text)
                    .map_err(|error| Failure::new(format!("not a JSON object: {error}")))?;
                Ok(Self {
                    top,
                    properties: None,
                })
            }
        }
    }

    /// Whether this is a streaming API record (an envelope with `properties`).
    pub fn is_streaming(&self) -> bool {
        self.properties.is_some()
    }

    /// The envelope's `category`, e.g. `AdvancedHunting-DeviceProcessEvents`; for a REST alert
    /// this is the alert's own category (`Execution`).
    pub fn category(&self) -> Option<Cow<'a, str>> {
        self.top.get("category").and_then(|raw| Field(raw).as_str())
    }

    /// The streaming table, e.g. `DeviceProcessEvents`: the category without `AdvancedHunting-`.
    pub fn table(&self) -> Option<Cow<'a, str>> {
        if !self.is_streaming() {
            return None;
        }
        match self.category()? {
            Cow::Borrowed(category) => category.strip_prefix(STREAMING_PREFIX).map(Cow::Borrowed),
            Cow::Owned(category) => category
                .strip_prefix(STREAMING_PREFIX)
                .map(|t| Cow::Owned(t.to_string())),
        }
    }

    /// A column: from `properties` for a streaming record, else from the top level. A field that
    /// is `null` is returned (see [`Field::is_null`]); use [`Record::value`] to skip nulls.
    pub fn get(&self, name: &str) -> Option<Field<'a>> {
        self.properties
            .as_ref()
            .and_then(|properties| properties.get(name))
            .or_else(|| self.top.get(name))
            .map(Field)
    }

    /// A column that has a value: present, not `null`, not an empty string. Pass it straight to
    /// an encoder (`cef.ext_opt("dhost", record.value("DeviceName"))`): it is decoded as it is
    /// written, without a copy.
    pub fn value(&self, name: &str) -> Option<Field<'a>> {
        self.get(name)
            .filter(|field| !matches!(field.raw(), "null" | "\"\""))
    }

    /// The first of several columns that has a value (see [`Record::value`]).
    pub fn first_value(&self, names: &[&str]) -> Option<Field<'a>> {
        names.iter().find_map(|name| self.value(name))
    }

    /// A column as text (see [`Field::text`]); `None` when absent, `null` or an empty string.
    pub fn text(&self, name: &str) -> Option<Cow<'a, str>> {
        self.get(name)?.text().filter(|text| !text.is_empty())
    }

    /// A field of the top level (the envelope of a streaming record).
    pub fn top(&self, name: &str) -> Option<Field<'a>> {
        self.top.get(name).map(Field)
    }

    /// Every column, in order: the `properties` of a streaming record, else the top level.
    pub fn fields(&self) -> impl Iterator<Item = (&str, Field<'a>)> + '_ {
        self.properties
            .as_ref()
            .unwrap_or(&self.top)
            .entries
            .iter()
            .map(|(_, name, raw)| (name.as_ref(), Field(raw)))
    }

    /// When the event happened: `properties.Timestamp` of a streaming record, else the first of
    /// `Timestamp`, `lastUpdateTime`, `lastUpdateDateTime`, `createdDateTime`, `time`.
    pub fn timestamp(&self) -> Option<Timestamp> {
        [
            "Timestamp",
            "lastUpdateTime",
            "lastUpdateDateTime",
            "createdDateTime",
            "time",
        ]
        .iter()
        .find_map(|name| {
            self.get(name)?
                .as_str()
                .and_then(|text| Timestamp::parse(&text))
        })
    }
}

impl<'a> Field<'a> {
    /// The exact JSON text of the value.
    pub fn raw(&self) -> &'a str {
        self.0.get()
    }

    /// Whether the value is `null`.
    pub fn is_null(&self) -> bool {
        self.raw() == "null"
    }

    /// The value when it is a JSON string, unescaped (borrowed when it holds no escapes).
    pub fn as_str(&self) -> Option<Cow<'a, str>> {
        let raw = self.raw();
        let quoted = raw.strip_prefix('"')?.strip_suffix('"')?;
        if crate::value::find_byte(quoted.as_bytes(), b'\\').is_none() {
            // Valid JSON without escapes: the text between the quotes is the string.
            return Some(Cow::Borrowed(quoted));
        }
        serde_json::from_str::<Text<'a>>(raw)
            .ok()
            .map(|text| text.0)
    }

    /// The value as text for a SIEM field: a string unescaped; a number, boolean, object or
    /// array as its JSON text, exactly as received; `None` for `null`.
    pub fn text(&self) -> Option<Cow<'a, str>> {
        match self.raw().as_bytes().first() {
            Some(b'"') => self.as_str(),
            Some(b'n') => None,
            _ => Some(Cow::Borrowed(self.raw())),
        }
    }

    /// The digits of a number, exactly as written (or of a string holding only a number, as
    /// `ReportId` sometimes is).
    pub fn number(&self) -> Option<Cow<'a, str>> {
        let text = match self.as_str() {
            Some(text) => text,
            None => Cow::Borrowed(self.raw()),
        };
        let looks_numeric = !text.is_empty()
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
            && text.bytes().any(|b| b.is_ascii_digit());
        looks_numeric.then_some(text)
    }

    /// The value as an unsigned integer (a number, or a string holding one).
    pub fn as_u64(&self) -> Option<u64> {
        self.number()?.parse().ok()
    }

    /// The value as a signed integer (a number, or a string holding one).
    pub fn as_i64(&self) -> Option<i64> {
        self.number()?.parse().ok()
    }

    /// The value as a float (a number, or a string holding one).
    pub fn as_f64(&self) -> Option<f64> {
        self.number()?.parse().ok()
    }

    /// The value as a boolean (`true`/`false`, or those words in a string, any case).
    pub fn as_bool(&self) -> Option<bool> {
        match self.raw() {
            "true" => Some(true),
            "false" => Some(false),
            _ => match self.as_str()?.to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
        }
    }

    /// The value as a time (a string in any ISO 8601 spelling Defender uses).
    pub fn as_timestamp(&self) -> Option<Timestamp> {
        Timestamp::parse(&self.as_str()?)
    }

    /// The value as JSON, parsing a string's content when the column is stringified JSON
    /// (`"AdditionalFields": "{\"Key\":1}"`); an object or array is parsed as it is. An empty
    /// string is `null`.
    pub fn json(&self) -> Result<serde_json::Value, Failure> {
        match self.as_str() {
            Some(text) if text.trim().is_empty() => Ok(serde_json::Value::Null),
            Some(text) => serde_json::from_str(&text)
                .map_err(|error| Failure::new(format!("the string is not JSON: {error}"))),
            None => serde_json::from_str(self.raw()).map_err(Failure::from),
        }
    }

    /// The value decoded into a type of the plugin's own.
    pub fn parse<T: serde::Deserialize<'a>>(&self) -> Result<T, Failure> {
        serde_json::from_str(self.raw()).map_err(Failure::from)
    }
}

/// Writes a JSON string's content (the text between the quotes, which serde_json has checked),
/// decoding escapes on the way: no copy of the whole string is made.
pub(crate) fn write_unescaped(quoted: &str, out: &mut dyn fmt::Write) -> fmt::Result {
    let mut rest = quoted;
    while let Some(at) = crate::value::find_byte(rest.as_bytes(), b'\\') {
        out.write_str(&rest[..at])?;
        let escape = &rest[at + 1..];
        let (decoded, used) = match escape.as_bytes().first() {
            Some(b'n') => ('\n', 1),
            Some(b't') => ('\t', 1),
            Some(b'r') => ('\r', 1),
            Some(b'b') => ('\u{8}', 1),
            Some(b'f') => ('\u{c}', 1),
            Some(b'u') => unicode_escape(escape),
            Some(&other) => (char::from(other), 1),
            None => return Ok(()),
        };
        out.write_char(decoded)?;
        rest = escape.get(used..).unwrap_or_default();
    }
    out.write_str(rest)
}

/// Decodes `uXXXX` (and a following `\uXXXX` low surrogate); returns the character and the bytes
/// used. A lone surrogate becomes U+FFFD.
fn unicode_escape(escape: &str) -> (char, usize) {
    let hex = |from: usize| {
        escape
            .get(from..from + 4)
            .and_then(|digits| u32::from_str_radix(digits, 16).ok())
    };
    let Some(first) = hex(1) else {
        return (char::REPLACEMENT_CHARACTER, 1);
    };
    if (0xd800..0xdc00).contains(&first)
        && escape.get(5..7) == Some("\\u")
        && let Some(second @ 0xdc00..0xe000) = hex(7)
    {
        let code = 0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00);
        return (
            char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER),
            11,
        );
    }
    (
        char::from_u32(first).unwrap_or(char::REPLACEMENT_CHARACTER),
        5,
    )
}

impl fmt::Display for Field<'_> {
    /// Writes [`Field::text`] (nothing for `null`), for encoders that take any `Display`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.text() {
            Some(text) => f.write_str(&text),
            None => Ok(()),
        }
    }
}

impl<'a> Fields<'a> {
    fn get(&self, name: &str) -> Option<&'a RawValue> {
        let hash = fingerprint(name);
        if self.entries.len() > INDEXED {
            return self
                .entries
                .iter()
                .find(|(known, key, _)| *known == hash && same(key, name))
                .map(|(_, _, raw)| *raw);
        }
        let mut slot = slot_of(hash);
        loop {
            let position = usize::from(self.index[slot]);
            let (known, key, raw) = self.entries.get(position.checked_sub(1)?)?;
            if *known == hash && same(key, name) {
                return Some(raw);
            }
            slot = (slot + 1) % SLOTS;
        }
    }

    fn push(&mut self, name: Cow<'a, str>, raw: &'a RawValue) {
        let hash = fingerprint(&name);
        self.entries.push((hash, name, raw));
        let count = self.entries.len();
        if count > INDEXED {
            return;
        }
        let mut slot = slot_of(hash);
        while self.index[slot] != 0 {
            // A repeated name keeps its first value, as lookups did before the index.
            if self.entries[usize::from(self.index[slot]) - 1].0 == hash
                && same(
                    &self.entries[usize::from(self.index[slot]) - 1].1,
                    &self.entries[count - 1].1,
                )
            {
                return;
            }
            slot = (slot + 1) % SLOTS;
        }
        self.index[slot] = count as u8;
    }
}

/// The top level of a record, with `properties` read as fields in the same pass.
struct Envelope<'a> {
    top: Fields<'a>,
    properties: Properties<'a>,
}

enum Properties<'a> {
    Absent,
    Object(Fields<'a>),
    /// Present but not an object: the record is read again the plain way.
    Other,
}

impl<'de> serde::Deserialize<'de> for Envelope<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EnvelopeVisitor;
        impl<'de> Visitor<'de> for EnvelopeVisitor {
            type Value = Envelope<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut top = Fields {
                    entries: Vec::with_capacity(8),
                    index: [0; SLOTS],
                };
                let mut properties = Properties::Absent;
                while let Some(Text(name)) = map.next_key::<Text<'de>>()? {
                    if name == "properties" && matches!(properties, Properties::Absent) {
                        properties = match map.next_value::<MaybeFields<'de>>()? {
                            MaybeFields(Some(fields)) => Properties::Object(fields),
                            MaybeFields(None) => Properties::Other,
                        };
                    } else {
                        let raw = map.next_value::<&'de RawValue>()?;
                        top.push(name, raw);
                    }
                }
                Ok(Envelope { top, properties })
            }
        }
        deserializer.deserialize_map(EnvelopeVisitor)
    }
}

/// An object's fields, or `None` for any other value (which is skipped).
struct MaybeFields<'a>(Option<Fields<'a>>);

impl<'de> serde::Deserialize<'de> for MaybeFields<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MaybeVisitor;
        impl<'de> Visitor<'de> for MaybeVisitor {
            type Value = MaybeFields<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Self::Value, M::Error> {
                FieldsVisitor
                    .visit_map(map)
                    .map(|fields| MaybeFields(Some(fields)))
            }
            fn visit_seq<S: de::SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(MaybeFields(None))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(MaybeFields(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(MaybeFields(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(MaybeFields(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(MaybeFields(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(MaybeFields(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(MaybeFields(None))
            }
        }
        deserializer.deserialize_any(MaybeVisitor)
    }
}

/// A JSON string, borrowed when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(text)))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(text.to_string())))
            }
            fn visit_string<E: de::Error>(self, text: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(text)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Fields<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let mut fields = Fields {
            entries: Vec::with_capacity(map.size_hint().unwrap_or(32)),
            index: [0; SLOTS],
        };
        while let Some((Text(name), raw)) = map.next_entry::<Text<'de>, &'de RawValue>()? {
            fields.push(name, raw);
        }
        Ok(fields)
    }
}

impl<'de> serde::Deserialize<'de> for Fields<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(FieldsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROCESS: &str = r#"{"time":"2026-11-24T08:20:00.1Z","tenantId":"t1","category":"AdvancedHunting-DeviceProcessEvents","properties":{"Timestamp":"2026-11-24T08:15:02.1234567Z","DeviceName":"wks-compta-01.contoso.example","ReportId":9007199254740993,"FileSize":5368709120,"ProcessCommandLine":"cmd.exe /c \"echo a|b=c\\d\"\nnext","AdditionalFields":"{\"Command\":\"x\",\"Count\":2}","MachineGroup":null,"AttackTechniques":"","Undocumented":{"a": [1, 2]},"IsAdmin":"True"}}"#;

    #[test]
    fn reads_a_streaming_record_column_by_column() {
        let record = Record::parse(PROCESS.as_bytes()).expect("a record");
        assert!(record.is_streaming());
        assert_eq!(
            record.category().as_deref(),
            Some("AdvancedHunting-DeviceProcessEvents")
        );
        assert_eq!(record.table().as_deref(), Some("DeviceProcessEvents"));
        assert_eq!(
            record.text("DeviceName").as_deref(),
            Some("wks-compta-01.contoso.example")
        );
        assert!(
            matches!(record.text("DeviceName"), Some(Cow::Borrowed(_))),
            "no escapes, no copy"
        );
        assert_eq!(
            record.text("ProcessCommandLine").as_deref(),
            Some("cmd.exe /c \"echo a|b=c\\d\"\nnext")
        );
        assert_eq!(
            record.get("tenantId").and_then(|f| f.as_str()).as_deref(),
            Some("t1")
        );
        assert_eq!(
            record.top("time").and_then(|f| f.as_str()).as_deref(),
            Some("2026-11-24T08:20:00.1Z")
        );
        assert_eq!(
            record.timestamp().map(|t| t.unix_millis()),
            Timestamp::parse("2026-11-24T08:15:02.123Z").map(|t| t.unix_millis()),
            "event time, not export time"
        );
        assert_eq!(
            record.value("FileSize").and_then(|f| f.as_u64()),
            Some(5_368_709_120)
        );
        assert_eq!(record.get("IsAdmin").and_then(|f| f.as_bool()), Some(true));
        assert!(record.get("MachineGroup").is_some_and(|f| f.is_null()));
        assert!(record.value("MachineGroup").is_none());
        assert!(
            record.text("AttackTechniques").is_none(),
            "empty strings are no value"
        );
        assert!(record.get("Missing").is_none());
    }

    #[test]
    fn streaming_unescape_matches_serde_json() {
        for text in [
            "plain",
            "",
            "a\\\\b\\\"c\\/d\\n\\r\\t\\b\\f",
            "\\u00e9t\\u00E9 \\u65e5\\u672c \\ud83d\\ude00 end",
            "C:\\\\new\\\\x",
            "trailing\\\\",
        ] {
            let json = format!("\"{text}\"");
            let expected: String = serde_json::from_str(&json).expect("valid JSON");
            let mut written = String::new();
            write_unescaped(text, &mut written).expect("writes");
            assert_eq!(written, expected, "{json}");
        }
        let mut lone = String::new();
        write_unescaped("a\\ud800b", &mut lone).expect("writes");
        assert_eq!(lone, "a\u{fffd}b");
    }

    #[test]
    fn numbers_above_two_to_the_53_stay_exact() {
        let record = Record::parse(PROCESS.as_bytes()).expect("a record");
        let report = record.get("ReportId").expect("ReportId");
        assert_eq!(report.number().as_deref(), Some("9007199254740993"));
        assert_eq!(report.text().as_deref(), Some("9007199254740993"));
        assert_eq!(report.as_u64(), Some(9_007_199_254_740_993));
        let huge =
            Record::parse(br#"{"n":123456789012345678901234567890,"s":"-42"}"#).expect("a record");
        assert_eq!(
            huge.text("n").as_deref(),
            Some("123456789012345678901234567890")
        );
        assert_eq!(huge.get("s").and_then(|f| f.as_i64()), Some(-42));
        assert_eq!(
            huge.get("n").and_then(|f| f.as_u64()),
            None,
            "too big for u64, but still readable as text"
        );
    }

    #[test]
    fn stringified_json_is_parsed_on_demand_and_unknown_fields_are_kept() {
        let record = Record::parse(PROCESS.as_bytes()).expect("a record");
        let additional = record.get("AdditionalFields").and_then(|f| f.json().ok());
        assert_eq!(
            additional,
            Some(serde_json::json!({"Command": "x", "Count": 2}))
        );
        let undocumented = record.get("Undocumented").expect("kept");
        assert_eq!(
            undocumented.json().ok(),
            Some(serde_json::json!({"a": [1, 2]}))
        );
        assert_eq!(
            undocumented.text().as_deref(),
            Some(r#"{"a": [1, 2]}"#),
            "as received"
        );
        assert_eq!(
            record.get("AttackTechniques").and_then(|f| f.json().ok()),
            Some(serde_json::Value::Null)
        );
        let names: Vec<&str> = record.fields().map(|(name, _)| name).collect();
        assert_eq!(names.len(), 10);
        assert_eq!(names.first(), Some(&"Timestamp"));
        assert_eq!(names.last(), Some(&"IsAdmin"));
    }

    #[test]
    fn reads_a_rest_alert_at_the_top_level() {
        let alert = br#"{"id":"da123","title":"Suspicious \u00e9 thing","severity":"High","category":"Execution","lastUpdateTime":"2023-10-20T09:53:07.503Z","evidence":[]}"#;
        let record = Record::parse(alert).expect("an alert");
        assert!(!record.is_streaming());
        assert_eq!(record.table(), None);
        assert_eq!(record.category().as_deref(), Some("Execution"));
        assert_eq!(record.text("title").as_deref(), Some("Suspicious é thing"));
        assert_eq!(
            record.timestamp().map(|t| t.unix_millis()),
            Some(1_697_795_587_503)
        );
        assert_eq!(record.text("evidence").as_deref(), Some("[]"));
        assert_eq!(record.fields().count(), 6);
    }

    #[test]
    fn finds_every_field_of_small_and_large_objects_and_the_first_of_repeated_names() {
        for count in [1, 10, INDEXED, INDEXED + 1, 300] {
            let body = format!(
                "{{{},\"f0\":\"repeat\"}}",
                (0..count)
                    .map(|n| format!("\"f{n}\":{n}"))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            let record = Record::parse(body.as_bytes()).expect("an object");
            for n in 0..count {
                assert_eq!(
                    record.get(&format!("f{n}")).map(|f| f.raw()),
                    Some(n.to_string().as_str()),
                    "{count}"
                );
            }
            assert!(record.get("f").is_none() && record.get(&format!("f{count}")).is_none());
            assert_eq!(
                record.fields().count(),
                count + 1,
                "the repeat is kept in fields()"
            );
        }
    }

    #[test]
    fn rejects_what_is_not_an_object() {
        for body in [
            &b"[1,2]"[..],
            b"not json",
            b"\xff\xfe",
            b"{\"properties\":{\"a\":}",
        ] {
            assert!(Record::parse(body).is_err(), "{body:?}");
        }
        for body in [
            &br#"{"properties":"text","category":"AdvancedHunting-X"}"#[..],
            br#"{"properties":[1,{"a":2}],"b":3}"#,
        ] {
            let odd = Record::parse(body).expect("tolerated");
            assert!(
                !odd.is_streaming(),
                "a properties field that is not an object is just a field"
            );
            assert!(odd.get("properties").is_some(), "and it is kept");
        }
    }
}
