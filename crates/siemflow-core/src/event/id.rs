//! Stable event ids.

use std::fmt;

use xxhash_rust::xxh3::Xxh3;

/// A 128-bit id that a source derives from where an event came from (file and byte offset, hub
/// partition and sequence number, alert id and update time), so that the same input read twice gets
/// the same id and a `dedupe` stage or the SIEM can drop the repeat.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(u128);

impl EventId {
    /// Derives an id from the parts that identify an event at its source.
    ///
    /// Each part is length-prefixed, so `["ab", "c"]` and `["a", "bc"]` differ.
    pub fn derive(parts: &[&[u8]]) -> Self {
        let mut hasher = Xxh3::new();
        for part in parts {
            hasher.update(&(part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        Self(hasher.digest128())
    }

    /// The id as a number.
    pub fn as_u128(self) -> u128 {
        self.0
    }
}

impl From<u128> for EventId {
    fn from(value: u128) -> Self {
        Self(value)
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_length_prefixed() {
        assert_ne!(
            EventId::derive(&[b"ab", b"c"]),
            EventId::derive(&[b"a", b"bc"])
        );
        assert_eq!(
            EventId::derive(&[b"ab", b"c"]),
            EventId::derive(&[b"ab", b"c"])
        );
    }

    #[test]
    fn displays_as_32_hex_digits() {
        assert_eq!(
            EventId::from(255).to_string(),
            "000000000000000000000000000000ff"
        );
    }
}
