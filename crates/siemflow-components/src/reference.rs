//! The option tables of `docs/pipelines.md`, generated from the registered config types' doc
//! comments ([`siemflow_core::config::reference`]): one table per component type, and one per
//! block of options written under a key (`batch:`, `tls:`, `checkpoints:`).

use std::collections::BTreeMap;

use serde_json::Value;
use siemflow_core::config::ComponentKind;
use siemflow_core::config::reference::{OptionRow, option_rows, option_table};
use siemflow_core::registry::Registry;

/// Every table, by the name its marker in the docs gives: a component type's (`sources.file`,
/// `sinks.splunk_hec`), and a block's, once however many types have it (`block BatchConfig`,
/// `block TlsOptions`).
pub fn option_tables(registry: &Registry) -> BTreeMap<String, String> {
    let mut tables = BTreeMap::new();
    let kinds = [
        (ComponentKind::Source, "sources", registry.source_names()),
        (
            ComponentKind::Transform,
            "transforms",
            registry.transform_names(),
        ),
        (ComponentKind::Sink, "sinks", registry.sink_names()),
    ];
    for (kind, plural, names) in kinds {
        for name in names {
            let Some(schema) = registry.options_schema(kind, name) else {
                continue;
            };
            let key = format!("{plural}.{name}");
            add(&mut tables, key, schema.as_value(), schema.as_value());
        }
    }
    tables
}

/// The table of `object`, and those of its options that are blocks of their own.
fn add(tables: &mut BTreeMap<String, String>, key: String, object: &Value, root: &Value) {
    let rows: Vec<OptionRow> = option_rows(object);
    tables.insert(key, option_table(&rows));
    let Some(properties) = object.get("properties").and_then(Value::as_object) else {
        return;
    };
    for property in properties.values() {
        if let Some((name, block)) = block_of(property, root) {
            add(tables, format!("block {name}"), block, root);
        }
    }
}

/// The object schema an option refers to (`$ref`, possibly inside `anyOf` for an optional one),
/// with its name.
fn block_of<'a>(property: &'a Value, root: &'a Value) -> Option<(&'a str, &'a Value)> {
    let reference = property.get("$ref").and_then(Value::as_str).or_else(|| {
        property
            .get("anyOf")?
            .as_array()?
            .iter()
            .find_map(|choice| choice.get("$ref")?.as_str())
    })?;
    let name = reference.strip_prefix("#/$defs/")?;
    let block = root.get("$defs")?.get(name)?;
    block.get("properties").is_some().then_some((name, block))
}
