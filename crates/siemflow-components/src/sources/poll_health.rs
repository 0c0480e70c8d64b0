//! When a polling source (the Defender REST and hunting sources) is stuck, and how it says so.
//!
//! A poll that fails is logged and counted where it fails. What this adds is the lasting view:
//! `siemflow_source_poll_age_seconds` counts from the last completed poll (from the start until
//! there is one), and once no poll has completed for [`STALLED_INTERVALS`] intervals the source
//! is reported degraded, with the last failure, until a poll completes again.

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use siemflow_core::component::ComponentError;
use siemflow_core::telemetry::ComponentMetrics;
use tokio_util::sync::CancellationToken;

/// Why a poll ended early.
#[derive(Debug)]
pub enum PollEnd {
    /// Stop the source with this error.
    Fatal(ComponentError),
    /// The source is stopping.
    Stopped,
    /// This poll failed (why: the request and the answer); the next one tries again.
    Failed(String),
}

/// Failed attempts in a row after which a polling source gives a request up for this poll
/// (about 8 s of backoff) and decides what to do: a smaller page, or the next poll.
pub const GIVE_UP_AFTER: u32 = 5;

/// Intervals without a completed poll after which a source is reported degraded.
pub const STALLED_INTERVALS: u32 = 3;

/// One source's view of its own polls.
#[derive(Debug)]
pub struct PollHealth {
    interval: Duration,
    last_completed: Instant,
}

impl PollHealth {
    /// A source that polls every `interval` starts: its poll age counts from now.
    pub fn start(interval: Duration, metrics: &ComponentMetrics) -> Self {
        metrics.poll_completed();
        Self {
            interval,
            last_completed: Instant::now(),
        }
    }

    /// A poll completed: the age starts again, and any trouble is over.
    pub fn completed(&mut self, metrics: &ComponentMetrics) {
        self.last_completed = Instant::now();
        metrics.poll_completed();
        metrics.recovered();
    }

    /// What to do after a poll: go on (recording a completed or failed poll), or end the source
    /// with this result.
    pub fn after(
        &mut self,
        metrics: &ComponentMetrics,
        outcome: Result<(), PollEnd>,
    ) -> ControlFlow<Result<(), ComponentError>> {
        match outcome {
            Ok(()) => self.completed(metrics),
            Err(PollEnd::Failed(why)) => self.failed(metrics, &why),
            Err(PollEnd::Stopped) => return ControlFlow::Break(Ok(())),
            Err(PollEnd::Fatal(error)) => return ControlFlow::Break(Err(error)),
        }
        ControlFlow::Continue(())
    }

    /// Waits for the next poll; `false` when the source must stop instead.
    pub async fn wait(&self, shutdown: &CancellationToken) -> bool {
        tokio::select! {
            () = tokio::time::sleep(self.interval) => true,
            () = shutdown.cancelled() => false,
        }
    }

    /// A poll failed (`why`: the request and the answer); degraded once that has lasted.
    pub fn failed(&self, metrics: &ComponentMetrics, why: &str) {
        let stalled = self.last_completed.elapsed();
        if stalled >= self.interval * STALLED_INTERVALS {
            metrics.degraded(
                "poll_stalled",
                &format_args!(
                    "no poll has completed for {} s; the last one failed: {why}",
                    stalled.as_secs()
                ),
            );
        }
    }
}
