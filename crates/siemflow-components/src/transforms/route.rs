//! `type: route`: sends each event to the named outputs whose condition holds.
//!
//! Other components use `name.<route>` as an input; events matching no route go to
//! `name._unmatched`. An event matching several routes is copied to each. An output nobody uses
//! drops its events on purpose.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use siemflow_core::component::{
    ComponentContext, ComponentError, Transform, TransformConfig, TransformOutput, TransformOutputs,
};
use siemflow_core::condition::Condition;
use siemflow_core::config::check_id;
use siemflow_core::dead_letter::DeadLetters;
use siemflow_core::event::EventBatch;

/// The name of the output for events that match no route.
pub const UNMATCHED: &str = "_unmatched";

/// Splits events by condition into named outputs.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Output name to JSONPath condition, e.g.
    /// `process: "$.category == 'AdvancedHunting-DeviceProcessEvents'"`.
    pub route: BTreeMap<String, Condition>,
}

impl TransformConfig for RouteConfig {
    fn check(&self) -> Result<(), String> {
        if self.route.is_empty() {
            return Err("`route` needs at least one output".into());
        }
        for name in self.route.keys() {
            check_id(name).map_err(|message| format!("route name: {message}"))?;
            if name == UNMATCHED {
                return Err(format!(
                    "`{UNMATCHED}` is reserved for events matching no route"
                ));
            }
        }
        Ok(())
    }

    fn outputs(&self) -> TransformOutputs {
        let mut named: Vec<Arc<str>> = self
            .route
            .keys()
            .map(|name| Arc::from(name.as_str()))
            .collect();
        named.push(Arc::from(UNMATCHED));
        TransformOutputs {
            default: false,
            named,
        }
    }

    fn build(&self, cx: &ComponentContext) -> Result<Box<dyn Transform>, ComponentError> {
        Ok(Box::new(Route {
            conditions: self.route.values().cloned().collect(),
            dead_letters: cx.dead_letters.clone(),
        }))
    }
}

struct Route {
    conditions: Vec<Condition>,
    dead_letters: DeadLetters,
}

impl Transform for Route {
    fn transform(&mut self, batch: EventBatch, output: &mut TransformOutput) {
        let unmatched = self.conditions.len();
        let mut dead = Vec::new();
        let mut matched = Vec::with_capacity(self.conditions.len());
        for mut event in batch {
            matched.clear();
            let mut failure = None;
            for (index, condition) in self.conditions.iter().enumerate() {
                match condition.matches(&mut event) {
                    Ok(true) => matched.push(index),
                    Ok(false) => {}
                    Err(error) => {
                        failure = Some(error);
                        break;
                    }
                }
            }
            if let Some(error) = failure {
                dead.push((event, format!("not JSON: {error}")));
                continue;
            }
            match matched.split_last() {
                None => output.push_named(unmatched, event),
                Some((&last, others)) => {
                    for &index in others {
                        output.push_named(index, event.clone());
                    }
                    output.push_named(last, event);
                }
            }
        }
        self.dead_letters.events(dead);
    }
}

#[cfg(test)]
mod tests {
    use siemflow_core::event::BatchStatus;

    use super::*;
    use crate::test_util::{bodies, context, deliver, json_batch, run};

    fn route(routes: &[(&str, &str)]) -> RouteConfig {
        RouteConfig {
            route: routes
                .iter()
                .map(|(name, condition)| (name.to_string(), Condition::new(condition).unwrap()))
                .collect(),
        }
    }

    #[test]
    fn declares_named_outputs_only() {
        let config = route(&[("b", "$.b"), ("a", "$.a")]);
        let outputs = config.outputs();
        assert!(!outputs.default);
        let names: Vec<&str> = outputs.named.iter().map(|n| &**n).collect();
        assert_eq!(names, vec!["a", "b", "_unmatched"]);
        assert!(route(&[("_unmatched", "$.a")]).check().is_err());
        assert!(route(&[("bad.name", "$.a")]).check().is_err());
    }

    #[tokio::test]
    async fn copies_to_every_matching_output_and_collects_the_rest() {
        let cx = context("route");
        let config = route(&[("a", "$.a"), ("b", "$.b")]);
        let mut transform = config.build(&cx).unwrap();
        let (batch, status) = json_batch(&[r#"{"a":1,"b":1}"#, r#"{"a":1}"#, r#"{"c":1}"#]);
        let output = run(transform.as_mut(), batch, 3);
        assert_eq!(
            bodies(&output.named[0]),
            vec![r#"{"a":1,"b":1}"#, r#"{"a":1}"#]
        );
        assert_eq!(bodies(&output.named[1]), vec![r#"{"a":1,"b":1}"#]);
        assert_eq!(bodies(&output.named[2]), vec![r#"{"c":1}"#]);
        assert!(output.default.is_empty());
        assert_eq!(deliver(output, status).await, BatchStatus::Delivered);
    }

    #[tokio::test]
    async fn an_undelivered_copy_fails_the_batch() {
        let cx = context("route");
        let mut transform = route(&[("a", "$.a"), ("b", "$.b")]).build(&cx).unwrap();
        let (batch, status) = json_batch(&[r#"{"a":1,"b":1}"#]);
        let mut output = run(transform.as_mut(), batch, 3);
        let lost = output.named[1].pop().unwrap();
        drop(lost);
        assert_eq!(deliver(output, status).await, BatchStatus::Errored);
    }
}
