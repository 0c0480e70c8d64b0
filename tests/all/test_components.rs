//! Components that exist only in tests: a slow sink that measures, a sink that fails chosen events.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use serde::Deserialize;
use siemflow_core::component::{ComponentError, ComponentTask, SinkConfig, SinkContext};
use siemflow_core::event::EventStatus;
use siemflow_core::registry::Registry;
use siemflow_core::telemetry::{ComponentLabels, ComponentMetrics, Telemetry};

/// What a test sink saw, looked up by name.
#[derive(Debug, Default)]
pub struct Probe {
    pub delivered: AtomicU64,
    pub max_source_pending: AtomicI64,
    pub max_buffer: AtomicI64,
    source: Mutex<Option<ComponentMetrics>>,
}

static PROBES: LazyLock<Mutex<HashMap<String, Arc<Probe>>>> = LazyLock::new(Mutex::default);

/// Creates a probe that watches a source's pending events through the run's telemetry.
pub fn probe(
    name: &str,
    telemetry: &Telemetry,
    pipeline: &str,
    source: &str,
    source_type: &str,
) -> Arc<Probe> {
    let probe = Arc::new(Probe::default());
    *probe.source.lock().unwrap() = Some(telemetry.component(ComponentLabels {
        pipeline: pipeline.into(),
        component_id: source.into(),
        component_kind: "source".into(),
        component_type: source_type.into(),
    }));
    PROBES
        .lock()
        .unwrap()
        .insert(name.to_string(), probe.clone());
    probe
}

fn find(name: &str) -> Result<Arc<Probe>, ComponentError> {
    PROBES
        .lock()
        .unwrap()
        .get(name)
        .cloned()
        .ok_or_else(|| ComponentError::Config(format!("no probe `{name}`")))
}

/// The built-in registry plus the test components.
pub fn registry() -> Registry {
    let mut registry = siemflow_components::registry();
    registry
        .sink::<SlowSinkConfig>("test_slow")
        .sink::<FailingSinkConfig>("test_failing");
    registry
}

/// Delivers after a delay per batch, recording how many events are in flight.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlowSinkConfig {
    probe: String,
    delay_ms: u64,
}

impl SinkConfig for SlowSinkConfig {
    fn build(&self, cx: SinkContext) -> Result<ComponentTask, ComponentError> {
        let probe = find(&self.probe)?;
        let delay = Duration::from_millis(self.delay_ms);
        Ok(Box::pin(async move {
            let SinkContext {
                component,
                mut input,
            } = cx;
            let source = probe.source.lock().unwrap().clone();
            while let Some(batch) = input.recv().await {
                if let Some(source) = &source {
                    probe
                        .max_source_pending
                        .fetch_max(source.pending_events(), Ordering::Relaxed);
                }
                probe.max_buffer.fetch_max(
                    component.metrics.snapshot().buffer_events,
                    Ordering::Relaxed,
                );
                tokio::time::sleep(delay).await;
                probe
                    .delivered
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                for event in batch {
                    event.resolve(EventStatus::Delivered);
                }
            }
            Ok(())
        }))
    }
}

/// Delivers every event except those whose `n` is listed, which it reports as errored.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FailingSinkConfig {
    fail: Vec<u64>,
}

impl SinkConfig for FailingSinkConfig {
    fn build(&self, cx: SinkContext) -> Result<ComponentTask, ComponentError> {
        let fail = self.fail.clone();
        Ok(Box::pin(async move {
            let SinkContext { mut input, .. } = cx;
            while let Some(batch) = input.recv().await {
                for event in batch {
                    let n = event.parsed().ok().and_then(|v| v["n"].as_u64());
                    if n.is_some_and(|n| fail.contains(&n)) {
                        event.resolve(EventStatus::Errored);
                    } else {
                        event.resolve(EventStatus::Delivered);
                    }
                }
            }
            Ok(())
        }))
    }
}
