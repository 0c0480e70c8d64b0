//! `type: wasm`: maps events with a sandboxed WebAssembly plugin.
//!
//! Every batch goes through one call of the plugin's `process`. With several `workers`, each is
//! an instance of its own (its own memory, limits and state) working on one batch at a time; the
//! topology sends outputs on in input order. Each outcome replaces its event:
//! outputs carry the input's acknowledgement on, `dropped` acknowledges it, `failed` dead-letters
//! it with the plugin's reason. A batch whose call traps, times out or runs out of memory is
//! dead-lettered whole with that reason, the instance is created again, and the next batch goes on.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;
use siemflow_core::component::{
    ComponentContext, ComponentError, Transform, TransformConfig, TransformOutput,
};
use siemflow_core::config::{duration, size};
use siemflow_core::dead_letter::DeadLetters;
use siemflow_core::event::{BodyFormat, Event, EventBatch, EventId, EventStatus, Labels};
use siemflow_core::telemetry::ComponentMetrics;

use crate::bindings::siemflow::plugin::types::{self as abi, Outcome};
use crate::instance::{Limits, PluginInstance};
use crate::plugin::{LoadedPlugin, load};

/// Maps events with a WebAssembly plugin.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WasmTransformConfig {
    /// `builtin:NAME`, or the path of a `.wasm` component, relative to the pipeline file's folder.
    pub plugin: String,
    /// The plugin's options, handed to its `init` once as JSON, e.g. `{ leef_version: "2.0" }`
    /// (default `{}`); a plugin that rejects them is a configuration error, which `validate`
    /// reports.
    #[serde(default)]
    pub config: serde_json::Value,
    /// Sandbox limits.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// How many instances of the plugin map batches at once, each on its own core, 1 to 64; outputs
    /// keep their input order (default: one per core, at most 8, for `builtin:` plugins; 1 for a
    /// `.wasm` file). The built-in plugins keep no state from one batch to the next; a plugin from
    /// a file may.
    #[serde(default)]
    pub workers: Option<usize>,
}

/// The most workers a transform may ask for.
const MAX_WORKERS: usize = 64;

/// Workers by default for a built-in plugin: one per core, at most 8.
fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map(std::num::NonZeroUsize::get)
        .unwrap_or(1)
        .min(8)
}

/// `limits:` of a `wasm` transform.
#[derive(Debug, Clone, Copy, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Memory the plugin may use, at least `1MiB` (default `64MiB`).
    #[schemars(with = "String")]
    #[serde(default = "default_memory", deserialize_with = "size::deserialize")]
    pub memory: u64,
    /// Time one batch may take (default `100ms`); longer calls are stopped and dead-lettered.
    #[schemars(with = "String")]
    #[serde(default = "default_time_per_batch", with = "duration")]
    pub time_per_batch: Duration,
}

fn default_memory() -> u64 {
    64 << 20
}

fn default_time_per_batch() -> Duration {
    Duration::from_millis(100)
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            memory: default_memory(),
            time_per_batch: default_time_per_batch(),
        }
    }
}

impl WasmTransformConfig {
    fn limits(&self) -> Limits {
        Limits {
            memory: self.limits.memory,
            time_per_batch: self.limits.time_per_batch,
        }
    }

    fn config_json(&self) -> String {
        match &self.config {
            serde_json::Value::Null => "{}".to_string(),
            other => other.to_string(),
        }
    }
}

impl TransformConfig for WasmTransformConfig {
    /// A plugin file is taken from the pipeline file's folder (`builtin:` names are not files).
    fn resolve_paths(&mut self, base: &std::path::Path) {
        if !self.plugin.starts_with("builtin:") && std::path::Path::new(&self.plugin).is_relative()
        {
            let mut path = std::path::PathBuf::from(&self.plugin);
            siemflow_core::config::paths::resolve(base, &mut path);
            self.plugin = path.to_string_lossy().into_owned();
        }
    }

    /// Loads the plugin and runs its `init` with the config: a plugin that does not load, does not
    /// export the world, or rejects its config is a configuration error.
    fn check(&self) -> Result<(), String> {
        self.check_options()?;
        let plugin = load(&self.plugin)?;
        PluginInstance::new(&plugin, &self.config_json(), self.limits(), "validate").map(drop)
    }

    fn workers(&self) -> usize {
        match self.workers {
            Some(workers) => workers.clamp(1, MAX_WORKERS),
            None if self.plugin.starts_with("builtin:") => default_workers(),
            None => 1,
        }
    }

