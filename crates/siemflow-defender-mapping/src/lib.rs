//! The Defender mapping content behind siemflow's built-in plugins: `defender-cef` (ArcSight),
//! `defender-leef` (QRadar), `defender-splunk` (Splunk HEC with CIM field names) and
//! `defender-ocsf` (OCSF 1.5.0).
//!
//! The work is split the way a QRadar DSM splits it:
//!
//! - [`catalog`] is the mapping table, plain `const` data: per table and event type (ActionType
//!   or alert category) the SIEM event id, name, category, severity, OCSF class, and each field's
//!   key in every format. `docs/mappings.md` is generated from it ([`docs`]).
//! - [`subject`] resolves one record against the table (which event type it is, its severity,
//!   time, and the columns no mapping takes, for the catch-all).
//! - [`cef`], [`leef`], [`splunk`] and [`ocsf`] render a resolved record; [`plugin`] turns each
//!   into a siemflow plugin, and [`options`] reads the configuration they share.
//!
//! Records of unknown tables or shapes are never dropped: they get a generic event with every
//! field in the catch-all, and they are marked unmapped ([`siemflow_plugin_sdk::Output::unmapped`])
//! so siemflow counts them. Columns a table's documented schema ([`catalog::schema`]) does not
//! list go to the catch-all too; [`drift`] warns about both, once each.

pub mod catalog;
pub mod cef;
pub mod docs;
pub mod drift;
pub mod fuzzing;
pub mod json_tree;
pub mod json_value;
pub mod leef;
pub mod ocsf;
pub mod options;
pub mod plugin;
pub mod splunk;
pub mod subject;
