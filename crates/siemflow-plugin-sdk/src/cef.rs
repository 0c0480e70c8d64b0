//! A strict ArcSight CEF encoder (CEF:0 and CEF:1).
//!
//! The header and the extension escape differently, and getting that wrong is the most common
//! way a connector produces events ArcSight cannot parse. This encoder applies the rules of the
//! CEF Implementation Standard, so a mapping only says which value goes where:
//!
//! | character | header field | extension value |
//! |---|---|---|
//! | `\` | `\\` | `\\` |
//! | `\|` | `\|` | as is |
//! | `=` | as is | `\=` |
//! | LF, CR | a space | `\n`, `\r` |
//! | other control characters (not TAB) | a space | a space |
//!
//! Lengths are limited by characters, never bytes, and never cut inside a character: header
//! fields to the standard's sizes, extension values to the dictionary size of their key (`msg`
//! 1023, `cs1` 4000, `fileHash` 255, ...). Extension keys must be ASCII letters and digits; a pair
//! with another key, an empty value, or a key already written is left out. What was cut or left
//! out is counted in [`CefStats`], so a plugin can report it.
//!
//! ```
//! use siemflow_plugin_sdk::cef::{Cef, CefHeader, CefVersion};
//!
//! let mut cef = Cef::new(CefVersion::V0, &CefHeader {
//!     vendor: "Microsoft",
//!     product: "Microsoft Defender for Endpoint",
//!     version: "1.0",
//!     class_id: "ThreatManagement",
//!     name: "Detected a | in message",
//!     severity: 6,
//! });
//! cef.ext("act", "blocked a | b").ext("msg", "x=1");
//! assert_eq!(
//!     cef.finish(),
//!     "CEF:0|Microsoft|Microsoft Defender for Endpoint|1.0|ThreatManagement|Detected a \\| in message|6|act=blocked a | b msg=x\\=1"
//! );
//! ```

use std::fmt::{self, Write};

use crate::value::{
    Value, WrittenKeys, c1_control_at, control_bytes, cut_chars, fingerprint, next_special,
};

/// The CEF version written after `CEF:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CefVersion {
    /// `CEF:0` (CEF spec 0.1), what most receivers expect.
    #[default]
    V0,
    /// `CEF:1` (CEF spec 1.x, with the 1.2 dictionary additions such as `threatAttackID`).
    V1,
}

/// The seven header fields after the version.
#[derive(Debug, Clone, Copy)]
pub struct CefHeader<'a> {
    /// Device Vendor (63 characters).
    pub vendor: &'a str,
    /// Device Product (63 characters).
    pub product: &'a str,
    /// Device Version (31 characters).
    pub version: &'a str,
    /// Device Event Class ID (1023 characters): stable per event type, the key of the SIEM's
    /// event mapping.
    pub class_id: &'a str,
    /// Name (512 characters): human-readable, without data that other fields carry.
    pub name: &'a str,
    /// Severity 0 (lowest) to 10; larger values are written as 10.
    pub severity: u8,
}

/// What the encoder had to change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CefStats {
    /// Values (header or extension) cut to their maximum length.
    pub truncated: u32,
    /// Extension pairs left out: invalid key, or a key written before.
    pub rejected: u32,
}

/// One CEF line being written.
#[derive(Debug, Clone)]
pub struct Cef {
    line: String,
    keys: WrittenKeys,
    stats: CefStats,
}

const HEADER_LIMITS: [usize; 5] = [63, 63, 31, 1023, 512];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Header,
    Extension,
}

impl Cef {
    /// Starts a line with its header.
    pub fn new(version: CefVersion, header: &CefHeader<'_>) -> Self {
        Self::with_capacity(version, header, 512)
    }

