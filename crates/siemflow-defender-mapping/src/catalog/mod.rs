//! The mapping table: every Defender event type siemflow knows, with its SIEM event id, name,
//! QRadar-style category, severity, and fields per output format.
//!
//! It is the single source: the four built-in plugins render from it and `docs/mappings.md` is
//! generated from it (`cargo test -p siemflow-defender-mapping` fails when the file is stale;
//! `SIEMFLOW_UPDATE_GOLDEN=1` rewrites it).

pub mod alerts;
pub mod cim;
pub mod fields;
pub mod model;
pub mod ocsf_classes;
pub mod schema;
pub mod streaming;

pub use alerts::{ALERT, GENERIC, GENERIC_ACTION, INCIDENT};
pub use model::{Action, Category, Field, Kind, Level, OcsfClass, Origin, Table};

/// Every table: the streaming tables, then the REST resources.
pub fn tables() -> impl Iterator<Item = &'static Table> {
    streaming::TABLES.iter().chain([&ALERT, &INCIDENT])
}

/// The streaming table of this name (`DeviceProcessEvents`), if siemflow maps it.
pub fn streaming_table(name: &str) -> Option<&'static Table> {
    streaming::TABLES.iter().find(|table| table.name == name)
}
