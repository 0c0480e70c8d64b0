//! Field values as JSON for the JSON formats (Splunk HEC and OCSF), typed per the table.

use serde_json::value::RawValue;
use siemflow_plugin_sdk::record::Field as RecordValue;

use crate::catalog::Kind;
use crate::json_tree::Node;

/// The value as JSON: numbers exact at any size, stringified JSON parsed, times as RFC 3339
/// (`ocsf` false) or epoch milliseconds (`ocsf` true). `None` when the value is empty or does
/// not have the field's type (it then stays in the catch-all).
pub fn typed(kind: Kind, value: &RecordValue<'_>, ocsf: bool) -> Option<Node> {
    match kind {
        Kind::Plain | Kind::Hash(_) => plain(value),
        Kind::Integer => {
            let digits = value.number()?;
            let integer = digits.strip_prefix('-').unwrap_or(&digits);
            (!integer.is_empty() && integer.bytes().all(|b| b.is_ascii_digit()))
                .then(|| Node::Raw(digits.into_owned()))
        }
        Kind::Time => {
            let time = value.as_timestamp()?;
            Some(if ocsf {
                Node::Raw(time.unix_millis().to_string())
            } else {
                Node::string(&time.rfc3339_millis().to_string())
            })
        }
        Kind::Json => parsed(value),
        Kind::Lookup(names) if ocsf => {
            let text = value.text()?;
            names
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(&text))
                .map(|(_, id)| Node::Raw(id.to_string()))
        }
        Kind::Lookup(_) => plain(value),
        Kind::Techniques if ocsf => {
            let techniques = match value.json().ok()? {
                serde_json::Value::Array(items) => items,
                serde_json::Value::String(one) => vec![serde_json::Value::String(one)],
                _ => return None,
            };
            let attacks: Vec<Node> = techniques
                .iter()
                .filter_map(|item| item.as_str())
                .filter(|uid| !uid.is_empty())
                .map(|uid| Node::value(&serde_json::json!({ "technique": { "uid": uid } })))
                .collect();
            (!attacks.is_empty()).then_some(Node::Array(attacks))
        }
        Kind::Techniques => parsed(value),
        Kind::Text if ocsf => value.text().map(|text| Node::string(&text)),
        Kind::List if ocsf => match plain(value)? {
            Node::Raw(raw) if raw.starts_with('[') => Some(Node::Raw(raw)),
            node => Some(Node::Array(vec![node])),
        },
        Kind::Text | Kind::List => plain(value),
    }
}

/// The value as received; `None` for null and the empty string.
pub fn plain(value: &RecordValue<'_>) -> Option<Node> {
    match value.raw() {
        "null" | "\"\"" => None,
        raw => Some(Node::raw(raw)),
    }
}

/// A stringified JSON column (`"{\"Key\":1}"`) as the JSON it holds, exactly; an object or array
/// as it is; other strings as strings.
fn parsed(value: &RecordValue<'_>) -> Option<Node> {
    let Some(text) = value.as_str() else {
        return plain(value);
    };
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if text.starts_with(['{', '[']) && serde_json::from_str::<&RawValue>(text).is_ok() {
        return Some(Node::raw(text));
    }
    Some(Node::string(text))
}
