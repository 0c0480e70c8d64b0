//! Runs one pipeline per file and keeps the running set equal to the files.
//!
//! Each pipeline runs in a [`slot::Slot`] of its own: its own components, buffers, checkpoints and
//! cancellation token, so stopping or failing one touches no other. On a [`triggers::Trigger`]
//! (SIGHUP, or a file change with `--watch`) the supervisor reads the files again and, file by
//! file:
//!
//! - a new file is validated and started;
//! - a changed file is validated first; if valid, the old version drains (it stops reading,
//!   delivers what is in flight and commits its checkpoints) and the new one starts from those
//!   checkpoints; if not, the error is logged and reported on `/health` and the old version
//!   keeps running;
//! - a removed file's pipeline drains and stops.
//!
//! A file whose text did not change is left alone, so touching a file or a SIGHUP costs nothing.
//! With `--watch` the process runs until a signal, and a pipeline that fails (at start or later) is
//! started again after a backoff while the others run; without it, the process ends when every
//! pipeline has ended, with exit code 1 if one failed.

pub mod slot;
pub mod status;
pub mod summary;
pub mod triggers;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use siemflow_core::registry::Registry;
use siemflow_core::topology::RunOptions;
use siemflow_core::{Pipeline, load_and_compile};
use tokio::sync::Notify;

use crate::load;
use slot::Slot;
use status::{State, Statuses};
use triggers::Triggers;

/// The set of running pipelines and what it was built from.
#[derive(Debug)]
pub struct Supervisor {
    paths: Vec<PathBuf>,
    registry: Registry,
    options: RunOptions,
    watch: bool,
    statuses: Statuses,
    slots: BTreeMap<PathBuf, Slot>,
    /// Files whose current text was refused, with that text, so it is not refused again each scan.
    refused: HashMap<PathBuf, String>,
    ended: Arc<Notify>,
    failed: bool,
}

impl Supervisor {
    /// A supervisor over the pipeline files and directories in `paths`.
    pub fn new(
        paths: Vec<PathBuf>,
        registry: Registry,
        options: RunOptions,
        watch: bool,
        statuses: Statuses,
    ) -> Self {
        Self {
            paths,
            registry,
            options,
            watch,
            statuses,
            slots: BTreeMap::new(),
            refused: HashMap::new(),
            ended: Arc::new(Notify::new()),
            failed: false,
        }
    }

    /// Starts `initial` (already validated) or, when it is empty, whatever the files hold; then
    /// follows triggers until a signal or, without `--watch`, until every pipeline has ended.
    pub async fn run(mut self, initial: Vec<Pipeline>) -> ExitCode {
        let mut triggers = match Triggers::start(&self.paths, self.watch) {
            Ok(triggers) => triggers,
            Err(error) => {
                crate::output::error(&error);
                return ExitCode::FAILURE;
            }
        };
        if initial.is_empty() {
            self.reconcile().await;
        } else {
            for pipeline in initial {
                let file = pipeline.file.path.to_path_buf();
                let text = std::fs::read_to_string(&file).unwrap_or_default();
                self.start(file, text, pipeline);
            }
        }
        self.statuses.set_loaded();
        let shutdown = self.options.shutdown.clone();
        loop {
            if !self.watch && self.slots.values().all(Slot::has_ended) {
                break;
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.ended.notified() => {}
                trigger = triggers.next() => match trigger {
                    Some(trigger) => {
                        tracing::info!(?trigger, "reading the pipeline files again");
                        self.reconcile().await;
                    }
                    None => break,
                },
            }
        }
        let slots = std::mem::take(&mut self.slots);
        for (_, slot) in slots {
            let ended = slot.has_ended();
            if let Err(error) = slot.stop().await {
                // A failure that ended a pipeline by itself was logged when it happened.
                if !ended {
                    tracing::error!("{error}");
                }
                self.failed = true;
            }
        }
        if self.failed {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        }
    }

    fn start(&mut self, file: PathBuf, text: String, pipeline: Pipeline) {
        let ended = self.ended.clone();
        let slot = Slot::spawn(
            pipeline,
            file.clone(),
            text,
            &self.options,
            self.watch,
            self.statuses.clone(),
            ended,
        );
        self.slots.insert(file, slot);
    }

