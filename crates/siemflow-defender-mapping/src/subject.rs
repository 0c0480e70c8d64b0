//! One record resolved against the mapping table: which table and event type it is, its event
//! id, severity and time, and its fields as each format reads them.

use std::borrow::Cow;

use siemflow_plugin_sdk::record::{Field as Value, Record};
use siemflow_plugin_sdk::timestamp::Timestamp;

use crate::catalog::{self, Action, Field, GENERIC, INCIDENT, Level, Table};

/// A record and what the mapping table says about it.
#[derive(Debug)]
pub struct Subject<'a> {
    /// The record.
    pub record: Record<'a>,
    /// Its table (the generic one when siemflow does not know it).
    pub table: &'static Table,
    /// Its event type.
    pub action: &'static Action,
    /// The SIEM event id: `Table:Action` (`DeviceProcessEvents:ProcessCreated`,
    /// `Alert:Execution`), or `Table` for tables without actions.
    pub event_id: String,
    /// The record's severity, else the event type's.
    pub level: Level,
    /// When the event happened.
    pub time: Option<Timestamp>,
    /// Whether siemflow knows the record's event type: its table, and its action value unless
    /// the table lists actions and this one is not among them (it then gets the table's `*`
    /// entry).
    pub known: bool,
    /// Columns read for the header (action, severity, time): never in the catch-all.
    header_columns: Vec<&'static str>,
}

impl<'a> Subject<'a> {
    /// Resolves a record.
    pub fn resolve(record: Record<'a>) -> Self {
        let (table, name, known) = match record.table() {
            Some(name) => match catalog::streaming_table(&name) {
                Some(table) => (table, Cow::Borrowed(table.name), true),
                None => (&GENERIC, name, false),
            },
            None => match rest_table(&record) {
                Some(table) => (table, Cow::Borrowed(table.name), true),
                None => (&GENERIC, Cow::Borrowed(GENERIC.name), false),
            },
        };
        let mut header_columns = Vec::new();
        let action_value = table.action_column.and_then(|column| {
            let value = action_value(&record, column)?;
            header_columns.push(column);
            Some(value)
        });
        let action = table.action_for(action_value.as_deref());
        // A value the table does not list is a new event type (counted); a record without the
        // column is simply of its table.
        let known =
            known && (action_value.is_none() || !action.is_fallback() || table.actions.len() == 1);
        // A listed value is written as the table lists it, so that `active` (Graph) and
        // `Active` (Defender XDR) are one event type.
        let event_id = match &action_value {
            Some(_) if !action.is_fallback() => format!("{name}:{}", action.value),
            Some(value) => format!("{name}:{value}"),
            None => name.into_owned(),
        };
        let level = table
            .severity_columns
            .iter()
            .find_map(|column| {
                let level = Level::parse(&record.text(column)?)?;
                header_columns.push(column);
                Some(level)
            })
            .filter(|level| *level != Level::Unknown)
            .unwrap_or(action.severity);
        let time = table.time_columns.iter().find_map(|column| {
            let time = record.value(column)?.as_timestamp()?;
            header_columns.push(column);
            Some(time)
        });
        Self {
            record,
            table,
            action,
            event_id,
            level,
            time,
            known,
            header_columns,
        }
    }

