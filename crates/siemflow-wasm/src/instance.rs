//! One plugin instance: its own `Store`, memory limit, time budget per call, and captured output.
//!
//! Each (pipeline, transform) gets its own instance, so one tenant's plugin state and limits never
//! touch another's. A call that traps, runs out of time or out of memory leaves the instance in an
//! unknown state: the caller drops it and creates a new one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder, Trap};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::bindings::Transform;
use crate::bindings::siemflow::plugin::host::{self, Level};
use crate::bindings::siemflow::plugin::types::{self, Event, Outcome};
use crate::bindings_v0_1::siemflow::plugin as v0_1;
use crate::engine::ticks_for;
use crate::output::Captured;
use crate::plugin::LoadedPlugin;

/// The limits of one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Linear memory, in bytes.
    pub memory: u64,
    /// Time for one call (`init`, or `process` of one batch).
    pub time_per_batch: Duration,
}

/// Why a call failed. The instance must be recreated after any of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The call ran longer than `time_per_batch`.
    #[error(
        "timeout: the plugin ran longer than its time limit of {limit:?} and was stopped after {elapsed:?}"
    )]
    Timeout {
        /// `time_per_batch`.
        limit: Duration,
        /// When it was stopped, from the start of the call (milliseconds precision).
        elapsed: Duration,
    },
    /// The plugin needed more memory than `limits.memory`.
    #[error("memory: the plugin exceeded its memory limit ({0} bytes)")]
    Memory(u64),
    /// The plugin trapped (a Rust panic, an out-of-bounds access, ...).
    #[error("trap: {0}")]
    Trap(String),
    /// The plugin broke the ABI contract.
    #[error("protocol: {0}")]
    Protocol(String),
}

/// Tracks memory growth so that a refused growth can be reported as a memory failure.
struct Limiter {
    inner: StoreLimits,
    refused: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.inner.memory_growing(current, desired, maximum);
        if !matches!(allowed, Ok(true)) {
            self.refused = true;
        }
        allowed
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

/// The per-instance host state.
#[allow(missing_debug_implementations, reason = "WasiCtx has no Debug")]
pub struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: Limiter,
    tag: Arc<str>,
    logs_left: usize,
    counts: Counts,
}

/// What a plugin counted during one call (`host.count`), by (name, key).
#[derive(Debug, Default)]
pub struct Counts(std::collections::HashMap<(String, String), u64>);

impl Counts {
    /// Distinct (name, key) pairs one call may report; further keys count under `other`.
    const PAIRS_PER_CALL: usize = 200;

    fn add(&mut self, name: String, key: String, value: u64) {
        let cut = |text: String| text.chars().take(100).collect::<String>();
        let (name, key) = (cut(name), cut(key));
        let key = if self.0.len() < Self::PAIRS_PER_CALL
            || self.0.contains_key(&(name.clone(), key.clone()))
        {
            key
        } else {
            "other".to_string()
        };
        let total = self.0.entry((name, key)).or_default();
        *total = total.saturating_add(value);
    }

    /// The counts, emptied.
    pub fn take(&mut self) -> impl Iterator<Item = ((String, String), u64)> {
        std::mem::take(&mut self.0).into_iter()
    }
}

/// Plugin log lines allowed per call; the rest are counted and summarised.
const LOG_LINES_PER_CALL: usize = 20;

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for State {}

impl State {
    fn log(&mut self, level: tracing::Level, message: &str) {
        if self.logs_left == 0 {
            return;
        }
        self.logs_left -= 1;
        let tag = &*self.tag;
        match level {
            tracing::Level::TRACE => tracing::trace!(plugin = tag, "{message}"),
            tracing::Level::DEBUG => tracing::debug!(plugin = tag, "{message}"),
            tracing::Level::INFO => tracing::info!(plugin = tag, "{message}"),
            tracing::Level::WARN => tracing::warn!(plugin = tag, "{message}"),
            tracing::Level::ERROR => tracing::error!(plugin = tag, "{message}"),
        }
    }
}

impl host::Host for State {
    fn log(&mut self, level: Level, message: String) {
        let level = match level {
            Level::Trace => tracing::Level::TRACE,
            Level::Debug => tracing::Level::DEBUG,
            Level::Info => tracing::Level::INFO,
            Level::Warn => tracing::Level::WARN,
            Level::Error => tracing::Level::ERROR,
        };
        State::log(self, level, &message);
    }

    fn count(&mut self, name: String, key: String, value: u64) {
        self.counts.add(name, key, value);
    }
}

impl v0_1::types::Host for State {}

impl v0_1::host::Host for State {
    fn log(&mut self, level: v0_1::host::Level, message: String) {
        use v0_1::host::Level as Old;
        let level = match level {
            Old::Trace => tracing::Level::TRACE,
            Old::Debug => tracing::Level::DEBUG,
            Old::Info => tracing::Level::INFO,
            Old::Warn => tracing::Level::WARN,
            Old::Error => tracing::Level::ERROR,
        };
        State::log(self, level, &message);
    }
}

/// A running plugin.
pub struct PluginInstance {
    store: Store<State>,
    bindings: Transform,
    limits: Limits,
    stdout: Captured,
    stderr: Captured,
}

