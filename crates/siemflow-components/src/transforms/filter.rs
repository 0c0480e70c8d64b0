//! `type: filter`: keeps the events for which a JSONPath condition holds.
//!
//! Events that do not match are dropped on purpose: they count as delivered for acknowledgements
//! and as `filtered` in `siemflow_component_discarded_events_total`. An event whose body is not
//! JSON (a formatted plugin output) cannot be tested and goes to the dead-letter file.

use serde::Deserialize;
use siemflow_core::component::{
    ComponentContext, ComponentError, Transform, TransformConfig, TransformOutput,
};
use siemflow_core::condition::Condition;
use siemflow_core::dead_letter::DeadLetters;
use siemflow_core::event::{EventBatch, EventStatus};
use siemflow_core::telemetry::ComponentMetrics;

/// Keeps events matching a condition.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    /// A JSONPath condition over the event, e.g.
    /// `$.category == 'AdvancedHunting-DeviceProcessEvents'`.
    pub condition: Condition,
}

impl TransformConfig for FilterConfig {
    fn build(&self, cx: &ComponentContext) -> Result<Box<dyn Transform>, ComponentError> {
        Ok(Box::new(Filter {
            condition: self.condition.clone(),
            metrics: cx.metrics.clone(),
            dead_letters: cx.dead_letters.clone(),
        }))
    }
}

struct Filter {
    condition: Condition,
    metrics: ComponentMetrics,
    dead_letters: DeadLetters,
}

impl Transform for Filter {
    fn transform(&mut self, batch: EventBatch, output: &mut TransformOutput) {
        let mut filtered = 0;
        let mut dead = Vec::new();
        for mut event in batch {
            match self.condition.matches(&mut event) {
                Ok(true) => output.push(event),
                Ok(false) => {
                    filtered += 1;
                    event.resolve(EventStatus::Dropped);
                }
                Err(error) => dead.push((event, format!("not JSON: {error}"))),
            }
        }
        self.metrics.discarded(filtered, "filtered");
        self.dead_letters.events(dead);
    }
}
