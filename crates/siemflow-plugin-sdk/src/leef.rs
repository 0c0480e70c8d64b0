//! A strict IBM QRadar LEEF encoder (LEEF 1.0 and 2.0).
//!
//! LEEF defines no escaping at all: a value that holds the attribute delimiter, or a header field
//! that holds a `|`, silently splits the event in QRadar. The only safe policy is to keep those
//! characters out, so this encoder:
//!
//! - replaces `|`, CR, LF, TAB and other control characters in header fields with a space;
//! - replaces the active delimiter, CR, LF, TAB and other control characters in values with a
//!   space (`=` and `\` stay as they are: the key ends at the first `=`);
//! - cuts the EventID to 255 characters;
//! - leaves out pairs whose key is empty or holds `=`, `|`, the delimiter, whitespace or control
//!   characters, pairs with an empty value, and keys written before, counting them in
//!   [`LeefStats`].
//!
//! ```
//! use siemflow_plugin_sdk::leef::{Delimiter, Leef, LeefHeader, LeefVersion};
//!
//! let version = LeefVersion::V2(Delimiter::parse("^").unwrap());
//! let mut leef = Leef::new(&version, &LeefHeader {
//!     vendor: "Microsoft",
//!     product: "Microsoft Defender for Endpoint",
//!     version: "1.0",
//!     event_id: "ThreatManagement",
//! });
//! leef.attr("sev", 6).attr("msg", "a^b");
//! assert_eq!(
//!     leef.finish(),
//!     "LEEF:2.0|Microsoft|Microsoft Defender for Endpoint|1.0|ThreatManagement|^|sev=6^msg=a b"
//! );
//! ```

use std::fmt::{self, Write};

use crate::value::{
    Value, WrittenKeys, c1_control_at, control_bytes, cut_chars, fingerprint, next_special,
};

/// The LEEF 2.0 attribute delimiter, as written in the header and as used between pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delimiter {
    character: char,
    field: String,
}

impl Delimiter {
    /// Parses the delimiter field: one character (`^`), or its code in hex written `xHH` or
    /// `0xHH` (1 to 4 digits: `x09` for TAB, `0x5E` for `^`). The character may not be `=`,
    /// `|`, a space, CR, LF or another control character other than TAB, nor a letter or digit.
    pub fn parse(field: &str) -> Result<Self, String> {
        let hex = field
            .strip_prefix("0x")
            .or_else(|| field.strip_prefix('x'))
            .filter(|digits| {
                (1..=4).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_hexdigit())
            });
        let character = match hex {
            Some(digits) => u32::from_str_radix(digits, 16)
                .ok()
                .and_then(char::from_u32)
                .ok_or_else(|| format!("`{field}` is not a character code"))?,
            None => {
                let mut chars = field.chars();
                match (chars.next(), chars.next()) {
                    (Some(character), None) => character,
                    _ => {
                        return Err(format!(
                            "a LEEF delimiter is one character or its hex code (`^`, `x09`, `0x5E`), not `{field}`"
                        ));
                    }
                }
            }
        };
        if matches!(character, '=' | '|' | ' ' | '\r' | '\n')
            || (character.is_control() && character != '\t')
            || character.is_alphanumeric()
        {
            return Err(format!("{character:?} cannot be a LEEF delimiter"));
        }
        Ok(Self {
            character,
            field: field.to_string(),
        })
    }

    /// TAB, written `x09`.
    pub fn tab() -> Self {
        Self {
            character: '\t',
            field: "x09".into(),
        }
    }

    /// The character between pairs.
    pub fn character(&self) -> char {
        self.character
    }
}

/// The LEEF version, and for 2.0 the delimiter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeefVersion {
    /// `LEEF:1.0`, TAB between pairs.
    V1,
    /// `LEEF:2.0` with a delimiter field.
    V2(Delimiter),
}

