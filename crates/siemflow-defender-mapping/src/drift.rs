//! Drift between what Microsoft sends and what siemflow maps: records of a table or event type
//! the mapping table does not list, and columns a table's documented schema
//! ([`crate::catalog::schema`]) does not list. Neither is lost (the first is mapped generically,
//! the second goes to each format's catch-all); both are reported here, with a warning the first
//! time each is seen, counted (the values of unknown columns per table, [`UNKNOWN_COLUMN`]), and
//! `siemflow mappings coverage` counts them over a file of records.

use std::collections::BTreeSet;

use rustc_hash::{FxHashMap, FxHashSet};

use siemflow_plugin_sdk::{log, metrics};

use crate::catalog::schema;
use crate::subject::Subject;

/// The plugin counter of values in columns a table's schema does not list, keyed by table:
/// `siemflow_plugin_counter_total{name="unknown-column", key="DeviceProcessEvents"}`.
pub const UNKNOWN_COLUMN: &str = "unknown-column";

/// At most this many distinct types and columns are remembered (and warned about) per plugin
/// instance, so that a stream of random names cannot grow memory without bound.
const REMEMBERED: usize = 1000;

/// What a plugin has warned about, and the documented columns of the tables it has seen.
#[derive(Debug, Default)]
pub struct Drift {
    types: BTreeSet<String>,
    columns: BTreeSet<(&'static str, String)>,
    known: KnownColumns,
}

impl Drift {
    /// Notes a record: warns the first time its type is unknown, and the first time each of its
    /// columns is one its table's schema does not list.
    pub fn note(&mut self, subject: &Subject<'_>) {
        if !subject.known
            && self.types.len() < REMEMBERED
            && !self.types.contains(&subject.event_id)
        {
            log::warn(&format!(
                "no mapping for `{}`: sent as a generic event, its other columns in the catch-all",
                subject.event_id
            ));
            self.types.insert(subject.event_id.clone());
        }
        let table = subject.table.name;
        let unknown = self.known.unknown_in(subject);
        if !unknown.is_empty() {
            metrics::count(UNKNOWN_COLUMN, table, unknown.len() as u64);
        }
        for column in unknown {
            if self.columns.len() >= REMEMBERED {
                break;
            }
            if self.columns.insert((table, column.to_string())) {
                log::warn(&format!(
                    "new column `{column}` in `{table}`: not in the documented schema siemflow \
                     maps from, kept in the catch-all"
                ));
            }
        }
    }
}

/// The documented columns of each table, built the first time a table is seen. Looked up once
/// per column of every record, so with FxHash rather than SipHash (a quarter of the check's cost
/// in WebAssembly); the sets hold only the documented names, which a record cannot add to.
#[derive(Debug, Default)]
pub struct KnownColumns(FxHashMap<&'static str, Option<FxHashSet<&'static str>>>);

impl KnownColumns {
    /// The columns of a record its table's schema does not list; none for a table without a
    /// documented schema (REST resources, unknown tables: those are reported as unknown types).
    pub fn unknown_in<'s>(&mut self, subject: &'s Subject<'_>) -> Vec<&'s str> {
        let table = subject.table;
        let known = self.0.entry(table.name).or_insert_with(|| {
            let schema = schema::schema(table.name)?;
            let mut columns: FxHashSet<&'static str> = schema.column_names().collect();
            columns.extend(table.all_fields().flat_map(|field| {
                field
                    .sources
                    .iter()
                    .map(|source| source.split('.').next().unwrap_or(source))
            }));
            Some(columns)
        });
        match known {
            Some(known) => subject
                .record
                .fields()
                .map(|(name, _)| name)
                .filter(|name| !known.contains(name))
                .collect(),
            None => Vec::new(),
        }
    }
}
