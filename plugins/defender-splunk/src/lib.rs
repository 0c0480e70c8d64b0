//! `builtin:defender-splunk`: Microsoft Defender records to Splunk HEC events with CIM field names and a sourcetype per table.
//!
//! The mapping is the shared table in `siemflow-defender-mapping` (see `docs/mappings.md`); this
//! crate only makes its Splunk HEC format a plugin. Config (all optional):
//!
//! ```yaml
//! config: { vendor: Microsoft, fields: { customer: contoso } }
//! ```

use siemflow_defender_mapping::plugin::MappingPlugin;
use siemflow_defender_mapping::splunk::SplunkFormat;
use siemflow_plugin_sdk::export_plugin;

/// The plugin: the mapping table rendered as Splunk HEC.
pub type DefenderSplunk = MappingPlugin<SplunkFormat>;

export_plugin!(DefenderSplunk);
