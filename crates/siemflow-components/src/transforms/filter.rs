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
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
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

#[cfg(test)]
mod tests {
    use siemflow_core::event::BatchStatus;

    use super::*;
    use crate::test_util::{bodies, context, deliver, json_batch, run};

    fn filter(condition: &str) -> FilterConfig {
        FilterConfig {
            condition: Condition::new(condition).unwrap(),
        }
    }

    #[tokio::test]
    async fn keeps_matches_and_acknowledges_the_rest_as_dropped() {
        let cx = context("filter");
        let mut transform = filter("$.category == 'AdvancedHunting-DeviceProcessEvents'")
            .build(&cx)
            .unwrap();
        let (batch, status) = json_batch(&[
            r#"{"category":"AdvancedHunting-DeviceProcessEvents","n":1}"#,
            r#"{"category":"AdvancedHunting-EmailEvents","n":2}"#,
        ]);
        let output = run(transform.as_mut(), batch, 0);
        assert_eq!(
            bodies(&output.default),
            vec![r#"{"category":"AdvancedHunting-DeviceProcessEvents","n":1}"#]
        );
        assert_eq!(deliver(output, status).await, BatchStatus::Delivered);
        assert_eq!(cx.metrics.discarded_count("filtered"), 1);
    }

    #[tokio::test]
    async fn dead_letters_events_that_are_not_json() {
        let cx = context("filter");
        let mut transform = filter("$.a").build(&cx).unwrap();
        let (batch, status) = json_batch(&[r#"{"a":1}"#, "CEF:0|Microsoft|Defender|1|x|y|5|"]);
        let output = run(transform.as_mut(), batch, 0);
        assert_eq!(output.default.len(), 1);
        assert_eq!(deliver(output, status).await, BatchStatus::Delivered);
        let letters = cx.dead_letters.memory_lines();
        assert_eq!(letters.len(), 1);
        assert!(letters[0].contains("not JSON"), "{letters:?}");
        assert!(letters[0].contains("CEF:0|Microsoft"), "{letters:?}");
    }
}
