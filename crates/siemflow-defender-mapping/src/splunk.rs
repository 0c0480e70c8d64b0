//! Splunk HEC (`builtin:defender-splunk`): one JSON event per record, with CIM field names, for
//! the `splunk_hec` sink (`api: event`, `timestamp_field: time`).
//!
//! Each output is labelled with its table's sourcetype (`ms:defender:advancedhunting:
//! deviceprocessevents`, `ms:defender:alert`), which the sink sends as the event's `sourcetype`.
//! The event holds `time` (RFC 3339), `vendor`, `vendor_product`, the table's fields under their
//! CIM names (Alerts, Endpoint, Network_Traffic, Authentication, Email), `signature` and
//! `signature_id` (the alert's own, else the event type's name and id), `category`, `severity`
//! (a CIM severity word), `action` where the event type implies one, `type: alert` for the
//! Alerts model, `unmapped` (an object with the other columns) and the static fields.

use serde::Deserialize;
use serde_json::Value;
use siemflow_plugin_sdk::Output;
use siemflow_plugin_sdk::timestamp::Timestamp;

use crate::catalog::cim::{self, CimDefault};
use crate::json_tree::{Node, Object};
use crate::json_value::typed;
use crate::options::{self, Common, Severities};
use crate::plugin::{Format, Rendered};
use crate::subject::Subject;

/// The Splunk plugin's own options (none yet: a misspelt common option is an error).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SplunkOptions {}

/// The Splunk HEC format.
#[derive(Debug)]
pub struct SplunkFormat {
    common: Common,
    severities: Severities<String>,
}

/// CIM's severity words for Defender's levels.
const CIM_SEVERITIES: [&str; 6] = [
    "unknown",
    "informational",
    "low",
    "medium",
    "high",
    "critical",
];

impl Format for SplunkFormat {
    fn new(config: Value) -> Result<Self, String> {
        let (common, SplunkOptions {}) = options::parse::<SplunkOptions>(config)?;
        let severities = common.severities(
            std::array::from_fn(|level| CIM_SEVERITIES[level].to_string()),
            |value| {
                value
                    .as_str()
                    .filter(|word| CIM_SEVERITIES.contains(word))
                    .map(str::to_string)
            },
            "a CIM severity: unknown, informational, low, medium, high or critical",
        )?;
        Ok(Self { common, severities })
    }

    fn render(&self, subject: &Subject<'_>, _size: usize) -> Rendered {
        let mut event = Object::new();
        if let Some(time) = subject.time {
            event.set("time", Node::string(time.rfc3339_millis().to_string()));
        }
        event.set("vendor", Node::string(self.common.vendor()));
        let product = subject.product();
        event.set(
            "vendor_product",
            Node::string(self.common.product.as_deref().unwrap_or(&product)),
        );
        let used = subject.map_fields(
            |field| field.cim,
            |field, key, value| {
                let node = match field.cim_value {
                    Some(cim) => serde_json::from_str(value.raw())
                        .ok()
                        .and_then(|json| cim.convert(&json))
                        .map(|converted| Node::value(&converted)),
                    None => typed(field.kind, &value, false),
                };
                match node {
                    Some(node) => event.insert_path(key, node),
                    None => false,
                }
            },
        );
        // Keys inside stringified JSON (`AdditionalFields.ThreatName`); the column itself is
        // mapped whole.
        for field in subject
            .table
            .all_fields()
            .filter(|field| field.in_json_text)
        {
            let Some(key) = field.cim else { continue };
            let Some(value) = subject
                .json_text_value(field)
                .and_then(|text| serde_json::from_str::<Value>(&text).ok())
                .and_then(|mut wrapped| wrapped.get_mut("v").map(Value::take))
            else {
                continue;
            };
            let value = match field.cim_value {
                Some(cim) => cim.convert(&value),
                None => Some(value),
            };
            if let Some(value) = value {
                event.insert_path(key, Node::value(&value));
            }
        }
        let action = subject.action;
        let name = subject.title();
        event.insert_path(
            "signature",
            Node::string(name.as_deref().unwrap_or(action.name)),
        );
        event.insert_path("signature_id", Node::string(&subject.event_id));
        event.set(
            "category",
            Node::string(format!("{}/{}", action.category.high, action.category.low)),
        );
        // `unknown` is not one of CIM's severities: the data model shows an absent one as
        // `unknown`, and the word stays in `vendor_severity`.
        let severity = self.severities.of(subject.level);
        let key = if severity == "unknown" {
            "vendor_severity"
        } else {
            "severity"
        };
        event.set(key, Node::string(severity));
        if let Some(cim_action) = action.cim_action {
            event.insert_path("action", Node::string(cim_action));
        }
        if let Some(dataset) = cim::dataset_for(subject.table, action) {
            for (field, default) in dataset.defaults {
                let node = match default {
                    CimDefault::Text(text) => Node::string(*text),
                    CimDefault::Field(other) => match event.get(other) {
                        Some(node) => node.clone(),
                        None => continue,
                    },
                    CimDefault::SecondsBetween(from, to) => {
                        let time = |key: &str| {
                            event
                                .get(key)
                                .and_then(Node::as_text)
                                .and_then(|text| Timestamp::parse(&text))
                        };
                        let (Some(from), Some(to)) = (time(from), time(to)) else {
                            continue;
                        };
                        let seconds = (to.unix_millis() - from.unix_millis()).div_euclid(1000);
                        Node::Integer(seconds)
                    }
                };
                event.insert_path(field, node);
            }
        }
        let mut unmapped = Object::new();
        for (name, value) in subject.unmapped(&used) {
            unmapped.set(name, Node::raw(value.raw()));
        }
        if !unmapped.is_empty() {
            event.set("unmapped", Node::Object(unmapped));
        }
        for (key, value) in &self.common.fields {
            event.set(key, Node::string(value));
        }
        Rendered {
            output: Output::json_text(event.to_json()).sourcetype(subject.table.sourcetype),
            used,
        }
    }
}
