//! The options every built-in mapping plugin takes, beside its format's own.
//!
//! ```yaml
//! config:
//!   vendor: Contoso MSSP                        # CEF Device Vendor, LEEF Vendor, OCSF vendor_name
//!   product: Defender                           # instead of the product each record names
//!   severity_map: { high: 10, medium: 6 }       # on the format's own scale
//!   fields: { customer: contoso, env: prod }    # added to every event
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::catalog::Level;

/// Options shared by the four formats.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Common {
    /// The vendor string; default `Microsoft`.
    #[serde(default)]
    pub vendor: Option<String>,
    /// The product string for every event; default: the product the record names, else the
    /// table's (`Microsoft Defender for Endpoint`).
    #[serde(default)]
    pub product: Option<String>,
    /// Severity per Defender level (`unknown`, `informational`, `low`, `medium`, `high`), on the
    /// format's scale; levels not given keep the default.
    #[serde(default)]
    pub severity_map: BTreeMap<String, Value>,
    /// Static fields added to every event (keys in the format's own naming).
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

impl Common {
    /// The vendor string.
    pub fn vendor(&self) -> &str {
        self.vendor.as_deref().unwrap_or("Microsoft")
    }

    /// Reads `severity_map` onto a format's default scale, checking each value with `check`.
    pub fn severities<T: Clone>(
        &self,
        defaults: [T; 5],
        check: impl Fn(&Value) -> Option<T>,
        scale: &str,
    ) -> Result<Severities<T>, String> {
        let mut levels = defaults;
        for (name, value) in &self.severity_map {
            let level = Level::ALL
                .iter()
                .position(|level| level.name() == name)
                .ok_or_else(|| {
                    format!(
                        "`severity_map` has `{name}`; the levels are unknown, informational, low, medium, high"
                    )
                })?;
            levels[level] = check(value)
                .ok_or_else(|| format!("`severity_map.{name}` is {value}; it must be {scale}"))?;
        }
        Ok(Severities(levels))
    }
}

/// A format's value for each Defender level.
#[derive(Debug, Clone)]
pub struct Severities<T>(pub [T; 5]);

impl<T> Severities<T> {
    /// The value for a level.
    pub fn of(&self, level: Level) -> &T {
        let index = Level::ALL
            .iter()
            .position(|candidate| *candidate == level)
            .unwrap_or(0);
        &self.0[index]
    }
}

/// Splits a plugin's `config:` into the common options and the format's own `T` (which should
/// deny unknown fields, so that a misspelt option is an error that names it).
pub fn parse<T: DeserializeOwned>(config: Value) -> Result<(Common, T), String> {
    let mut own = match config {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        other => return Err(format!("the config is a map of options, not {other}")),
    };
    let mut common = Map::new();
    for key in ["vendor", "product", "severity_map", "fields"] {
        if let Some(value) = own.remove(key) {
            common.insert(key.to_string(), value);
        }
    }
    let common = Common::deserialize(Value::Object(common)).map_err(|error| error.to_string())?;
    let own = T::deserialize(Value::Object(own)).map_err(|error| error.to_string())?;
    Ok((common, own))
}
