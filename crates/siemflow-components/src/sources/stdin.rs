//! `type: stdin`: JSON lines or documents from standard input.
//!
//! Standard input cannot be re-read, so there is no checkpoint; the source still waits for every
//! batch to be acknowledged before it ends, and fails the run if one was not delivered.

use std::time::Duration;

use serde::Deserialize;
use siemflow_core::codec::{Framer, Framing};
use siemflow_core::component::{ComponentError, ComponentTask, SourceConfig, SourceContext};

use super::json_stream::{
    StreamName, StreamReader, check_sizes, default_batch_size, default_max_event_bytes, drive,
};

/// Reads JSON events from standard input until it closes.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StdinSourceConfig {
    /// `auto` (default), `lines` or `documents`.
    #[serde(default)]
    pub framing: Framing,
    /// Events larger than this go to the dead-letter file (default 1048576, 1 MiB).
    #[serde(default = "default_max_event_bytes")]
    pub max_event_bytes: usize,
    /// Events per batch (default 500).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
}

impl SourceConfig for StdinSourceConfig {
    fn check(&self) -> Result<(), String> {
        check_sizes(self.max_event_bytes, self.batch_size)
    }

    fn is_finite(&self) -> bool {
        true
    }

    fn build(&self, cx: SourceContext) -> Result<ComponentTask, ComponentError> {
        let config = self.clone();
        Ok(Box::pin(async move {
            let SourceContext {
                component,
                out,
                shutdown,
            } = cx;
            let (mut reader, batches) =
                StreamReader::new(component.clone(), shutdown.clone(), config.batch_size);
            // Not awaited: a read blocked on a terminal must not hold up shutdown.
            let reading = std::thread::Builder::new()
                .name("siemflow-stdin".into())
                .spawn(move || {
                    let mut framer = Framer::new(config.framing, config.max_event_bytes, 0);
                    let name = StreamName::new("stdin");
                    let mut input = std::io::stdin().lock();
                    match reader.read_to_end(&mut input, &mut framer, &name, true, &|_| ()) {
                        Ok(Err(error)) => Some(error),
                        _ => None,
                    }
                })
                .map_err(|error| ComponentError::io("cannot start the stdin reader", error))?;
            drive(
                batches,
                out,
                &component,
                shutdown,
                Duration::from_secs(3600),
                &mut (),
            )
            .await?;
            if reading.is_finished()
                && let Ok(Some(error)) = reading.join()
            {
                return Err(ComponentError::io("cannot read standard input", error));
            }
            Ok(())
        }))
    }
}
