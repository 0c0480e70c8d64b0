//! `type: file`: JSON lines or JSON documents from files, with byte-offset checkpoints.
//!
//! Files matching `path` are read in name order. Each file's checkpoint is the byte offset up to
//! which every event was acknowledged, stored with the file's device and inode in
//! `DATA_DIR/checkpoints/<pipeline>/<source>.json`; a restart resumes there. A file whose inode
//! changed or that shrank below its checkpoint is read from the start again. With `follow: true`
//! the source keeps polling for growth and for new files; otherwise it ends after the last file.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use siemflow_core::checkpoint;
use siemflow_core::codec::{Framer, Framing};
use siemflow_core::component::{
    ComponentContext, ComponentError, ComponentTask, SourceConfig, SourceContext,
};
use siemflow_core::config::duration;
use siemflow_core::event::BatchStatus;
use tokio_util::sync::CancellationToken;

use super::json_stream::{Committer, StreamName, StreamReader, drive};

/// Reads JSON events from files.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSourceConfig {
    /// A file path or glob pattern, e.g. `samples/*.json`. Relative to the working directory.
    pub path: String,
    /// Keep watching the files for appended data and new files (default `false`: read every
    /// matching file once, then finish).
    #[serde(default)]
    pub follow: bool,
    /// `auto` (default), `lines` or `documents`; see the pipeline reference.
    #[serde(default)]
    pub framing: Framing,
    /// Events larger than this go to the dead-letter file (default 1048576, 1 MiB).
    #[serde(default = "default_max_event_bytes")]
    pub max_event_bytes: usize,
    /// How often to look for new data with `follow: true` (default `1s`).
    #[serde(default = "default_poll_interval", with = "duration")]
    pub poll_interval: Duration,
    /// Events per batch (default 500).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// How often acknowledged offsets are written to disk (default `1s`; always at the end).
    #[serde(default = "default_commit_interval", with = "duration")]
    pub commit_interval: Duration,
}

fn default_max_event_bytes() -> usize {
    1 << 20
}

fn default_poll_interval() -> Duration {
    Duration::from_secs(1)
}

fn default_commit_interval() -> Duration {
    Duration::from_secs(1)
}

pub(crate) fn default_batch_size() -> usize {
    500
}

impl SourceConfig for FileSourceConfig {
    fn check(&self) -> Result<(), String> {
        glob::Pattern::new(&self.path)
            .map_err(|error| format!("`path` is not a valid glob pattern: {error}"))?;
        if self.max_event_bytes == 0 || self.batch_size == 0 {
            return Err("`max_event_bytes` and `batch_size` must be at least 1".into());
        }
        Ok(())
    }

    fn is_finite(&self) -> bool {
        !self.follow
    }

    fn build(&self, cx: SourceContext) -> Result<ComponentTask, ComponentError> {
        let checkpoint_path = cx.component.checkpoint_path();
        let saved: Checkpoints = checkpoint::load(&checkpoint_path)
            .map_err(|error| ComponentError::io("cannot read the file source checkpoint", error))?
            .unwrap_or_default();
        let config = self.clone();
        Ok(Box::pin(async move {
            let SourceContext {
                component,
                out,
                shutdown,
            } = cx;
            let (reader, batches) =
                StreamReader::new(component.clone(), shutdown.clone(), config.batch_size);
            let reading = tokio::task::spawn_blocking({
                let config = config.clone();
                let saved = saved.clone();
                let component = component.clone();
                let shutdown = shutdown.clone();
                move || read_files(&config, reader, &saved, &component, &shutdown)
            });
            let mut committer = FileCommitter {
                path: checkpoint_path,
                state: saved,
                dirty: false,
                stuck: HashSet::new(),
                failed_batches: 0,
                component: component.clone(),
            };
            let driven = drive(
                batches,
                out,
                &component,
                shutdown,
                config.commit_interval,
                &mut committer,
            )
            .await;
            // The reader ends once the driver drops its receiver; a reader blocked in `read` on a
            // growing file would only be waited for here, which `is_shutting_down` prevents.
            let _ = reading.await;
            driven
        }))
    }
}

/// Where each file was acknowledged up to.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Checkpoints {
    files: BTreeMap<String, FilePosition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct FilePosition {
    offset: u64,
    device: u64,
    inode: u64,
}

/// A batch's position: which file, and how far.
#[derive(Debug, Clone)]
struct Position {
    key: Arc<str>,
    position: FilePosition,
}

struct FileCommitter {
    path: PathBuf,
    state: Checkpoints,
    dirty: bool,
    stuck: HashSet<Arc<str>>,
    failed_batches: u64,
    component: ComponentContext,
}

impl Committer<Position> for FileCommitter {
    fn acknowledged(&mut self, position: Position, status: BatchStatus) {
        if status.is_delivered() && !self.stuck.contains(&position.key) {
            self.state
                .files
                .insert(position.key.to_string(), position.position);
            self.dirty = true;
        } else if !status.is_delivered() {
            self.failed_batches += 1;
            self.component.metrics.error(
                "batch_not_delivered",
                &format_args!(
                    "a batch of {} was not delivered ({status:?}); its checkpoint stays at {}",
                    position.key,
                    self.state.files.get(&*position.key).map_or(0, |p| p.offset)
                ),
            );
            self.stuck.insert(position.key);
        }
    }