    /// Starts a line with its header, reserving `capacity` bytes for it (the input event's
    /// length is a good guess, and saves growing the line as it is written).
    pub fn with_capacity(version: CefVersion, header: &CefHeader<'_>, capacity: usize) -> Self {
        let mut cef = Self {
            line: String::with_capacity(capacity),
            keys: WrittenKeys::new(),
            stats: CefStats::default(),
        };
        cef.line.push_str(match version {
            CefVersion::V0 => "CEF:0|",
            CefVersion::V1 => "CEF:1|",
        });
        let fields = [
            header.vendor,
            header.product,
            header.version,
            header.class_id,
            header.name,
        ];
        for (field, limit) in fields.into_iter().zip(HEADER_LIMITS) {
            if escape(&mut cef.line, field, Part::Header, limit) {
                cef.stats.truncated += 1;
            }
            cef.line.push('|');
        }
        let severity = header.severity.min(10);
        if severity == 10 {
            cef.line.push_str("10");
        } else {
            cef.line.push(char::from(b'0' + severity));
        }
        cef.line.push('|');
        cef
    }

    /// Adds `key=value` to the extension. The value is any [`Value`]: text, a number, a record
    /// [`Field`](crate::record::Field), or any `Display` through [`shown`](crate::value::shown).
    pub fn ext(&mut self, key: &str, value: impl Value) -> &mut Self {
        let hash = fingerprint(key);
        if key.is_empty()
            || !key.bytes().all(|b| b.is_ascii_alphanumeric())
            || self.keys.contains(&self.line, key, hash)
        {
            self.stats.rejected += 1;
            return self;
        }
        let rollback = self.line.len();
        if !self.keys.is_empty() {
            self.line.push(' ');
        }
        let key_start = self.line.len();
        self.line.push_str(key);
        self.line.push('=');
        let value_start = self.line.len();
        let limit = max_chars(key);
        let truncated = match value.as_text() {
            Some(text) => {
                // One go: a cut is possible only when the bytes outnumber the limit.
                let (kept, cut) = if text.len() > limit {
                    let mut left = limit;
                    cut_chars(text, &mut left)
                } else {
                    (text, false)
                };
                escape_into(&mut self.line, kept, Part::Extension);
                cut
            }
            None => {
                let mut writer = Escaper::new(&mut self.line, Part::Extension, limit);
                let _ = value.write_to(&mut writer);
                writer.truncated
            }
        };
        if self.line.len() == value_start {
            // Nothing to say: leave the pair out.
            self.line.truncate(rollback);
            return self;
        }
        self.stats.truncated += u32::from(truncated);
        self.keys.insert(hash, key_start, key);
        self
    }

    /// Adds `key=value` when there is a value.
    pub fn ext_opt(&mut self, key: &str, value: Option<impl Value>) -> &mut Self {
        if let Some(value) = value {
            self.ext(key, value);
        }
        self
    }

    /// What was cut or left out so far.
    pub fn stats(&self) -> CefStats {
        self.stats
    }

    /// The finished line.
    pub fn finish(self) -> String {
        self.line
    }
}

/// Escapes `value` onto `out`, at most `limit` characters of it; true when it was cut.
fn escape(out: &mut String, value: &str, part: Part, limit: usize) -> bool {
    let mut writer = Escaper::new(out, part, limit);
    let _ = writer.write_str(value);
    writer.truncated
}

/// Writes escaped text in pieces, holding the unescaped value to `limit` characters.
///
/// Counting characters costs a pass over the text, so until a piece could overflow the limit
/// (its bytes, an upper bound of its characters, do not fit) only bytes are counted; then the
/// characters written so far are counted once, from the output less what escaping added.
struct Escaper<'a> {
    out: &'a mut String,
    part: Part,
    limit: usize,
    /// Where the value starts in `out`.
    start: usize,
    /// Input bytes written so far (while not `exact`).
    bytes_in: usize,
    /// Characters escaping added to the output (one per two-character escape).
    added: usize,
    /// Characters left, once counted.
    exact: Option<usize>,
    truncated: bool,
}

impl<'a> Escaper<'a> {
    fn new(out: &'a mut String, part: Part, limit: usize) -> Self {
        let start = out.len();
        Self {
            out,
            part,
            limit,
            start,
            bytes_in: 0,
            added: 0,
            exact: None,
            truncated: false,
        }
    }
}

impl Write for Escaper<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let kept = match &mut self.exact {
            None if self.limit == usize::MAX || self.bytes_in + text.len() <= self.limit => {
                self.bytes_in += text.len();
                text
            }
            None => {
                let written = self.out[self.start..].chars().count() - self.added;
                let mut left = self.limit - written;
                let (kept, cut) = cut_chars(text, &mut left);
                self.exact = Some(left);
                self.truncated |= cut;
                kept
            }
            Some(left) => {
                let (kept, cut) = cut_chars(text, left);
                self.truncated |= cut;
                kept
            }
        };
        self.added += escape_into(self.out, kept, self.part);
        Ok(())
    }
}

