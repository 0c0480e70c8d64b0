//! What HEC accepts and how it answers: status codes, authentication, channels, and the checks
//! on the JSON event protocol (concatenated objects, `event` required and not blank, `fields`
//! flat, `index` allowed).

use base64::Engine;
use serde_json::{Value, json};

/// A HEC status: HTTP status, `code` and `text` as Splunk sends them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// HTTP status.
    pub http: u16,
    /// HEC `code`.
    pub code: u16,
    /// HEC `text`.
    pub text: &'static str,
}

/// HEC's status codes (0 to 18, the ones this server uses).
pub mod status {
    use super::Status;

    const fn s(http: u16, code: u16, text: &'static str) -> Status {
        Status { http, code, text }
    }

    /// 0.
    pub const SUCCESS: Status = s(200, 0, "Success");
    /// 1.
    pub const TOKEN_DISABLED: Status = s(403, 1, "Token disabled");
    /// 2.
    pub const TOKEN_REQUIRED: Status = s(401, 2, "Token is required");
    /// 3.
    pub const INVALID_AUTHORIZATION: Status = s(401, 3, "Invalid authorization");
    /// 4.
    pub const INVALID_TOKEN: Status = s(403, 4, "Invalid token");
    /// 5.
    pub const NO_DATA: Status = s(400, 5, "No data");
    /// 6.
    pub const INVALID_DATA_FORMAT: Status = s(400, 6, "Invalid data format");
    /// 7.
    pub const INCORRECT_INDEX: Status = s(400, 7, "Incorrect index");
    /// 8.
    pub const INTERNAL_ERROR: Status = s(500, 8, "Internal server error");
    /// 9.
    pub const SERVER_BUSY: Status = s(503, 9, "Server is busy");
    /// 10.
    pub const CHANNEL_MISSING: Status = s(400, 10, "Data channel is missing");
    /// 11.
    pub const INVALID_CHANNEL: Status = s(400, 11, "Invalid data channel");
    /// 12.
    pub const EVENT_REQUIRED: Status = s(400, 12, "Event field is required");
    /// 13.
    pub const EVENT_BLANK: Status = s(400, 13, "Event field cannot be blank");
    /// 14.
    pub const ACK_DISABLED: Status = s(400, 14, "ACK is disabled");
    /// 15.
    pub const INDEXED_FIELDS: Status = s(400, 15, "Error in handling indexed fields");
    /// 16.
    pub const QUERY_STRING_AUTH: Status = s(400, 16, "Query string authorization is not enabled");
    /// 17.
    pub const HEALTHY: Status = s(200, 17, "HEC is healthy");
}

impl Status {
    /// The response body.
    pub fn body(self) -> Value {
        json!({ "text": self.text, "code": self.code })
    }
}

/// A rejected request: its status and, for a bad event, which one (0-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// What to answer.
    pub status: Status,
    /// `invalid-event-number`.
    pub event_number: Option<usize>,
}

impl Rejection {
    fn at(status: Status, event_number: usize) -> Self {
        Self {
            status,
            event_number: Some(event_number),
        }
    }

    /// The response body.
    pub fn body(&self) -> Value {
        let mut body = self.status.body();
        if let Some(number) = self.event_number {
            body["invalid-event-number"] = json!(number);
        }
        body
    }
}

impl From<Status> for Rejection {
    fn from(status: Status) -> Self {
        Self {
            status,
            event_number: None,
        }
    }
}

/// Checks `Authorization: Splunk <token>` (or Basic with the token as password).
pub fn authenticate(
    authorization: Option<&str>,
    query_token: bool,
    token: &str,
) -> Result<(), Status> {
    let Some(header) = authorization else {
        return Err(if query_token {
            status::QUERY_STRING_AUTH
        } else {
            status::TOKEN_REQUIRED
        });
    };
    let given = if let Some(given) = header.strip_prefix("Splunk ") {
        given.trim().to_string()
    } else if let Some(encoded) = header.strip_prefix("Basic ") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| status::INVALID_AUTHORIZATION)?;
        let text = String::from_utf8(decoded).map_err(|_| status::INVALID_AUTHORIZATION)?;
        match text.split_once(':') {
            Some((_, password)) => password.to_string(),
            None => return Err(status::INVALID_AUTHORIZATION),
        }
    } else {
        return Err(status::INVALID_AUTHORIZATION);
    };
    if given == token {
        Ok(())
    } else {
        Err(status::INVALID_TOKEN)
    }
}

