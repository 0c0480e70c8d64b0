//! Running a pipeline: one task per component, wired by bounded buffers.
//!
//! Every transform and sink owns an input [`buffer`] counted in events (sinks size theirs with
//! `buffer:`, transforms use [`EDGE_CAPACITY`]). Each output port of a component is a
//! [`fanout::Fanout`] over the buffers of the components that list it in `inputs`; several
//! upstreams sending into one buffer is fan-in. Because every buffer is bounded and senders wait,
//! a slow sink slows its transforms, which slow the source: memory stays bounded.
//!
//! A sink with `buffer: { type: disk }` gets a [`disk_buffer`] between its memory buffer and
//! itself, run as a task of its own.
//!
//! Shutdown runs from the sources down. When the pipeline's cancellation token fires, sources stop
//! reading, drop their outputs and wait for acknowledgements; a transform ends once its input is
//! closed and drained; a sink ends once its buffer is closed and drained. A finite pipeline ends
//! the same way when its sources run out. A component that fails stops the pipeline.

pub mod buffer;
pub mod disk_buffer;
pub mod fanout;
mod transform;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::compile::{ComponentConfig, Pipeline};
use crate::component::{
    ComponentContext, ComponentError, ComponentTask, SinkContext, SourceContext, SourceSender,
    TransformConfig,
};
use crate::config::{BufferType, ComponentKind, WhenFull};
use crate::dead_letter::{DeadLetterQueue, DeadLetters};
use crate::telemetry::{ComponentLabels, ComponentMetrics, Telemetry};

use buffer::{BufferReceiver, BufferSender};
use disk_buffer::DiskBuffer;
use fanout::Fanout;

/// Input buffer size of a transform, in events.
pub const EDGE_CAPACITY: usize = 1000;

/// Settings shared by every pipeline of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// `--data-dir`.
    pub data_dir: PathBuf,
    /// Fires on SIGINT/SIGTERM.
    pub shutdown: CancellationToken,
    /// How long a drain may take before remaining tasks are aborted.
    pub drain_timeout: Duration,
    /// Metrics registry.
    pub telemetry: Telemetry,
}

/// Why a pipeline stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A component could not be built.
    #[error("pipeline `{pipeline}`: {kind} `{component}` could not start: {error}")]
    Build {
        /// Pipeline id.
        pipeline: Arc<str>,
        /// `source`, `transform` or `sink`.
        kind: &'static str,
        /// Component id.
        component: Arc<str>,
        /// Why.
        error: ComponentError,
    },
    /// Another process holds this pipeline's data directory.
    #[error("pipeline `{pipeline}`: {message}")]
    Locked {
        /// Pipeline id.
        pipeline: Arc<str>,
        /// Details.
        message: String,
    },
    /// Components failed while running.
    #[error("pipeline `{pipeline}` failed: {}", failures.join("; "))]
    Failed {
        /// Pipeline id.
        pipeline: Arc<str>,
        /// One line per failed component.
        failures: Vec<String>,
    },
}

/// A port key: component id and output name (`None` for the default output).
type Port = (Arc<str>, Option<Arc<str>>);

/// Buffers and port consumers for the components selected by a filter.
pub(crate) struct Wiring {
    pipeline: Arc<str>,
    taps: crate::tap::Taps,
    sources: std::collections::HashSet<Arc<str>>,
    pub(crate) senders: HashMap<Arc<str>, BufferSender>,
    pub(crate) receivers: HashMap<Arc<str>, BufferReceiver>,
    pub(crate) ports: HashMap<Port, Vec<BufferSender>>,
    pub(crate) metrics: HashMap<Arc<str>, ComponentMetrics>,
}

impl Wiring {
    pub(crate) fn new(
        pipeline: &Pipeline,
        telemetry: &Telemetry,
        include: impl Fn(ComponentKind) -> bool,
    ) -> Self {
        let mut wiring = Wiring {
            pipeline: pipeline.id().clone(),
            taps: telemetry.taps().clone(),
            sources: pipeline
                .components
                .iter()
                .filter(|component| component.decl.kind == ComponentKind::Source)
                .map(|component| component.decl.id.clone())
                .collect(),
            senders: HashMap::new(),
            receivers: HashMap::new(),
            ports: HashMap::new(),
            metrics: HashMap::new(),
        };
        for component in &pipeline.components {
            let decl = &component.decl;
            let metrics = telemetry.component(ComponentLabels {
                pipeline: pipeline.id().to_string(),
                component_id: decl.id.to_string(),
                component_kind: decl.kind.as_str().to_string(),
                component_type: decl.type_name.clone(),
            });
            wiring.metrics.insert(decl.id.clone(), metrics.clone());
            if !include(decl.kind) || decl.kind == ComponentKind::Source {
                continue;
            }
            let (capacity, when_full) = match decl.kind {
                ComponentKind::Sink => (decl.buffer.memory_events(), decl.buffer.when_full),
                _ => (EDGE_CAPACITY, WhenFull::Block),
            };
            let (sender, receiver) = buffer::channel(capacity, when_full, metrics);
            for input in &decl.inputs {
                wiring
                    .ports
                    .entry((input.component.clone(), input.output.clone()))
                    .or_default()
                    .push(sender.clone());
            }
            wiring.senders.insert(decl.id.clone(), sender);
            wiring.receivers.insert(decl.id.clone(), receiver);
        }
        wiring
    }

