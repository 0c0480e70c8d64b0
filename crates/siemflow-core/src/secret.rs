//! Secrets: a string that never prints itself, and the process-wide list of values no output
//! may show.
//!
//! Every value a pipeline file takes from `${VAR}` or `${file:PATH}`, and every secret-typed
//! option ([`SecretString`]), is [`register`]ed when the file is read; every way out of the
//! process (the log writer, printed errors, `/health`) passes its text through [`redact`]. A
//! component that words an error with an option's value (`cannot connect to {address}`) can
//! therefore never leak a secret, whoever wrote the message.

use std::borrow::Cow;
use std::fmt;
use std::sync::RwLock;

use serde::{Deserialize, Deserializer};

/// What stands for a secret in output.
pub const REDACTED: &str = "<redacted>";

/// Values shorter than this are not redacted: a port number or a one-letter value would turn
/// every log line into noise, and is no secret.
const SHORTEST: usize = 4;

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Adds a value that no output may show.
pub fn register(value: &str) {
    let value = value.trim();
    if value.len() < SHORTEST {
        return;
    }
    let mut secrets = SECRETS
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !secrets.iter().any(|known| known == value) {
        secrets.push(value.to_string());
        // Longest first, so that a secret containing another is replaced whole.
        secrets.sort_by_key(|known| std::cmp::Reverse(known.len()));
    }
}

/// `text` with every registered value replaced by [`REDACTED`].
pub fn redact(text: &str) -> Cow<'_, str> {
    let secrets = SECRETS
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !secrets.iter().any(|secret| text.contains(secret.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut redacted = text.to_string();
    for secret in secrets.iter() {
        if redacted.contains(secret.as_str()) {
            redacted = redacted.replace(secret.as_str(), REDACTED);
        }
    }
    Cow::Owned(redacted)
}

/// A secret from a pipeline file (a client secret, a token, a connection string).
///
/// `Debug` and `Display` print `<redacted>`, so a secret cannot reach logs, errors, metrics or
/// `siemflow validate` output by accident; [`SecretString::expose`] is the one way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret (and registers it: no output shows it).
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        register(&value);
        Self(value)
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
        String::deserialize(deserializer).map(Self::new)
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
        assert_eq!(
            redact("connecting with hunter2 to host"),
            "connecting with <redacted> to host"
        );
        register("1");
        assert_eq!(redact("port 1"), "port 1", "too short to be a secret");
        register("hunter2-long");
        assert_eq!(redact("hunter2-long hunter2"), "<redacted> <redacted>");
    }
}

crate::string_option_schema!(SecretString);
