//! Sizes written the human way (`64MiB`, `512 KiB`, `1GB`, or plain bytes) in pipeline files.

use serde::{Deserialize, Deserializer};

/// Deserializes a size in bytes; use with `#[serde(deserialize_with = ...)]`.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.trim()
        .parse::<bytesize::ByteSize>()
        .map(|size| size.as_u64())
        .map_err(|error| serde::de::Error::custom(format!("invalid size `{text}`: {error}")))
}

/// Like [`deserialize`], for an optional field (with `#[serde(default)]`).
pub fn deserialize_some<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<u64>, D::Error> {
    deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use crate::config::de::from_node;
    use crate::config::yaml::parse;

    #[derive(Debug, Deserialize)]
    struct Limits {
        #[serde(deserialize_with = "super::deserialize")]
        memory: u64,
    }

    #[test]
    fn reads_binary_and_decimal_units() {
        let read = |text: &str| from_node::<Limits>(&parse(&format!("memory: {text}")).unwrap());
        assert_eq!(read("64MiB").unwrap().memory, 64 << 20);
        assert_eq!(read("1 KiB").unwrap().memory, 1024);
        assert_eq!(read("1KB").unwrap().memory, 1000);
        assert_eq!(read("4096").unwrap().memory, 4096);
        assert!(
            read("lots")
                .unwrap_err()
                .message
                .contains("invalid size `lots`")
        );
    }
}
