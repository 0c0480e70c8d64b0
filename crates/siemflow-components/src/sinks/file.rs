//! `type: file`: appends events to a file, one per line.
//!
//! A batch is acknowledged once it is written to the operating system (it survives the process
//! being killed); with `sync: true` it is also flushed to disk first (it survives a power loss),
//! at the cost of one `fsync` per batch.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use siemflow_core::component::{
    ComponentError, ComponentTask, Reach, ReachCheck, SinkConfig, SinkContext,
};
use siemflow_core::event::{EventStatus, resolve_batch};
use tokio::io::AsyncWriteExt;

use super::lines;

/// Writes events to a file.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileSinkConfig {
    /// The output file, appended to, parent directories created, relative to the pipeline file's
    /// folder.
    pub path: PathBuf,
    /// `fsync` each batch before acknowledging it, which survives a power loss and is slower
    /// (default `false`).
    #[serde(default)]
    pub sync: bool,
}

impl SinkConfig for FileSinkConfig {
    fn resolve_paths(&mut self, base: &std::path::Path) {
        siemflow_core::config::paths::resolve(base, &mut self.path);
    }

    fn check(&self) -> Result<(), String> {
        if self.path.as_os_str().is_empty() {
            return Err("`path` cannot be empty".into());
        }
        Ok(())
    }

    fn reach(&self) -> ReachCheck<'_> {
        Box::pin(std::future::ready(writable(&self.path).map(Reach::Reached)))
    }

    fn build(&self, cx: SinkContext) -> Result<ComponentTask, ComponentError> {
        let config = self.clone();
        Ok(Box::pin(async move {
            let SinkContext {
                component,
                mut input,
            } = cx;
            let path = config.path.display().to_string();
            if let Some(parent) = config.path.parent().filter(|p| !p.as_os_str().is_empty()) {
                tokio::fs::create_dir_all(parent).await.map_err(|error| {
                    ComponentError::io(format!("cannot create the directory of {path}"), error)
                })?;
            }
            let mut file = tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&config.path)
                .await
                .map_err(|error| ComponentError::io(format!("cannot open {path}"), error))?;
            let mut buffer = Vec::new();
            while let Some(batch) = input.recv().await {
                buffer.clear();
                lines::encode(&batch, &mut buffer);
                let written = async {
                    file.write_all(&buffer).await?;
                    file.flush().await?;
                    if config.sync {
                        file.sync_data().await?;
                    }
                    Ok::<(), std::io::Error>(())
                };
                written.await.map_err(|error| {
                    ComponentError::io(format!("cannot write to {path}"), error)
                })?;
                component.metrics.delivered(&batch);
                resolve_batch(batch, EventStatus::Delivered);
            }
            Ok(())
        }))
    }
}

/// Whether `path` can be appended to, without writing it: the file opened for appending if it
/// exists, else a scratch file created and removed in its nearest existing folder.
fn writable(path: &Path) -> Result<String, String> {
    if path.is_file() {
        std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|error| format!("cannot open {} for appending: {error}", path.display()))?;
        return Ok(format!("{} exists and can be appended to", path.display()));
    }
    let folder = path
        .ancestors()
        .skip(1)
        .find(|folder| folder.is_dir())
        .unwrap_or(Path::new("."));
    let scratch = folder.join(format!(".siemflow-connect-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&scratch)
        .map_err(|error| format!("cannot create files in {}: {error}", folder.display()))?;
    let _ = std::fs::remove_file(&scratch);
    Ok(format!(
        "{} can be created (files can be created in {})",
        path.display(),
        folder.display()
    ))
}
