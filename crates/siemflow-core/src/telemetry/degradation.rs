//! Lasting trouble a component reports while it goes on running: a polling source whose cursor
//! has not moved for several intervals, a sink that cannot deliver. Counters say that something
//! failed; a degradation says that it is still failing, since when, and why, so that `/health`,
//! `siemflow top` and an alert on `siemflow_component_degraded` show it until it clears.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use serde::Serialize;

/// One component's lasting trouble.
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

/// Every pipeline's degraded components.
#[derive(Clone, Debug, Default)]
pub(crate) struct Degradations {
    by_pipeline: Arc<Mutex<BTreeMap<String, BTreeMap<String, Degradation>>>>,
}

impl Degradations {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, BTreeMap<String, Degradation>>> {
        self.by_pipeline
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records (or updates) a component's trouble; `since` stays while the reason is the same.
    pub(crate) fn set(&self, pipeline: &str, component: &str, reason: &str, error: String) {
        let mut all = self.lock();
        let components = all.entry(pipeline.to_string()).or_default();
        let since = components
            .get(component)
            .filter(|current| current.reason == reason)
            .map_or_else(now, |current| current.since);
        components.insert(
            component.to_string(),
            Degradation {
                component: component.to_string(),
                reason: reason.to_string(),
                error,
                since,
            },
        );
    }

    /// The component's trouble is over; whether it had any.
    pub(crate) fn clear(&self, pipeline: &str, component: &str) -> bool {
        let mut all = self.lock();
        let Some(components) = all.get_mut(pipeline) else {
            return false;
        };
        let was = components.remove(component).is_some();
        if components.is_empty() {
            all.remove(pipeline);
        }
        was
    }

    /// A pipeline's degraded components, by id.
    pub(crate) fn of(&self, pipeline: &str) -> Vec<Degradation> {
        self.lock()
            .get(pipeline)
            .map(|components| components.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Forgets a pipeline that is gone.
    pub(crate) fn forget(&self, pipeline: &str) {
        self.lock().remove(pipeline);
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}
