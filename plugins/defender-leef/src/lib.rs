//! `builtin:defender-leef`: Microsoft Defender records to IBM QRadar LEEF (2.0 or 1.0).
//!
//! The mapping is the shared table in `siemflow-defender-mapping` (see `docs/mappings.md`); this
//! crate only makes its QRadar LEEF format a plugin. Config (all optional):
//!
//! ```yaml
//! config: { leef_version: "2.0", delimiter: "^", severity_map: { high: 9 } }
//! ```

use siemflow_defender_mapping::leef::LeefFormat;
use siemflow_defender_mapping::plugin::MappingPlugin;
use siemflow_plugin_sdk::export_plugin;

/// The plugin: the mapping table rendered as QRadar LEEF.
pub type DefenderLeef = MappingPlugin<LeefFormat>;

export_plugin!(DefenderLeef);