/// Bytes that need a look in a header field and in an extension value.
const HEADER_SPECIAL: [bool; 256] = special_bytes(b"\\|");
const EXTENSION_SPECIAL: [bool; 256] = special_bytes(b"\\=");

const fn special_bytes(extra: &[u8]) -> [bool; 256] {
    let mut table = control_bytes();
    let mut index = 0;
    while index < extra.len() {
        table[extra[index] as usize] = true;
        index += 1;
    }
    table
}

/// The escaping loop: copies runs of plain bytes, replaces the special ones. Returns how many
/// characters it added (one per two-character escape).
fn escape_into(out: &mut String, text: &str, part: Part) -> usize {
    let bytes = text.as_bytes();
    let (special, extra) = match part {
        Part::Header => (&HEADER_SPECIAL, [b'\\', b'|']),
        Part::Extension => (&EXTENSION_SPECIAL, [b'\\', b'=']),
    };
    let (mut plain_from, mut at, mut added) = (0, 0, 0);
    loop {
        at = next_special(bytes, at, special, extra);
        let Some(&byte) = bytes.get(at) else {
            break;
        };
        let (replacement, width) = match (byte, part) {
            (b'\\', _) => ("\\\\", 1),
            (b'|', Part::Header) => ("\\|", 1),
            (b'=', Part::Extension) => ("\\=", 1),
            (b'\n', Part::Extension) => ("\\n", 1),
            (b'\r', Part::Extension) => ("\\r", 1),
            (b'\t', Part::Extension) => {
                at += 1;
                continue;
            }
            (0xc2, _) if c1_control_at(bytes, at) => (" ", 2),
            (0xc2, _) => {
                at += 1;
                continue;
            }
            _ => (" ", 1),
        };
        out.push_str(&text[plain_from..at]);
        out.push_str(replacement);
        added += replacement.len() - 1;
        at += width;
        plain_from = at;
    }
    out.push_str(&text[plain_from..]);
    added
}

