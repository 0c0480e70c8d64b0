//! Network option values read into their types when the pipeline file is, so that a mistake is
//! reported at the value, with the form expected: an HTTP endpoint (`endpoint:` of the
//! `splunk_hec` and `http` sinks), a `host:port` to connect to (`address:` of the `syslog` sink)
//! and an address to listen on (`address:` of the `http_server` source).

use std::fmt;
use std::net::SocketAddr;

use reqwest::Url;
use serde::{Deserialize, Deserializer};

/// An `http://` or `https://` URL with a host, kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpEndpoint {
    text: String,
    url: Url,
}

impl HttpEndpoint {
    /// Reads `https://splunk.example.com:8088`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = Url::parse(text).map_err(|error| {
            format!("`{text}` is not a URL ({error}): an http:// or https:// URL is expected")
        })?;
        match url.scheme() {
            "http" | "https" if url.host().is_some() => Ok(Self {
                text: text.to_string(),
                url,
            }),
            "http" | "https" => Err(format!("`{text}` has no host")),
            // `splunk:8088` reads as the scheme `splunk`.
            _ if !text.contains("://") => Err(format!(
                "`{text}` is not a URL: an http:// or https:// URL is expected, e.g. `https://{text}`"
            )),
            scheme => Err(format!(
                "an http:// or https:// URL is expected, not {scheme}://"
            )),
        }
    }

    /// The URL as written, without a trailing `/`: the base that API paths are appended to.
    pub fn base(&self) -> &str {
        self.text.trim_end_matches('/')
    }

    /// The parsed URL.
    pub fn url(&self) -> &Url {
        &self.url
    }
}

impl fmt::Display for HttpEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.base())
    }
}

impl<'de> Deserialize<'de> for HttpEndpoint {
    /// For the `endpoint` options, which the message names.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(|error| serde::de::Error::custom(format!("`endpoint`: {error}")))
    }
}

/// A `host:port` to connect to (a name or an address; IPv6 in brackets), resolved when
/// connecting so that a receiver that moves is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    text: String,
    host_end: usize,
}

impl HostPort {
    /// Reads `siem.example.com:514` or `[::1]:514`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let wrong = || {
            format!(
                "`{text}` is not `host:port` (e.g. `siem.example.com:514`, `10.0.0.5:6514` or `[::1]:514`)"
            )
        };
        let (host, port) = text.rsplit_once(':').ok_or_else(wrong)?;
        let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
        let valid_host = match bare {
            Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
            None => !host.is_empty() && !host.contains([':', '/', ' ', '[', ']']),
        };
        if !valid_host || port.parse::<u16>().is_err() {
            return Err(wrong());
        }
        Ok(Self {
            text: text.to_string(),
            host_end: host.len(),
        })
    }

    /// `host:port` as written, for connecting.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The host, without IPv6 brackets: the name a TLS certificate is checked against.
    pub fn host(&self) -> &str {
        self.text[..self.host_end]
            .trim_start_matches('[')
            .trim_end_matches(']')
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for HostPort {
    /// For the `address` options, which the message names.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(|error| serde::de::Error::custom(format!("`address`: {error}")))
    }
}

/// An address to listen on, `IP:PORT`, read with a message that says so (for the `address`
/// option of a listening source).
pub fn listen_address<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SocketAddr, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse().map_err(|_| {
        serde::de::Error::custom(format!(
            "`address`: `{text}` is not an address to listen on: `IP:PORT` is expected, e.g. `0.0.0.0:8080` or `[::]:8080`"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::{HostPort, HttpEndpoint};

    #[test]
    fn endpoints_are_http_urls_with_a_host() {
        let endpoint = HttpEndpoint::parse("https://splunk.example.com:8088/").unwrap();
        assert_eq!(endpoint.base(), "https://splunk.example.com:8088");
        assert_eq!(endpoint.url().port(), Some(8088));
        for (text, says) in [
            ("splunk:8088", "e.g. `https://splunk:8088`"),
            ("ftp://splunk", "not ftp://"),
            ("https//splunk", "is not a URL"),
            ("http://", "is not a URL"),
        ] {
            let error = HttpEndpoint::parse(text).unwrap_err();
            assert!(error.contains(says), "{text}: {error}");
        }
    }

    #[test]
    fn host_port_takes_names_addresses_and_bracketed_ipv6() {
        for (text, host) in [
            ("siem.example.com:514", "siem.example.com"),
            ("10.0.0.5:6514", "10.0.0.5"),
            ("[::1]:514", "::1"),
        ] {
            let address = HostPort::parse(text).unwrap();
            assert_eq!((address.as_str(), address.host()), (text, host));
        }
        for text in [
            "siem",
            ":514",
            "siem:",
            "siem:65536",
            "::1:514",
            "[zz]:514",
            "a b:1",
        ] {
            let error = HostPort::parse(text).unwrap_err();
            assert!(error.contains("is not `host:port`"), "{text}: {error}");
        }
    }
}

siemflow_core::string_option_schema!(HttpEndpoint);

siemflow_core::string_option_schema!(HostPort);
