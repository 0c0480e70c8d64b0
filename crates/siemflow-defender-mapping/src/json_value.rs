//! Field values as JSON for the JSON formats (Splunk HEC and OCSF), typed per the table.

use siemflow_plugin_sdk::record::Field as RecordValue;

use crate::catalog::Kind;
use crate::json_tree::{Node, trimmed};

/// Whether `text` is an integer as JSON writes one (`-?(0|[1-9][0-9]*)`): a string such as
/// `0764` is not, and written bare it would make the whole event invalid JSON.
fn is_json_integer(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    match digits.as_bytes() {
        [] => false,
        [b'0'] => true,
        [b'0', ..] => false,
        bytes => bytes.iter().all(u8::is_ascii_digit),
    }
}

/// The value as JSON: numbers exact at any size, stringified JSON parsed, times as RFC 3339
/// (`ocsf` false) or epoch milliseconds (`ocsf` true). `None` when the value is empty or does
/// not have the field's type (it then stays in the catch-all).
pub fn typed<'a>(kind: Kind, value: &RecordValue<'a>, ocsf: bool) -> Option<Node<'a>> {
    match kind {
        Kind::Plain | Kind::Hash(_) => plain(value),
        Kind::Integer => {
            let digits = value.number()?;
            is_json_integer(&digits).then_some(Node::Raw(digits))
        }
        Kind::Time => {
            let time = value.as_timestamp()?;
            Some(if ocsf {
                Node::Integer(time.unix_millis())
            } else {
                Node::string(time.rfc3339_millis().to_string())
            })
        }
        Kind::Json => parsed(value),
        Kind::Lookup(names) if ocsf => {
            let text = value.text()?;
            names
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(&text))
                .map(|(_, id)| Node::Integer(*id))
        }
        Kind::Lookup(_) => plain(value),
        Kind::Techniques if ocsf => {
            let techniques = match value.json().ok()? {
                serde_json::Value::Array(items) => items,
                serde_json::Value::String(one) => vec![serde_json::Value::String(one)],
                _ => return None,
            };
            let attacks: Vec<Node<'a>> = techniques
                .iter()
                .filter_map(|item| item.as_str())
                .filter(|uid| !uid.is_empty())
                .map(|uid| Node::value(&serde_json::json!({ "technique": { "uid": uid } })))
                .collect();
            (!attacks.is_empty()).then_some(Node::Array(attacks))
        }
        Kind::Techniques => parsed(value),
        Kind::Text if ocsf => value.text().map(Node::string),
        Kind::List if ocsf => match plain(value)? {
            Node::Raw(raw) if raw.starts_with('[') => Some(Node::Raw(raw)),
            node => Some(Node::Array(vec![node])),
        },
        Kind::Email(list) if ocsf => {
            let addresses: Vec<String> = if value.raw().starts_with('[') {
                serde_json::from_str::<Vec<String>>(value.raw()).ok()?
            } else {
                vec![value.text()?.into_owned()]
            };
            let addresses: Vec<String> = addresses
                .iter()
                .map(|address| ocsf_email(address))
                .collect::<Option<_>>()?;
            if addresses.is_empty() {
                return None;
            }
            Some(if list {
                Node::Array(
                    addresses
                        .iter()
                        .map(|address| Node::string(address.clone()))
                        .collect(),
                )
            } else {
                Node::string(addresses.first()?.clone())
            })
        }
        Kind::Ip if ocsf => {
            let text = value.text()?;
            let address = text.trim();
            address
                .parse::<std::net::IpAddr>()
                .is_ok()
                .then(|| Node::string(address.to_string()))
        }
        Kind::Text | Kind::List | Kind::Email(_) | Kind::Ip => plain(value),
    }
}

