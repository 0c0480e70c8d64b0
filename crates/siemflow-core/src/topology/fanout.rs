//! Sending one output to every component that lists it in `inputs`.

use crate::event::{EventBatch, EventStatus, resolve_batch};
use crate::tap::TapPoint;

use super::buffer::{BufferSender, Closed};

/// The consumers of one output port.
///
/// A batch goes to each consumer in turn (cloned for all but the last), so the slowest consumer
/// sets the pace: backpressure, not loss. A consumer that stopped is removed; its copy of the batch
/// is dropped unresolved and counts as not delivered. An output nobody consumes (an unused route)
/// drops its events on purpose.
#[derive(Debug, Clone, Default)]
pub struct Fanout {
    targets: Vec<BufferSender>,
    tap: Option<TapPoint>,
}

impl Fanout {
    /// A fan-out to these consumers.
    pub fn new(targets: Vec<BufferSender>) -> Self {
        Self { targets, tap: None }
    }

    /// The same, its batches also shown to the port's viewers (`siemflow tap`).
    pub fn tapped(mut self, tap: TapPoint) -> Self {
        self.tap = Some(tap);
        self
    }

    /// Whether any consumer is attached.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Sends a batch to every consumer. Fails once no consumer is left although some existed.
    pub async fn send(&mut self, batch: EventBatch) -> Result<(), Closed> {
        if batch.is_empty() {
            return Ok(());
        }
        if let Some(tap) = &self.tap {
            tap.observe(&batch);
        }
        if self.targets.is_empty() {
            resolve_batch(batch, EventStatus::Dropped);
            return Ok(());
        }
        let mut index = 0;
        let mut batch = Some(batch);
        while index < self.targets.len() {
            let last = index + 1 == self.targets.len();
            let copy = if last {
                batch.take().unwrap_or_default()
            } else {
                batch.clone().unwrap_or_default()
            };
            if self.targets[index].send(copy).await.is_err() {
                self.targets.remove(index);
                if self.targets.is_empty() {
                    return Err(Closed);
                }
                continue;
            }
            index += 1;
        }
        Ok(())
    }
}
