//! Values the encoders write: text, numbers, record fields, times.
//!
//! [`cef::Cef::ext`](crate::cef::Cef::ext) and [`leef::Leef::attr`](crate::leef::Leef::attr) take
//! any [`Value`]. Strings are written as they are, without going through `std::fmt` (which costs
//! more than the escaping itself on a hot path); anything else that implements `Display` can be
//! passed through [`shown`].

use std::borrow::Cow;
use std::fmt::{self, Write};

use crate::record::Field;

/// Something an encoder can write as text.
pub trait Value {
    /// Writes the value's text to `out`.
    fn write_to(&self, out: &mut dyn Write) -> fmt::Result;

    /// The whole text, when the value already is one (lets an encoder cut and escape in one go).
    fn as_text(&self) -> Option<&str> {
        None
    }
}

impl Value for str {
    fn write_to(&self, out: &mut dyn Write) -> fmt::Result {
        out.write_str(self)
    }

    fn as_text(&self) -> Option<&str> {
        Some(self)
    }
}

impl Value for String {
    fn write_to(&self, out: &mut dyn Write) -> fmt::Result {
        out.write_str(self)
    }

    fn as_text(&self) -> Option<&str> {
        Some(self)
    }
}

impl Value for Cow<'_, str> {
    fn write_to(&self, out: &mut dyn Write) -> fmt::Result {
        out.write_str(self)
    }

    fn as_text(&self) -> Option<&str> {
        Some(self)
    }
}

impl<T: Value + ?Sized> Value for &T {
    fn write_to(&self, out: &mut dyn Write) -> fmt::Result {
        (**self).write_to(out)
    }

    fn as_text(&self) -> Option<&str> {
        (**self).as_text()
    }
}

impl Value for Field<'_> {
    /// The field's [`text`](Field::text), decoded as it is written; nothing for `null`.
    fn write_to(&self, out: &mut dyn Write) -> fmt::Result {
        let raw = self.raw();
        match raw.as_bytes().first() {
            Some(b'"') => crate::record::write_unescaped(&raw[1..raw.len() - 1], out),
            Some(b'n') => Ok(()),
            _ => out.write_str(raw),
        }
    }

    fn as_text(&self) -> Option<&str> {
        let raw = self.raw();
        match raw.as_bytes().first() {
            Some(b'"') => {
                let quoted = &raw[1..raw.len() - 1];
                find_byte(quoted.as_bytes(), b'\\')
                    .is_none()
                    .then_some(quoted)
            }
            Some(b'n') => Some(""),
            _ => Some(raw),
        }
    }
}

macro_rules! display_values {
    ($($type:ty),*) => {$(
        impl Value for $type {
            fn write_to(&self, out: &mut dyn Write) -> fmt::Result {
                write!(out, "{self}")
            }
        }
    )*};
}

display_values!(
    u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64, bool, char
);

/// Any `Display` as a [`Value`]: `cef.ext("start", shown(time.java_date()))`.
pub fn shown<T: fmt::Display>(value: T) -> Shown<T> {
    Shown(value)
}

/// See [`shown`].
#[derive(Debug, Clone, Copy)]
pub struct Shown<T>(pub T);

impl<T: fmt::Display> Value for Shown<T> {
    fn write_to(&self, out: &mut dyn Write) -> fmt::Result {
        write!(out, "{}", self.0)
    }
}

/// A constant-time hash of a key from its length and its first and last three bytes, to find
/// duplicates and fields without comparing every string. Keys are identifiers, and a match is
/// always confirmed by comparing them.
pub(crate) fn fingerprint(key: &str) -> u64 {
    let bytes = key.as_bytes();
    let byte = |at: usize| u64::from(bytes.get(at).copied().unwrap_or(0));
    let end = bytes.len();
    let packed = (end as u64 & 0xffff)
        | byte(0) << 16
        | byte(1) << 24
        | byte(2) << 32
        | byte(end.wrapping_sub(3)) << 40
        | byte(end.wrapping_sub(2)) << 48
        | byte(end.wrapping_sub(1)) << 56;
    // Fibonacci hashing spreads the packed bits over the high bits, which pick a slot.
    packed.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// Cuts `text` to at most `chars_left` characters (never inside one), lowering the budget by
/// what is kept. Returns the kept part and whether something was cut.
pub(crate) fn cut_chars<'t>(text: &'t str, chars_left: &mut usize) -> (&'t str, bool) {
    if *chars_left == usize::MAX {
        return (text, false);
    }
    if text.len() <= *chars_left {
        *chars_left -= text.chars().count();
        return (text, false);
    }
    match text.char_indices().nth(*chars_left) {
        Some((end, _)) => {
            *chars_left = 0;
            (&text[..end], true)
        }
        None => {
            *chars_left -= text.chars().count();
            (text, false)
        }
    }
}

/// Bytes that start a control character: C0 (below 0x20), DEL, and 0xC2, the lead byte of the
/// C1 controls U+0080 to U+009F (and of other characters, which [`c1_control_at`] tells apart).
pub(crate) const fn control_bytes() -> [bool; 256] {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = true;
        byte += 1;
    }
    table[0x7f] = true;
    table[0xc2] = true;
    table
}

/// Whether a C1 control character (U+0080 to U+009F) starts at `at`.
pub(crate) fn c1_control_at(bytes: &[u8], at: usize) -> bool {
    bytes[at] == 0xc2
        && bytes
            .get(at + 1)
            .is_some_and(|next| (0x80..=0x9f).contains(next))
}

