//! `builtin:defender-cef`: Microsoft Defender records to ArcSight CEF (CEF:0 or CEF:1).
//!
//! The mapping is the shared table in `siemflow-defender-mapping` (see `docs/mappings.md`); this
//! crate only makes its ArcSight CEF format a plugin. Config (all optional):
//!
//! ```yaml
//! config: { cef_version: 0, vendor: Microsoft, fields: { customer: contoso } }
//! ```

use siemflow_defender_mapping::cef::CefFormat;
use siemflow_defender_mapping::plugin::MappingPlugin;
use siemflow_plugin_sdk::export_plugin;

/// The plugin: the mapping table rendered as ArcSight CEF.
pub type DefenderCef = MappingPlugin<CefFormat>;

export_plugin!(DefenderCef);
