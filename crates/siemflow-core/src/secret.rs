//! A string that never prints itself.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// A secret from a pipeline file (a client secret, a token, a connection string).
///
/// `Debug` and `Display` print `<redacted>`, so a secret cannot reach logs, errors, metrics or
/// `siemflow validate` output by accident; [`SecretString::expose`] is the one way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_itself() {
        let secret = SecretString::new("hunter2");
        assert_eq!(format!("{secret} {secret:?}"), "<redacted> <redacted>");
        assert_eq!(secret.expose(), "hunter2");
    }
}