    /// Reads the files and applies what changed.
    async fn reconcile(&mut self) {
        let mut files = Vec::new();
        for path in &self.paths {
            match load::expand(path, true) {
                Ok(found) => files.extend(found),
                Err(error) => tracing::warn!("{error}"),
            }
        }
        let mut gone: Vec<PathBuf> = self
            .slots
            .keys()
            .filter(|file| !files.contains(file))
            .cloned()
            .collect();
        self.refused.retain(|file, _| files.contains(file));
        for file in self.statuses.health().refused_files.keys() {
            if !files.contains(file) {
                self.statuses.refused_file(file, None);
            }
        }

        let mut changed = Vec::new();
        for file in files {
            let text = match std::fs::read_to_string(&file) {
                Ok(text) => text,
                Err(error) => {
                    self.refuse(&file, String::new(), format!("cannot read it: {error}"));
                    continue;
                }
            };
            if self.slots.get(&file).is_some_and(|slot| slot.text == text)
                || self.refused.get(&file) == Some(&text)
            {
                continue;
            }
            let compiled = tokio::task::block_in_place(|| load_and_compile(&file, &self.registry));
            match compiled {
                Ok(pipeline) => changed.push((file, text, pipeline)),
                Err(errors) => self.refuse(&file, text, errors.to_string()),
            }
        }

        // Pipeline ids stay unique: a change may not take an id another file keeps.
        let mut ids: HashMap<Arc<str>, PathBuf> = self
            .slots
            .iter()
            .filter(|(file, _)| {
                !gone.contains(file) && !changed.iter().any(|(other, _, _)| other == *file)
            })
            .map(|(file, slot)| (slot.id.clone(), file.clone()))
            .collect();
        let mut accepted = Vec::new();
        for (file, text, pipeline) in changed {
            let id = pipeline.id().clone();
            if let Some(other) = ids.get(&id) {
                let why = format!("pipeline id `{id}` is already used by {}", other.display());
                self.refuse(&file, text, why);
                continue;
            }
            ids.insert(id, file.clone());
            self.refused.remove(&file);
            if self.slots.contains_key(&file) {
                gone.push(file.clone());
            }
            accepted.push((file, text, pipeline));
        }

        let replaced: Vec<Arc<str>> = gone
            .iter()
            .filter_map(|file| self.slots.get(file))
            .map(|slot| slot.id.clone())
            .collect();
        let stopping: Vec<Slot> = gone
            .iter()
            .filter_map(|file| self.slots.remove(file).map(|slot| (file, slot)))
            .map(|(file, slot)| {
                self.statuses.set(&slot.id, file, State::Stopping, None);
                tracing::info!(pipeline = %slot.id, file = %file.display(), "stopping the old version");
                slot
            })
            .collect();
        let stopped = futures::future::join_all(stopping.into_iter().map(|slot| async move {
            let id = slot.id.clone();
            (id, slot.stop().await)
        }))
        .await;
        for (id, result) in stopped {
            if let Err(error) = result {
                tracing::error!("{error}");
            }
            if !ids.contains_key(&id) {
                self.statuses.remove(&id);
            } else {
                // The new version builds its components afresh: its series start from zero.
                self.options.telemetry.forget_pipeline(&id);
            }
        }
        for (file, text, pipeline) in accepted {
            tracing::info!(pipeline = %pipeline.id(), file = %file.display(), "starting");
            if replaced.contains(pipeline.id()) {
                self.statuses.reloaded(pipeline.id(), "applied");
            }
            self.statuses.refused_change(pipeline.id(), None);
            self.start(file, text, pipeline);
        }
    }

    /// Logs why a file's text was refused and shows it on `/health`; a running version stays.
    fn refuse(&mut self, file: &PathBuf, text: String, why: String) {
        match self.slots.get(file) {
            Some(slot) => {
                tracing::error!(
                    pipeline = %slot.id,
                    file = %file.display(),
                    "the change is refused, the running version stays:\n{why}"
                );
                self.statuses.refused_change(&slot.id, Some(why));
                self.statuses.reloaded(&slot.id, "refused");
            }
            None => {
                tracing::error!(file = %file.display(), "the file is refused:\n{why}");
                self.statuses.refused_file(file, Some(why));
            }
        }
        self.refused.insert(file.clone(), text);
    }
}