/// An address as OCSF's `email_t` can hold it: as it is when it fits; with a non-ASCII local
/// part (an internationalized address) percent-encoded byte by byte (`%` itself too, so it
/// decodes back exactly); `None` when the domain does not fit (it stays in `unmapped`).
pub fn ocsf_email(address: &str) -> Option<String> {
    if is_ocsf_email(address) && !address.contains('%') {
        return Some(address.to_string());
    }
    let (local, domain) = address.rsplit_once('@')?;
    let mut encoded = String::with_capacity(address.len() * 2);
    for byte in local.bytes() {
        if byte != b'%' && (byte.is_ascii_alphanumeric() || b"!#$&'*+,-./=?^_`{|}~".contains(&byte))
        {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded.push('@');
    encoded.push_str(domain);
    is_ocsf_email(&encoded).then_some(encoded)
}

/// Whether an address fits OCSF's `email_t`:
/// `^[a-zA-Z0-9!#$%&'*+-/=?^_`{|}~.]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$` (ASCII only).
pub fn is_ocsf_email(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+,-./=?^_`{|}~".contains(&b));
    let Some((label, rest)) = domain.split_once('.') else {
        return false;
    };
    let domain_ok = !label.is_empty()
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    local_ok && domain_ok
}

/// The value as received; `None` for null and the empty string.
pub fn plain<'a>(value: &RecordValue<'a>) -> Option<Node<'a>> {
    match value.raw() {
        "null" | "\"\"" => None,
        raw => Some(Node::raw(raw)),
    }
}

/// A stringified JSON column (`"{\"Key\":1}"`) as the JSON it holds, exactly; an object or array
/// as it is; other strings as strings.
fn parsed<'a>(value: &RecordValue<'a>) -> Option<Node<'a>> {
    let Some(text) = value.as_str() else {
        return plain(value);
    };
    let text = trimmed(text);
    if text.is_empty() {
        return None;
    }
    if text.starts_with(['{', '[']) && serde_json::from_str::<Readable>(&text).is_ok() {
        return Some(Node::raw(text));
    }
    Some(Node::string(text))
}

/// A JSON value a reader that converts numbers takes: `RawValue` checks only the syntax, and a
/// stringified column holding `1e3551617` would have made the whole event unreadable to
/// serde_json and to JSON readers that refuse such numbers (a fuzzing finding). Such a column
/// stays a string, as written.
struct Readable;

impl<'de> serde::Deserialize<'de> for Readable {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Readable)
    }
}

impl<'de> serde::de::Visitor<'de> for Readable {
    type Value = Readable;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Readable, E> {
        Ok(Readable)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Readable, E> {
        Ok(Readable)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Readable, E> {
        Ok(Readable)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Readable, E> {
        Ok(Readable)
    }

    fn visit_str<E>(self, _: &str) -> Result<Readable, E> {
        Ok(Readable)
    }

    fn visit_unit<E>(self) -> Result<Readable, E> {
        Ok(Readable)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Readable, A::Error> {
        while seq.next_element::<Readable>()?.is_some() {}
        Ok(Readable)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Readable, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, Readable>()?
            .is_some()
        {}
        Ok(Readable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stringified_json_is_embedded_only_when_its_numbers_can_be_read() {
        let embedded = |column: &str| {
            let record = serde_json::json!({ "AdditionalFields": column }).to_string();
            let event = siemflow_plugin_sdk::Event::from_json(record.into_bytes(), None);
            let record = event.record().expect("a record");
            parsed(&record.value("AdditionalFields").expect("the column")).map(Node::into_owned)
        };
        let readable = r#"{"Big":1e3}"#;
        assert_eq!(embedded(readable), Some(Node::raw(readable)));
        let unreadable = r#"{"Big":1844674407370952e3551617}"#;
        assert_eq!(embedded(unreadable), Some(Node::string(unreadable)));
    }

    #[test]
    fn integers_are_written_bare_only_when_json_would_read_them() {
        for (text, integer) in [
            ("764", true),
            ("0", true),
            ("-12", true),
            ("0764", false),
            ("-0764", false),
            ("1e3", false),
            ("-", false),
            ("", false),
        ] {
            assert_eq!(is_json_integer(text), integer, "{text}");
        }
        let record =
            siemflow_plugin_sdk::record::Record::parse(br#"{"Pid":"0764","Id":"764"}"#).unwrap();
        let typed_text = |name| {
            typed(Kind::Integer, &record.get(name).unwrap(), true).map(|node| match node {
                Node::Raw(text) => text.into_owned(),
                other => panic!("{other:?}"),
            })
        };
        assert_eq!(typed_text("Pid"), None, "stays in the catch-all as written");
        assert_eq!(typed_text("Id").as_deref(), Some("764"));
    }

    #[test]
    fn ocsf_takes_ascii_addresses_and_non_ascii_local_parts_percent_encoded() {
        assert!(is_ocsf_email("j.dupont@contoso.example"));
        assert!(is_ocsf_email("first+tag@mail.contoso.example"));
        assert!(!is_ocsf_email("équipe-finance@contoso.example"));
        assert!(!is_ocsf_email("no-at-sign"));
        assert!(!is_ocsf_email("user@localhost"));
        assert_eq!(
            ocsf_email("équipe-finance@contoso.example").as_deref(),
            Some("%C3%A9quipe-finance@contoso.example")
        );
        assert_eq!(
            ocsf_email("a%b@contoso.example").as_deref(),
            Some("a%25b@contoso.example")
        );
        assert_eq!(
            ocsf_email("j@contoso.example").as_deref(),
            Some("j@contoso.example")
        );
        assert_eq!(
            ocsf_email("j@bücher.example"),
            None,
            "a domain must be ASCII"
        );
    }
}