/// The keys an encoder has written, to refuse a duplicate: each key's fingerprint and where it
/// sits in the line, plus one bit per fingerprint's top six bits so that most new keys are told
/// apart without a scan.
#[derive(Debug, Clone)]
pub(crate) struct WrittenKeys {
    /// The first keys, without an allocation; the rest in `more`.
    first: [(u64, u32, u32); INLINE_KEYS],
    count: usize,
    more: Vec<(u64, u32, u32)>,
    seen: u64,
}

const INLINE_KEYS: usize = 32;

impl WrittenKeys {
    pub(crate) fn new() -> Self {
        Self {
            first: [(0, 0, 0); INLINE_KEYS],
            count: 0,
            more: Vec::new(),
            seen: 0,
        }
    }

    /// Whether `key` (with fingerprint `hash`) is already in `line`.
    pub(crate) fn contains(&self, line: &str, key: &str, hash: u64) -> bool {
        self.seen & (1 << (hash >> 58)) != 0
            && self.first[..self.count.min(INLINE_KEYS)]
                .iter()
                .chain(&self.more)
                .any(|&(known, start, end)| {
                    known == hash && same(&line[start as usize..end as usize], key)
                })
    }

    /// Records a key written at `start` in the line.
    pub(crate) fn insert(&mut self, hash: u64, start: usize, key: &str) {
        let entry = (hash, start as u32, (start + key.len()) as u32);
        match self.first.get_mut(self.count) {
            Some(slot) => *slot = entry,
            None => self.more.push(entry),
        }
        self.count += 1;
        self.seen |= 1 << (hash >> 58);
    }

    /// Whether no key was written yet.
    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }
}

pub(crate) const ONES: u64 = 0x0101_0101_0101_0101;
pub(crate) const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Reads eight bytes as a little-endian word.
pub(crate) fn word_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// High bit set in each byte of `word` that equals `byte` (and possibly in bytes above a match:
/// use only to ask whether there is one).
pub(crate) fn matches(word: u64, byte: u8) -> u64 {
    let x = word ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// The first position at or after `at` whose byte `special` marks, or the end. Runs of plain
/// bytes are skipped sixteen at a time (SWAR): words with no control byte (below 0x20, DEL,
/// 0xC2) and none of `extra` are passed over whole. `special` must mark all of those bytes.
pub(crate) fn next_special(
    bytes: &[u8],
    mut at: usize,
    special: &[bool; 256],
    extra: [u8; 2],
) -> usize {
    let suspicious = |word: u64| {
        (word.wrapping_sub(ONES * 0x20) & !word & HIGHS)
            | matches(word, 0x7f)
            | matches(word, 0xc2)
            | matches(word, extra[0])
            | matches(word, extra[1])
    };
    while at + 16 <= bytes.len() {
        if suspicious(word_at(bytes, at)) | suspicious(word_at(bytes, at + 8)) != 0 {
            break;
        }
        at += 16;
    }
    while at < bytes.len() && !special[bytes[at] as usize] {
        at += 1;
    }
    at
}

/// Whether two keys are equal, compared eight bytes at a time (a WebAssembly `memcmp` goes byte
/// by byte).
pub(crate) fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut at = 0;
    while at + 8 <= a.len() {
        if word_at(a, at) != word_at(b, at) {
            return false;
        }
        at += 8;
    }
    a[at..].iter().zip(&b[at..]).all(|(x, y)| x == y)
}

/// The position of the first `byte` in `bytes`, eight bytes at a time (core's `memchr` works a
/// machine word at a time, four bytes in WebAssembly).
pub(crate) fn find_byte(bytes: &[u8], byte: u8) -> Option<usize> {
    let mut at = 0;
    while at + 8 <= bytes.len() {
        if matches(word_at(bytes, at), byte) != 0 {
            break;
        }
        at += 8;
    }
    bytes[at..]
        .iter()
        .position(|&b| b == byte)
        .map(|offset| at + offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_special_finds_the_same_bytes_as_a_plain_scan() {
        let mut special = control_bytes();
        special[usize::from(b'=')] = true;
        let text =
            "plain text, then = and more plain text é and a \u{85} c1 and\ttab and = end".repeat(3);
        let bytes = text.as_bytes();
        let mut found = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            at = next_special(bytes, at, &special, [b'=', b'=']);
            if at < bytes.len() {
                found.push(at);
                at += 1;
            }
        }
        let expected: Vec<usize> = (0..bytes.len())
            .filter(|&i| special[bytes[i] as usize])
            .collect();
        assert_eq!(found, expected);
        assert_eq!(found.len(), 3 * 4, "=, 0xC2 of U+0085, TAB, =");
    }

    #[test]
    fn same_is_equality() {
        let words = [
            "",
            "a",
            "ab",
            "abcdefgh",
            "abcdefghi",
            "abcdefgh1",
            "abcdefgh2",
            "InitiatingProcessAccountName",
        ];
        for a in words {
            for b in words {
                assert_eq!(same(a, b), a == b, "{a} {b}");
            }
        }
    }

    #[test]
    fn find_byte_agrees_with_position() {
        let text = b"0123456789abcdef\\ghij\\";
        for start in 0..text.len() {
            for byte in [b'\\', b'j', b'0', b'z'] {
                let slice = &text[start..];
                assert_eq!(
                    find_byte(slice, byte),
                    slice.iter().position(|&b| b == byte)
                );
            }
        }
    }
}
