//! What `/health` and `/ready` report: the state of each pipeline and each refused file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use serde::Serialize;
use siemflow_core::secret::redact;
use siemflow_core::telemetry::{Degradation, Telemetry};

/// Where a pipeline is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Its components are being built.
    Starting,
    /// Every component runs.
    Running,
    /// It failed; with `--watch` it is started again after a backoff.
    Failed,
    /// It drains before a reload, a removal or the end of the process.
    Stopping,
    /// Its finite sources ran out and everything was delivered.
    Finished,
}

impl State {
    /// Every state, as the `state` label of `siemflow_pipeline_state` spells it.
    const ALL: [&'static str; 5] = ["starting", "running", "failed", "stopping", "finished"];

    fn label(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Failed => "failed",
            Self::Stopping => "stopping",
            Self::Finished => "finished",
        }
    }
}

/// One pipeline, as `/health` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct PipelineStatus {
    /// `ok`, `degraded` (running, but a component reports lasting trouble: see `degraded`) or
    /// `failing` (the pipeline failed).
    pub status: &'static str,
    /// Current state.
    pub state: State,
    /// The pipeline file.
    pub file: PathBuf,
    /// When the state last changed, in seconds since the Unix epoch.
    pub since: u64,
    /// How many times it was started again after a failure.
    pub restarts: u64,
    /// The last failure, if it is failing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why the newest version of its file was refused; the running version is the previous one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused_change: Option<String>,
    /// Its components with lasting trouble: which, why, the last error, since when.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub degraded: Vec<Degradation>,
}

/// The `/health` body.
#[derive(Clone, Debug, Serialize)]
pub struct Health {
    /// `failing` when any pipeline failed, else `degraded` when any pipeline is, else `ok`.
    pub status: &'static str,
    /// By pipeline id.
    pub pipelines: BTreeMap<String, PipelineStatus>,
    /// Files that hold no running pipeline because they were refused, with why.
    pub refused_files: BTreeMap<PathBuf, String>,
}

impl Health {
    /// True when no pipeline is failing (a degraded one still runs and delivers what it can:
    /// restarting the process would not help it, so `/health` answers 200 for it).
    pub fn is_healthy(&self) -> bool {
        self.status != "failing"
    }
}

#[derive(Debug, Default)]
struct Inner {
    pipelines: BTreeMap<String, PipelineStatus>,
    refused_files: BTreeMap<PathBuf, String>,
}