    /// The product named by the record (`ServiceSource`, `serviceSource`), in the words the
    /// streaming tables use (Graph's `microsoftDefenderForEndpoint` is `Microsoft Defender for
    /// Endpoint`); an alert of the Defender for Endpoint API is that product's; else the
    /// table's.
    pub fn product(&self) -> Cow<'a, str> {
        let named = ["ServiceSource", "serviceSource", "productName"]
            .iter()
            .find_map(|column| self.record.text(column))
            .filter(|name| {
                let name = name.trim();
                !name.is_empty()
                    && !name.eq_ignore_ascii_case("unknown")
                    && !name.eq_ignore_ascii_case("unknownFutureValue")
            });
        match named {
            Some(name) => GRAPH_SERVICE_SOURCES
                .iter()
                .find(|(value, _)| value.eq_ignore_ascii_case(&name))
                .map_or(name, |(_, product)| Cow::Borrowed(*product)),
            None if self.table.name == catalog::ALERT.name
                && self.record.get("alertCreationTime").is_some() =>
            {
                Cow::Borrowed(MDE_PRODUCT)
            }
            None => Cow::Borrowed(self.table.product),
        }
    }

    /// The record's own title (an alert's or incident's), if it has one.
    pub fn title(&self) -> Option<Cow<'a, str>> {
        ["Title", "title", "incidentName", "displayName"]
            .iter()
            .find_map(|column| self.record.text(column))
            .filter(|title| !title.trim().is_empty())
    }

    /// Whether a column was read for the header (action, severity, time).
    pub fn is_header_column(&self, column: &str) -> bool {
        self.header_columns.contains(&column)
    }

    /// The value of a field, from the first of its sources that has one, with that source.
    pub fn value_of(&self, field: &Field) -> Option<(Value<'a>, &'static str)> {
        field.sources.iter().find_map(|source| {
            let value = match source.split_once('.') {
                Some((object, inner)) => nested(&self.record, object, inner)?,
                None => self.record.value(source)?,
            };
            let column = source.split_once('.').map_or(*source, |(object, _)| object);
            Some((value, column))
        })
    }

    /// The value of a field read inside a column of stringified JSON ([`Field::in_json_text`]),
    /// as the JSON text of a one-key object `{"v": value}` (owned: the column had to be
    /// decoded), from the first source that has a non-empty value.
    pub fn json_text_value(&self, field: &Field) -> Option<String> {
        field.sources.iter().find_map(|source| {
            let (column, key) = source.split_once('.')?;
            let raw = self.record.value(column)?.raw();
            let object: serde_json::Value = if raw.starts_with('"') {
                serde_json::from_str(&serde_json::from_str::<String>(raw).ok()?).ok()?
            } else {
                serde_json::from_str(raw).ok()?
            };
            let value = object.get(key)?;
            let empty =
                value.is_null() || value.as_str().is_some_and(|text| text.trim().is_empty());
            (!empty).then(|| serde_json::json!({ "v": value }).to_string())
        })
    }

    /// Runs `write` for each field with a key in this format (`key_of`) and a value; `write`
    /// says whether it wrote the value. Returns the columns written, for [`Subject::unmapped`].
    pub fn map_fields(
        &self,
        key_of: impl Fn(&'static Field) -> Option<&'static str>,
        mut write: impl FnMut(&'static Field, &'static str, Value<'a>) -> bool,
    ) -> Used {
        let mut used = Used(self.header_columns.clone());
        for field in self.table.all_fields().filter(|field| !field.in_json_text) {
            let Some(key) = key_of(field) else { continue };
            let Some((value, column)) = self.value_of(field) else {
                continue;
            };
            if write(field, key, value) {
                used.0.push(column);
            }
        }
        used
    }

    /// The record's columns no format key took: `(name, value)`, nulls and empty strings left
    /// out.
    pub fn unmapped<'s>(&'s self, used: &'s Used) -> impl Iterator<Item = (&'s str, Value<'a>)> {
        self.record.fields().filter(|(name, value)| {
            !matches!(value.raw(), "null" | "\"\"") && !used.0.iter().any(|u| u == name)
        })
    }

    /// The unmapped columns as one compact JSON object, or `None` when there are none.
    pub fn unmapped_json(&self, used: &Used) -> Option<String> {
        let mut out = String::new();
        for (name, value) in self.unmapped(used) {
            out.push(if out.is_empty() { '{' } else { ',' });
            siemflow_plugin_sdk::json::push_string(name, &mut out);
            out.push(':');
            crate::json_tree::compact(value.raw(), &mut out);
        }
        (!out.is_empty()).then(|| {
            out.push('}');
            out
        })
    }

    /// The unmapped columns as one compact JSON object of at most `max_chars` characters, for
    /// a catch-all with a size limit (CEF's `cs6`): whole columns, in order, as many as fit,
    /// and the names of those that did not under [`OMITTED_KEY`] (as many as fit), so that the
    /// catch-all stays valid JSON and says what it lacks. The flag is true when a column was
    /// left out.
    pub fn unmapped_json_within(&self, used: &Used, max_chars: usize) -> Option<(String, bool)> {
        // Most records fit: written in one pass, the entries only taken apart when they do not.
        let all = self.unmapped_json(used)?;
        if all.len() <= max_chars || all.chars().count() <= max_chars {
            return Some((all, false));
        }
        let entries: Vec<(&str, String)> = self
            .unmapped(used)
            .map(|(name, value)| {
                let mut entry = String::new();
                siemflow_plugin_sdk::json::push_string(name, &mut entry);
                entry.push(':');
                crate::json_tree::compact(value.raw(), &mut entry);
                (name, entry)
            })
            .collect();
        let chars = |text: &str| text.chars().count();
        // Room for the list of what is left out: its names, within a quarter of the limit.
        let names: usize = entries.iter().map(|(name, _)| chars(name) + 3).sum();
        let reserve = (OMITTED_KEY.len() + 6 + names).min(max_chars / 4);
        let mut budget = max_chars.saturating_sub(reserve + 2);
        let mut kept = Vec::new();
        let mut omitted = Vec::new();
        for (name, entry) in &entries {
            let size = chars(entry) + 1;
            if size <= budget {
                budget -= size;
                kept.push(entry.as_str());
            } else {
                omitted.push(*name);
            }
        }
        let mut budget = reserve.saturating_sub(OMITTED_KEY.len() + 6);
        let mut listed = Vec::new();
        for name in omitted {
            let mut quoted = String::new();
            siemflow_plugin_sdk::json::push_string(name, &mut quoted);
            if chars(&quoted) + 1 > budget {
                break;
            }
            budget -= chars(&quoted) + 1;
            listed.push(quoted);
        }
        let omitted = format!("\"{OMITTED_KEY}\":[{}]", listed.join(","));
        kept.push(&omitted);
        Some((format!("{{{}}}", kept.join(",")), true))
    }
}