impl std::fmt::Debug for PluginInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginInstance")
            .field("tag", &self.store.data().tag)
            .field("limits", &self.limits)
            .finish()
    }
}

impl PluginInstance {
    /// Instantiates the plugin and calls its `init` with `config` (JSON text). `tag` names the
    /// instance in logs (`pipeline/component`).
    pub fn new(
        plugin: &LoadedPlugin,
        config: &str,
        limits: Limits,
        tag: &str,
    ) -> Result<Self, String> {
        let stdout = Captured::default();
        let stderr = Captured::default();
        // Nothing is granted: no preopened directories, no environment, no arguments, no network.
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let memory = usize::try_from(limits.memory).unwrap_or(usize::MAX);
        let state = State {
            wasi,
            table: ResourceTable::new(),
            limiter: Limiter {
                inner: StoreLimitsBuilder::new()
                    .memory_size(memory)
                    .instances(16)
                    .memories(16)
                    .tables(64)
                    .trap_on_grow_failure(true)
                    .build(),
                refused: false,
            },
            tag: Arc::from(tag),
            logs_left: LOG_LINES_PER_CALL,
            counts: Counts::default(),
        };
        let mut store = Store::new(plugin.pre.engine(), state);
        store.limiter(|state| &mut state.limiter);
        store.set_epoch_deadline(ticks_for(limits.time_per_batch));
        let bindings = plugin
            .pre
            .instantiate(&mut store)
            .map_err(|error| format!("cannot instantiate plugin `{}`: {error:#}", plugin.name))?;
        let mut instance = Self {
            store,
            bindings,
            limits,
            stdout,
            stderr,
        };
        match instance.call(|bindings, store| bindings.call_init(store, config)) {
            Ok(Ok(())) => Ok(instance),
            Ok(Err(message)) => Err(format!(
                "plugin `{}` rejected its config: {message}",
                plugin.name
            )),
            Err(failure) => Err(format!(
                "plugin `{}` failed in init: {failure}",
                plugin.name
            )),
        }
    }

    /// What the plugin counted (`host.count`) since this was last called.
    pub fn take_counts(&mut self) -> impl Iterator<Item = ((String, String), u64)> {
        self.store.data_mut().counts.take()
    }

    /// Maps a batch: exactly one outcome per event, or a failure for the whole batch.
    pub fn process(&mut self, events: &[Event]) -> Result<Vec<Outcome>, Failure> {
        let outcomes = self.call(|bindings, store| bindings.call_process(store, events))?;
        if outcomes.len() != events.len() {
            return Err(Failure::Protocol(format!(
                "the plugin returned {} outcomes for {} events",
                outcomes.len(),
                events.len()
            )));
        }
        Ok(outcomes)
    }

    fn call<R>(
        &mut self,
        call: impl FnOnce(&Transform, &mut Store<State>) -> wasmtime::Result<R>,
    ) -> Result<R, Failure> {
        self.store
            .set_epoch_deadline(ticks_for(self.limits.time_per_batch));
        self.store.data_mut().limiter.refused = false;
        self.store.data_mut().logs_left = LOG_LINES_PER_CALL;
        let started = Instant::now();
        let result = call(&self.bindings, &mut self.store);
        let elapsed = started.elapsed();
        let last_error_line = self.flush_output();
        result.map_err(|error| self.classify(&error, elapsed, last_error_line))
    }

    fn classify(
        &self,
        error: &wasmtime::Error,
        elapsed: Duration,
        last_error_line: Option<String>,
    ) -> Failure {
        if self.store.data().limiter.refused {
            return Failure::Memory(self.limits.memory);
        }
        let what = match error.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => {
                return Failure::Timeout {
                    limit: self.limits.time_per_batch,
                    // Whole milliseconds: the epoch tick is one.
                    elapsed: Duration::from_millis(elapsed.as_millis() as u64),
                };
            }
            Some(trap) => trap.to_string(),
            None => format!("{error:#}")
                .lines()
                .next()
                .unwrap_or_default()
                .to_string(),
        };
        let what = what
            .strip_prefix("wasm trap: ")
            .unwrap_or(&what)
            .to_string();
        // A Rust plugin's panic message is the last thing it wrote to stderr.
        Failure::Trap(match last_error_line {
            Some(line) => format!("{what} (plugin stderr: {line})"),
            None => what,
        })
    }

    /// Logs what the plugin printed; returns the last non-empty line of its stderr.
    fn flush_output(&mut self) -> Option<String> {
        let tag = self.store.data().tag.clone();
        let mut last_error_line = None;
        for (stream, captured) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            let (lines, dropped) = captured.drain();
            for line in lines {
                tracing::info!(plugin = &*tag, stream, "{line}");
                if stream == "stderr"
                    && !line.trim().is_empty()
                    && !line.starts_with("note: run with `RUST_BACKTRACE")
                {
                    last_error_line = Some(line);
                }
            }
            if dropped > 0 {
                tracing::warn!(
                    plugin = &*tag,
                    stream,
                    dropped,
                    "plugin output over the per-batch limit was dropped"
                );
            }
        }
        last_error_line
    }
}