/// Whether a channel id is a GUID (`8-4-4-4-12` hexadecimal digits), as HEC requires.
pub fn is_guid(channel: &str) -> bool {
    let bytes = channel.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// Parses a JSON-protocol body: objects concatenated, whitespace allowed between them.
pub fn parse_events(
    body: &[u8],
    allowed_indexes: Option<&[String]>,
) -> Result<Vec<Value>, Rejection> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(status::NO_DATA.into());
    }
    let mut events = Vec::new();
    for (number, item) in serde_json::Deserializer::from_slice(body)
        .into_iter::<Value>()
        .enumerate()
    {
        let envelope = item.map_err(|_| Rejection::at(status::INVALID_DATA_FORMAT, number))?;
        check_envelope(&envelope, allowed_indexes)
            .map_err(|status| Rejection::at(status, number))?;
        events.push(envelope);
    }
    Ok(events)
}

fn check_envelope(envelope: &Value, allowed_indexes: Option<&[String]>) -> Result<(), Status> {
    let Some(object) = envelope.as_object() else {
        return Err(status::INVALID_DATA_FORMAT);
    };
    match object.get("event") {
        None => return Err(status::EVENT_REQUIRED),
        Some(Value::Null) => return Err(status::EVENT_BLANK),
        Some(Value::String(text)) if text.is_empty() => return Err(status::EVENT_BLANK),
        Some(Value::Object(fields)) if fields.is_empty() => return Err(status::EVENT_BLANK),
        Some(_) => {}
    }
    match object.get("time") {
        None | Some(Value::Number(_)) => {}
        Some(Value::String(text)) if text.parse::<f64>().is_ok() => {}
        Some(_) => return Err(status::INVALID_DATA_FORMAT),
    }
    for key in ["host", "source", "sourcetype", "index"] {
        match object.get(key) {
            None | Some(Value::String(_)) => {}
            Some(_) => return Err(status::INVALID_DATA_FORMAT),
        }
    }
    if let (Some(allowed), Some(Value::String(index))) = (allowed_indexes, object.get("index"))
        && !allowed.iter().any(|name| name == index)
    {
        return Err(status::INCORRECT_INDEX);
    }
    if let Some(fields) = object.get("fields") {
        let flat = fields.as_object().is_some_and(|fields| {
            fields.values().all(|value| match value {
                Value::String(_) | Value::Number(_) => true,
                Value::Array(items) => items
                    .iter()
                    .all(|item| matches!(item, Value::String(_) | Value::Number(_))),
                _ => false,
            })
        });
        if !flat {
            return Err(status::INDEXED_FIELDS);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_concatenated_objects_and_numbers_the_bad_one() {
        let events = parse_events(
            b"{\"event\":\"a\"}{\"event\":{\"b\":1}}\n {\"event\":\"c\"}",
            None,
        )
        .unwrap();
        assert_eq!(events.len(), 3);
        let blank = parse_events(b"{\"event\":\"a\"}{\"event\":\"\"}", None).unwrap_err();
        assert_eq!(blank, Rejection::at(status::EVENT_BLANK, 1));
        let broken = parse_events(b"{\"event\":\"a\"}{\"event\":", None).unwrap_err();
        assert_eq!(broken.status, status::INVALID_DATA_FORMAT);
        assert_eq!(broken.body()["invalid-event-number"], 1);
        assert_eq!(
            parse_events(b" \n", None).unwrap_err().status,
            status::NO_DATA
        );
        let missing = parse_events(b"{\"time\":1}", None).unwrap_err();
        assert_eq!(missing.status, status::EVENT_REQUIRED);
        let nested = parse_events(b"{\"event\":\"a\",\"fields\":{\"x\":{\"y\":1}}}", None);
        assert_eq!(nested.unwrap_err().status, status::INDEXED_FIELDS);
        let allowed = ["main".to_string()];
        let index = parse_events(b"{\"event\":\"a\",\"index\":\"other\"}", Some(&allowed));
        assert_eq!(index.unwrap_err().status, status::INCORRECT_INDEX);
    }

    #[test]
    fn authenticates_the_splunk_and_basic_forms() {
        assert_eq!(authenticate(Some("Splunk t0k"), false, "t0k"), Ok(()));
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("x:t0k")
        );
        assert_eq!(authenticate(Some(&basic), false, "t0k"), Ok(()));
        assert_eq!(
            authenticate(Some("t0k"), false, "t0k"),
            Err(status::INVALID_AUTHORIZATION)
        );
        assert_eq!(
            authenticate(Some("Splunk nope"), false, "t0k"),
            Err(status::INVALID_TOKEN)
        );
        assert_eq!(
            authenticate(None, false, "t0k"),
            Err(status::TOKEN_REQUIRED)
        );
    }

    #[test]
    fn channels_are_guids() {
        assert!(is_guid("0b5f1f4c-3c4e-4f6a-9d2b-7a1c2e3f4a5b"));
        assert!(!is_guid("not-a-guid"));
        assert!(!is_guid("0b5f1f4c-3c4e-4f6a-9d2b-7a1c2e3f4a5"));
    }
}
