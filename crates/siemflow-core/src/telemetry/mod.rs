//! Metrics, labelled by pipeline and component, and the log lines that go with them.
//!
//! One [`Telemetry`] per process holds a Prometheus registry. Each component gets a
//! [`ComponentMetrics`] with its label set resolved once at build time, so the hot path is an atomic
//! add. Components report through named methods ([`ComponentMetrics::dead_lettered`],
//! [`ComponentMetrics::discarded`], ...) that count and log together, so metric names and labels are
//! never formatted by hand and every tenant's metrics look the same.

mod age;
mod component;
mod degradation;
mod pipeline;
mod series;
mod unacked;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

pub use age::Age;
pub use component::{ComponentLabels, ComponentMetrics, MetricsSnapshot, body_bytes, reason_kind};
pub use degradation::Degradation;
pub use pipeline::PipelineMetrics;
pub use unacked::Unacked;

use component::{PartitionLabels, PluginCounterLabels, ReasonLabels, TableLabels};
use degradation::{Degradations, Degraded, DegradedConstructor};
use pipeline::{PipelineLabels, ReloadLabels, StateLabels};
use series::Series;

/// Every metric family, shared by all pipelines; series are told apart by their labels.
#[derive(Clone, Debug, Default)]
struct Families {
    received_events: Family<ComponentLabels, Counter>,
    received_bytes: Family<ComponentLabels, Counter>,
    sent_events: Family<ComponentLabels, Counter>,
    sent_bytes: Family<ComponentLabels, Counter>,
    unmapped_events: Family<ComponentLabels, Counter>,
    mapping_unknown: Family<TableLabels, Counter>,
    plugin_counter: Family<PluginCounterLabels, Counter>,
    discarded_events: Family<ReasonLabels, Counter>,
    dead_letter_events: Family<ReasonLabels, Counter>,
    errors: Family<ReasonLabels, Counter>,
    throttled: Family<ReasonLabels, Counter>,
    throttled_seconds: Family<ReasonLabels, Counter<f64, AtomicU64>>,
    buffer_events: Family<ComponentLabels, Gauge>,
    buffer_bytes: Family<ComponentLabels, Gauge>,
    pending_events: Family<ComponentLabels, Gauge>,
    checkpoint_age: Family<ComponentLabels, Age>,
    high_water_mark_age: Family<ComponentLabels, Age>,
    poll_age: Family<ComponentLabels, Age>,
    lag_bytes: Family<ComponentLabels, Gauge>,
    lag_events: Family<PartitionLabels, Gauge>,
    processing_seconds: Family<ComponentLabels, Counter<f64, AtomicU64>>,
    pipeline_state: Family<StateLabels, Gauge>,
    oldest_unacked: Family<PipelineLabels, Unacked>,
    pipeline_restarts: Family<PipelineLabels, Counter>,
    pipeline_reloads: Family<ReloadLabels, Counter>,
}

/// The process-wide metrics registry and metric families.
#[derive(Clone, Debug)]
pub struct Telemetry {
    registry: Arc<Mutex<Registry>>,
    families: Families,
    series: Series,
    degradations: Degradations,
    degraded: Family<ComponentLabels, Degraded, DegradedConstructor>,
    degraded_after: Arc<AtomicU64>,
    taps: crate::tap::Taps,
}

/// `--degraded-after` when not given: 30 s.
const DEFAULT_DEGRADED_AFTER_MS: u64 = 30_000;

impl Default for Telemetry {
    fn default() -> Self {
        Self::new()
    }
}

