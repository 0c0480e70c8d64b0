//! Entry points for the fuzz targets in `fuzz/`: what the components read from other systems.
//!
//! Like [`siemflow_core::fuzzing`], each function takes arbitrary bytes, accepts whatever the
//! parser rejects, and panics only when a promise of the parser breaks; the stable test run
//! replays the committed corpora through them.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use fe2o3_amqp::types::messaging::message::DecodeIntoMessage;
use fe2o3_amqp::types::messaging::{Body, Message};
use fe2o3_amqp::types::primitives::Value as AmqpValue;
use reqwest::Url;
use serde::Deserialize;
use siemflow_core::codec::{EventTypes, decode};
use siemflow_core::compile;
use siemflow_core::component::{ComponentContext, ComponentError, Transform, TransformConfig};
use siemflow_core::config::interpolate::Environment;
use siemflow_core::config::load_str;

use crate::azure::storage::listing::EnumerationResults;
use crate::azure::token::{TokenAnswer, read_answer};
use crate::defender_api::client::{error_of, wait_named_in};
use crate::defender_api::endpoints::ListApi;
use crate::http_client::{MAX_RETRY_AFTER, parse_retry_after};
use crate::sinks::splunk_hec::response::{Outcome, classify, code, indexed_acks};
use crate::sinks::syslog::message::{Format, Framing, MessageFormat, Oversize, Written};
use crate::sources::defender::paging::Pager;
use crate::sources::defender_hunting::poll::read_rows;
use crate::sources::event_hubs::message::read;

/// Pipeline YAML: parsing, interpolation, typing every component's options and checking the
/// graph. `${NAME}` is set for names that start with a capital letter, `${file:PATH}` reads as
/// `secret` unless the path contains `missing`; nothing outside the process is read, and
/// `wasm` plugins are not loaded (their options are still checked).
pub fn pipeline_yaml(data: &[u8]) {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let mut registry = crate::registry();
    registry.transform::<WasmOptionsOnly>("wasm");
    let path = Path::new("fuzz.yaml");
    match load_str(path, source, &FuzzEnvironment) {
        Ok(file) => {
            if let Err(errors) = compile(file, &registry) {
                check_positions(&errors, source);
            }
        }
        Err(errors) => check_positions(&errors, source),
    }
}

/// Every error names a line of the file (or the line just past its end). Lines end as YAML
/// says: at LF, CR LF, or a lone CR.
fn check_positions(errors: &siemflow_core::config::ConfigErrors, source: &str) {
    let breaks = source.replace("\r\n", "\n").matches(['\n', '\r']).count();
    let lines = breaks + 2;
    for error in &errors.0 {
        assert!(
            error.mark.line >= 1 && error.mark.line as usize <= lines,
            "an error at line {} of a {lines}-line file: {}",
            error.mark.line,
            error.message
        );
    }
}

struct FuzzEnvironment;

impl Environment for FuzzEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        name.starts_with(|c: char| c.is_ascii_uppercase())
            .then(|| format!("value of {name}"))
    }

    fn read_file(&self, path: &Path) -> std::io::Result<String> {
        if path.to_string_lossy().contains("missing") {
            Err(std::io::ErrorKind::NotFound.into())
        } else {
            Ok("secret\n".into())
        }
    }
}

/// The `wasm` transform's options, checked without loading the plugin they name.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
struct WasmOptionsOnly(siemflow_wasm::WasmTransformConfig);

impl TransformConfig for WasmOptionsOnly {
    fn check(&self) -> Result<(), String> {
        self.0.check_options()
    }

    fn build(&self, _: &ComponentContext) -> Result<Box<dyn Transform>, ComponentError> {
        Err(ComponentError::Config("not built while fuzzing".into()))
    }
}

