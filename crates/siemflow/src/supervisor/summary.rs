//! The line a pipeline's run ends with: what it moved, read from the instance's own metrics, so
//! that a finite run or a shutdown never ends without a word.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use siemflow_core::telemetry::Telemetry;

use crate::top::scrape::Reading;

/// What one pipeline moved.
#[derive(Debug, Default, PartialEq)]
pub struct Summary {
    /// Events its sources read.
    pub events_in: f64,
    /// Per sink, events delivered.
    pub delivered: BTreeMap<String, f64>,
    /// Events dead-lettered, all components.
    pub dead_lettered: f64,
    /// Events dropped on purpose, per reason (`duplicate`, `filtered`, ...).
    pub discarded: BTreeMap<String, f64>,
}

impl Summary {
    /// The pipeline's figures in a metrics exposition.
    pub fn of(reading: &Reading, pipeline: &str) -> Self {
        let mut summary = Summary::default();
        for ((owner, id), component) in &reading.components {
            if owner != pipeline {
                continue;
            }
            match component.kind.as_str() {
                "source" => summary.events_in += component.received,
                "sink" => {
                    summary.delivered.insert(id.clone(), component.sent);
                }
                _ => {}
            }
            summary.dead_lettered += component.dead_letters;
            for (reason, count) in &component.discarded {
                *summary.discarded.entry(reason.clone()).or_default() += count;
            }
        }
        summary
    }

    /// The sentence logged, e.g. `1000 events in; delivered: out 998; 2 dead-lettered`.
    pub fn sentence(&self) -> String {
        let mut out = format!("{} events in", self.events_in);
        let delivered: Vec<String> = self
            .delivered
            .iter()
            .map(|(sink, count)| format!("{sink} {count}"))
            .collect();
        let _ = write!(out, "; delivered: {}", delivered.join(", "));
        let _ = write!(out, "; {} dead-lettered", self.dead_lettered);
        for (reason, count) in &self.discarded {
            if *count > 0.0 {
                let _ = write!(out, "; {count} dropped ({reason})");
            }
        }
        out
    }
}

/// Logs how a pipeline's run ended (`finished`, `stopped`, `failed`) and what it moved.
pub fn log(telemetry: &Telemetry, pipeline: &str, ended: &str, took: Duration) {
    let summary = match Reading::parse(&telemetry.encode(), Instant::now()) {
        Ok(reading) => Summary::of(&reading, pipeline),
        Err(error) => {
            tracing::warn!(pipeline, "no run summary: {error}");
            return;
        }
    };
    tracing::info!(
        pipeline,
        events_in = summary.events_in,
        dead_lettered = summary.dead_lettered,
        "pipeline {ended} after {:.1} s: {}",
        took.as_secs_f64(),
        summary.sentence()
    );
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::{Reading, Summary};

    #[test]
    fn a_summary_adds_up_one_pipelines_components() {
        let text = "\
siemflow_component_received_events_total{pipeline=\"p\",component_id=\"in\",component_kind=\"source\",component_type=\"file\"} 10
siemflow_component_sent_events_total{pipeline=\"p\",component_id=\"in\",component_kind=\"source\",component_type=\"file\"} 10
siemflow_component_sent_events_total{pipeline=\"p\",component_id=\"out\",component_kind=\"sink\",component_type=\"file\"} 7
siemflow_dead_letter_events_total{pipeline=\"p\",component_id=\"in\",component_kind=\"source\",component_type=\"file\",reason=\"malformed JSON\"} 1
siemflow_component_discarded_events_total{pipeline=\"p\",component_id=\"d\",component_kind=\"transform\",component_type=\"dedupe\",reason=\"duplicate\"} 2
siemflow_component_received_events_total{pipeline=\"other\",component_id=\"in\",component_kind=\"source\",component_type=\"file\"} 99
";
        let reading = Reading::parse(text, Instant::now()).unwrap();
        let summary = Summary::of(&reading, "p");
        assert_eq!(
            summary.sentence(),
            "10 events in; delivered: out 7; 1 dead-lettered; 2 dropped (duplicate)"
        );
    }
}
