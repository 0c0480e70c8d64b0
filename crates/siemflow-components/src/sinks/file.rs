//! `type: file`: appends events to a file, one per line.
//!
//! A batch is acknowledged once it is written to the operating system (it survives the process
//! being killed); with `sync: true` it is also flushed to disk first (it survives a power loss),
//! at the cost of one `fsync` per batch.

use std::path::PathBuf;

use serde::Deserialize;
use siemflow_core::component::{ComponentError, ComponentTask, SinkConfig, SinkContext};
use siemflow_core::event::{EventStatus, resolve_batch};
use tokio::io::AsyncWriteExt;

use super::lines;

/// Writes events to a file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSinkConfig {
    /// The output file, e.g. `out/events.log`; appended to, parent directories created.
    /// Relative to the working directory.
    pub path: PathBuf,
    /// `fsync` each batch before acknowledging it (default `false`).
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
