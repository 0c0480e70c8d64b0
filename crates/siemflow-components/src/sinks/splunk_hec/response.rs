//! What a HEC answer means for the request: the retry policy per HEC status code.
//!
//! | answer | policy |
//! |---|---|
//! | 200, code 0 | accepted (with an `ackId` when acknowledgement is on) |
//! | code 8, 9, 18 to 20, any 5xx, 429, no answer | retry the same request with backoff |
//! | code 1 to 4, 16 (token) | retry with backoff, reported as `unauthorized`: nothing is dropped for a configuration error, and the pipeline holds until the token works |
//! | code 5, 6, 7, 12, 13, 15 (data) | dead-letter the event `invalid-event-number` names and send the rest again; without a number, split the request until the bad event is alone |
//! | code 10, 11 (channel) | a new channel, then retry |
//! | 413 | split the request; a single event that is too large is dead-lettered |
//! | anything else | retry with backoff, reported as `rejected` |

use serde::Deserialize;

/// HEC's answer body.
#[derive(Debug, Default, Deserialize)]
struct Reply {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    code: Option<u16>,
    #[serde(default, rename = "ackId")]
    ack_id: Option<u64>,
    #[serde(default, rename = "invalid-event-number")]
    invalid_event_number: Option<usize>,
}

/// What to do after an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Taken; wait for this ack id when there is one.
    Accepted { ack_id: Option<u64> },
    /// Try the same request again later; `kind` labels the error metric.
    Retry { kind: &'static str, reason: String },
    /// An event is bad: dead-letter it (by its number in the request, when HEC says).
    BadEvent {
        number: Option<usize>,
        reason: String,
    },
    /// The body is too large for the server.
    TooLarge { reason: String },
    /// The channel was refused: use a new one.
    Channel { reason: String },
}

/// Reads an answer.
pub(crate) fn classify(http: u16, body: &[u8]) -> Outcome {
    let reply: Reply = serde_json::from_slice(body).unwrap_or_default();
    let reason = describe(http, &reply, body);
    match (http, reply.code) {
        (200..=299, Some(0) | None) => Outcome::Accepted {
            ack_id: reply.ack_id,
        },
        (_, Some(1..=4 | 16)) => Outcome::Retry {
            kind: "unauthorized",
            reason,
        },
        (_, Some(5 | 6 | 7 | 12 | 13 | 15)) => Outcome::BadEvent {
            number: reply.invalid_event_number,
            reason,
        },
        (_, Some(10 | 11)) => Outcome::Channel { reason },
        (413, _) => Outcome::TooLarge { reason },
        (_, Some(8 | 9 | 18..=20)) | (429 | 500..=599, _) => Outcome::Retry {
            kind: "server_busy",
            reason,
        },
        _ => Outcome::Retry {
            kind: "rejected",
            reason,
        },
    }
}

/// `HTTP 503, HEC code 9: Server is busy`, or the start of a body that is not HEC's.
fn describe(http: u16, reply: &Reply, body: &[u8]) -> String {
    match (&reply.code, &reply.text) {
        (Some(code), Some(text)) => format!("HTTP {http}, HEC code {code}: {text}"),
        _ => {
            let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
            format!("HTTP {http}: {}", text.trim())
        }
    }
}

/// The HEC `code` of an answer, if it has one.
pub(crate) fn code(body: &[u8]) -> Option<u16> {
    serde_json::from_slice::<Reply>(body).ok()?.code
}

/// Answers of `/services/collector/ack`: the ids now indexed.
pub(crate) fn indexed_acks(body: &[u8]) -> Result<Vec<u64>, String> {
    #[derive(Deserialize)]
    struct Acks {
        acks: std::collections::HashMap<String, bool>,
    }
    let acks: Acks = serde_json::from_slice(body).map_err(|error| {
        format!(
            "an ack answer that is not {{\"acks\":{{...}}}}: {error}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        )
    })?;
    Ok(acks
        .acks
        .into_iter()
        .filter(|(_, indexed)| *indexed)
        .filter_map(|(id, _)| id.parse().ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_hec_code_gets_its_policy() {
        assert_eq!(
            classify(200, br#"{"text":"Success","code":0,"ackId":7}"#),
            Outcome::Accepted { ack_id: Some(7) }
        );
        assert!(matches!(
            classify(503, br#"{"text":"Server is busy","code":9}"#),
            Outcome::Retry {
                kind: "server_busy",
                ..
            }
        ));
        assert!(matches!(
            classify(403, br#"{"text":"Invalid token","code":4}"#),
            Outcome::Retry {
                kind: "unauthorized",
                ..
            }
        ));
        assert_eq!(
            classify(
                400,
                br#"{"text":"Invalid data format","code":6,"invalid-event-number":3}"#
            ),
            Outcome::BadEvent {
                number: Some(3),
                reason: "HTTP 400, HEC code 6: Invalid data format".into()
            }
        );
        assert!(matches!(
            classify(400, br#"{"text":"Invalid data channel","code":11}"#),
            Outcome::Channel { .. }
        ));
        assert!(matches!(
            classify(413, b"too big"),
            Outcome::TooLarge { .. }
        ));
        assert!(matches!(
            classify(502, b"<html>Bad Gateway</html>"),
            Outcome::Retry {
                kind: "server_busy",
                ..
            }
        ));
        assert!(matches!(
            classify(404, b"nope"),
            Outcome::Retry {
                kind: "rejected",
                ..
            }
        ));
    }

    #[test]
    fn reads_the_indexed_ids_of_an_ack_answer() {
        let mut ids = indexed_acks(br#"{"acks":{"0":true,"1":false,"2":true}}"#).unwrap();
        ids.sort_unstable();
        assert_eq!(ids, [0, 2]);
        assert!(indexed_acks(b"{}").is_err());
    }
}
