//! `builtin:defender-ocsf`: Microsoft Defender records to OCSF 1.5.0 events.
//!
//! The mapping is the shared table in `siemflow-defender-mapping` (see `docs/mappings.md`); this
//! crate only makes its OCSF format a plugin. Config (all optional):
//!
//! ```yaml
//! config: { product: Defender, severity_map: { high: 5 } }
//! ```

use siemflow_defender_mapping::ocsf::OcsfFormat;
use siemflow_defender_mapping::plugin::MappingPlugin;
use siemflow_plugin_sdk::export_plugin;

/// The plugin: the mapping table rendered as OCSF.
pub type DefenderOcsf = MappingPlugin<OcsfFormat>;

export_plugin!(DefenderOcsf);