    fn commit(&mut self) -> Result<(), ComponentError> {
        if !self.dirty {
            return Ok(());
        }
        checkpoint::store(&self.path, &self.state).map_err(|error| {
            ComponentError::io(
                format!("cannot write checkpoint {}", self.path.display()),
                error,
            )
        })?;
        self.dirty = false;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), ComponentError> {
        match self.failed_batches {
            0 => Ok(()),
            failed => Err(ComponentError::Other(format!(
                "{failed} batch(es) were not delivered; their files' checkpoints were not advanced"
            ))),
        }
    }
}

struct OpenFile {
    file: File,
    framer: Framer,
    position: FilePosition,
    name: StreamName,
    key: Arc<str>,
}

fn read_files(
    config: &FileSourceConfig,
    mut reader: StreamReader<Position>,
    saved: &Checkpoints,
    component: &ComponentContext,
    shutdown: &CancellationToken,
) {
    let mut open: BTreeMap<PathBuf, OpenFile> = BTreeMap::new();
    loop {
        for path in matching_files(&config.path, component) {
            if reader.is_shutting_down() {
                return;
            }
            let reopen = match open.get(&path) {
                Some(current) => replaced_or_truncated(&path, current),
                None => true,
            };
            if reopen {
                match open_file(&path, config, saved, component) {
                    Some(file) => {
                        open.insert(path.clone(), file);
                    }
                    None => continue,
                }
            }
            let Some(current) = open.get_mut(&path) else {
                continue;
            };
            let key = current.key.clone();
            let base = current.position;
            let position = move |offset| Position {
                key: key.clone(),
                position: FilePosition { offset, ..base },
            };
            match reader.read_to_end(
                &mut current.file,
                &mut current.framer,
                &current.name,
                !config.follow,
                &position,
            ) {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    component.metrics.error(
                        "read_failed",
                        &format_args!("cannot read {}: {error}", path.display()),
                    );
                    open.remove(&path);
                }
                Err(_) => return,
            }
            if !config.follow {
                open.remove(&path);
            }
        }
        if !config.follow {
            return;
        }
        let deadline = std::time::Instant::now() + config.poll_interval;
        while std::time::Instant::now() < deadline {
            if shutdown.is_cancelled() || reader.is_shutting_down() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50).min(config.poll_interval));
        }
    }
}

fn matching_files(pattern: &str, component: &ComponentContext) -> Vec<PathBuf> {
    let paths = match glob::glob(pattern) {
        Ok(paths) => paths,
        Err(error) => {
            component
                .metrics
                .error("bad_pattern", &format_args!("`{pattern}`: {error}"));
            return Vec::new();
        }
    };
    let mut files: Vec<PathBuf> = paths
        .filter_map(|entry| match entry {
            Ok(path) if path.is_file() => Some(path),
            Ok(_) => None,
            Err(error) => {
                component.metrics.error("read_failed", &error);
                None
            }
        })
        .collect();
    files.sort();
    files
}

fn replaced_or_truncated(path: &Path, current: &OpenFile) -> bool {
    match std::fs::metadata(path) {
        Ok(metadata) => {
            metadata.ino() != current.position.inode
                || metadata.dev() != current.position.device
                || metadata.len() < current.framer.consumed()
        }
        Err(_) => false,
    }
}

fn open_file(
    path: &Path,
    config: &FileSourceConfig,
    saved: &Checkpoints,
    component: &ComponentContext,
) -> Option<OpenFile> {
    let opened = File::open(path).and_then(|file| {
        let metadata = file.metadata()?;
        let canonical = std::fs::canonicalize(path)?;
        Ok((file, metadata, canonical))
    });
    let (mut file, metadata, canonical) = match opened {
        Ok(opened) => opened,
        Err(error) => {
            component.metrics.error(
                "open_failed",
                &format_args!("cannot open {}: {error}", path.display()),
            );
            return None;
        }
    };
    let key: Arc<str> = Arc::from(canonical.to_string_lossy().as_ref());
    let identity = FilePosition {
        offset: 0,
        device: metadata.dev(),
        inode: metadata.ino(),
    };
    let start = match saved.files.get(&*key) {
        Some(saved)
            if saved.device == identity.device
                && saved.inode == identity.inode
                && saved.offset <= metadata.len() =>
        {
            saved.offset
        }
        Some(_) => {
            tracing::warn!(
                pipeline = %component.pipeline,
                component = %component.id,
                file = %key,
                "file was replaced or truncated since its checkpoint; reading it from the start"
            );
            0
        }
        None => 0,
    };
    if start > 0 {
        if let Err(error) = file.seek(SeekFrom::Start(start)) {
            component.metrics.error(
                "open_failed",
                &format_args!("cannot seek in {}: {error}", path.display()),
            );
            return None;
        }
        tracing::info!(
            pipeline = %component.pipeline,
            component = %component.id,
            file = %key,
            offset = start,
            "resuming from checkpoint"
        );
    }
    Some(OpenFile {
        file,
        framer: Framer::new(config.framing, config.max_event_bytes, start),
        position: FilePosition {
            offset: start,
            ..identity
        },
        name: StreamName::new(&key),
        key,
    })
}
