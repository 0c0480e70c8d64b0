//! `type: dedupe`: drops events whose key was seen among the most recent ones.
//!
//! The key is the values of `fields` (JSONPath), or the event's stable id when `fields` is empty,
//! which removes the repeats an at-least-once source produces after a restart. Keys are kept as
//! 128-bit hashes in an LRU cache of `cache_size` entries, so memory is bounded whatever the input.
//! Duplicates are dropped on purpose (acknowledged) and counted as `duplicate`.

use std::num::NonZeroUsize;

use lru::LruCache;
use serde::Deserialize;
use siemflow_core::component::{
    ComponentContext, ComponentError, Transform, TransformConfig, TransformOutput,
};
use siemflow_core::condition::FieldPath;
use siemflow_core::dead_letter::DeadLetters;
use siemflow_core::event::{Event, EventBatch, EventStatus};
use siemflow_core::telemetry::ComponentMetrics;
use xxhash_rust::xxh3::Xxh3;

/// Drops repeated events.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DedupeConfig {
    /// JSONPath expressions whose values together identify an event, e.g.
    /// `["$.properties.ReportId", "$.properties.DeviceId"]`. Default: the stable event id.
    #[serde(default)]
    pub fields: Vec<FieldPath>,
    /// How many recent keys are remembered (default 100000).
    #[serde(default = "default_cache_size")]
    pub cache_size: usize,
}

fn default_cache_size() -> usize {
    100_000
}

impl TransformConfig for DedupeConfig {
    fn check(&self) -> Result<(), String> {
        if self.cache_size == 0 {
            return Err("`cache_size` must be at least 1".into());
        }
        Ok(())
    }

    fn build(&self, cx: &ComponentContext) -> Result<Box<dyn Transform>, ComponentError> {
        let capacity = NonZeroUsize::new(self.cache_size)
            .ok_or_else(|| ComponentError::Config("`cache_size` must be at least 1".into()))?;
        Ok(Box::new(Dedupe {
            fields: self.fields.clone(),
            seen: LruCache::new(capacity),
            metrics: cx.metrics.clone(),
            dead_letters: cx.dead_letters.clone(),
        }))
    }
}

struct Dedupe {
    fields: Vec<FieldPath>,
    seen: LruCache<u128, ()>,
    metrics: ComponentMetrics,
    dead_letters: DeadLetters,
}

impl Dedupe {
    fn key(&self, event: &Event) -> Result<u128, String> {
        if self.fields.is_empty() {
            return Ok(event.id().as_u128());
        }
        let value = event
            .parsed()
            .map_err(|error| format!("not JSON: {error}"))?;
        let mut hasher = Xxh3::new();
        for field in &self.fields {
            let selected = field.select(value);
            hasher.update(&(selected.len() as u64).to_le_bytes());
            for item in selected {
                let text = item.to_string();
                hasher.update(&(text.len() as u64).to_le_bytes());
                hasher.update(text.as_bytes());
            }
        }
        Ok(hasher.digest128())
    }
}

impl Transform for Dedupe {
    fn transform(&mut self, batch: EventBatch, output: &mut TransformOutput) {
        let mut duplicates = 0;
        let mut dead = Vec::new();
        for event in batch {
            match self.key(&event) {
                Ok(key) => {
                    if self.seen.put(key, ()).is_some() {
                        duplicates += 1;
                        event.resolve(EventStatus::Dropped);
                    } else {
                        output.push(event);
                    }
                }
                Err(reason) => dead.push((event, reason)),
            }
        }
        self.metrics.discarded(duplicates, "duplicate");
        self.dead_letters.events(dead);
    }
}