/// The header fields after the version.
#[derive(Debug, Clone, Copy)]
pub struct LeefHeader<'a> {
    /// Vendor.
    pub vendor: &'a str,
    /// Product.
    pub product: &'a str,
    /// Product version.
    pub version: &'a str,
    /// EventID (255 characters): stable, not localized; with `cat`, the key of QRadar's QID map.
    pub event_id: &'a str,
}

/// What the encoder had to change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeefStats {
    /// Header fields cut to their maximum length.
    pub truncated: u32,
    /// Pairs left out: invalid key, or a key written before.
    pub rejected: u32,
}

/// One LEEF line being written.
#[derive(Debug, Clone)]
pub struct Leef {
    line: String,
    delimiter: char,
    /// See [`Cleaner`].
    first: u8,
    special: [bool; 256],
    keys: WrittenKeys,
    stats: LeefStats,
}

const EVENT_ID_CHARS: usize = 255;

impl Leef {
    /// Starts a line with its header.
    pub fn new(version: &LeefVersion, header: &LeefHeader<'_>) -> Self {
        let mut line = String::with_capacity(512);
        line.push_str(match version {
            LeefVersion::V1 => "LEEF:1.0|",
            LeefVersion::V2(_) => "LEEF:2.0|",
        });
        let mut stats = LeefStats::default();
        let (pipe, header_special) = special_for('|');
        for (field, limit) in [
            (header.vendor, usize::MAX),
            (header.product, usize::MAX),
            (header.version, usize::MAX),
            (header.event_id, EVENT_ID_CHARS),
        ] {
            let mut writer = Cleaner {
                out: &mut line,
                forbidden: '|',
                first: pipe,
                special: &header_special,
                chars_left: limit,
                truncated: false,
            };
            let _ = writer.write_str(field);
            stats.truncated += u32::from(writer.truncated);
            line.push('|');
        }
        let delimiter = match version {
            LeefVersion::V1 => '\t',
            LeefVersion::V2(delimiter) => {
                line.push_str(&delimiter.field);
                line.push('|');
                delimiter.character
            }
        };
        let (first, special) = special_for(delimiter);
        Self {
            line,
            delimiter,
            first,
            special,
            keys: WrittenKeys::new(),
            stats,
        }
    }

    /// Adds `key=value`. The value is any [`Value`]: text, a number, a record
    /// [`Field`](crate::record::Field), or any `Display` through [`shown`](crate::value::shown).
    pub fn attr(&mut self, key: &str, value: impl Value) -> &mut Self {
        let valid = !key.is_empty()
            && !key.chars().any(|c| {
                matches!(c, '=' | '|') || c == self.delimiter || c.is_whitespace() || c.is_control()
            });
        let hash = fingerprint(key);
        if !valid || self.keys.contains(&self.line, key, hash) {
            self.stats.rejected += 1;
            return self;
        }
        let rollback = self.line.len();
        if !self.keys.is_empty() {
            self.line.push(self.delimiter);
        }
        let key_start = self.line.len();
        self.line.push_str(key);
        self.line.push('=');
        let value_start = self.line.len();
        let mut writer = Cleaner {
            out: &mut self.line,
            forbidden: self.delimiter,
            first: self.first,
            special: &self.special,
            chars_left: usize::MAX,
            truncated: false,
        };
        let _ = match value.as_text() {
            Some(text) => writer.write_str(text),
            None => value.write_to(&mut writer),
        };
        if self.line.len() == value_start {
            self.line.truncate(rollback);
            return self;
        }
        self.keys.insert(hash, key_start, key);
        self
    }

    /// Adds `key=value` when there is a value.
    pub fn attr_opt(&mut self, key: &str, value: Option<impl Value>) -> &mut Self {
        if let Some(value) = value {
            self.attr(key, value);
        }
        self
    }

    /// What was cut or left out so far.
    pub fn stats(&self) -> LeefStats {
        self.stats
    }

    /// The finished line.
    pub fn finish(self) -> String {
        self.line
    }
}