/// The key, in a size-limited catch-all, of the names of the columns that did not fit.
pub const OMITTED_KEY: &str = "siemflow.omitted";

/// The columns a format wrote.
#[derive(Debug, Default)]
pub struct Used(Vec<&'static str>);

impl Used {
    /// Whether this column was written.
    pub fn contains(&self, column: &str) -> bool {
        self.0.contains(&column)
    }

    /// Takes a column back: what was written from it was not kept, so it belongs in the
    /// catch-all.
    pub fn forget(&mut self, column: &str) {
        self.0.retain(|used| *used != column);
    }
}

/// Defender for Endpoint, as the streaming tables name it.
const MDE_PRODUCT: &str = "Microsoft Defender for Endpoint";

/// Graph's `serviceSource` values (and the Defender XDR API's older ones) and the product names
/// the streaming tables use.
const GRAPH_SERVICE_SOURCES: &[(&str, &str)] = &[
    ("MicrosoftDefenderATP", MDE_PRODUCT),
    ("AzureATP", "Microsoft Defender for Identity"),
    (
        "MicrosoftCloudAppSecurity",
        "Microsoft Defender for Cloud Apps",
    ),
    ("OfficeATP", "Microsoft Defender for Office 365"),
    ("microsoftDefenderForEndpoint", MDE_PRODUCT),
    (
        "microsoftDefenderForIdentity",
        "Microsoft Defender for Identity",
    ),
    (
        "microsoftDefenderForCloudApps",
        "Microsoft Defender for Cloud Apps",
    ),
    (
        "microsoftDefenderForOffice365",
        "Microsoft Defender for Office 365",
    ),
    ("microsoft365Defender", "Microsoft Defender XDR"),
    ("azureAdIdentityProtection", "Microsoft Entra ID Protection"),
    ("microsoftAppGovernance", "App Governance"),
    ("dataLossPrevention", "Microsoft Data Loss Prevention"),
    ("microsoftDefenderForCloud", "Microsoft Defender for Cloud"),
    ("microsoftSentinel", "Microsoft Sentinel"),
    (
        "microsoftInsiderRiskManagement",
        "Microsoft Insider Risk Management",
    ),
];

/// The REST resource a top-level record is, by its shape.
fn rest_table(record: &Record<'_>) -> Option<&'static Table> {
    let has = |name: &str| record.get(name).is_some();
    if has("incidentName") || (has("displayName") && has("incidentWebUrl") && !has("title")) {
        Some(&INCIDENT)
    } else if has("title") && (has("alertCreationTime") || has("createdDateTime")) {
        Some(&catalog::ALERT)
    } else {
        None
    }
}

/// The action column's value; a JSON array (AlertEvidence's `Categories`) gives its first item.
fn action_value(record: &Record<'_>, column: &str) -> Option<String> {
    let text = record.text(column)?;
    let text = text.trim();
    if text.starts_with('[') {
        let items: Vec<String> = serde_json::from_str(text).ok()?;
        return items.into_iter().find(|item| !item.is_empty());
    }
    (!text.is_empty()).then(|| text.to_string())
}

/// `inner` inside the object column `object` (`relatedUser.userName`).
fn nested<'a>(record: &Record<'a>, object: &str, inner: &str) -> Option<Value<'a>> {
    let raw = record.value(object)?.raw();
    if !raw.starts_with('{') {
        return None;
    }
    Record::parse(raw.as_bytes()).ok()?.value(inner)
}

#[cfg(test)]
mod tests {
    use siemflow_plugin_sdk::Event;

    use super::{OMITTED_KEY, Subject, Used};

    #[test]
    fn a_size_limited_catch_all_keeps_whole_columns_and_names_those_left_out() {
        let big = "é".repeat(500);
        let event = Event::from_json(
            format!(
                r#"{{"a":"1","big":"{big}","c":[1,2],"d":"{}"}}"#,
                "x".repeat(20)
            ),
            None,
        );
        let subject = Subject::resolve(event.record().unwrap());
        let used = Used::default();
        let (all, omitted) = subject.unmapped_json_within(&used, usize::MAX).unwrap();
        assert!(!omitted);
        assert_eq!(all.chars().count(), 555);

        let (cut, omitted) = subject.unmapped_json_within(&used, 120).unwrap();
        assert!(omitted);
        assert!(cut.chars().count() <= 120, "{cut}");
        let cut: serde_json::Value = serde_json::from_str(&cut).unwrap();
        assert_eq!(
            cut,
            serde_json::json!({"a": "1", "c": [1, 2], "d": "x".repeat(20), OMITTED_KEY: ["big"]})
        );
    }
}
