//! Lasting trouble a component has while it goes on running: a polling source whose cursor has
//! not moved for several intervals, a sink that cannot deliver. Counters say that something
//! failed; a degradation says that it is still failing, since when, and why, so that `/health`,
//! `siemflow top` and an alert on `siemflow_component_degraded` show it until it clears.
//!
//! Two ways in:
//!
//! - a component **reports** it ([`ComponentMetrics::degraded`](super::ComponentMetrics::degraded),
//!   cleared by `recovered`): the REST sources' `poll_stalled`;
//! - a **sink** is *failing* from its first error after its last delivery until its next
//!   delivery, and degraded once it has been failing for the process's `--degraded-after`
//!   (default 30 s), with its last error.
//!
//! Both are read when asked (a scrape, `/health`), so a degradation appears on time whatever the
//! component is doing (a sink may be asleep in a long backoff).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant, SystemTime};

use prometheus_client::encoding::{EncodeMetric, MetricEncoder};
use prometheus_client::metrics::family::MetricConstructor;
use prometheus_client::metrics::{MetricType, TypedMetric};
use serde::Serialize;

/// One component's lasting trouble, as `/health` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Degradation {
    /// The component id.
    pub component: String,
    /// A short stable label, as in `siemflow_component_errors_total{reason}`.
    pub reason: String,
    /// The last error, worded for the operator (the failing request and the service's answer).
    pub error: String,
    /// Since when, in seconds since the Unix epoch.
    pub since: u64,
}

/// What went wrong, since when.
#[derive(Clone, Debug)]
struct Trouble {
    reason: String,
    error: String,
    since: SystemTime,
    started: Instant,
}

#[derive(Debug, Default)]
struct Troubles {
    /// Reported by the component itself.
    reported: Option<Trouble>,
    /// A sink's failures since its last delivery.
    failing: Option<Trouble>,
}