/// Shared between the supervisor, which writes, and the HTTP endpoints, which read. Each change
/// is mirrored in the pipeline metrics (state set, restarts, reloads).
#[derive(Clone, Debug, Default)]
pub struct Statuses {
    inner: Arc<Mutex<Inner>>,
    loaded: Arc<AtomicBool>,
    telemetry: Telemetry,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

impl Statuses {
    /// Statuses whose changes are also counted in `telemetry`.
    pub fn new(telemetry: Telemetry) -> Self {
        Self {
            telemetry,
            ..Self::default()
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records a pipeline's new state; `error` is kept only for [`State::Failed`].
    pub fn set(&self, id: &str, file: &Path, state: State, error: Option<String>) {
        let mut inner = self.lock();
        inner.refused_files.remove(file);
        let entry = inner
            .pipelines
            .entry(id.to_string())
            .or_insert_with(|| PipelineStatus {
                status: "ok",
                state,
                file: file.to_path_buf(),
                since: now(),
                restarts: 0,
                error: None,
                refused_change: None,
                degraded: Vec::new(),
            });
        if entry.state != state {
            entry.since = now();
        }
        entry.state = state;
        entry.file = file.to_path_buf();
        self.telemetry
            .pipeline(id)
            .set_state(state.label(), &State::ALL);
        entry.error = if state == State::Failed {
            error.map(|error| redact(&error).into_owned())
        } else {
            None
        };
    }

    /// Counts a restart after a failure.
    pub fn restarted(&self, id: &str) {
        if let Some(entry) = self.lock().pipelines.get_mut(id) {
            entry.restarts += 1;
        }
        self.telemetry.pipeline(id).restarted();
    }

    /// The pipeline is gone (its file was removed or now holds another pipeline).
    pub fn remove(&self, id: &str) {
        self.lock().pipelines.remove(id);
        self.telemetry.forget_pipeline(id);
    }

    /// A new version of a pipeline's file was `applied` or `refused`.
    pub fn reloaded(&self, id: &str, outcome: &str) {
        self.telemetry.pipeline(id).reloaded(outcome);
    }

    /// A new version of a running pipeline's file was refused (`None`: the running one is current).
    pub fn refused_change(&self, id: &str, why: Option<String>) {
        if let Some(entry) = self.lock().pipelines.get_mut(id) {
            entry.refused_change = why.map(|why| redact(&why).into_owned());
        }
    }

    /// A file that runs nothing was refused; `None` forgets it.
    pub fn refused_file(&self, file: &Path, why: Option<String>) {
        let mut inner = self.lock();
        match why {
            Some(why) => inner
                .refused_files
                .insert(file.to_path_buf(), redact(&why).into_owned()),
            None => inner.refused_files.remove(file),
        };
    }

    /// The first scan of the pipeline files is done.
    pub fn set_loaded(&self) {
        self.loaded.store(true, Ordering::Release);
    }

    /// Ready: the files were read and every pipeline is running or finished.
    pub fn is_ready(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
            && self
                .lock()
                .pipelines
                .values()
                .all(|p| matches!(p.state, State::Running | State::Finished))
    }

    /// A copy for `/health`, with what each pipeline's components report now.
    pub fn health(&self) -> Health {
        let inner = self.lock();
        let mut pipelines = inner.pipelines.clone();
        for (id, pipeline) in &mut pipelines {
            if pipeline.state == State::Running {
                pipeline.degraded = self.telemetry.degradations(id);
            }
            pipeline.status = match pipeline.state {
                State::Failed => "failing",
                _ if !pipeline.degraded.is_empty() => "degraded",
                _ => "ok",
            };
        }
        let status = if pipelines.values().any(|p| p.status == "failing") {
            "failing"
        } else if pipelines.values().any(|p| p.status == "degraded") {
            "degraded"
        } else {
            "ok"
        };
        Health {
            status,
            pipelines,
            refused_files: inner.refused_files.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_pipeline_makes_the_process_unhealthy_and_not_ready() {
        let statuses = Statuses::default();
        let file = Path::new("tenants/a.yaml");
        statuses.set("a", file, State::Running, None);
        assert!(!statuses.is_ready(), "not ready before the first scan ends");
        statuses.set_loaded();
        assert!(statuses.is_ready() && statuses.health().is_healthy());
        statuses.set("a", file, State::Failed, Some("sink `out`: refused".into()));
        let health = statuses.health();
        assert_eq!(health.status, "failing");
        assert_eq!(
            health.pipelines["a"].error.as_deref(),
            Some("sink `out`: refused")
        );
        assert!(!statuses.is_ready());
        statuses.set("a", file, State::Running, Some("ignored".into()));
        assert!(statuses.health().is_healthy());
        assert_eq!(statuses.health().pipelines["a"].error, None);
    }

    #[test]
    fn a_degraded_component_shows_without_failing_the_process() {
        let telemetry = Telemetry::new();
        let statuses = Statuses::new(telemetry.clone());
        let file = Path::new("tenants/a.yaml");
        statuses.set("a", file, State::Running, None);
        statuses.set("b", file, State::Running, None);
        let source = telemetry.component(siemflow_core::telemetry::ComponentLabels {
            pipeline: "a".into(),
            component_id: "alerts".into(),
            component_kind: "source".into(),
            component_type: "defender_alerts".into(),
        });
        source.degraded("poll_stalled", &"GET /v1.0/security/alerts_v2: HTTP 400");
        let health = statuses.health();
        assert_eq!((health.status, health.is_healthy()), ("degraded", true));
        assert_eq!(health.pipelines["a"].status, "degraded");
        assert_eq!(health.pipelines["a"].degraded[0].component, "alerts");
        assert_eq!(health.pipelines["a"].degraded[0].reason, "poll_stalled");
        assert_eq!(health.pipelines["b"].status, "ok");
        assert!(telemetry.encode().contains("siemflow_component_degraded{pipeline=\"a\",component_id=\"alerts\",component_kind=\"source\",component_type=\"defender_alerts\"} 1"));
        source.recovered();
        let health = statuses.health();
        assert_eq!(health.status, "ok");
        assert!(health.pipelines["a"].degraded.is_empty());
    }
}
