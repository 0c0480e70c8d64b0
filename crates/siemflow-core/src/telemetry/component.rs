//! One component's metrics handles: counting on the hot path is an atomic add.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

use super::degradation::{Degraded, TroubleCell};
use super::{Age, Telemetry};
use crate::event::Event;

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

/// A component's labels and one more.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ReasonLabels {
    #[prometheus(flatten)]
    pub(crate) component: ComponentLabels,
    pub(crate) reason: String,
}

/// A component's labels and the table (or event type's table) they count.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct TableLabels {
    #[prometheus(flatten)]
    pub(crate) component: ComponentLabels,
    pub(crate) table: String,
}

/// A component's labels and a plugin counter's name and key (`host.count`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct PluginCounterLabels {
    #[prometheus(flatten)]
    pub(crate) component: ComponentLabels,
    pub(crate) name: String,
    pub(crate) key: String,
}

/// A component's labels and the partition of its input they describe.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct PartitionLabels {
    #[prometheus(flatten)]
    pub(crate) component: ComponentLabels,
    pub(crate) partition: String,
}

/// One component's metrics.
#[derive(Clone, Debug)]
pub struct ComponentMetrics {
    received_events: Counter,
    received_bytes: Counter,
    sent_events: Counter,
    sent_bytes: Counter,
    unmapped_events: Counter,
    buffer_events: Gauge,
    buffer_bytes: Gauge,
    pending_events: Gauge,
    trouble: Arc<TroubleCell>,
    is_sink: bool,
    telemetry: Telemetry,
    labels: Arc<ComponentLabels>,
}

/// Bytes of the bodies of `events`: what `component_sent_bytes` counts.
pub fn body_bytes(events: &[Event]) -> usize {
    events.iter().map(|event| event.body().len()).sum()
}

impl ComponentMetrics {
    pub(crate) fn new(telemetry: Telemetry, labels: ComponentLabels) -> Self {
        let families = &telemetry.families;
        let series = |family: &Family<ComponentLabels, Counter>| {
            telemetry.series.get(&labels.pipeline, family, &labels)
        };
        let gauge = |family: &Family<ComponentLabels, Gauge>| {
            telemetry.series.get(&labels.pipeline, family, &labels)
        };
        let degraded: Degraded =
            telemetry
                .series
                .get(&labels.pipeline, &telemetry.degraded, &labels);
        degraded.0.name(&labels.component_id);
        telemetry.degradations.add(&labels.pipeline, &degraded.0);
        Self {
            trouble: degraded.0,
            is_sink: labels.component_kind == "sink",
            received_events: series(&families.received_events),
            received_bytes: series(&families.received_bytes),
            sent_events: series(&families.sent_events),
            sent_bytes: series(&families.sent_bytes),
            unmapped_events: series(&families.unmapped_events),
            buffer_events: gauge(&families.buffer_events),
            buffer_bytes: gauge(&families.buffer_bytes),
            pending_events: gauge(&families.pending_events),
            labels: Arc::new(labels),
            telemetry,
        }
    }

    fn reason_counter(&self, family: &Family<ReasonLabels, Counter>, reason: &str) -> Counter {
        let labels = ReasonLabels {
            component: (*self.labels).clone(),
            reason: reason.to_string(),
        };
        self.telemetry
            .series
            .get(&self.labels.pipeline, family, &labels)
    }

    fn age(&self, family: &Family<ComponentLabels, Age>) -> Age {
        self.telemetry
            .series
            .get(&self.labels.pipeline, family, &self.labels)
    }