/// An Event Hubs message as it arrives in an AMQP transfer: decoding it, taking the annotations
/// and body the source uses, and splitting the body into records.
pub fn event_hubs_message(data: &[u8]) {
    // fe2o3-amqp reads a message in one transfer frame from a slice, one over several frames
    // from a stream: both readers must agree.
    let reader = serde_amqp::read::SliceReader::new(data);
    let decoded = <Body<AmqpValue>>::decode_message_from_reader(reader);
    let streamed =
        <Body<AmqpValue>>::decode_message_from_reader(serde_amqp::read::IoReader::new(data));
    assert_eq!(
        decoded.is_ok(),
        streamed.is_ok(),
        "read from a slice: {decoded:?}; from a stream: {streamed:?}"
    );
    let Ok(message) = decoded else {
        return;
    };
    let data_sections: Option<Vec<u8>> = match &message.body {
        Body::Data(sections) => Some(sections.iter().flat_map(|data| data.0.to_vec()).collect()),
        _ => None,
    };
    let received = read(message);
    if let Some(joined) = data_sections {
        assert_eq!(
            received.body.as_deref().ok(),
            Some(&joined[..]),
            "the body is not the data sections joined"
        );
    }
    if let Ok(body) = received.body {
        let _ = decode(&body, &mut EventTypes::default());
    }
}

/// A message built from the fuzzer's bytes and encoded, for seeding: the shape Event Hubs sends.
pub fn encode_event_hubs_message(body: &[u8], sequence_number: i64) -> Vec<u8> {
    use fe2o3_amqp::types::messaging::{Data, MessageAnnotations};
    use fe2o3_amqp::types::primitives::Binary;
    let mut annotations = MessageAnnotations::default();
    annotations.insert(
        "x-opt-sequence-number".into(),
        AmqpValue::Long(sequence_number),
    );
    annotations.insert(
        "x-opt-offset".into(),
        AmqpValue::String(sequence_number.to_string()),
    );
    let message = Message::builder()
        .message_annotations(annotations)
        .body(Body::<AmqpValue>::Data(
            vec![Data(Binary::from(body.to_vec()))].into(),
        ))
        .build();
    serde_amqp::to_vec(&fe2o3_amqp::types::messaging::message::__private::Serializable(message))
        .unwrap_or_default()
}

/// Splunk HEC answers: the first two bytes are the HTTP status, the rest the body, read as an
/// event answer, for its code, and as an ack answer.
pub fn hec_answers(data: &[u8]) {
    let [high, low, body @ ..] = data else {
        return;
    };
    let status = u16::from_be_bytes([*high, *low]) % 600;
    match classify(status, body) {
        Outcome::Accepted { .. } => assert!((200..300).contains(&status)),
        Outcome::Retry { reason, .. }
        | Outcome::BadEvent { reason, .. }
        | Outcome::TooLarge { reason }
        | Outcome::Channel { reason } => assert!(reason.starts_with("HTTP ")),
    }
    let _ = code(body);
    let _ = indexed_acks(body);
}

/// Answers of the Defender and Graph APIs and of Entra ID's token endpoint. The first byte
/// chooses what reads the rest: a list page of one of the four list APIs (split on `\n\n` into
/// the answers of consecutive requests of one walk), an advanced hunting answer, a token answer,
/// an error body, or a `Retry-After` value.
pub fn api_answers(data: &[u8]) {
    let [what, rest @ ..] = data else {
        return;
    };
    match what % 8 {
        choice @ 0..=3 => list_walk(choice, rest),
        4 => {
            let answer = Bytes::copy_from_slice(rest);
            if let Ok((rows, bytes, largest)) = read_rows(&answer, SystemTime::UNIX_EPOCH) {
                assert_eq!(bytes, rows.iter().map(|row| row.body.len()).sum::<usize>());
                assert!(rows.iter().all(|row| row.body.len() <= largest));
            }
        }
        5 => {
            let status = rest
                .first()
                .map_or(200, |b| if *b < 128 { 200 } else { 400 });
            let issued = Instant::now();
            match read_answer(status, rest.get(1..).unwrap_or_default(), issued) {
                TokenAnswer::Token(token) => {
                    assert!(token.remaining() <= Duration::from_secs(24 * 3600));
                }
                TokenAnswer::Unavailable(_) => {}
                TokenAnswer::Rejected { code, description } => {
                    assert!(!code.is_empty() && !description.contains('\n'));
                }
            }
        }
        6 => {
            let _ = error_of(rest);
            if let Some(wait) = wait_named_in(rest) {
                assert!(wait <= Duration::from_secs(3600));
            }
        }
        _ => {
            if let Some(delay) = parse_retry_after(&String::from_utf8_lossy(rest)) {
                assert!(delay <= MAX_RETRY_AFTER);
            }
        }
    }
}