    fn build(&self, cx: &ComponentContext) -> Result<Box<dyn Transform>, ComponentError> {
        let plugin = load(&self.plugin).map_err(ComponentError::Config)?;
        let tag = format!("{}/{}", cx.pipeline, cx.id);
        let config = self.config_json();
        let instance = PluginInstance::new(&plugin, &config, self.limits(), &tag)
            .map_err(ComponentError::Config)?;
        Ok(Box::new(WasmTransform {
            plugin,
            config,
            limits: self.limits(),
            tag,
            instance: Some(instance),
            metrics: cx.metrics.clone(),
            dead_letters: cx.dead_letters.clone(),
            unknown_tables: BoundedLabels::default(),
            counter_keys: BoundedLabels::default(),
        }))
    }
}

impl WasmTransformConfig {
    /// Checks the options that need no plugin: limits and workers.
    pub fn check_options(&self) -> Result<(), String> {
        if self.limits.memory < 1 << 20 {
            return Err("`limits.memory` must be at least 1MiB".into());
        }
        if self.limits.time_per_batch.is_zero() {
            return Err("`limits.time_per_batch` must be more than zero".into());
        }
        if let Some(workers) = self.workers
            && !(1..=MAX_WORKERS).contains(&workers)
        {
            return Err(format!(
                "`workers` must be from 1 to {MAX_WORKERS} (it is {workers})"
            ));
        }
        Ok(())
    }
}

struct WasmTransform {
    plugin: Arc<LoadedPlugin>,
    config: String,
    limits: Limits,
    tag: String,
    instance: Option<PluginInstance>,
    metrics: ComponentMetrics,
    dead_letters: DeadLetters,
    unknown_tables: BoundedLabels,
    counter_keys: BoundedLabels,
}

impl WasmTransform {
    /// The instance, created again if the last call failed.
    fn instance(&mut self) -> Result<&mut PluginInstance, String> {
        if self.instance.is_none() {
            let instance = PluginInstance::new(&self.plugin, &self.config, self.limits, &self.tag)?;
            self.instance = Some(instance);
        }
        self.instance
            .as_mut()
            .ok_or_else(|| "plugin instance missing".to_string())
    }

    fn dead_letter_all(&self, batch: EventBatch, reason: &str) {
        self.dead_letters.events(
            batch
                .into_iter()
                .map(|event| (event, reason.to_string()))
                .collect(),
        );
    }
}

impl Transform for WasmTransform {
    fn is_blocking(&self) -> bool {
        true
    }

    fn transform(&mut self, batch: EventBatch, output: &mut TransformOutput) {
        let inputs: Vec<abi::Event> = batch.iter().map(to_abi).collect();
        let result = match self.instance() {
            Ok(instance) => {
                let result = instance
                    .process(&inputs)
                    .map_err(|failure| failure.to_string());
                let counts: Vec<_> = instance.take_counts().collect();
                for ((name, key), value) in counts {
                    let pair = self.counter_keys.label(&format!("{name}/{key}"));
                    let key = if pair == "other" { "other" } else { &key };
                    self.metrics.plugin_count(&name, key, value);
                }
                result
            }
            Err(error) => Err(format!("plugin unavailable: {error}")),
        };
        drop(inputs);
        let outcomes = match result {
            Ok(outcomes) => outcomes,
            Err(reason) => {
                // The instance's state is unknown after a failure: start afresh next batch.
                self.instance = None;
                self.metrics
                    .error("plugin_failed", &format_args!("{}: {reason}", self.tag));
                self.dead_letter_all(batch, &reason);
                return;
            }
        };
        let mut dropped = 0;
        let mut unmapped = 0;
        let mut dead = Vec::new();
        for (event, outcome) in batch.into_iter().zip(outcomes) {
            match outcome {
                Outcome::Outputs(outputs) if outputs.is_empty() => {
                    dropped += 1;
                    event.resolve(EventStatus::Dropped);
                }
                Outcome::Outputs(outputs) => {
                    for produced in &outputs {
                        if produced.route.as_deref() == Some(UNMAPPED_ROUTE) {
                            unmapped += 1;
                            let table = self.unknown_tables.label(unmapped_table(produced));
                            self.metrics.unknown_mapping(&table, 1);
                        }
                    }
                    emit(event, outputs, output);
                }
                Outcome::Dropped => {
                    dropped += 1;
                    event.resolve(EventStatus::Dropped);
                }
                Outcome::Failed(reason) => dead.push((event, format!("plugin: {reason}"))),
            }
        }
        self.metrics.unmapped(unmapped);
        self.metrics.discarded(dropped, "plugin_dropped");
        self.dead_letters.events(dead);
    }
}

/// Label values a plugin instance has used for one metric, at most [`BoundedLabels::LIMIT`] of
/// them, then `other`, so that a stream of random names cannot grow the metrics without bound: the
/// `table` of `siemflow_mapping_unknown_total`, the `key` of `siemflow_plugin_counter_total`.
#[derive(Debug, Default)]
pub struct BoundedLabels(std::collections::HashSet<String>);

