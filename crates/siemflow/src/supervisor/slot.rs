//! One pipeline file's running version: start, run, restart after a failure, drain on request.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use siemflow_core::Pipeline;
use siemflow_core::backoff::Backoff;
use siemflow_core::topology::{self, RunError, RunOptions};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::status::{State, Statuses};
use super::summary;

/// First wait before a failed pipeline is started again; it doubles up to [`MAX_RESTART_DELAY`].
const FIRST_RESTART_DELAY: Duration = Duration::from_secs(1);
/// Longest wait between two starts of a failing pipeline.
const MAX_RESTART_DELAY: Duration = Duration::from_secs(60);
/// A run that lasted this long was healthy: the next failure waits [`FIRST_RESTART_DELAY`] again.
const HEALTHY_RUN: Duration = Duration::from_secs(60);

/// A pipeline file's version that is running (or has ended), with what it was built from.
#[derive(Debug)]
pub struct Slot {
    /// The pipeline id.
    pub id: Arc<str>,
    /// The file text this version was compiled from, to tell a real change from a touch.
    pub text: String,
    stop: CancellationToken,
    /// Set before `ended` is notified. The task's own `is_finished` is not: it turns true a moment
    /// after the notification, and a supervisor that looked in between would wait forever.
    ended: Arc<AtomicBool>,
    task: JoinHandle<Result<(), RunError>>,
}

impl Slot {
    /// Spawns the pipeline; with `restart`, a failure starts it again after a backoff. `ended` is
    /// notified when the pipeline ends.
    pub fn spawn(
        pipeline: Pipeline,
        file: PathBuf,
        text: String,
        options: &RunOptions,
        restart: bool,
        statuses: Statuses,
        ended: Arc<Notify>,
    ) -> Self {
        let stop = options.shutdown.child_token();
        let options = RunOptions {
            shutdown: stop.clone(),
            ..options.clone()
        };
        let id = pipeline.id().clone();
        let has_ended = Arc::new(AtomicBool::new(false));
        let task = {
            let has_ended = has_ended.clone();
            tokio::spawn(async move {
                let _ended = EndSignal {
                    flag: has_ended,
                    notify: ended,
                };
                supervise(pipeline, file, options, restart, statuses).await
            })
        };
        Self {
            id,
            text,
            stop,
            ended: has_ended,
            task,
        }
    }

    /// True once the pipeline ended by itself (finished, or failed for good).
    pub fn has_ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }

    /// Drains the pipeline and waits for it: checkpoints are committed for what was delivered.
    pub async fn stop(self) -> Result<(), RunError> {
        self.stop.cancel();
        self.join().await
    }

    /// Waits for the pipeline to end.
    pub async fn join(self) -> Result<(), RunError> {
        let id = self.id.clone();
        self.task.await.unwrap_or_else(|error| {
            Err(RunError::Failed {
                pipeline: id,
                failures: vec![format!("its supervisor task ended: {error}")],
            })
        })
    }
}

/// Marks the slot ended and wakes the supervisor when the task ends, by returning or by a panic.
struct EndSignal {
    flag: Arc<AtomicBool>,
    notify: Arc<Notify>,
}

impl Drop for EndSignal {
    fn drop(&mut self) {
        self.flag.store(true, Ordering::Release);
        self.notify.notify_one();
    }
}

async fn supervise(
    pipeline: Pipeline,
    file: PathBuf,
    options: RunOptions,
    restart: bool,
    statuses: Statuses,
) -> Result<(), RunError> {
    let id = pipeline.id().clone();
    let stop = options.shutdown.clone();
    let mut backoff = Backoff::new(FIRST_RESTART_DELAY, MAX_RESTART_DELAY);
    loop {
        statuses.set(&id, &file, State::Starting, None);
        let result = match topology::start(&pipeline, &options) {
            Ok(running) => {
                statuses.set(&id, &file, State::Running, None);
                let began = Instant::now();
                let result = running.wait().await;
                let ended = match (&result, stop.is_cancelled()) {
                    (_, true) => "stopped",
                    (Ok(()), false) => "finished",
                    (Err(_), false) => "failed",
                };
                summary::log(&options.telemetry, &id, ended, began.elapsed());
                if began.elapsed() >= HEALTHY_RUN {
                    backoff.reset();
                }
                result
            }
            Err(error) => Err(error),
        };
        if stop.is_cancelled() {
            return result;
        }
        let error = match result {
            Ok(()) => {
                statuses.set(&id, &file, State::Finished, None);
                return Ok(());
            }
            Err(error) => error,
        };
        tracing::error!(pipeline = %id, file = %file.display(), "{error}");
        statuses.set(&id, &file, State::Failed, Some(error.to_string()));
        if !restart {
            return Err(error);
        }
        let delay = backoff.next_delay();
        tracing::info!(pipeline = %id, delay = ?delay, "starting the pipeline again after a backoff");
        tokio::select! {
            () = tokio::time::sleep(delay) => statuses.restarted(&id),
            () = stop.cancelled() => return Err(error),
        }
    }
}
