//! Writing JSON text for plugins whose output is JSON (Splunk HEC, OCSF, ...).
//!
//! Strings are escaped exactly as `serde_json` escapes them, so that an output built here reads
//! the same as one serialized by `serde_json`; plain runs are passed over eight bytes at a time,
//! which matters in WebAssembly, where the byte-by-byte loop is most of the cost of a long value.

use std::fmt::Write;

use crate::value::{HIGHS, ONES, matches, word_at};

/// Writes `text` as a JSON string: `"`, `\` and the control characters escaped (`\n`, `\r`,
/// `\t`, `\b`, `\f`, else `\u00XX`), nothing else.
pub fn push_string(text: &str, out: &mut String) {
    out.reserve(text.len() + 2);
    out.push('"');
    let bytes = text.as_bytes();
    let (mut run, mut at) = (0, 0);
    loop {
        at = next_escaped(bytes, at);
        let Some(&byte) = bytes.get(at) else { break };
        // `at` is an ASCII byte's index, so a char boundary.
        out.push_str(&text[run..at]);
        match byte {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => {
                let _ = write!(out, "\\u{byte:04x}");
            }
        }
        at += 1;
        run = at;
    }
    out.push_str(&text[run..]);
    out.push('"');
}

/// Whether JSON needs `byte` escaped in a string.
fn escaped(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// The position of the first byte at or after `at` that JSON escapes, or the end. The lowest
/// flagged byte of a word is exact: a byte only borrows from the one above it when it is itself
/// flagged.
fn next_escaped(bytes: &[u8], mut at: usize) -> usize {
    while at + 8 <= bytes.len() {
        let word = word_at(bytes, at);
        let flagged = (word.wrapping_sub(ONES * 0x20) & !word & HIGHS)
            | matches(word, b'"')
            | matches(word, b'\\');
        if flagged != 0 {
            return at + (flagged.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    while at < bytes.len() && !escaped(bytes[at]) {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(text: &str) -> String {
        let mut out = String::new();
        push_string(text, &mut out);
        out
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let every_ascii: String = (0u8..0x80)
            .map(char::from)
            .chain("é€😀\u{7f}\u{85}".chars())
            .collect();
        for sample in [every_ascii.as_str(), "", "plain", "a\"b\\c\u{1}", "\u{1f}é"] {
            assert_eq!(
                written(sample),
                serde_json::Value::from(sample).to_string(),
                "{sample:?}"
            );
        }
    }

    #[test]
    fn every_escaped_byte_is_found_at_every_offset_of_a_word() {
        // Each special byte at each position of a 24-byte plain run, and two of them in one
        // word, so that the word-at-a-time scan is checked at every alignment.
        for special in (0u8..0x20).chain([b'"', b'\\']) {
            for position in 0..24 {
                let mut text = vec![b'a'; 24];
                text[position] = special;
                text[(position + 5) % 24] = special;
                let text = String::from_utf8(text).expect("ASCII");
                assert_eq!(
                    written(&text),
                    serde_json::Value::from(text.as_str()).to_string(),
                    "byte {special:#04x} at {position}"
                );
            }
        }
    }
}