    pub(crate) fn fanout(&self, component: &Arc<str>, output: Option<&Arc<str>>) -> Fanout {
        Fanout::new(
            self.ports
                .get(&(component.clone(), output.cloned()))
                .cloned()
                .unwrap_or_default(),
        )
        .tapped(self.taps.point(
            self.pipeline.clone(),
            component.clone(),
            output.cloned(),
            self.sources.contains(component),
        ))
    }
}

/// Builds a transform's task: the transform, its input buffer and the fan-outs of its outputs.
pub(crate) fn transform_task(
    wiring: &mut Wiring,
    id: &Arc<str>,
    config: &dyn TransformConfig,
    context: &ComponentContext,
) -> Result<ComponentTask, ComponentError> {
    let workers = (0..config.workers().max(1))
        .map(|_| config.build(context))
        .collect::<Result<Vec<_>, _>>()?;
    let input = take_receiver(wiring, id)?;
    let default = wiring.fanout(id, None);
    let named = config
        .outputs()
        .named
        .iter()
        .map(|name| wiring.fanout(id, Some(name)))
        .collect();
    Ok(Box::pin(transform::run_transform(
        workers,
        input,
        default,
        named,
        context.metrics.clone(),
    )))
}

/// A component ready to spawn: id, kind and task.
struct BuiltComponent {
    id: Arc<str>,
    kind: &'static str,
    task: ComponentTask,
    metrics: ComponentMetrics,
    /// Entered while the component is built and around its task, so that every log line of the
    /// component, and of tasks it spawns with `in_current_span`, names pipeline and component.
    span: tracing::Span,
}

/// Builds every component of a pipeline into tasks, or fails without starting any.
fn build(
    pipeline: &Pipeline,
    options: &RunOptions,
    shutdown: &CancellationToken,
) -> Result<Vec<BuiltComponent>, RunError> {
    let id = pipeline.id().clone();
    let queue = Arc::new(DeadLetterQueue::file(&options.data_dir, &id));
    let mut wiring = Wiring::new(pipeline, &options.telemetry, |_| true);
    let mut tasks = Vec::new();
    for component in &pipeline.components {
        let decl = &component.decl;
        let span = tracing::info_span!("component", pipeline = %id, component = %decl.id);
        let _entered = span.enter();
        let metrics = wiring.metrics[&decl.id].clone();
        let context = ComponentContext {
            pipeline: id.clone(),
            id: decl.id.clone(),
            data_dir: options.data_dir.clone(),
            metrics: metrics.clone(),
            dead_letters: DeadLetters::new(queue.clone(), decl.id.clone(), metrics.clone()),
        };
        let failed = |error| RunError::Build {
            pipeline: id.clone(),
            kind: decl.kind.as_str(),
            component: decl.id.clone(),
            error,
        };
        let task: ComponentTask = match &component.config {
            ComponentConfig::Source(config) => {
                let out = SourceSender::new(wiring.fanout(&decl.id, None), metrics.clone());
                config
                    .build(SourceContext {
                        component: context,
                        out,
                        shutdown: shutdown.clone(),
                    })
                    .map_err(failed)?
            }
            ComponentConfig::Transform(config) => {
                transform_task(&mut wiring, &decl.id, config.as_ref(), &context).map_err(failed)?
            }
            ComponentConfig::Sink(config) => {
                let mut input = take_receiver(&mut wiring, &decl.id).map_err(failed)?;
                if decl.buffer.buffer_type == BufferType::Disk {
                    let disk = DiskBuffer::open(
                        &options.data_dir,
                        &id,
                        &decl.id,
                        &decl.buffer,
                        metrics.clone(),
                    )
                    .map_err(|error| failed(ComponentError::Other(error.to_string())))?;
                    let (relay, output) = buffer::relay(EDGE_CAPACITY);
                    tasks.push(BuiltComponent {
                        id: decl.id.clone(),
                        kind: "disk buffer of sink",
                        task: Box::pin(disk.run(input, relay, shutdown.clone())),
                        metrics: metrics.clone(),
                        span: span.clone(),
                    });
                    input = output;
                }
                config
                    .build(SinkContext {
                        component: context,
                        input,
                    })
                    .map_err(failed)?
            }
        };
        tasks.push(BuiltComponent {
            id: decl.id.clone(),
            kind: decl.kind.as_str(),
            task,
            metrics,
            span: span.clone(),
        });
    }
    Ok(tasks)
}

