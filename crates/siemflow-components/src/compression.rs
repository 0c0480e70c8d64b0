//! Request-body compression: the `compression:` option of every sink that sends requests.

use std::io::Write;

use serde::Deserialize;

/// `compression:`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// gzip, level 1: most of the gain for little CPU on JSON (the default).
    #[default]
    Gzip,
    /// Send bodies as they are.
    None,
}

impl Compression {
    /// Compresses `body`; returns it with the `Content-Encoding` to send, if any.
    pub fn compress(self, body: Vec<u8>) -> std::io::Result<(Vec<u8>, Option<&'static str>)> {
        match self {
            Self::None => Ok((body, None)),
            Self::Gzip => {
                let mut encoder = flate2::write::GzEncoder::new(
                    Vec::with_capacity(body.len() / 4),
                    flate2::Compression::fast(),
                );
                encoder.write_all(&body)?;
                Ok((encoder.finish()?, Some("gzip")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn gzip_round_trips() {
        let body = b"{\"event\":\"a\"}".repeat(100);
        let (compressed, encoding) = Compression::Gzip.compress(body.clone()).unwrap();
        assert_eq!(encoding, Some("gzip"));
        assert!(compressed.len() < body.len() / 4);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&compressed[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, body);
        assert_eq!(
            Compression::None.compress(body.clone()).unwrap(),
            (body, None)
        );
    }
}
