//! The HTTP client of every component that sends requests (the `splunk_hec` and `http` sinks):
//! one place for endpoint checks, TLS from the shared `tls:` options, and timeouts.
//!
//! TLS is rustls with the same configuration as the syslog sink: verification on by default,
//! system roots or `ca_file`, an optional client certificate. The name checked is the URL's host.

use std::time::{Duration, SystemTime};

use reqwest::Url;

use crate::tls::TlsOptions;

/// Checks that `endpoint` is an `http://` or `https://` URL and returns it parsed.
pub fn parse_endpoint(endpoint: &str) -> Result<Url, String> {
    let url = Url::parse(endpoint)
        .map_err(|error| format!("`endpoint` `{endpoint}` is not a URL: {error}"))?;
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(url),
        "http" | "https" => Err(format!("`endpoint` `{endpoint}` has no host")),
        scheme => Err(format!(
            "`endpoint` must be an http:// or https:// URL, not {scheme}://"
        )),
    }
}

/// Checks `tls:` options for an HTTP endpoint, without reading files.
pub fn check_tls(url: &Url, tls: Option<&TlsOptions>) -> Result<(), String> {
    let Some(tls) = tls else { return Ok(()) };
    if url.scheme() != "https" {
        return Err("`tls` options need an https:// endpoint".into());
    }
    if tls.server_name.is_some() {
        return Err(
            "`tls.server_name` is not used over HTTP: the name is the endpoint's host".into(),
        );
    }
    tls.check()
}

/// Builds a client for `url`: TLS from `tls` (or the defaults) for https, the given timeouts.
pub fn client(
    url: &Url,
    tls: Option<&TlsOptions>,
    connect_timeout: Duration,
    request_timeout: Duration,
) -> Result<reqwest::Client, String> {
    check_tls(url, tls)?;
    if url.scheme() == "https" {
        client_with(
            &tls.cloned().unwrap_or_default(),
            connect_timeout,
            request_timeout,
        )
    } else {
        build(TlsOptions::untrusting()?, connect_timeout, request_timeout)
    }
}

/// Builds a client for several hosts (a login host and an API host, say): `tls` applies to
/// every https:// URL it is used with.
pub fn client_with(
    tls: &TlsOptions,
    connect_timeout: Duration,
    request_timeout: Duration,
) -> Result<reqwest::Client, String> {
    tls.check()?;
    build(tls.config()?, connect_timeout, request_timeout)
}

fn build(
    config: rustls::ClientConfig,
    connect_timeout: Duration,
    request_timeout: Duration,
) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .connect_timeout(connect_timeout)
        .timeout(request_timeout)
        .tcp_nodelay(true)
        .build()
        .map_err(|error| format!("cannot set up an HTTP client: {error}"))
}

/// A request error with its chain of causes (reqwest keeps the useful part, such as "connection
/// refused", in `source()`), without the request's URL: some endpoints carry a token in it, and
/// callers name the server themselves. A certificate problem is worded with its fix
/// ([`crate::tls::explain`]).
pub fn describe_error(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        if let Some(words) = crate::tls::explain(cause) {
            text.push_str(&words);
            break;
        }
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The longest `Retry-After` honoured; a longer one is cut to this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// `Retry-After` as delay-seconds or an HTTP date, at most [`MAX_RETRY_AFTER`].
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    // Seconds, which Graph writes with a fraction (`Retry-After: 2.128`), or an HTTP date.
    let delay = match value.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds >= 0.0 => {
            Duration::from_secs_f64(seconds.min(MAX_RETRY_AFTER.as_secs_f64()))
        }
        Ok(_) => return None,
        Err(_) => httpdate::parse_http_date(value)
            .ok()?
            .duration_since(SystemTime::now())
            .unwrap_or_default(),
    };
    Some(delay.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_must_be_http_urls_with_a_host() {
        assert!(parse_endpoint("https://splunk.example.com:8088").is_ok());
        assert!(
            parse_endpoint("ftp://x")
                .unwrap_err()
                .contains("not ftp://")
        );
        assert!(parse_endpoint("splunk:8088").is_err());
        let plain = parse_endpoint("http://127.0.0.1:8088").unwrap();
        let tls = TlsOptions::default();
        assert!(check_tls(&plain, Some(&tls)).unwrap_err().contains("https"));
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date_and_is_capped() {
        assert_eq!(parse_retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("86400"), Some(MAX_RETRY_AFTER));
        let soon = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        let delay = parse_retry_after(&soon).unwrap();
        assert!(delay <= Duration::from_secs(30) && delay >= Duration::from_secs(28));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(
            parse_retry_after("2.128"),
            Some(Duration::from_millis(2128)),
            "Graph's fractional seconds"
        );
        assert_eq!(parse_retry_after("-1"), None);
    }
}