/// Writes text with `forbidden`, CR, LF, TAB and control characters replaced by a space.
struct Cleaner<'a> {
    out: &'a mut String,
    forbidden: char,
    /// The first byte of `forbidden`'s UTF-8.
    first: u8,
    /// Control bytes and `first`.
    special: &'a [bool; 256],
    chars_left: usize,
    truncated: bool,
}

/// What a cleaner looks for: control bytes and the first byte of the forbidden character.
fn special_for(forbidden: char) -> (u8, [bool; 256]) {
    let mut buffer = [0u8; 4];
    let first = forbidden.encode_utf8(&mut buffer).as_bytes()[0];
    let mut special = control_bytes();
    special[usize::from(first)] = true;
    (first, special)
}

impl Write for Cleaner<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let (kept, cut) = cut_chars(text, &mut self.chars_left);
        self.truncated |= cut;
        let bytes = kept.as_bytes();
        let forbidden = u8::try_from(self.forbidden).ok().filter(u8::is_ascii);
        let (mut plain_from, mut at) = (0, 0);
        loop {
            at = next_special(bytes, at, self.special, [self.first, self.first]);
            let Some(&byte) = bytes.get(at) else {
                break;
            };
            let width = if Some(byte) == forbidden || (byte < 0x20 || byte == 0x7f) {
                1
            } else if byte == 0xc2 && c1_control_at(bytes, at) {
                2
            } else if byte >= 0xc0 && forbidden.is_none() && kept[at..].starts_with(self.forbidden)
            {
                self.forbidden.len_utf8()
            } else {
                at += 1;
                continue;
            };
            self.out.push_str(&kept[plain_from..at]);
            self.out.push(' ');
            at += width;
            plain_from = at;
        }
        self.out.push_str(&kept[plain_from..]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MDE: LeefHeader<'static> = LeefHeader {
        vendor: "Microsoft",
        product: "Microsoft Defender for Endpoint",
        version: "1.0",
        event_id: "ThreatManagement",
    };

    fn line(version: &LeefVersion, header: &LeefHeader<'_>, pairs: &[(&str, &str)]) -> String {
        let mut leef = Leef::new(version, header);
        for (key, value) in pairs {
            leef.attr(key, value);
        }
        leef.finish()
    }

    fn v2(field: &str) -> LeefVersion {
        LeefVersion::V2(Delimiter::parse(field).expect("a valid delimiter"))
    }

    const BASIC: &[(&str, &str)] = &[
        ("devTime", "1697795587503"),
        ("sev", "6"),
        ("cat", "Execution"),
        ("usrName", "CDPUserIS-38411"),
        ("src", "192.168.5.65"),
    ];

    /// The LEEF vectors of the project's format reference (`format-vectors.md`, L1 to L10), each
    /// checked there against syslog-ng's LEEF parsing.
    #[test]
    fn format_vectors() {
        let head = "LEEF:1.0|Microsoft|Microsoft Defender for Endpoint|1.0|ThreatManagement|";
        let head2 = "LEEF:2.0|Microsoft|Microsoft Defender for Endpoint|1.0|ThreatManagement|";
        type Pairs<'a> = &'a [(&'a str, &'a str)];
        let cases: Vec<(LeefVersion, LeefHeader<'_>, Pairs<'_>, String)> = vec![
            (
                LeefVersion::V1,
                MDE,
                BASIC,
                format!(
                    "{head}devTime=1697795587503\tsev=6\tcat=Execution\tusrName=CDPUserIS-38411\tsrc=192.168.5.65"
                ),
            ),
            (
                v2("^"),
                MDE,
                BASIC,
                format!(
                    "{head2}^|devTime=1697795587503^sev=6^cat=Execution^usrName=CDPUserIS-38411^src=192.168.5.65"
                ),
            ),
            (
                v2("x09"),
                MDE,
                BASIC,
                format!(
                    "{head2}x09|devTime=1697795587503\tsev=6\tcat=Execution\tusrName=CDPUserIS-38411\tsrc=192.168.5.65"
                ),
            ),
            (
                v2("0x5E"),
                MDE,
                &[("devTime", "1697795587503"), ("sev", "6")],
                format!("{head2}0x5E|devTime=1697795587503^sev=6"),
            ),
            (
                v2("^"),
                MDE,
                &[("sev", "6"), ("msg", "a^b")],
                format!("{head2}^|sev=6^msg=a b"),
            ),
            (
                v2("^"),
                LeefHeader {
                    vendor: "Micro|soft",
                    product: "MDE",
                    version: "1.0",
                    event_id: "Alert|1",
                },
                &[("sev", "6")],
                "LEEF:2.0|Micro soft|MDE|1.0|Alert 1|^|sev=6".to_string(),
            ),
            (
                v2("^"),
                MDE,
                &[
                    ("devTime", "Oct 20 2023 09:53:07.503 UTC"),
                    ("devTimeFormat", "MMM dd yyyy HH:mm:ss.SSS z"),
                    ("sev", "6"),
                ],
                format!(
                    "{head2}^|devTime=Oct 20 2023 09:53:07.503 UTC^devTimeFormat=MMM dd yyyy HH:mm:ss.SSS z^sev=6"
                ),
            ),
            (
                LeefVersion::V1,
                MDE,
                &[("sev", "6"), ("msg", "line1\nline2\tcol")],
                format!("{head}sev=6\tmsg=line1 line2 col"),
            ),
            (
                v2("^"),
                MDE,
                &[("usrName", "CONTOSO\\alice"), ("msg", "x=1")],
                format!("{head2}^|usrName=CONTOSO\\alice^msg=x=1"),
            ),
            (
                v2("^"),
                MDE,
                &[("usrName", "Jürgen Müller"), ("msg", "日本語")],
                format!("{head2}^|usrName=Jürgen Müller^msg=日本語"),
            ),
        ];
        for (index, (version, header, pairs, expected)) in cases.iter().enumerate() {
            assert_eq!(&line(version, header, pairs), expected, "L{}", index + 1);
        }
    }

    #[test]
    fn delimiters_parse_in_every_documented_form() {
        for (field, character) in [
            ("^", '^'),
            ("x5E", '^'),
            ("0x5E", '^'),
            ("x09", '\t'),
            ("0x7c", '|'),
            ("¦", '¦'),
        ] {
            match Delimiter::parse(field) {
                Ok(delimiter) => assert_eq!(delimiter.character(), character, "{field}"),
                Err(error) => assert_eq!(character, '|', "{field}: {error}"),
            }
        }
        for bad in [
            "", "^^", "=", "|", " ", "x", "0x", "x12345", "a", "x0A", "xD800",
        ] {
            assert!(Delimiter::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn keys_that_would_break_the_pairs_are_left_out() {
        let mut leef = Leef::new(&v2("^"), &MDE);
        leef.attr("a=b", "x")
            .attr("a^b", "x")
            .attr("a b", "x")
            .attr("", "x")
            .attr("usrName", "")
            .attr("usrName", "alice")
            .attr("usrName", "bob")
            .attr_opt("src", None::<&str>)
            .attr("sev", 6);
        assert_eq!(
            leef.stats(),
            LeefStats {
                truncated: 0,
                rejected: 5
            }
        );
        assert!(leef.finish().ends_with("|^|usrName=alice^sev=6"));
    }

    #[test]
    fn a_non_ascii_delimiter_and_c1_controls_are_replaced() {
        let mut leef = Leef::new(&v2("¦"), &MDE);
        leef.attr("msg", "a¦b\u{85}c\u{a0}d é");
        assert!(leef.finish().ends_with("|¦|msg=a b c\u{a0}d é"));
    }

    #[test]
    fn the_event_id_is_cut_to_255_characters() {
        let id = "é".repeat(300);
        let leef = Leef::new(
            &LeefVersion::V1,
            &LeefHeader {
                event_id: &id,
                ..MDE
            },
        );
        assert_eq!(leef.stats().truncated, 1);
        assert!(leef.finish().ends_with(&format!("|{}|", "é".repeat(255))));
    }
}