fn list_walk(choice: u8, answers: &[u8]) {
    let api = match choice {
        0 => ListApi::GraphAlerts,
        1 => ListApi::MdeAlerts,
        2 => ListApi::GraphIncidents,
        _ => ListApi::XdrIncidents,
    };
    let Ok(collection) = Url::parse("https://api.example.test/v1.0/security/alerts_v2") else {
        return;
    };
    let since = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let until = since + Duration::from_secs(3600);
    let mut pager = Pager::new(api, collection.clone(), since, until, 4);
    let bytes = Bytes::copy_from_slice(answers);
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        let Some(url) = pager.request() else {
            return;
        };
        assert_eq!(
            url.origin(),
            collection.origin(),
            "a request off the API host"
        );
        let (answer, after) = match memchr::memmem::find(rest, b"\n\n") {
            Some(at) => (&rest[..at], &rest[at + 2..]),
            None => (rest, &rest[rest.len()..]),
        };
        if pager.read_page(bytes.slice_ref(answer), &url).is_err() {
            return;
        }
        rest = after;
    }
}

/// Azure Storage `List Containers` / `List Blobs` XML.
pub fn storage_listing(data: &[u8]) {
    if let Ok(listing) = EnumerationResults::parse(data) {
        assert!(listing.marker().is_none_or(|marker| !marker.is_empty()));
        if let Some(blobs) = &listing.blobs {
            for blob in &blobs.items {
                let _ = blob.properties.modified();
            }
        }
    }
}

/// Syslog messages: an event body written with a header and framing chosen by the first four
/// bytes, then read back by a strict reader of RFC 5424, RFC 3164 and RFC 6587. The body comes
/// back whole or cut (never inside a character), within the size limit, in exactly one frame.
pub fn syslog_messages(data: &[u8]) {
    let [choice, limit, priority, clock, body @ ..] = data else {
        return;
    };
    let format = if choice & 1 == 0 {
        Format::Rfc5424
    } else {
        Format::Rfc3164
    };
    let framing = match (choice >> 1) % 3 {
        0 => Framing::OctetCounting,
        1 => Framing::Newline,
        _ => Framing::Datagram,
    };
    let message = MessageFormat {
        format,
        framing,
        priority: priority % 192,
        hostname: "siemflow-host".into(),
        app_name: "siemflow".into(),
        structured_data: (choice & 8 != 0)
            .then(|| ("siemflow@32473".into(), "tenant-a\"]\\".into())),
        max_bytes: 16 + usize::from(*limit) * 8,
        oversize: if choice & 16 == 0 {
            Oversize::Truncate
        } else {
            Oversize::DeadLetter
        },
    };
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::from(*clock) * 40_000_000);
    let mut out = Vec::new();
    let Ok(written) = message.write(&mut out, time, body) else {
        assert!(out.is_empty(), "a refused message left bytes behind");
        return;
    };
    let framed = match framing {
        Framing::OctetCounting => {
            let space = out.iter().position(|b| *b == b' ').expect("a length");
            let length: usize = std::str::from_utf8(&out[..space])
                .ok()
                .and_then(|text| text.parse().ok())
                .expect("a decimal length");
            assert_eq!(length, out.len() - space - 1, "the octet count is wrong");
            &out[space + 1..]
        }
        Framing::Newline => {
            assert_eq!(out.last(), Some(&b'\n'));
            let line = &out[..out.len() - 1];
            assert!(
                !line.contains(&b'\n') && !line.contains(&b'\r'),
                "a split message"
            );
            line
        }
        Framing::Datagram => &out[..],
    };
    assert!(
        framed.len() <= message.max_bytes,
        "a message over the limit"
    );
    let head = format!("<{}>", message.priority);
    assert!(framed.starts_with(head.as_bytes()), "a wrong PRI");
    let sent = message_body(&message, framed);
    let expected: Vec<u8> = match framing {
        Framing::Newline => body
            .iter()
            .map(|&b| if b == b'\n' || b == b'\r' { b' ' } else { b })
            .collect(),
        _ => body.to_vec(),
    };
    match written {
        Written::Whole => assert_eq!(sent, &expected[..], "the body changed"),
        Written::Truncated => {
            assert!(
                expected.starts_with(sent),
                "a cut body that is not a prefix"
            );
            assert!(sent.len() < expected.len());
            let rest = &expected[sent.len()..];
            assert!(
                rest.first().is_none_or(|b| b & 0xC0 != 0x80) || std::str::from_utf8(body).is_err(),
                "a cut inside a character"
            );
            if format == Format::Rfc5424 {
                let marker = format!("truncated=\"{}\"", body.len());
                assert!(
                    memchr::memmem::find(framed, marker.as_bytes()).is_some(),
                    "a truncated message that does not say so"
                );
            }
        }
    }
}