    /// The batches its pipeline's sources have in flight.
    pub fn unacked(&self) -> super::Unacked {
        self.telemetry.unacked(&self.labels.pipeline)
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

    /// Events went out (sent downstream, or delivered by a sink), with the bytes of their bodies
    /// (see [`body_bytes`]).
    pub fn sent(&self, events: usize, bytes: usize) {
        self.sent_events.inc_by(events as u64);
        self.sent_bytes.inc_by(bytes as u64);
        if self.is_sink && self.trouble.delivered() {
            tracing::info!("delivering again");
        }
    }

    /// A sink delivered `events`: [`sent`](Self::sent) with their count and body bytes.
    pub fn delivered(&self, events: &[Event]) {
        self.sent(events.len(), body_bytes(events));
    }

    /// A transform had no mapping for events and sent them on as generic records.
    pub fn unmapped(&self, events: usize) {
        self.unmapped_events.inc_by(events as u64);
    }

    /// A transform's mapping did not know `events` records of `table` (a table it does not map,
    /// or an event type of the table it does not list): drift to look at.
    pub fn unknown_mapping(&self, table: &str, events: usize) {
        let labels = TableLabels {
            component: (*self.labels).clone(),
            table: table.to_string(),
        };
        self.telemetry
            .series
            .get(
                &self.labels.pipeline,
                &self.telemetry.families.mapping_unknown,
                &labels,
            )
            .inc_by(events as u64);
    }

    /// A `wasm` transform's plugin counted `value` under its counter `name` for `key`.
    pub fn plugin_count(&self, name: &str, key: &str, value: u64) {
        let labels = PluginCounterLabels {
            component: (*self.labels).clone(),
            name: name.to_string(),
            key: key.to_string(),
        };
        self.telemetry
            .series
            .get(
                &self.labels.pipeline,
                &self.telemetry.families.plugin_counter,
                &labels,
            )
            .inc_by(value);
    }

    /// Events were dropped on purpose.
    pub fn discarded(&self, events: usize, reason: &str) {
        if events == 0 {
            return;
        }
        let families = &self.telemetry.families;
        self.reason_counter(&families.discarded_events, reason)
            .inc_by(events as u64);
        tracing::debug!(events, reason, "events discarded");
    }

    /// Events went to the dead-letter file; `reason` is one of their reasons, logged as an example.
    pub fn dead_lettered(&self, events: usize, reason: &str) {
        let families = &self.telemetry.families;
        self.reason_counter(&families.dead_letter_events, reason_kind(reason))
            .inc_by(events as u64);
        tracing::warn!(events, reason, "events dead-lettered");
    }

    /// Something failed; `error_type` is a short stable label such as `write_failed`. For a sink,
    /// it is failing from this error until its next delivery (see [`degraded`](Self::degraded)).
    pub fn error(&self, error_type: &str, message: &dyn std::fmt::Display) {
        let families = &self.telemetry.families;
        self.reason_counter(&families.errors, error_type).inc();
        tracing::error!(error_type, "{message}");
        if self.is_sink {
            self.trouble.failed(error_type, message.to_string());
        }
    }

    /// The component waited `wait` before an API call: `retry_after` when the service said so
    /// (429), `budget` when its own rate limit held it.
    pub fn throttled(&self, reason: &str, wait: Duration) {
        let families = &self.telemetry.families;
        self.reason_counter(&families.throttled, reason).inc();
        let labels = ReasonLabels {
            component: (*self.labels).clone(),
            reason: reason.to_string(),
        };
        self.telemetry
            .series
            .get(&self.labels.pipeline, &families.throttled_seconds, &labels)
            .inc_by(wait.as_secs_f64());
    }

    /// Times the component was throttled for `reason` so far.
    pub fn throttled_count(&self, reason: &str) -> u64 {
        self.reason_counter(&self.telemetry.families.throttled, reason)
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

    /// The source's stored checkpoint covers everything acknowledged so far (it was just written,
    /// or nothing new was acknowledged since): `source_checkpoint_age_seconds` counts from now.
    pub fn checkpointed(&self) {
        self.age(&self.telemetry.families.checkpoint_age)
            .set(SystemTime::now());
    }

    /// A polling source's high-water mark (the newest change time it has read up to) is now `at`.
    pub fn high_water_mark(&self, at: SystemTime) {
        self.age(&self.telemetry.families.high_water_mark_age)
            .set(at);
    }

    /// A polling source completed a poll: `source_poll_age_seconds` counts from now. Call it
    /// once at start too, so that a source that never completes one shows its age growing.
    pub fn poll_completed(&self) {
        self.age(&self.telemetry.families.poll_age)
            .set(SystemTime::now());
    }

    /// The component has lasting trouble (`reason`, a short label; `message`, the last error
    /// with the failing request and the answer). It shows in `/health` and as
    /// `siemflow_component_degraded` 1 until [`recovered`](Self::recovered); logged as a warning
    /// when it starts. (A sink need not call it: a sink that errs and then delivers nothing for
    /// `--degraded-after` is degraded by itself.)
    pub fn degraded(&self, reason: &str, message: &dyn std::fmt::Display) {
        if self.trouble.report(reason, message.to_string()) {
            tracing::warn!(reason, "degraded: {message}");
        }
    }

    /// The trouble reported with [`degraded`](Self::degraded) is over (logged when there was
    /// some).
    pub fn recovered(&self) {
        if self.trouble.clear_report() {
            tracing::info!("recovered");
        }
    }

    /// How many bytes the source's input holds beyond what it has read (blobs: listed sizes minus
    /// read offsets).
    pub fn lag_bytes(&self, bytes: i64) {
        let families = &self.telemetry.families;
        let gauge: Gauge =
            self.telemetry
                .series
                .get(&self.labels.pipeline, &families.lag_bytes, &self.labels);
        gauge.set(bytes);
    }

    /// How many events a partition of the source's input holds beyond what it has read (Event
    /// Hubs: the last enqueued sequence number minus the last one read).
    pub fn lag_events(&self, partition: &str, events: i64) {
        let gauge: Gauge = self.telemetry.series.get(
            &self.labels.pipeline,
            &self.telemetry.families.lag_events,
            &self.partition_labels(partition),
        );
        gauge.set(events);
    }

    /// The source no longer reads `partition`: its lag series goes, for the new reader to report.
    pub fn forget_lag_events(&self, partition: &str) {
        self.telemetry
            .families
            .lag_events
            .remove(&self.partition_labels(partition));
    }

    fn partition_labels(&self, partition: &str) -> PartitionLabels {
        PartitionLabels {
            component: (*self.labels).clone(),
            partition: partition.to_string(),
        }
    }

    /// A transform spent `busy` on a batch (for a plugin: in the guest and its host calls).
    pub fn processed(&self, busy: Duration) {
        let families = &self.telemetry.families;
        self.telemetry
            .series
            .get(
                &self.labels.pipeline,
                &families.processing_seconds,
                &self.labels,
            )
            .inc_by(busy.as_secs_f64());
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
        self.reason_counter(&self.telemetry.families.dead_letter_events, reason)
            .get()
    }

    /// Total discarded events of this component for a reason label.
    pub fn discarded_count(&self, reason: &str) -> u64 {
        self.reason_counter(&self.telemetry.families.discarded_events, reason)
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