impl Telemetry {
    /// Creates the registry and registers every family.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("siemflow");
        let families = Families::default();
        let degraded_after = Arc::new(AtomicU64::new(DEFAULT_DEGRADED_AFTER_MS));
        let degraded = Family::new_with_constructor(DegradedConstructor {
            after: degraded_after.clone(),
        });
        let f = families.clone();
        let r = &mut registry;
        r.register(
            "component_received_events",
            "Events a component received",
            f.received_events,
        );
        r.register(
            "component_received_bytes",
            "Bytes a source read",
            f.received_bytes,
        );
        r.register(
            "component_sent_events",
            "Events a component sent downstream or delivered",
            f.sent_events,
        );
        r.register(
            "component_sent_bytes",
            "Bytes of the bodies of the events a component sent downstream or delivered",
            f.sent_bytes,
        );
        r.register(
            "component_unmapped_events",
            "Events a transform plugin had no mapping for, sent on as a generic record",
            f.unmapped_events,
        );
        r.register(
            "mapping_unknown",
            "Records a transform's mapping did not know, by table: tables it does not map, or event types of a table it does not list (sent on as generic records)",
            f.mapping_unknown,
        );
        r.register(
            "plugin_counter",
            "What a transform plugin counted (host.count), by counter name and key; the built-in mappings count `unknown-column` per table",
            f.plugin_counter,
        );
        r.register(
            "component_discarded_events",
            "Events dropped on purpose (filtered, duplicate, buffer full), by reason",
            f.discarded_events,
        );
        r.register(
            "dead_letter_events",
            "Events written to the dead-letter file, by reason",
            f.dead_letter_events,
        );
        r.register("component_errors", "Errors by type", f.errors);
        r.register(
            "component_throttled",
            "Times a component waited before calling an API: `retry_after` (the service answered 429) or `budget` (its own rate limit)",
            f.throttled,
        );
        r.register(
            "component_throttled_seconds",
            "Seconds a component waited before calling an API, by reason",
            f.throttled_seconds,
        );
        r.register(
            "buffer_events",
            "Events waiting in a component's input buffer",
            f.buffer_events,
        );
        r.register(
            "buffer_bytes",
            "Bytes a sink's disk buffer holds on disk",
            f.buffer_bytes,
        );
        r.register(
            "source_pending_events",
            "Events a source sent that are not yet acknowledged",
            f.pending_events,
        );
        r.register(
            "source_checkpoint_age_seconds",
            "Seconds since the source's stored checkpoint last covered everything acknowledged",
            f.checkpoint_age,
        );
        r.register(
            "source_high_water_mark_age_seconds",
            "Seconds between now and the newest change time a polling source has read up to",
            f.high_water_mark_age,
        );
        r.register(
            "source_poll_age_seconds",
            "Seconds since a polling source last completed a poll (every page read, every event acknowledged), or since it started",
            f.poll_age,
        );
        r.register(
            "component_degraded",
            "1 while a component has lasting trouble (shown with its reason in /health): a source that reports it, a sink that has delivered nothing for --degraded-after since an error; else 0",
            degraded.clone(),
        );
        r.register(
            "source_lag_bytes",
            "Bytes the source's input held beyond what it had read, at the start of its last poll",
            f.lag_bytes,
        );
        r.register(
            "source_lag_events",
            "Events a partition of the source's input holds beyond what it has read, at the last look",
            f.lag_events,
        );
        r.register(
            "transform_processing_seconds",
            "Seconds a transform spent on batches (plugins: in the guest and its host calls)",
            f.processing_seconds,
        );
        r.register(
            "pipeline_state",
            "1 for the state a pipeline is in, 0 for the others",
            f.pipeline_state,
        );
        r.register(
            "pipeline_oldest_unacked_seconds",
            "Seconds the oldest event the pipeline's sources sent has waited for its acknowledgement (0 when none waits)",
            f.oldest_unacked,
        );
        r.register(
            "pipeline_restarts",
            "Times a failed pipeline was started again",
            f.pipeline_restarts,
        );
        r.register(
            "pipeline_reloads",
            "New versions of a pipeline file, by outcome (`applied` or `refused`)",
            f.pipeline_reloads,
        );
        Self {
            registry: Arc::new(Mutex::new(registry)),
            families,
            series: Series::default(),
            degradations: Degradations::default(),
            degraded,
            degraded_after,
            taps: crate::tap::Taps::default(),
        }
    }

    /// The live event viewers of this process (`siemflow tap`).
    pub fn taps(&self) -> &crate::tap::Taps {
        &self.taps
    }

    /// How long a sink may fail to deliver before it counts as degraded (`--degraded-after`).
    pub fn set_degraded_after(&self, after: Duration) {
        self.degraded_after.store(
            u64::try_from(after.as_millis()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// Metrics handles for one component.
    pub fn component(&self, labels: ComponentLabels) -> ComponentMetrics {
        ComponentMetrics::new(self.clone(), labels)
    }

    /// Metrics handle for a pipeline as a whole.
    pub fn pipeline(&self, id: &str) -> PipelineMetrics {
        PipelineMetrics::new(self.clone(), id)
    }

    /// Removes every series of a pipeline that is gone, so `/metrics` shows running ones only.
    /// Handles it still holds keep counting into series nobody scrapes.
    pub fn forget_pipeline(&self, id: &str) {
        self.series.forget(id);
        self.degradations.forget(id);
    }

    /// The batches pipeline `id`'s sources have in flight.
    pub fn unacked(&self, id: &str) -> Unacked {
        let labels = PipelineLabels {
            pipeline: id.to_string(),
        };
        self.series.get(id, &self.families.oldest_unacked, &labels)
    }

    /// The components of pipeline `id` that report lasting trouble now.
    pub fn degradations(&self, id: &str) -> Vec<Degradation> {
        self.degradations.of(id)
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut output = String::new();
        let registry = self
            .registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut output, &registry);
        output
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> ComponentLabels {
        ComponentLabels {
            pipeline: "contoso".into(),
            component_id: "in".into(),
            component_kind: "source".into(),
            component_type: "file".into(),
        }
    }

    #[test]
    fn counts_and_encodes_with_labels() {
        let telemetry = Telemetry::new();
        let metrics = telemetry.component(labels());
        metrics.received(3, 300);
        metrics.dead_lettered(1, "malformed JSON: expected value at line 1");
        let text = telemetry.encode();
        assert!(text.contains(
            "siemflow_component_received_events_total{pipeline=\"contoso\",component_id=\"in\",component_kind=\"source\",component_type=\"file\"} 3"
        ), "{text}");
        assert!(text.contains("reason=\"malformed JSON\"} 1"), "{text}");
        assert_eq!(metrics.dead_letter_count("malformed JSON"), 1);
    }

    #[test]
    fn a_forgotten_pipeline_leaves_the_exposition_and_the_others_stay() {
        let telemetry = Telemetry::new();
        let gone = telemetry.component(labels());
        gone.error("write_failed", &"refused");
        gone.checkpointed();
        telemetry
            .pipeline("contoso")
            .set_state("running", &["running", "failed"]);
        let stays = telemetry.component(ComponentLabels {
            pipeline: "fabrikam".into(),
            ..labels()
        });
        stays.sent(2, 20);
        telemetry.forget_pipeline("contoso");
        let text = telemetry.encode();
        assert!(!text.contains("contoso"), "{text}");
        assert!(
            text.contains("siemflow_component_sent_bytes_total{pipeline=\"fabrikam\",component_id=\"in\",component_kind=\"source\",component_type=\"file\"} 20"),
            "{text}"
        );
    }
}
