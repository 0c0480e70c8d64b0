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
    ComponentContext, ComponentError, ComponentTask, Reach, ReachCheck, SourceConfig, SourceContext,
};
use siemflow_core::config::duration;
use siemflow_core::event::BatchStatus;
use tokio_util::sync::CancellationToken;

use super::json_stream::{
    Committer, Stopped, StreamName, StreamReader, check_sizes, default_batch_size,
    default_commit_interval, default_max_event_bytes, run_blocking_reader,
};

/// Reads JSON events from files.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileSourceConfig {
    /// A file path or glob pattern (`samples/*.json`), relative to the pipeline file's folder.
    pub path: String,
    /// Keep reading as files grow and new files appear (default `false`: read every matching file
    /// once, then finish).
    #[serde(default)]
    pub follow: bool,
    /// `lines`: one JSON value per line (`\n` or `\r\n`); `documents`: complete JSON objects or
    /// arrays one after another, however they are broken into lines; `auto` (default): `documents`
    /// if the first line is `{` or `[` or ends with one (as `{"records": [` does), else `lines`.
    #[serde(default)]
    pub framing: Framing,
    /// Longer events go to the dead-letter file, the first 64 KiB kept (default 1048576).
    #[serde(default = "default_max_event_bytes")]
    pub max_event_bytes: usize,
    /// With `follow`, how often to look for new data and files (default `1s`).
    #[schemars(with = "String")]
    #[serde(default = "default_poll_interval", with = "duration")]
    pub poll_interval: Duration,
    /// Events per batch (default 500).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// How often acknowledged offsets are written, when something new was acknowledged (default
    /// `100ms`; always at the end). After a crash, what was delivered since is sent again.
    #[schemars(with = "String")]
    #[serde(default = "default_commit_interval", with = "duration")]
    pub commit_interval: Duration,
    /// Without `follow`, accept a `path` that matches no file when the pipeline starts (default
    /// `false`: the pipeline fails with `no file matches PATH`, since it would read nothing and end
    /// as if done). With `follow`, a path matching nothing is only warned about.
    #[serde(default)]
    pub allow_missing: bool,
}

fn default_poll_interval() -> Duration {
    Duration::from_secs(1)
}

impl SourceConfig for FileSourceConfig {
    /// The pattern is taken from the pipeline file's folder, whose own glob characters are
    /// escaped.
    fn resolve_paths(&mut self, base: &std::path::Path) {
        if Path::new(&self.path).is_relative() && !base.as_os_str().is_empty() {
            let folder = glob::Pattern::escape(&base.to_string_lossy());
            self.path = Path::new(&folder)
                .join(&self.path)
                .to_string_lossy()
                .into_owned();
        }
    }

    fn check(&self) -> Result<(), String> {
        glob::Pattern::new(&self.path)
            .map_err(|error| format!("`path` is not a valid glob pattern: {error}"))?;
        check_sizes(self.max_event_bytes, self.batch_size)
    }

    fn is_finite(&self) -> bool {
        !self.follow
    }

    fn reach(&self) -> ReachCheck<'_> {
        Box::pin(async move {
            let files: Vec<PathBuf> = glob::glob(&self.path)
                .map_err(|error| format!("`path` is not a valid glob pattern: {error}"))?
                .flatten()
                .filter(|path| path.is_file())
                .collect();
            if files.is_empty() {
                if self.follow || self.allow_missing {
                    return Ok(Reach::Reached(format!(
                        "no file matches `{}` yet: what appears is read",
                        self.path
                    )));
                }
                return Err(format!(
                    "no file matches `{}`; set `allow_missing: true` if that is expected",
                    self.path
                ));
            }
            for file in &files {
                File::open(file)
                    .map_err(|error| format!("cannot open {}: {error}", file.display()))?;
            }
            Ok(Reach::Reached(format!(
                "{} file(s) match `{}`, each can be opened",
                files.len(),
                self.path
            )))
        })
    }

    fn build(&self, cx: SourceContext) -> Result<ComponentTask, ComponentError> {
        self.check_something_matches(&cx.component)?;
        let checkpoint_path = cx.component.checkpoint_path();
        let mut saved: Checkpoints = checkpoint::load(&checkpoint_path)
            .map_err(|error| ComponentError::io("cannot read the file source checkpoint", error))?
            .unwrap_or_default();
        // Positions of files that are gone would only grow the checkpoint: a file that comes back
        // under the same name has a new inode and is read from the start anyway.
        saved.files.retain(|path, _| Path::new(path).exists());
        let config = self.clone();
        Ok(Box::pin(async move {
            let mut committer = FileCommitter {
                path: checkpoint_path,
                state: saved.clone(),
                dirty: false,
                stuck: HashSet::new(),
            };
            // The reader ends once the driver drops its receiver; a reader blocked in `read` on a
            // growing file would only be waited for, which `is_shutting_down` prevents.
            let (batch_size, commit_interval) = (config.batch_size, config.commit_interval);
            run_blocking_reader(
                cx,
                batch_size,
                commit_interval,
                &mut committer,
                move |reader, component, shutdown| {
                    read_files(&config, reader, &saved, &component, &shutdown);
                    Ok(())
                },
            )
            .await
        }))
    }
}

