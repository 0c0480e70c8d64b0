//! What an HTTP answer means for the events of a request.
//!
//! | status | meaning | what the sink does |
//! |---|---|---|
//! | 2xx | taken | delivered |
//! | 408, 429, 5xx, no answer | try later | send again after backoff, at least `Retry-After` |
//! | 401, 403, 404, 405, 407 | the sink is misconfigured or not allowed | hold the events and send again after backoff |
//! | 413 | too large | split the request in two; one event alone is dead-lettered |
//! | other 4xx | bad data | split to find the bad events; one event alone is dead-lettered |
//! | 1xx, 3xx | unexpected | send again after backoff |

use std::time::Duration;

use crate::http_client::parse_retry_after;

/// What to do with a request's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server took them.
    Delivered,
    /// Send them again after a delay of at least `after`.
    Retry {
        /// The error type for metrics.
        kind: &'static str,
        /// For the log.
        reason: String,
        /// The server's `Retry-After`.
        after: Option<Duration>,
    },
    /// The server refused some event in them (`oversize` for 413).
    Refused {
        /// Whether it was the size (413).
        too_large: bool,
        /// For the dead letter.
        reason: String,
    },
}

/// Classifies an answer.
pub fn classify(status: u16, retry_after: Option<&str>, body: &[u8]) -> Outcome {
    let reason = || describe(status, body);
    let retry = |kind| Outcome::Retry {
        kind,
        reason: reason(),
        after: retry_after.and_then(parse_retry_after),
    };
    match status {
        200..=299 => Outcome::Delivered,
        408 => retry("timeout"),
        429 => retry("throttled"),
        401 | 403 | 407 => retry("unauthorized"),
        404 | 405 => retry("misdirected"),
        413 => Outcome::Refused {
            too_large: true,
            reason: reason(),
        },
        400..=499 => Outcome::Refused {
            too_large: false,
            reason: reason(),
        },
        500..=599 => retry("server_error"),
        _ => retry("unexpected_status"),
    }
}

/// `HTTP 503: <start of the body>`.
fn describe(status: u16, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    let cut: String = text.chars().take(200).collect();
    match (cut.is_empty(), cut.len() < text.len()) {
        (true, _) => format!("HTTP {status}"),
        (false, false) => format!("HTTP {status}: {cut}"),
        (false, true) => format!("HTTP {status}: {cut}..."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_what_the_table_says() {
        assert_eq!(classify(204, None, b""), Outcome::Delivered);
        assert!(matches!(
            classify(503, Some("7"), b"busy"),
            Outcome::Retry { kind: "server_error", after: Some(after), ref reason }
                if after == Duration::from_secs(7) && reason == "HTTP 503: busy"
        ));
        assert!(matches!(
            classify(429, None, b""),
            Outcome::Retry {
                kind: "throttled",
                after: None,
                ..
            }
        ));
        assert!(matches!(
            classify(401, None, b""),
            Outcome::Retry {
                kind: "unauthorized",
                ..
            }
        ));
        assert!(matches!(
            classify(413, None, b""),
            Outcome::Refused {
                too_large: true,
                ..
            }
        ));
        assert!(matches!(
            classify(422, None, b"field x"),
            Outcome::Refused { too_large: false, ref reason } if reason == "HTTP 422: field x"
        ));
        let long = "y".repeat(500);
        let Outcome::Refused { reason, .. } = classify(400, None, long.as_bytes()) else {
            panic!("400 is refused");
        };
        assert!(reason.ends_with("...") && reason.len() < 220, "{reason}");
    }
}
