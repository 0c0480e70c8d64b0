//! IBM QRadar LEEF (`builtin:defender-leef`): one line per record, LEEF 2.0 (default) or 1.0.
//!
//! Header: Vendor (`vendor`), Product (the record's product), Version `1.0`, EventID the event
//! id (`DeviceLogonEvents:LogonFailed`); with `cat` (`High/Low` category) it is the pair QRadar
//! looks up in its QID map. Attributes: `devTime` (epoch ms, which needs no `devTimeFormat`),
//! `cat`, `sev` (1–10), `name` (the alert title or the event type's name), the table's fields,
//! `unmapped` (the catch-all of the other columns as JSON) and `truncated` (what was cut).

use serde::Deserialize;
use serde_json::Value;
use siemflow_plugin_sdk::Output;
use siemflow_plugin_sdk::leef::{Delimiter, Leef, LeefHeader, LeefVersion};
use siemflow_plugin_sdk::value::shown;

use crate::catalog::Kind;
use crate::options::{self, Common, Severities};
use crate::plugin::{Format, Rendered};
use crate::subject::Subject;

/// The LEEF plugin's own options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LeefOptions {
    /// `"2.0"` (the default) or `"1.0"`.
    #[serde(default)]
    leef_version: Option<String>,
    /// The LEEF 2.0 delimiter: one character or its hex code (`^`, `x09`); default `^`.
    #[serde(default)]
    delimiter: Option<String>,
}

/// The LEEF format.
#[derive(Debug)]
pub struct LeefFormat {
    version: LeefVersion,
    common: Common,
    severities: Severities<u8>,
}

/// Defender levels on LEEF's 1–10 scale.
const DEFAULT_SEVERITIES: [u8; 5] = [1, 1, 3, 5, 8];

impl Format for LeefFormat {
    fn new(config: Value) -> Result<Self, String> {
        let (common, own) = options::parse::<LeefOptions>(config)?;
        let version = match (own.leef_version.as_deref(), own.delimiter.as_deref()) {
            (None | Some("2.0" | "2"), delimiter) => LeefVersion::V2(
                Delimiter::parse(delimiter.unwrap_or("^"))
                    .map_err(|error| format!("`delimiter`: {error}"))?,
            ),
            (Some("1.0" | "1"), None) => LeefVersion::V1,
            (Some("1.0" | "1"), Some(_)) => {
                return Err("`delimiter` is for LEEF 2.0; LEEF 1.0 always uses TAB".into());
            }
            (Some(other), _) => {
                return Err(format!(
                    "`leef_version` is \"1.0\" or \"2.0\", not {other:?}"
                ));
            }
        };
        let severities = common.severities(
            DEFAULT_SEVERITIES,
            |value| {
                value
                    .as_u64()
                    .filter(|n| (1..=10).contains(n))
                    .map(|n| n as u8)
            },
            "an integer from 1 to 10",
        )?;
        Ok(Self {
            version,
            common,
            severities,
        })
    }

    fn render(&self, subject: &Subject<'_>, _size: usize) -> Rendered {
        let product = subject.product();
        let mut leef = Leef::new(
            &self.version,
            &LeefHeader {
                vendor: self.common.vendor(),
                product: self.common.product.as_deref().unwrap_or(&product),
                version: "1.0",
                event_id: &subject.event_id,
            },
        );
        leef.attr_opt("devTime", subject.time.map(|time| time.unix_millis()));
        let category = subject.action.category;
        leef.attr(
            "cat",
            shown(format_args!("{}/{}", category.high, category.low)),
        );
        leef.attr("sev", *self.severities.of(subject.level));
        leef.attr(
            "name",
            subject.title().as_deref().unwrap_or(subject.action.name),
        );
        let used = subject.map_fields(
            |field| field.leef,
            |field, key, value| {
                let before = leef.stats().rejected;
                match field.kind {
                    Kind::Time => match value.as_timestamp() {
                        Some(time) => leef.attr(key, shown(time.rfc3339_millis())),
                        None => return false,
                    },
                    _ => leef.attr(key, value),
                };
                leef.stats().rejected == before
            },
        );
        leef.attr_opt("unmapped", subject.unmapped_json(&used));
        for (key, value) in &self.common.fields {
            leef.attr(key, value.as_str());
        }
        if leef.stats().truncated > 0 {
            leef.attr("truncated", "EventID");
        }
        Rendered {
            output: Output::text(leef.finish()),
            used,
        }
    }
}