/// One component's trouble, shared by its metrics handle, its `siemflow_component_degraded`
/// series and `/health`.
#[derive(Debug, Default)]
pub(crate) struct TroubleCell {
    component: Mutex<String>,
    troubles: Mutex<Troubles>,
    /// `--degraded-after` in milliseconds, shared by every cell of the process.
    after: Arc<AtomicU64>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn seconds(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

impl TroubleCell {
    /// Names the component (once, when its metrics handle is made).
    pub(crate) fn name(&self, component: &str) {
        *lock(&self.component) = component.to_string();
    }

    /// The component reports trouble; whether it is new (the reason changed or there was none).
    pub(crate) fn report(&self, reason: &str, error: String) -> bool {
        let mut troubles = lock(&self.troubles);
        let same = troubles
            .reported
            .as_ref()
            .is_some_and(|current| current.reason == reason);
        match &mut troubles.reported {
            Some(current) if same => current.error = error,
            slot => {
                *slot = Some(Trouble {
                    reason: reason.to_string(),
                    error,
                    since: SystemTime::now(),
                    started: Instant::now(),
                });
            }
        }
        !same
    }

    /// The reported trouble is over; whether there was some.
    pub(crate) fn clear_report(&self) -> bool {
        lock(&self.troubles).reported.take().is_some()
    }

    /// A sink failed: failing from now, unless it already was.
    pub(crate) fn failed(&self, reason: &str, error: String) {
        let mut troubles = lock(&self.troubles);
        match &mut troubles.failing {
            Some(current) => {
                current.reason = reason.to_string();
                current.error = error;
            }
            slot => {
                *slot = Some(Trouble {
                    reason: reason.to_string(),
                    error,
                    since: SystemTime::now(),
                    started: Instant::now(),
                });
            }
        }
    }

    /// A sink delivered: no longer failing; whether it was degraded.
    pub(crate) fn delivered(&self) -> bool {
        let after = self.after();
        let mut troubles = lock(&self.troubles);
        troubles
            .failing
            .take()
            .is_some_and(|failing| failing.started.elapsed() >= after)
    }

    fn after(&self) -> Duration {
        Duration::from_millis(self.after.load(Ordering::Relaxed))
    }

    /// The trouble now, if the component is degraded.
    pub(crate) fn now(&self) -> Option<Degradation> {
        let after = self.after();
        let troubles = lock(&self.troubles);
        let trouble = troubles.reported.as_ref().or(troubles
            .failing
            .as_ref()
            .filter(|failing| failing.started.elapsed() >= after))?;
        let error = match &troubles.reported {
            Some(_) => trouble.error.clone(),
            None => format!(
                "no delivery for {} s; the last error: {}",
                trouble.started.elapsed().as_secs(),
                trouble.error
            ),
        };
        Some(Degradation {
            component: lock(&self.component).clone(),
            reason: trouble.reason.clone(),
            error: crate::secret::redact(&error).into_owned(),
            since: seconds(trouble.since),
        })
    }
}

/// `siemflow_component_degraded`: 1 while the component is degraded, computed when scraped.
#[derive(Clone, Debug, Default)]
pub(crate) struct Degraded(pub(crate) Arc<TroubleCell>);

impl TypedMetric for Degraded {
    const TYPE: MetricType = MetricType::Gauge;
}

impl EncodeMetric for Degraded {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_gauge(&i64::from(self.0.now().is_some()))
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

/// Makes each component's cell, sharing the process's `--degraded-after`.
#[derive(Clone, Debug, Default)]
pub(crate) struct DegradedConstructor {
    pub(crate) after: Arc<AtomicU64>,
}

impl MetricConstructor<Degraded> for DegradedConstructor {
    fn new_metric(&self) -> Degraded {
        Degraded(Arc::new(TroubleCell {
            after: self.after.clone(),
            ..TroubleCell::default()
        }))
    }
}

/// Every pipeline's components' cells, for `/health`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Degradations {
    by_pipeline: Arc<Mutex<BTreeMap<String, Vec<Weak<TroubleCell>>>>>,
}

impl Degradations {
    /// Remembers a component's cell.
    pub(crate) fn add(&self, pipeline: &str, cell: &Arc<TroubleCell>) {
        let mut all = lock(&self.by_pipeline);
        let cells = all.entry(pipeline.to_string()).or_default();
        cells.retain(|known| {
            known.strong_count() > 0 && !std::ptr::eq(known.as_ptr(), Arc::as_ptr(cell))
        });
        cells.push(Arc::downgrade(cell));
    }

    /// A pipeline's degraded components, by id.
    pub(crate) fn of(&self, pipeline: &str) -> Vec<Degradation> {
        let all = lock(&self.by_pipeline);
        let mut found: Vec<Degradation> = all
            .get(pipeline)
            .into_iter()
            .flatten()
            .filter_map(Weak::upgrade)
            .filter_map(|cell| cell.now())
            .collect();
        found.sort_by(|a, b| a.component.cmp(&b.component));
        found
    }

    /// Forgets a pipeline: it is gone, or starts again with new components.
    pub(crate) fn forget(&self, pipeline: &str) {
        lock(&self.by_pipeline).remove(pipeline);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sink_is_degraded_once_failing_lasts_and_a_report_at_once() {
        let after = Arc::new(AtomicU64::new(0));
        let cell = DegradedConstructor {
            after: after.clone(),
        }
        .new_metric()
        .0;
        cell.name("siem");
        cell.failed("connect_failed", "refused".into());
        let now = cell.now().unwrap();
        assert_eq!(
            (now.component.as_str(), now.reason.as_str()),
            ("siem", "connect_failed")
        );
        assert!(
            now.error.ends_with("the last error: refused"),
            "{}",
            now.error
        );
        assert!(cell.delivered());
        assert!(cell.now().is_none());
        after.store(60_000, Ordering::Relaxed);
        cell.failed("connect_failed", "refused".into());
        assert!(cell.now().is_none(), "not for a minute yet");
        assert!(cell.report("poll_stalled", "GET /x: HTTP 400".into()));
        assert!(!cell.report("poll_stalled", "GET /x: HTTP 400 again".into()));
        assert_eq!(cell.now().unwrap().error, "GET /x: HTTP 400 again");
        assert!(cell.clear_report());
        assert!(cell.now().is_none());
    }
}