impl BoundedLabels {
    /// Distinct values kept per plugin instance (a transform with `workers: N` has N).
    pub const LIMIT: usize = 200;

    /// The label for a value (cut to 100 characters).
    pub fn label(&mut self, value: &str) -> String {
        let value: String = value.chars().take(100).collect();
        if self.0.contains(&value) {
            return value;
        }
        if self.0.len() >= Self::LIMIT {
            return "other".to_string();
        }
        self.0.insert(value.clone());
        value
    }
}

/// The table an unmapped output is of: the table part of its SIEM event id
/// (`DeviceTvmSoftwareInventory`, `DeviceEvents` of `DeviceEvents:NewActionType`).
fn unmapped_table(produced: &abi::Output) -> &str {
    let id = produced
        .siem_event_id
        .as_deref()
        .or(produced.event_type.as_deref())
        .unwrap_or("unknown");
    id.split(':').next().unwrap_or(id)
}

/// The route a plugin gives outputs it has no mapping for (the SDK's `Output::unmapped`):
/// counted in `siemflow_component_unmapped_events_total`.
pub const UNMAPPED_ROUTE: &str = "unmapped";

/// Whether the bytes are one JSON value.
fn is_json(body: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok()
}

/// An event as the ABI hands it to a plugin. Public for the native comparison benchmark.
pub fn to_abi(event: &Event) -> abi::Event {
    abi::Event {
        body: event.body().to_vec(),
        format: match event.format() {
            BodyFormat::Json => abi::BodyFormat::Json,
            BodyFormat::Text => abi::BodyFormat::Text,
        },
        event_type: event.metadata().event_type.as_deref().map(str::to_string),
        id: event.id().to_string(),
    }
}

/// Replaces `input` by a plugin's outputs, which share its acknowledgement. Public for the
/// benchmark that runs the same mapping natively (`benches/transform.rs`) through this same step.
pub fn emit(mut input: Event, outputs: Vec<abi::Output>, output: &mut TransformOutput) {
    let mut finalizers = Some(input.take_finalizers());
    let count = outputs.len();
    for (index, produced) in outputs.into_iter().enumerate() {
        let mut metadata = input.metadata().clone();
        if index > 0 {
            metadata.id =
                EventId::derive(&[&input.id().as_u128().to_le_bytes(), &index.to_le_bytes()]);
        }
        if let Some(event_type) = produced.event_type {
            metadata.event_type = Some(Arc::from(event_type));
        }
        if produced.siem_event_id.is_some()
            || produced.sourcetype.is_some()
            || produced.route.is_some()
        {
            metadata.labels = Some(Arc::new(Labels {
                siem_event_id: produced.siem_event_id.map(Arc::from),
                sourcetype: produced.sourcetype.map(Arc::from),
                route: produced.route.map(Arc::from),
            }));
        }
        let body = Bytes::from(produced.body);
        // A plugin's JSON is checked: embedded as is by sinks (HEC), invalid JSON would corrupt
        // their requests, so it travels on as text.
        let mut event = match produced.format {
            abi::BodyFormat::Json if is_json(&body) => Event::json(body, metadata),
            abi::BodyFormat::Json => Event::text(body, metadata),
            abi::BodyFormat::Text => Event::text(body, metadata),
        };
        // Every output carries the input's acknowledgement: copies for all but the last, which
        // takes the original.
        let carried = if index + 1 == count {
            finalizers.take().unwrap_or_default()
        } else {
            finalizers.clone().unwrap_or_default()
        };
        event.merge_finalizers(carried);
        output.push(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(plugin: &str, workers: Option<usize>) -> WasmTransformConfig {
        WasmTransformConfig {
            plugin: plugin.into(),
            config: serde_json::Value::Null,
            limits: LimitsConfig::default(),
            workers,
        }
    }

    #[test]
    fn builtins_use_every_core_and_files_one_instance_unless_told() {
        assert_eq!(
            config("builtin:defender-cef", None).workers(),
            default_workers()
        );
        assert_eq!(config("./mine.wasm", None).workers(), 1);
        assert_eq!(config("./mine.wasm", Some(3)).workers(), 3);
        assert_eq!(config("builtin:defender-cef", Some(1)).workers(), 1);
    }

    #[test]
    fn workers_out_of_range_are_refused_before_loading_anything() {
        for workers in [0, MAX_WORKERS + 1] {
            let error = config("./does-not-exist.wasm", Some(workers))
                .check()
                .unwrap_err();
            assert!(error.contains("`workers` must be from 1 to 64"), "{error}");
        }
    }
}
