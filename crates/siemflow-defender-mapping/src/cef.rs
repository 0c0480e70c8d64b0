//! ArcSight CEF (`builtin:defender-cef`): one line per record.
//!
//! Header: Device Vendor (`vendor`), Device Product (the record's product), Device Version
//! `1.0`, Device Event Class ID the event id (`DeviceLogonEvents:LogonFailed`), Name the alert
//! title or the event type's name, Severity on CEF's 0–10 scale. Extension: `rt` (event time,
//! epoch ms), `cat` (`High/Low` category), the table's fields, `cs6` the catch-all of unmapped
//! columns as JSON (whole columns within ArcSight's 4,000 characters, the names of those left
//! out under `siemflow.omitted`), and `flexString2` (`Truncated`) naming the keys cut to their CEF length.

use serde::Deserialize;
use serde_json::Value;
use siemflow_plugin_sdk::Output;
use siemflow_plugin_sdk::cef::{Cef, CefHeader, CefVersion, max_chars};
use siemflow_plugin_sdk::value::shown;

use crate::catalog::Kind;
use crate::options::{self, Common, Severities};
use crate::plugin::{Format, Rendered, Truncated};
use crate::subject::Subject;

/// The CEF plugin's own options.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CefOptions {
    /// 0 (`CEF:0`, the default) or 1 (`CEF:1`).
    #[serde(default)]
    cef_version: u8,
}

/// The CEF format.
#[derive(Debug)]
pub struct CefFormat {
    version: CefVersion,
    common: Common,
    severities: Severities<u8>,
}

/// Defender levels on CEF's scale (Low 0-3, Medium 4-6, High 7-8, Very-High 9-10).
const DEFAULT_SEVERITIES: [u8; 5] = [0, 1, 3, 5, 8];

impl Format for CefFormat {
    fn new(config: Value) -> Result<Self, String> {
        let (common, own) = options::parse::<CefOptions>(config)?;
        let version = match own.cef_version {
            0 => CefVersion::V0,
            1 => CefVersion::V1,
            other => return Err(format!("`cef_version` is 0 or 1, not {other}")),
        };
        let severities = common.severities(
            DEFAULT_SEVERITIES,
            |value| value.as_u64().filter(|n| *n <= 10).map(|n| n as u8),
            "an integer from 0 to 10",
        )?;
        Ok(Self {
            version,
            common,
            severities,
        })
    }

    fn render(&self, subject: &Subject<'_>, size: usize) -> Rendered {
        let product = subject.product();
        let name = subject.title();
        let mut cef = Cef::with_capacity(
            self.version,
            &CefHeader {
                vendor: self.common.vendor(),
                product: self.common.product.as_deref().unwrap_or(&product),
                version: "1.0",
                class_id: &subject.event_id,
                name: name.as_deref().unwrap_or(subject.action.name),
                severity: *self.severities.of(subject.level),
            },
            size,
        );
        cef.ext_opt("rt", subject.time.map(|time| time.unix_millis()));
        let category = subject.action.category;
        cef.ext(
            "cat",
            shown(format_args!("{}/{}", category.high, category.low)),
        );
        let mut truncated = Truncated::default();
        let used = subject.map_fields(
            |field| field.cef,
            |field, key, value| {
                let before = cef.stats();
                match field.kind {
                    Kind::Time => match value.as_timestamp() {
                        Some(time) => cef.ext(key, time.unix_millis()),
                        None => return false,
                    },
                    _ => cef.ext(key, value),
                };
                let after = cef.stats();
                if after.rejected != before.rejected {
                    return false;
                }
                if after.truncated != before.truncated {
                    truncated.push(key);
                }
                if let Some(label) = field.cef_label {
                    cef.ext(&format!("{key}Label"), label);
                }
                true
            },
        );
        if let Some((unmapped, omitted)) = subject.unmapped_json_within(&used, max_chars("cs6")) {
            cef.ext("cs6Label", "Unmapped")
                .ext("cs6", unmapped.as_str());
            if omitted {
                truncated.push("cs6");
            }
        }
        for (key, value) in &self.common.fields {
            cef.ext(key, value.as_str());
        }
        if let Some(keys) = truncated.list() {
            cef.ext("flexString2Label", "Truncated")
                .ext("flexString2", keys.as_str());
        }
        Rendered {
            output: Output::text(cef.finish()),
            used,
        }
    }
}
