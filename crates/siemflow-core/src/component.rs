//! What a source, transform or sink implements, and what the engine hands it.
//!
//! Each component type is a config struct (serde, `deny_unknown_fields`) implementing one of
//! [`SourceConfig`], [`TransformConfig`] or [`SinkConfig`]. `check` validates without side effects
//! (what `siemflow validate` runs); `build` turns the config into a running task or transform.
//! Adding a component is one module and one line in the registry.

use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::Arc;

use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use crate::dead_letter::DeadLetters;
use crate::event::{Event, EventBatch, Origin, PendingBatch};
use crate::telemetry::{ComponentMetrics, Unacked, body_bytes};
use crate::topology::buffer::{BufferReceiver, Closed};
use crate::topology::fanout::Fanout;

/// Why a component could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum ComponentError {
    /// Configuration that types correctly but cannot work (checked at build).
    #[error("{0}")]
    Config(String),
    /// An I/O failure, with what was being done.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, naming the file or address.
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The downstream components stopped.
    #[error(transparent)]
    Closed(#[from] Closed),
    /// Anything else, already worded for the user.
    #[error("{0}")]
    Other(String),
}

impl ComponentError {
    /// An I/O error with context.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

/// A running source or sink.
pub type ComponentTask = BoxFuture<'static, Result<(), ComponentError>>;

/// What every component gets: who it is, where its state lives, metrics and dead letters.
#[derive(Debug, Clone)]
pub struct ComponentContext {
    /// The pipeline id.
    pub pipeline: Arc<str>,
    /// The component id.
    pub id: Arc<str>,
    /// `--data-dir`, for checkpoints and other state.
    pub data_dir: PathBuf,
    /// Metrics with this component's labels.
    pub metrics: ComponentMetrics,
    /// The pipeline's dead-letter queue, bound to this component.
    pub dead_letters: DeadLetters,
}

impl ComponentContext {
    /// A context outside any running pipeline: its own metrics registry, dead letters kept in
    /// memory, state under the system temporary directory. For component tests and tools.
    pub fn detached(pipeline: &str, id: &str, component_type: &str) -> Self {
        let metrics =
            crate::telemetry::Telemetry::new().component(crate::telemetry::ComponentLabels {
                pipeline: pipeline.to_string(),
                component_id: id.to_string(),
                component_kind: "detached".to_string(),
                component_type: component_type.to_string(),
            });
        let queue = Arc::new(crate::dead_letter::DeadLetterQueue::memory(pipeline));
        Self {
            pipeline: Arc::from(pipeline),
            id: Arc::from(id),
            data_dir: std::env::temp_dir(),
            metrics: metrics.clone(),
            dead_letters: DeadLetters::new(queue, Arc::from(id), metrics),
        }
    }

    /// `DATA_DIR/checkpoints/<pipeline>/<component>.json`: where a source keeps its position.
    pub fn checkpoint_path(&self) -> PathBuf {
        self.data_dir
            .join("checkpoints")
            .join(&*self.pipeline)
            .join(format!("{}.json", self.id))
    }

    /// The origin stamped on events this component creates.
    pub fn origin(&self) -> Arc<Origin> {
        Arc::new(Origin {
            pipeline: self.pipeline.clone(),
            component: self.id.clone(),
        })
    }
}

/// What `siemflow validate --connect` found when a component reached what it reads from or
/// delivers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Reached: what was checked and what answered, in a few words for the operator.
    Reached(String),
    /// The component has nothing outside the process to reach (stdin, console, a transform).
    NothingToReach,
}

/// A check run by `siemflow validate --connect`: tokens fetched, connections opened, TLS
/// negotiated, permissions tried, without reading or sending an event. The error says what failed,
/// naming the address or service.
pub type ReachCheck<'a> = BoxFuture<'a, Result<Reach, String>>;

/// The check of a component with nothing outside the process to reach.
pub fn nothing_to_reach<'a>() -> ReachCheck<'a> {
    Box::pin(std::future::ready(Ok(Reach::NothingToReach)))
}

/// What a source gets to run.
#[derive(Debug)]
pub struct SourceContext {
    /// Identity, state, metrics, dead letters.
    pub component: ComponentContext,
    /// Where its batches go.
    pub out: SourceSender,
    /// Cancelled when the pipeline must stop: stop reading, wait for acknowledgements, commit.
    pub shutdown: CancellationToken,
}

/// A source's output.
#[derive(Debug)]
pub struct SourceSender {
    fanout: Fanout,
    metrics: ComponentMetrics,
    unacked: Unacked,
    batches: Vec<PendingBatch>,
}

impl SourceSender {
    /// Wraps the fan-out of the source's output.
    pub fn new(fanout: Fanout, metrics: ComponentMetrics) -> Self {
        let unacked = metrics.unacked();
        Self {
            fanout,
            metrics,
            unacked,
            batches: Vec::new(),
        }
    }

    /// Sends a batch downstream, waiting while downstream is full. Its acknowledgement batches
    /// count as in flight from now (`siemflow_pipeline_oldest_unacked_seconds`).
    pub async fn send(&mut self, batch: EventBatch) -> Result<(), Closed> {
        let (events, bytes) = (batch.len(), body_bytes(&batch));
        self.batches.clear();
        for event in &batch {
            event.finalizers().batches_into(&mut self.batches);
        }
        self.unacked.sent(self.batches.drain(..));
        self.fanout.send(batch).await?;
        self.metrics.sent(events, bytes);
        Ok(())
    }
}