/// The maximum length in characters of an extension key's value, from the CEF dictionary
/// (`usize::MAX` for keys with no documented limit, integers and dates among them).
pub fn max_chars(key: &str) -> usize {
    match key {
        "externalId" | "threatActor" => 40,
        "threatAttackID" => 32,
        "act" | "outcome" => 63,
        "reportedResourceName" | "reportedResourceType" => 64,
        "app" | "proto" => 31,
        "dvchost" => 100,
        "flexDate1Label" => 128,
        "reportedResourceGroupName" => 128,
        "fileHash"
        | "oldFileHash"
        | "deviceExternalId"
        | "deviceDnsDomain"
        | "deviceNtDomain"
        | "dntdom"
        | "sntdom"
        | "dtz"
        | "sourceDnsDomain"
        | "destinationDnsDomain"
        | "frameworkName"
        | "reportedResourceID" => 255,
        "requestContext" => 2048,
        "cs1" | "cs2" | "cs3" | "cs4" | "cs5" | "cs6" => 4000,
        "cat"
        | "deviceProcessName"
        | "deviceFacility"
        | "dhost"
        | "dproc"
        | "duser"
        | "duid"
        | "dpriv"
        | "fname"
        | "filePath"
        | "fileId"
        | "fileType"
        | "filePermission"
        | "oldFileName"
        | "oldFilePath"
        | "oldFileId"
        | "oldFileType"
        | "oldFilePermission"
        | "msg"
        | "reason"
        | "request"
        | "requestMethod"
        | "requestClientApplication"
        | "requestCookies"
        | "shost"
        | "sproc"
        | "suser"
        | "suid"
        | "spriv"
        | "flexString1"
        | "flexString2" => 1023,
        label if label.ends_with("Label") => 1023,
        _ => usize::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(name: &str, pairs: &[(&str, &str)]) -> String {
        let mut cef = Cef::new(
            CefVersion::V0,
            &CefHeader {
                vendor: "Microsoft",
                product: "Microsoft Defender for Endpoint",
                version: "1.0",
                class_id: "ThreatManagement",
                name,
                severity: 6,
            },
        );
        for (key, value) in pairs {
            cef.ext(key, value);
        }
        cef.finish()
    }

    /// A line with a minimal header, `CEF:0|V|P|1|id|n|SEVERITY|`.
    fn tiny(severity: u8) -> Cef {
        Cef::new(
            CefVersion::V0,
            &CefHeader {
                vendor: "V",
                product: "P",
                version: "1",
                class_id: "id",
                name: "n",
                severity,
            },
        )
    }

    const PREFIX: &str = "CEF:0|Microsoft|Microsoft Defender for Endpoint|1.0|ThreatManagement|";

    /// The CEF vectors of the project's format reference (`format-vectors.md`, C1 to C12), each
    /// checked there against two independent CEF parsers.
    #[test]
    fn format_vectors() {
        // (name, extension pairs, expected line after the common prefix)
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
        let cases: &[Case<'_>] = &[
            (
                "Suspicious PowerShell command line",
                &[
                    ("rt", "1697795587503"),
                    ("dhost", "clw555test"),
                    ("suser", "CDPUserIS-38411"),
                ],
                "Suspicious PowerShell command line|6|rt=1697795587503 dhost=clw555test suser=CDPUserIS-38411",
            ),
            (
                "Detected a | in message",
                &[("act", "blocked a | b")],
                "Detected a \\| in message|6|act=blocked a | b",
            ),
            (
                "a = b",
                &[("msg", "x=1 y==2")],
                "a = b|6|msg=x\\=1 y\\=\\=2",
            ),
            (
                "two\nlines",
                &[("msg", "line1\nline2\r\nline3")],
                "two lines|6|msg=line1\\nline2\\r\\nline3",
            ),
            (
                "n",
                &[("fname", "C:\\new\\report.txt")],
                "n|6|fname=C:\\\\new\\\\report.txt",
            ),
            (
                "ends with \\",
                &[("filePath", "C:\\temp\\"), ("dhost", "h1")],
                "ends with \\\\|6|filePath=C:\\\\temp\\\\ dhost=h1",
            ),
            (
                "already \\| escaped",
                &[("msg", "a\\=b")],
                "already \\\\\\| escaped|6|msg=a\\\\\\=b",
            ),
            (
                "Ünïcödé ✓",
                &[("suser", "Jürgen Müller"), ("msg", "日本語 😀")],
                "Ünïcödé ✓|6|suser=Jürgen Müller msg=日本語 😀",
            ),
            (
                "Alert",
                &[
                    ("cs1Label", "MitreTechniques"),
                    ("cs1", "T1059.001,T1105"),
                    ("cn1Label", "IncidentId"),
                    ("cn1", "23"),
                    ("deviceCustomDate1Label", "FirstActivity"),
                    ("deviceCustomDate1", "Oct 20 2023 09:51:39.515 UTC"),
                ],
                "Alert|6|cs1Label=MitreTechniques cs1=T1059.001,T1105 cn1Label=IncidentId cn1=23 deviceCustomDate1Label=FirstActivity deviceCustomDate1=Oct 20 2023 09:51:39.515 UTC",
            ),
            (
                "Alert",
                &[
                    ("rt", "1697795587503"),
                    ("start", "Oct 20 2023 09:51:39"),
                    ("end", "Oct 20 2023 09:51:41.993 UTC"),
                ],
                "Alert|6|rt=1697795587503 start=Oct 20 2023 09:51:39 end=Oct 20 2023 09:51:41.993 UTC",
            ),
            (
                "Alert",
                &[("filePath", "/user/dir/my file name.txt"), ("dhost", "h1")],
                "Alert|6|filePath=/user/dir/my file name.txt dhost=h1",
            ),
        ];
        for (name, pairs, expected) in cases {
            assert_eq!(line(name, pairs), format!("{PREFIX}{expected}"), "{name}");
        }
        let mut c3 = Cef::new(
            CefVersion::V0,
            &CefHeader {
                vendor: "Microsoft",
                product: "Defender\\ATP",
                version: "1.0",
                class_id: "ThreatManagement",
                name: "Path C:\\Temp",
                severity: 6,
            },
        );
        c3.ext("filePath", "C:\\Windows\\System32\\cmd.exe")
            .ext("suser", "CONTOSO\\alice");
        assert_eq!(
            c3.finish(),
            "CEF:0|Microsoft|Defender\\\\ATP|1.0|ThreatManagement|Path C:\\\\Temp|6|filePath=C:\\\\Windows\\\\System32\\\\cmd.exe suser=CONTOSO\\\\alice"
        );
    }

    #[test]
    fn limits_count_characters_and_never_split_one() {
        let long = "é".repeat(1100);
        let mut cef = Cef::new(
            CefVersion::V1,
            &CefHeader {
                vendor: "V",
                product: "P",
                version: "1",
                class_id: "id",
                name: &"n".repeat(600),
                severity: 42,
            },
        );
        cef.ext("msg", &long).ext("cs1", &long);
        assert_eq!(
            cef.stats(),
            CefStats {
                truncated: 2,
                rejected: 0
            }
        );
        let text = cef.finish();
        assert!(text.starts_with(&format!("CEF:1|V|P|1|id|{}|10|msg=", "n".repeat(512))));
        let msg = text
            .split(" cs1=")
            .next()
            .and_then(|head| head.split("msg=").nth(1));
        assert_eq!(msg.map(|m| m.chars().count()), Some(1023));
        assert!(
            text.ends_with(&format!("cs1={long}")),
            "1100 characters fit in cs1's 4000"
        );
    }

    /// A value written in pieces (a JSON field decoded as it is written) is held to the limit
    /// exactly, escapes and multi-byte characters included.
    #[test]
    fn a_value_written_in_pieces_is_cut_at_the_same_character() {
        struct Pieces(&'static [&'static str]);
        impl Value for Pieces {
            fn write_to(&self, out: &mut dyn Write) -> fmt::Result {
                self.0.iter().try_for_each(|piece| out.write_str(piece))
            }
        }
        let pieces: &'static [&'static str] = &["aé=", "\n", "ü", "bb==", "日本", "x=y"];
        let whole: String = pieces.concat();
        for limit in 0..whole.chars().count() + 2 {
            let mut expected = String::new();
            let mut left = limit;
            let (kept, cut) = cut_chars(&whole, &mut left);
            escape_into(&mut expected, kept, Part::Extension);
            let mut actual = String::new();
            let mut writer = Escaper::new(&mut actual, Part::Extension, limit);
            Pieces(pieces).write_to(&mut writer).expect("writes");
            let truncated = writer.truncated;
            assert_eq!((actual, truncated), (expected, cut), "limit {limit}");
        }
    }

    #[test]
    fn an_escape_counts_as_one_character_and_is_never_cut() {
        let mut cef = tiny(1);
        cef.ext("act", format!("{}==", "a".repeat(62)));
        assert!(
            cef.finish()
                .ends_with(&format!("act={}\\=", "a".repeat(62)))
        );
    }

    #[test]
    fn duplicates_are_found_beyond_the_keys_kept_inline() {
        let mut cef = tiny(1);
        for n in 0..40 {
            cef.ext(&format!("k{n}"), n);
        }
        for n in 0..40 {
            cef.ext(&format!("k{n}"), "again");
        }
        assert_eq!(cef.stats().rejected, 40);
        assert!(!cef.finish().contains("again"));
    }

    #[test]
    fn bad_keys_duplicates_and_empty_values_are_left_out() {
        let mut cef = tiny(3);
        cef.ext("bad key", "x")
            .ext("a=b", "x")
            .ext("", "x")
            .ext("dhost", "")
            .ext("dhost", "h1")
            .ext("dhost", "h2")
            .ext_opt("suser", None::<&str>)
            .ext("cnt", 5u64)
            .ext("msg", "nul\0 esc\u{1b} tab\t c1\u{9b} nbsp\u{a0}");
        assert_eq!(
            cef.stats(),
            CefStats {
                truncated: 0,
                rejected: 4
            }
        );
        assert_eq!(
            cef.finish(),
            "CEF:0|V|P|1|id|n|3|dhost=h1 cnt=5 msg=nul  esc  tab\t c1  nbsp\u{a0}"
        );
    }
}
