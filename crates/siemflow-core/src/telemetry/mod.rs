//! Metrics, labelled by pipeline and component, and the log lines that go with them.
//!
//! One [`Telemetry`] per process holds a Prometheus registry. Each component gets a
//! [`ComponentMetrics`] with its label set resolved once at build time, so the hot path is an atomic
//! add. Components report through named methods ([`ComponentMetrics::dead_lettered`],
//! [`ComponentMetrics::discarded`], ...) that count and log together, so metric names and labels are
//! never formatted by hand and every tenant's metrics look the same.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// The labels every component metric carries.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ComponentLabels {
    /// Pipeline id (the tenant).
    pub pipeline: String,
    /// Component id.
    pub component_id: String,
    /// `source`, `transform` or `sink`.
    pub component_kind: String,
    /// The `type:` of the component.
    pub component_type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    pipeline: String,
    component_id: String,
    component_kind: String,
    component_type: String,
    reason: String,
}

/// The process-wide metrics registry and metric families.
#[derive(Clone, Debug)]
pub struct Telemetry {
    registry: Arc<Mutex<Registry>>,
    received_events: Family<ComponentLabels, Counter>,
    received_bytes: Family<ComponentLabels, Counter>,
    sent_events: Family<ComponentLabels, Counter>,
    unmapped_events: Family<ComponentLabels, Counter>,
    discarded_events: Family<ReasonLabels, Counter>,
    dead_letter_events: Family<ReasonLabels, Counter>,
    errors: Family<ReasonLabels, Counter>,
    throttled: Family<ReasonLabels, Counter>,
    throttled_seconds: Family<ReasonLabels, Counter<f64, AtomicU64>>,
    buffer_events: Family<ComponentLabels, Gauge>,
    buffer_bytes: Family<ComponentLabels, Gauge>,
    pending_events: Family<ComponentLabels, Gauge>,
}

impl Default for Telemetry {
    fn default() -> Self {
        Self::new()
    }
}