/// The MSG part of a written message, after a header read field by field.
fn message_body<'a>(message: &MessageFormat, framed: &'a [u8]) -> &'a [u8] {
    let after_pri = &framed[framed.iter().position(|b| *b == b'>').expect("a PRI") + 1..];
    match message.format {
        Format::Rfc5424 => {
            // VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID, then SD and MSG.
            let mut rest = after_pri;
            for field in 0..6 {
                let space = rest
                    .iter()
                    .position(|b| *b == b' ')
                    .expect("a header field");
                let value = &rest[..space];
                match field {
                    0 => assert_eq!(value, b"1"),
                    2 => assert_eq!(value, message.hostname.as_bytes()),
                    3 => assert_eq!(value, message.app_name.as_bytes()),
                    4 | 5 => assert_eq!(value, b"-"),
                    _ => assert!(!value.is_empty()),
                }
                rest = &rest[space + 1..];
            }
            let sd_end = structured_data_end(rest);
            assert_eq!(
                rest.get(sd_end),
                Some(&b' '),
                "no space after the structured data"
            );
            &rest[sd_end + 1..]
        }
        Format::Rfc3164 => {
            // Mmm dd hh:mm:ss HOSTNAME MSG
            let stamp = &after_pri[..15];
            assert!(stamp[3] == b' ' && stamp[6] == b' ' && stamp[9] == b':');
            let rest = &after_pri[16..];
            let host = message.hostname.as_bytes();
            assert!(rest.starts_with(host) && rest.get(host.len()) == Some(&b' '));
            &rest[host.len() + 1..]
        }
    }
}

