//! `type: console`: writes events to standard output (or standard error), one per line.

use serde::Deserialize;
use siemflow_core::component::{ComponentError, ComponentTask, SinkConfig, SinkContext};
use siemflow_core::event::{EventStatus, resolve_batch};
use tokio::io::AsyncWriteExt;

use super::lines;

/// Which stream the console sink writes to.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsoleTarget {
    /// Standard output (default).
    #[default]
    Stdout,
    /// Standard error.
    Stderr,
}

/// Prints events.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSinkConfig {
    /// `stdout` (default) or `stderr`.
    #[serde(default)]
    pub target: ConsoleTarget,
}

impl SinkConfig for ConsoleSinkConfig {
    fn build(&self, cx: SinkContext) -> Result<ComponentTask, ComponentError> {
        let target = self.target;
        Ok(Box::pin(async move {
            let SinkContext {
                component,
                mut input,
            } = cx;
            let mut writer: Box<dyn tokio::io::AsyncWrite + Send + Unpin> = match target {
                ConsoleTarget::Stdout => Box::new(tokio::io::stdout()),
                ConsoleTarget::Stderr => Box::new(tokio::io::stderr()),
            };
            let mut buffer = Vec::new();
            while let Some(batch) = input.recv().await {
                buffer.clear();
                lines::encode(&batch, &mut buffer);
                let written = async {
                    writer.write_all(&buffer).await?;
                    writer.flush().await
                };
                written
                    .await
                    .map_err(|error| ComponentError::io("cannot write to the console", error))?;
                component.metrics.delivered(&batch);
                resolve_batch(batch, EventStatus::Delivered);
            }
            Ok(())
        }))
    }
}
