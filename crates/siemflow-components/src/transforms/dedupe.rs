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
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DedupeConfig {
    /// JSONPath expressions whose values together form the key, e.g. `["$.properties.ReportId",
    /// "$.properties.DeviceId"]` (default: the stable event id).
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

#[cfg(test)]
mod tests {
    use siemflow_core::event::BatchStatus;

    use super::*;
    use crate::test_util::{bodies, context, deliver, json_batch, run};

    fn dedupe(fields: &[&str], cache_size: usize) -> DedupeConfig {
        DedupeConfig {
            fields: fields.iter().map(|f| FieldPath::new(f).unwrap()).collect(),
            cache_size,
        }
    }

    #[tokio::test]
    async fn drops_repeated_keys_and_acknowledges_them() {
        let cx = context("dedupe");
        let mut transform = dedupe(&["$.ReportId", "$.DeviceId"], 100)
            .build(&cx)
            .unwrap();
        let (batch, status) = json_batch(&[
            r#"{"ReportId":9007199254740993,"DeviceId":"a"}"#,
            r#"{"ReportId":9007199254740992,"DeviceId":"a"}"#,
            r#"{"DeviceId":"a","ReportId":9007199254740993,"extra":1}"#,
            r#"{"ReportId":9007199254740993,"DeviceId":"b"}"#,
        ]);
        let output = run(transform.as_mut(), batch, 0);
        assert_eq!(
            bodies(&output.default),
            vec![
                r#"{"ReportId":9007199254740993,"DeviceId":"a"}"#,
                r#"{"ReportId":9007199254740992,"DeviceId":"a"}"#,
                r#"{"ReportId":9007199254740993,"DeviceId":"b"}"#,
            ],
            "2^53 and 2^53 + 1 are different keys"
        );
        assert_eq!(deliver(output, status).await, BatchStatus::Delivered);
        assert_eq!(cx.metrics.discarded_count("duplicate"), 1);
    }

    #[tokio::test]
    async fn uses_the_event_id_by_default() {
        let cx = context("dedupe");
        let mut transform = dedupe(&[], 100).build(&cx).unwrap();
        // Test batches number their events 0, 1, 2: the second batch repeats the first's ids, as
        // a source re-reading after a crash would.
        let (first, _) = json_batch(&["{}", "{}", "{}"]);
        assert_eq!(run(transform.as_mut(), first, 0).default.len(), 3);
        let (again, status) = json_batch(&[r#"{"x":1}"#, "{}", "{}"]);
        let output = run(transform.as_mut(), again, 0);
        assert!(output.default.is_empty());
        assert_eq!(deliver(output, status).await, BatchStatus::Delivered);
    }

    #[tokio::test]
    async fn forgets_keys_beyond_the_cache_size() {
        let cx = context("dedupe");
        let mut transform = dedupe(&["$.k"], 2).build(&cx).unwrap();
        let (batch, _) = json_batch(&[
            r#"{"k":0}"#,
            r#"{"k":1}"#,
            r#"{"k":1}"#,
            r#"{"k":2}"#,
            r#"{"k":0}"#,
        ]);
        let output = run(transform.as_mut(), batch, 0);
        assert_eq!(
            bodies(&output.default),
            vec![r#"{"k":0}"#, r#"{"k":1}"#, r#"{"k":2}"#, r#"{"k":0}"#],
            "k=1 repeats within the window; k=0 was evicted by k=2 and passes again"
        );
    }
}