/// The end of RFC 5424 STRUCTURED-DATA: `-`, or elements whose values escape `"`, `\` and `]`.
fn structured_data_end(text: &[u8]) -> usize {
    if text.first() == Some(&b'-') {
        return 1;
    }
    let mut index = 0;
    while text.get(index) == Some(&b'[') {
        let mut quoted = false;
        index += 1;
        loop {
            let byte = *text.get(index).expect("an unclosed SD element");
            match byte {
                b'\\' if quoted => index += 1,
                b'"' => quoted = !quoted,
                b']' if !quoted => break,
                _ => {}
            }
            index += 1;
        }
        index += 1;
    }
    assert!(index > 0, "no structured data");
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_answer_with_an_endless_lifetime_is_cut_to_a_day() {
        api_answers(b"\x05\x00{\"access_token\":\"t\",\"expires_in\":18446744073709551615}");
    }

    #[test]
    fn a_throttled_answer_naming_a_wait_of_ages_waits_an_hour() {
        let body =
            br#"{"error":{"message":"You can run queries again in 4000000000000000:00:00."}}"#;
        assert_eq!(wait_named_in(body), Some(Duration::from_secs(3600)));
        let body =
            br#"{"error":{"message":"You can run queries again in 99999999999999999999:00:00."}}"#;
        assert_eq!(wait_named_in(body), None);
    }

    #[test]
    fn an_encoded_event_hubs_message_reads_back() {
        let encoded = encode_event_hubs_message(br#"{"records":[{"category":"x"}]}"#, 7);
        assert!(!encoded.is_empty());
        event_hubs_message(&encoded);
    }

    /// Decodes an Event Hubs message as the receiver does.
    fn decode_message(bytes: &[u8]) -> Result<(), serde_amqp::Error> {
        let reader = serde_amqp::read::SliceReader::new(bytes);
        <Body<AmqpValue>>::decode_message_from_reader(reader).map(|_| ())
    }

    #[test]
    fn a_data_section_longer_than_its_message_is_refused() {
        let mut message = encode_event_hubs_message(br#"{"records":[]}"#, 1);
        // The data section's `vbin32` length, made to claim almost 4 GiB.
        let body = b"{\"records\":[]}";
        let at = message
            .windows(body.len())
            .position(|window| window == body)
            .expect("the body is in the message");
        message[at - 4..at].copy_from_slice(&0xFFFF_0000u32.to_be_bytes());
        assert!(decode_message(&message).is_err());
        // The input the fuzzer found: before the patch (vendor/serde_amqp), 4 GiB were asked for.
        let found = include_bytes!(
            "../../../fuzz/corpus/event_hubs_message/regression-data-section-declares-4GiB"
        );
        assert!(decode_message(found).is_err());
    }

    #[test]
    fn an_amqp_map_with_an_odd_count_is_refused() {
        // A map32 holding one element, a key without its value: with overflow checks (as here),
        // the unpatched decoder panicked.
        let map = [0xd1, 0, 0, 0, 5, 0, 0, 0, 1, 0xa3, 1, b'k'];
        let value: Result<serde_amqp::Value, _> = serde_amqp::from_slice(&map);
        assert!(value.is_err(), "{value:?}");
        let found = include_bytes!(
            "../../../fuzz/corpus/event_hubs_message/regression-map-with-an-odd-count"
        );
        assert!(decode_message(found).is_err());
    }

    #[test]
    fn values_nested_ten_thousand_deep_are_refused_without_overflowing_the_stack() {
        // `list32` inside `list32` ...: 90 KB that the unpatched decoder recursed through until
        // the stack overflowed and the process aborted.
        let mut encoded = vec![0x40];
        for _ in 0..10_000 {
            let mut outer = vec![0xd0];
            outer.extend_from_slice(&(encoded.len() as u32 + 4).to_be_bytes());
            outer.extend_from_slice(&1u32.to_be_bytes());
            outer.extend_from_slice(&encoded);
            encoded = outer;
        }
        let value: Result<serde_amqp::Value, _> = serde_amqp::from_slice(&encoded);
        let error = value.expect_err("nested too deep");
        assert!(error.to_string().contains("nested deeper than"), "{error}");
        // Nested a few levels, as real messages are, it reads.
        let shallow = &encoded[encoded.len() - 9 * 5 - 1..];
        assert!(serde_amqp::from_slice::<serde_amqp::Value>(shallow).is_ok());
        let found = include_bytes!(
            "../../../fuzz/corpus/event_hubs_message/regression-values-nested-too-deep"
        );
        assert!(decode_message(found).is_err());
    }

    #[test]
    fn a_described_list_counting_past_u32_max_is_refused() {
        // A described list whose `list32` count is 0xFFFFFFFF, added to the one field already
        // counted: with overflow checks, the unpatched decoder panicked.
        let found = include_bytes!(
            "../../../fuzz/corpus/event_hubs_message/regression-described-list-count-overflow"
        );
        assert!(decode_message(found).is_err());
        event_hubs_message(found);
    }

    #[test]
    fn an_amqp_size_smaller_than_its_own_count_field_is_refused() {
        // A `map8` and a `list8` whose size byte (which counts the count byte) is 0: with
        // overflow checks, the unpatched decoder panicked.
        for encoded in [[0xc1, 0, 0], [0xc0, 0, 0]] {
            let value: Result<serde_amqp::Value, _> = serde_amqp::from_slice(&encoded);
            assert!(value.is_err(), "{encoded:?}: {value:?}");
        }
    }

    #[test]
    fn syslog_messages_read_back_in_every_form() {
        for choice in 0..32u8 {
            syslog_messages(&[choice, 2, 13, 40, b'a', 0xC3, 0xA9, b'\\', b'\n', b'z']);
            syslog_messages(&[choice, 255, 13, 40, b'x']);
        }
    }
}