/// A source type.
pub trait SourceConfig: Debug + Send + Sync {
    /// Makes the config's relative file paths relative to `base`, the pipeline file's folder
    /// (see [`crate::config::paths`]). Called once, before [`check`](Self::check).
    fn resolve_paths(&mut self, base: &std::path::Path) {
        let _ = base;
    }

    /// Checks the config without touching the outside world. A message that starts with an
    /// option's path in backticks (`` `tls.ca_file` ... ``) is reported at that option.
    fn check(&self) -> Result<(), String> {
        Ok(())
    }

    /// Reaches what the source reads from without reading an event (`validate --connect`).
    fn reach(&self) -> ReachCheck<'_> {
        nothing_to_reach()
    }

    /// Whether the source ends by itself (a file read once, stdin), so that a run can finish.
    fn is_finite(&self) -> bool {
        false
    }

    /// Starts the source.
    fn build(&self, cx: SourceContext) -> Result<ComponentTask, ComponentError>;
}

/// The outputs a transform declares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransformOutputs {
    /// Whether `name` alone (the default output) may be used as an input.
    pub default: bool,
    /// Named outputs, used as `name.output`.
    pub named: Vec<Arc<str>>,
}

impl TransformOutputs {
    /// Only the default output (filter, dedupe, wasm).
    pub fn default_only() -> Self {
        Self {
            default: true,
            named: Vec::new(),
        }
    }
}

/// Where a transform puts its results for one batch.
#[derive(Debug, Default)]
pub struct TransformOutput {
    /// Events for the default output.
    pub default: EventBatch,
    /// Events per named output, in the order of [`TransformOutputs::named`].
    pub named: Vec<EventBatch>,
}

impl TransformOutput {
    /// An empty output with room for `named` outputs.
    pub fn new(named: usize) -> Self {
        Self {
            default: Vec::new(),
            named: (0..named).map(|_| Vec::new()).collect(),
        }
    }

    /// Sends an event to the default output.
    pub fn push(&mut self, event: Event) {
        self.default.push(event);
    }

    /// Sends an event to a named output by index.
    pub fn push_named(&mut self, index: usize, event: Event) {
        if let Some(batch) = self.named.get_mut(index) {
            batch.push(event);
        }
    }
}

/// A transform instance: called once per batch, on the pipeline's task.
///
/// Every input event must end up in an output, or be resolved (dropped on purpose, dead-lettered).
pub trait Transform: Send + 'static {
    /// Processes one batch.
    fn transform(&mut self, batch: EventBatch, output: &mut TransformOutput);

    /// Whether a call may take long enough (milliseconds) to stall other pipelines if run on the
    /// async runtime: such transforms run on the blocking thread pool (a plugin, say).
    fn is_blocking(&self) -> bool {
        false
    }
}

/// A transform type.
pub trait TransformConfig: Debug + Send + Sync {
    /// Makes the config's relative file paths relative to `base`, the pipeline file's folder
    /// (see [`crate::config::paths`]). Called once, before [`check`](Self::check).
    fn resolve_paths(&mut self, base: &std::path::Path) {
        let _ = base;
    }

    /// Checks the config without touching the outside world. A message that starts with an
    /// option's path in backticks (`` `tls.ca_file` ... ``) is reported at that option.
    fn check(&self) -> Result<(), String> {
        Ok(())
    }

    /// The outputs other components can use as inputs.
    fn outputs(&self) -> TransformOutputs {
        TransformOutputs::default_only()
    }

    /// Creates the transform (once per worker).
    fn build(&self, cx: &ComponentContext) -> Result<Box<dyn Transform>, ComponentError>;

    /// How many copies of a blocking transform work on batches at once, outputs kept in input
    /// order. More than one only for transforms that keep no state from one batch to the next.
    fn workers(&self) -> usize {
        1
    }
}

/// What a sink gets to run.
#[derive(Debug)]
pub struct SinkContext {
    /// Identity, state, metrics, dead letters.
    pub component: ComponentContext,
    /// Its buffer; `None` from `recv` means everything upstream has finished.
    pub input: BufferReceiver,
}

/// A sink type.
pub trait SinkConfig: Debug + Send + Sync {
    /// Makes the config's relative file paths relative to `base`, the pipeline file's folder
    /// (see [`crate::config::paths`]). Called once, before [`check`](Self::check).
    fn resolve_paths(&mut self, base: &std::path::Path) {
        let _ = base;
    }

    /// Checks the config without touching the outside world. A message that starts with an
    /// option's path in backticks (`` `tls.ca_file` ... ``) is reported at that option.
    fn check(&self) -> Result<(), String> {
        Ok(())
    }

    /// Reaches what the sink delivers to without sending an event (`validate --connect`).
    fn reach(&self) -> ReachCheck<'_> {
        nothing_to_reach()
    }

    /// Starts the sink. It resolves each event once delivered.
    fn build(&self, cx: SinkContext) -> Result<ComponentTask, ComponentError>;
}