impl FileSourceConfig {
    /// A path that matches no file at start is a mistake more often than not (a relative path
    /// run from another directory): with `follow` it is said, without it the pipeline fails
    /// unless `allow_missing` says it is expected.
    fn check_something_matches(&self, component: &ComponentContext) -> Result<(), ComponentError> {
        let matches = glob::glob(&self.path)
            .map(|paths| paths.flatten().any(|path| path.is_file()))
            .unwrap_or(false);
        if matches {
            return Ok(());
        }
        // The path was taken from the pipeline file's folder; it is relative only when the
        // pipeline file was named by a relative path.
        let missing = if Path::new(&self.path).is_relative() {
            let here = std::env::current_dir()
                .map(|dir| dir.display().to_string())
                .unwrap_or_else(|_| "the working directory".into());
            format!("no file matches `{}` (from {here})", self.path)
        } else {
            format!("no file matches `{}`", self.path)
        };
        if self.follow || self.allow_missing {
            tracing::warn!(
                pipeline = %component.pipeline,
                component = %component.id,
                "{missing}: reading what appears"
            );
            return Ok(());
        }
        Err(ComponentError::Config(format!(
            "{missing}; set `allow_missing: true` if that is expected"
        )))
    }
}

/// Where each file was acknowledged up to.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
struct Checkpoints {
    files: BTreeMap<String, FilePosition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
struct FilePosition {
    offset: u64,
    device: u64,
    inode: u64,
    /// How many leading bytes `head_hash` covers (at most [`FINGERPRINT_BYTES`]).
    #[serde(default)]
    head_len: u64,
    /// Hash of the file's first `head_len` bytes: tells a file truncated and rewritten in place
    /// (same inode, `copytruncate` rotation) from the one that was checkpointed.
    #[serde(default)]
    head_hash: u64,
}

/// Leading bytes hashed to recognise a file.
const FINGERPRINT_BYTES: u64 = 1024;

/// Hash of the first `len` bytes of a file; `None` if it has fewer.
fn fingerprint(file: &File, len: u64) -> std::io::Result<Option<u64>> {
    use std::os::unix::fs::FileExt;
    let mut head = vec![0; len as usize];
    match file.read_exact_at(&mut head, 0) {
        Ok(()) => Ok(Some(xxhash_rust::xxh3::xxh3_64(&head))),
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Err(error) => Err(error),
    }
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
    /// Files with an undelivered batch: their offset must not move for the rest of the run.
    stuck: HashSet<Arc<str>>,
}

impl Committer<Position> for FileCommitter {
    fn acknowledged(&mut self, position: Position, status: BatchStatus) {
        if status.is_delivered() && !self.stuck.contains(&position.key) {
            self.state
                .files
                .insert(position.key.to_string(), position.position);
            self.dirty = true;
        } else if !status.is_delivered() {
            tracing::warn!(
                file = %position.key,
                offset = self.state.files.get(&*position.key).map_or(0, |p| p.offset),
                "checkpoint of this file frozen for the rest of the run"
            );
            self.stuck.insert(position.key);
        }
    }

    fn commit(&mut self) -> Result<(), ComponentError> {
        if !self.dirty {
            return Ok(());
        }
        checkpoint::save(&self.path, &self.state)?;
        self.dirty = false;
        Ok(())
    }
}

struct OpenFile {
    file: File,
    framer: Framer,
    position: FilePosition,
    name: StreamName,
    key: Arc<str>,
}

impl OpenFile {
    /// Reads what the file holds now; `complete` when it will not grow.
    fn read(
        &mut self,
        reader: &mut StreamReader<Position>,
        complete: bool,
    ) -> Result<std::io::Result<()>, Stopped> {
        let key = self.key.clone();
        let base = self.position;
        let position = move |offset| Position {
            key: key.clone(),
            position: FilePosition { offset, ..base },
        };
        reader.read_to_end(
            &mut self.file,
            &mut self.framer,
            &self.name,
            complete,
            &position,
        )
    }
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
        let matching = matching_files(&config.path, component);
        // Files that no longer match (rotated away, deleted) are read to their end and closed.
        let gone: Vec<PathBuf> = open
            .keys()
            .filter(|path| matching.binary_search(path).is_err())
            .cloned()
            .collect();
        for path in gone {
            if let Some(mut current) = open.remove(&path)
                && current.read(&mut reader, true).is_err()
            {
                return;
            }
        }
        for path in matching {
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
            match current.read(&mut reader, !config.follow) {
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
        let head_len = metadata.len().min(FINGERPRINT_BYTES);
        let head_hash = fingerprint(&file, head_len)?.unwrap_or_default();
        Ok((file, metadata, canonical, head_len, head_hash))
    });
    let (mut file, metadata, canonical, head_len, head_hash) = match opened {
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
        head_len,
        head_hash,
    };
    let same_head = |saved: &FilePosition| matches!(fingerprint(&file, saved.head_len), Ok(Some(hash)) if hash == saved.head_hash);
    let start = match saved.files.get(&*key) {
        Some(saved)
            if saved.device == identity.device
                && saved.inode == identity.inode
                && saved.offset <= metadata.len()
                && same_head(saved) =>
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
