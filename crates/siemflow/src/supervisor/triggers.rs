//! What makes the supervisor read the pipeline files again: SIGHUP, and with `--watch` a change
//! to a pipeline file (inotify through the notify crate).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// Changes closer together than this are read as one (an editor writes, renames and chmods).
const SETTLE: Duration = Duration::from_millis(200);

/// Why the files are read again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// SIGHUP.
    Hangup,
    /// A pipeline file was written, created, renamed or removed.
    FileChanged,
}

/// Receives triggers; holds the file watcher alive.
#[derive(Debug)]
pub struct Triggers {
    receiver: mpsc::Receiver<Trigger>,
    _watcher: Option<RecommendedWatcher>,
}

impl Triggers {
    /// Listens for SIGHUP and, when `watch`, for changes to the pipeline files under `paths`.
    pub fn start(paths: &[PathBuf], watch: bool) -> Result<Self, String> {
        let (sender, receiver) = mpsc::channel(64);
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .map_err(|error| format!("cannot listen for SIGHUP: {error}"))?;
        let on_hangup = sender.clone();
        tokio::spawn(async move {
            while hangup.recv().await.is_some() {
                if on_hangup.send(Trigger::Hangup).await.is_err() {
                    break;
                }
            }
        });
        let watcher = if watch {
            Some(watch_files(paths, sender)?)
        } else {
            None
        };
        Ok(Self {
            receiver,
            _watcher: watcher,
        })
    }

    /// The next trigger, once changes have settled; `None` when no trigger can come any more.
    pub async fn next(&mut self) -> Option<Trigger> {
        let first = self.receiver.recv().await?;
        tokio::time::sleep(SETTLE).await;
        while self.receiver.try_recv().is_ok() {}
        Some(first)
    }
}

/// Watches each directory (and each named file's directory), not recursively: what happens under
/// a data directory or next to output files inside it is not a pipeline change.
fn watch_files(
    paths: &[PathBuf],
    sender: mpsc::Sender<Trigger>,
) -> Result<RecommendedWatcher, String> {
    let mut files = HashSet::new();
    let mut directories = HashSet::new();
    for path in paths {
        let absolute = std::path::absolute(path)
            .map_err(|error| format!("cannot watch {}: {error}", path.display()))?;
        if absolute.is_dir() {
            directories.insert(absolute);
        } else {
            let parent = absolute
                .parent()
                .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
            files.insert(absolute);
            directories.insert(parent);
        }
    }
    let watched_directories: HashSet<PathBuf> = paths
        .iter()
        .filter_map(|path| std::path::absolute(path).ok())
        .filter(|path| path.is_dir())
        .collect();
    let mut watcher =
        notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
            Ok(event) => {
                // Reading a file (as the supervisor does) is no change.
                let read_only = matches!(
                    event.kind,
                    notify::EventKind::Access(
                        notify::event::AccessKind::Open(_)
                            | notify::event::AccessKind::Read
                            | notify::event::AccessKind::Close(notify::event::AccessMode::Read)
                    )
                );
                let relevant = !read_only
                    && event.paths.iter().any(|path| {
                        files.contains(path)
                            || (is_pipeline_file(path)
                                && path
                                    .parent()
                                    .is_some_and(|dir| watched_directories.contains(dir)))
                    });
                if relevant {
                    // Full means a read is already due; one more adds nothing.
                    let _ = sender.try_send(Trigger::FileChanged);
                }
            }
            Err(error) => tracing::warn!("watching pipeline files: {error}"),
        })
        .map_err(|error| format!("cannot watch pipeline files: {error}"))?;
    for directory in &directories {
        watcher
            .watch(directory, RecursiveMode::NonRecursive)
            .map_err(|error| format!("cannot watch {}: {error}", directory.display()))?;
    }
    Ok(watcher)
}

fn is_pipeline_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}