impl Telemetry {
    /// Creates the registry and registers every family.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("siemflow");
        let telemetry = Self {
            registry: Arc::default(),
            received_events: Family::default(),
            received_bytes: Family::default(),
            sent_events: Family::default(),
            unmapped_events: Family::default(),
            discarded_events: Family::default(),
            dead_letter_events: Family::default(),
            errors: Family::default(),
            throttled: Family::default(),
            throttled_seconds: Family::default(),
            buffer_events: Family::default(),
            buffer_bytes: Family::default(),
            pending_events: Family::default(),
        };
        registry.register(
            "component_received_events",
            "Events a component received",
            telemetry.received_events.clone(),
        );
        registry.register(
            "component_received_bytes",
            "Bytes a source read",
            telemetry.received_bytes.clone(),
        );
        registry.register(
            "component_sent_events",
            "Events a component sent downstream or delivered",
            telemetry.sent_events.clone(),
        );
        registry.register(
            "component_unmapped_events",
            "Events a transform plugin had no mapping for, sent on as a generic record",
            telemetry.unmapped_events.clone(),
        );
        registry.register(
            "component_discarded_events",
            "Events dropped on purpose (filtered, duplicate, buffer full), by reason",
            telemetry.discarded_events.clone(),
        );
        registry.register(
            "dead_letter_events",
            "Events written to the dead-letter file, by reason",
            telemetry.dead_letter_events.clone(),
        );
        registry.register(
            "component_errors",
            "Errors by type",
            telemetry.errors.clone(),
        );
        registry.register(
            "component_throttled",
            "Times a component waited before calling an API: `retry_after` (the service answered 429) or `budget` (its own rate limit)",
            telemetry.throttled.clone(),
        );
        registry.register(
            "component_throttled_seconds",
            "Seconds a component waited before calling an API, by reason",
            telemetry.throttled_seconds.clone(),
        );
        registry.register(
            "buffer_events",
            "Events waiting in a component's input buffer",
            telemetry.buffer_events.clone(),
        );
        registry.register(
            "buffer_bytes",
            "Bytes a sink's disk buffer holds on disk",
            telemetry.buffer_bytes.clone(),
        );
        registry.register(
            "source_pending_events",
            "Events a source sent that are not yet acknowledged",
            telemetry.pending_events.clone(),
        );
        Self {
            registry: Arc::new(Mutex::new(registry)),
            ..telemetry
        }
    }

    /// Metrics handles for one component.
    pub fn component(&self, labels: ComponentLabels) -> ComponentMetrics {
        ComponentMetrics {
            received_events: self.received_events.get_or_create(&labels).clone(),
            received_bytes: self.received_bytes.get_or_create(&labels).clone(),
            sent_events: self.sent_events.get_or_create(&labels).clone(),
            unmapped_events: self.unmapped_events.get_or_create(&labels).clone(),
            buffer_events: self.buffer_events.get_or_create(&labels).clone(),
            buffer_bytes: self.buffer_bytes.get_or_create(&labels).clone(),
            pending_events: self.pending_events.get_or_create(&labels).clone(),
            families: self.clone(),
            labels: Arc::new(labels),
        }
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

/// One component's metrics.
#[derive(Clone, Debug)]
pub struct ComponentMetrics {
    received_events: Counter,
    received_bytes: Counter,
    sent_events: Counter,
    unmapped_events: Counter,
    buffer_events: Gauge,
    buffer_bytes: Gauge,
    pending_events: Gauge,
    families: Telemetry,
    labels: Arc<ComponentLabels>,
}

impl ComponentMetrics {
    fn with_reason(&self, reason: &str) -> ReasonLabels {
        ReasonLabels {
            pipeline: self.labels.pipeline.clone(),
            component_id: self.labels.component_id.clone(),
            component_kind: self.labels.component_kind.clone(),
            component_type: self.labels.component_type.clone(),
            reason: reason.to_string(),
        }
    }

    /// The component's labels.
    pub fn labels(&self) -> &ComponentLabels {
        &self.labels
    }

    /// Events (and for sources, bytes) came in.
    pub fn received(&self, events: usize, bytes: usize) {
        self.received_events.inc_by(events as u64);
        self.received_bytes.inc_by(bytes as u64);
    }

    /// Events went out (sent downstream, or delivered by a sink).
    pub fn sent(&self, events: usize) {
        self.sent_events.inc_by(events as u64);
    }

    /// A transform had no mapping for events and sent them on as generic records.
    pub fn unmapped(&self, events: usize) {
        self.unmapped_events.inc_by(events as u64);
    }

    /// Events were dropped on purpose.
    pub fn discarded(&self, events: usize, reason: &str) {
        if events == 0 {
            return;
        }
        self.families
            .discarded_events
            .get_or_create(&self.with_reason(reason))
            .inc_by(events as u64);
        tracing::debug!(
            pipeline = %self.labels.pipeline,
            component = %self.labels.component_id,
            events,
            reason,
            "events discarded"
        );
    }

    /// Events went to the dead-letter file; `reason` is one of their reasons, logged as an example.
    pub fn dead_lettered(&self, events: usize, reason: &str) {
        self.families
            .dead_letter_events
            .get_or_create(&self.with_reason(reason_kind(reason)))
            .inc_by(events as u64);
        tracing::warn!(
            pipeline = %self.labels.pipeline,
            component = %self.labels.component_id,
            events,
            reason,
            "events dead-lettered"
        );
    }

    /// Something failed; `error_type` is a short stable label such as `write_failed`.
    pub fn error(&self, error_type: &str, message: &dyn std::fmt::Display) {
        self.families
            .errors
            .get_or_create(&self.with_reason(error_type))
            .inc();
        tracing::error!(
            pipeline = %self.labels.pipeline,
            component = %self.labels.component_id,
            error_type,
            "{message}"
        );
    }

    /// The component waited `wait` before an API call: `retry_after` when the service said so
    /// (429), `budget` when its own rate limit held it.
    pub fn throttled(&self, reason: &str, wait: std::time::Duration) {
        let labels = self.with_reason(reason);
        self.families.throttled.get_or_create(&labels).inc();
        self.families
            .throttled_seconds
            .get_or_create(&labels)
            .inc_by(wait.as_secs_f64());
    }

    /// Times the component was throttled for `reason` so far.
    pub fn throttled_count(&self, reason: &str) -> u64 {
        self.families
            .throttled
            .get_or_create(&self.with_reason(reason))
            .get()
    }

    /// Events entered (+) or left (-) the component's input buffer.
    pub fn buffer_changed(&self, delta: i64) {
        self.buffer_events.inc_by(delta);
    }

    /// Bytes were added to (+) or removed from (-) a disk buffer.
    pub fn buffer_bytes_changed(&self, delta: i64) {
        self.buffer_bytes.inc_by(delta);
    }

    /// Events a source sent (+) or saw acknowledged (-).
    pub fn pending_changed(&self, delta: i64) {
        self.pending_events.inc_by(delta);
    }

    /// Current number of unacknowledged events of a source.
    pub fn pending_events(&self) -> i64 {
        self.pending_events.get()
    }

    /// Totals, for tests and `siemflow test` reports.
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            received_events: self.received_events.get(),
            sent_events: self.sent_events.get(),
            buffer_events: self.buffer_events.get(),
            pending_events: self.pending_events.get(),
        }
    }

    /// Total dead letters of this component for a reason label.
    pub fn dead_letter_count(&self, reason: &str) -> u64 {
        self.families
            .dead_letter_events
            .get_or_create(&self.with_reason(reason))
            .get()
    }

    /// Total discarded events of this component for a reason label.
    pub fn discarded_count(&self, reason: &str) -> u64 {
        self.families
            .discarded_events
            .get_or_create(&self.with_reason(reason))
            .get()
    }
}

/// Reasons carry details (`malformed JSON: expected ...`); the metric label keeps the kind only.
pub fn reason_kind(reason: &str) -> &str {
    reason.split(':').next().unwrap_or(reason).trim()
}

/// Counter values at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Events received.
    pub received_events: u64,
    /// Events sent or delivered.
    pub sent_events: u64,
    /// Events in the input buffer.
    pub buffer_events: i64,
    /// Unacknowledged events (sources).
    pub pending_events: i64,
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
}