fn take_receiver(wiring: &mut Wiring, id: &Arc<str>) -> Result<BufferReceiver, ComponentError> {
    wiring
        .receivers
        .remove(id)
        .ok_or_else(|| ComponentError::Other(format!("no input buffer was created for `{id}`")))
}

/// Holds `DATA_DIR/locks/<pipeline>.lock` so that two processes never share checkpoints.
fn lock(options: &RunOptions, pipeline: &Arc<str>) -> Result<std::fs::File, RunError> {
    let locked = |message: String| RunError::Locked {
        pipeline: pipeline.clone(),
        message,
    };
    let directory = options.data_dir.join("locks");
    std::fs::create_dir_all(&directory)
        .map_err(|error| locked(format!("cannot create {}: {error}", directory.display())))?;
    let path = directory.join(format!("{pipeline}.lock"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|error| locked(format!("cannot open {}: {error}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(locked(format!(
            "another siemflow process is running it with data directory {}",
            options.data_dir.display()
        ))),
        Err(std::fs::TryLockError::Error(error)) => {
            Err(locked(format!("cannot lock {}: {error}", path.display())))
        }
    }
}

/// A pipeline whose components are built and running.
///
/// [`start`] returns it once every component was built, so a caller can tell a pipeline that
/// could not start from one that failed later; [`RunningPipeline::wait`] runs it to its end.
#[derive(Debug)]
pub struct RunningPipeline {
    id: Arc<str>,
    set: JoinSet<(Arc<str>, &'static str, Result<(), ComponentError>)>,
    shutdown: CancellationToken,
    drain_timeout: Duration,
    _lock: std::fs::File,
}

/// Takes the pipeline's lock, builds every component and spawns them.
pub fn start(pipeline: &Pipeline, options: &RunOptions) -> Result<RunningPipeline, RunError> {
    let id = pipeline.id().clone();
    let lock = lock(options, &id)?;
    let shutdown = options.shutdown.child_token();
    let mut set = JoinSet::new();
    for BuiltComponent {
        id: component,
        kind,
        task,
        metrics,
        span,
    } in build(pipeline, options, &shutdown)?
    {
        set.spawn(tracing::Instrument::instrument(
            async move {
                let result = task.await;
                if let Err(error) = &result {
                    metrics.error("component_failed", &format_args!("{kind} failed: {error}"));
                }
                (component, kind, result)
            },
            span,
        ));
    }
    tracing::info!(pipeline = %id, components = set.len(), "pipeline started");
    Ok(RunningPipeline {
        id,
        set,
        shutdown,
        drain_timeout: options.drain_timeout,
        _lock: lock,
    })
}

impl RunningPipeline {
    /// Runs until the finite sources are exhausted and everything is acknowledged, or until
    /// shutdown and drain; a component that fails stops the others.
    pub async fn wait(mut self) -> Result<(), RunError> {
        let id = self.id.clone();
        let shutdown = self.shutdown.clone();
        let mut failures = Vec::new();
        let mut deadline: Option<tokio::time::Instant> = None;
        loop {
            tokio::select! {
                joined = self.set.join_next() => match joined {
                    None => break,
                    Some(Ok((_, _, Ok(())))) => {}
                    Some(Ok((component, kind, Err(error)))) => {
                        failures.push(format!("{kind} `{component}`: {error}"));
                        shutdown.cancel();
                    }
                    Some(Err(error)) => {
                        let what = if error.is_panic() { "panicked" } else { "was aborted" };
                        tracing::error!(pipeline = %id, "a component task {what}");
                        failures.push(format!("a component task {what}"));
                        shutdown.cancel();
                    }
                },
                () = shutdown.cancelled(), if deadline.is_none() => {
                    tracing::info!(pipeline = %id, timeout = ?self.drain_timeout, "draining");
                    deadline = Some(tokio::time::Instant::now() + self.drain_timeout);
                }
                () = sleep_until(deadline) => {
                    failures.push(format!("drain did not finish within {:?}", self.drain_timeout));
                    self.set.abort_all();
                    while self.set.join_next().await.is_some() {}
                    break;
                }
            }
        }
        if failures.is_empty() {
            tracing::info!(pipeline = %id, "pipeline finished");
            Ok(())
        } else {
            Err(RunError::Failed {
                pipeline: id,
                failures,
            })
        }
    }
}

/// Runs a pipeline until its finite sources are exhausted and everything is acknowledged, or until
/// shutdown and drain.
pub async fn run(pipeline: &Pipeline, options: &RunOptions) -> Result<(), RunError> {
    start(pipeline, options)?.wait().await
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
