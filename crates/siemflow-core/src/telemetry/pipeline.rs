//! Metrics of a pipeline as a whole: its state, its restarts and the reloads of its file.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;

use super::Telemetry;

/// The label of pipeline-wide metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct PipelineLabels {
    pub(crate) pipeline: String,
}

/// One state of a pipeline's state set.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct StateLabels {
    pub(crate) pipeline: String,
    pub(crate) state: String,
}

/// How a reload of a pipeline's file ended.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ReloadLabels {
    pub(crate) pipeline: String,
    pub(crate) outcome: String,
}

/// One pipeline's own metrics, written by whoever runs it (the supervisor).
#[derive(Clone, Debug)]
pub struct PipelineMetrics {
    telemetry: Telemetry,
    pipeline: String,
}

impl PipelineMetrics {
    pub(crate) fn new(telemetry: Telemetry, pipeline: &str) -> Self {
        Self {
            telemetry,
            pipeline: pipeline.to_string(),
        }
    }

    fn gauge(&self, state: &str) -> Gauge {
        let labels = StateLabels {
            pipeline: self.pipeline.clone(),
            state: state.to_string(),
        };
        let families = &self.telemetry.families;
        self.telemetry
            .series
            .get(&self.pipeline, &families.pipeline_state, &labels)
    }

    /// The pipeline is now in `state`, one of `states`: the usual Prometheus state set, 1 for the
    /// current state and 0 for the others, so `max by (pipeline)` of any state is meaningful.
    pub fn set_state(&self, state: &str, states: &[&str]) {
        for other in states {
            self.gauge(other).set(i64::from(*other == state));
        }
    }

    /// The pipeline was started again after a failure.
    pub fn restarted(&self) {
        let families = &self.telemetry.families;
        let labels = PipelineLabels {
            pipeline: self.pipeline.clone(),
        };
        self.telemetry
            .series
            .get(&self.pipeline, &families.pipeline_restarts, &labels)
            .inc();
    }

    /// A new version of the pipeline's file was `applied` or `refused`.
    pub fn reloaded(&self, outcome: &str) {
        let labels = ReloadLabels {
            pipeline: self.pipeline.clone(),
            outcome: outcome.to_string(),
        };
        let families = &self.telemetry.families;
        let counter: Counter =
            self.telemetry
                .series
                .get(&self.pipeline, &families.pipeline_reloads, &labels);
        counter.inc();
    }
}
