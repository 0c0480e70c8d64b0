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
#[derive(Debug, Clone, Deserialize)]
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
