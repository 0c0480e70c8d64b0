//! Reading `/metrics` into the figures `top` shows, per pipeline and component.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use siemflow_components::http_client;

/// A pipeline and one of its components.
pub type ComponentKey = (String, String);

/// One component's figures at one reading.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Component {
    /// `source`, `transform` or `sink`.
    pub kind: String,
    /// The component's `type:`.
    pub kind_type: String,
    /// Events received so far.
    pub received: f64,
    /// Events sent on or delivered so far.
    pub sent: f64,
    /// Errors so far, all reasons.
    pub errors: f64,
    /// Events dead-lettered so far.
    pub dead_letters: f64,
    /// Events waiting in its input buffer.
    pub buffered: f64,
    /// Sources: events not yet acknowledged.
    pub pending: f64,
    /// Event Hubs: events behind, all partitions.
    pub lag_events: Option<f64>,
    /// Azure Storage: bytes behind.
    pub lag_bytes: Option<f64>,
    /// Polling sources: how old the newest change read is.
    pub high_water_mark_age: Option<f64>,
    /// Sources: how old the stored checkpoint is.
    pub checkpoint_age: Option<f64>,
    /// Whether it reports lasting trouble (`siemflow_component_degraded`).
    pub degraded: bool,
    /// Events dropped on purpose so far, per reason (`duplicate`, `filtered`, ...).
    pub discarded: BTreeMap<String, f64>,
}

/// Every component's figures, and each pipeline's state, at one moment.
#[derive(Debug, Clone)]
pub struct Reading {
    /// When it was read.
    pub at: Instant,
    /// Per pipeline, its state (`running`, `failed`, ...).
    pub pipelines: BTreeMap<String, String>,
    /// Per (pipeline, component).
    pub components: BTreeMap<ComponentKey, Component>,
}

impl Reading {
    /// Reads an OpenMetrics or Prometheus text exposition.
    pub fn parse(text: &str, at: Instant) -> Result<Self, String> {
        let scrape = prometheus_parse::Scrape::parse(text.lines().map(|line| Ok(line.to_string())))
            .map_err(|error| format!("cannot read the metrics: {error}"))?;
        let mut reading = Reading {
            at,
            pipelines: BTreeMap::new(),
            components: BTreeMap::new(),
        };
        for sample in &scrape.samples {
            let value = match sample.value {
                prometheus_parse::Value::Counter(value)
                | prometheus_parse::Value::Gauge(value)
                | prometheus_parse::Value::Untyped(value) => value,
                _ => continue,
            };
            let name = sample.metric.strip_prefix("siemflow_").unwrap_or("");
            let name = name.strip_suffix("_total").unwrap_or(name);
            let Some(pipeline) = sample.labels.get("pipeline") else {
                continue;
            };
            if name == "pipeline_state" {
                if value == 1.0
                    && let Some(state) = sample.labels.get("state")
                {
                    reading
                        .pipelines
                        .insert(pipeline.to_string(), state.to_string());
                }
                continue;
            }
            let Some(id) = sample.labels.get("component_id") else {
                continue;
            };
            let component = reading
                .components
                .entry((pipeline.to_string(), id.to_string()))
                .or_default();
            if component.kind.is_empty() {
                component.kind = sample.labels.get("component_kind").unwrap_or("").into();
                component.kind_type = sample.labels.get("component_type").unwrap_or("").into();
            }
            let add = |figure: &mut Option<f64>| *figure = Some(figure.unwrap_or(0.0) + value);
            match name {
                "component_received_events" => component.received += value,
                "component_sent_events" => component.sent += value,
                "component_errors" => component.errors += value,
                "dead_letter_events" => component.dead_letters += value,
                "buffer_events" => component.buffered += value,
                "source_pending_events" => component.pending += value,
                "source_lag_events" => add(&mut component.lag_events),
                "source_lag_bytes" => add(&mut component.lag_bytes),
                "source_high_water_mark_age_seconds" => add(&mut component.high_water_mark_age),
                "source_checkpoint_age_seconds" => add(&mut component.checkpoint_age),
                "component_degraded" => component.degraded |= value > 0.0,
                "component_discarded_events" => {
                    let reason = sample.labels.get("reason").unwrap_or("other");
                    *component.discarded.entry(reason.to_string()).or_default() += value;
                }
                _ => {}
            }
        }
        Ok(reading)
    }
}

/// Reads one instance's `/metrics`.
#[derive(Debug)]
pub struct Scraper {
    url: reqwest::Url,
    client: reqwest::Client,
}

impl Scraper {
    /// A scraper of `address` (`host:port`) or of a full URL.
    pub fn new(address: &str) -> Result<Self, String> {
        let url = if address.contains("://") {
            address.to_string()
        } else {
            format!("http://{address}/metrics")
        };
        let url = http_client::parse_endpoint(&url)?;
        let client =
            http_client::client(&url, None, Duration::from_secs(5), Duration::from_secs(10))?;
        Ok(Self { url, client })
    }

    /// The URL read.
    pub fn url(&self) -> &reqwest::Url {
        &self.url
    }

    /// One reading.
    pub async fn read(&self) -> Result<Reading, String> {
        let failed = |error: String| format!("cannot read {}: {error}", self.url);
        let response = self
            .client
            .get(self.url.clone())
            .send()
            .await
            .map_err(|error| failed(http_client::describe_error(error)))?;
        if !response.status().is_success() {
            return Err(failed(format!("HTTP {}", response.status())));
        }
        let text = response
            .text()
            .await
            .map_err(|error| failed(http_client::describe_error(error)))?;
        Reading::parse(&text, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPOSITION: &str = r#"# HELP siemflow_component_sent_events Events a component sent downstream or delivered.
# TYPE siemflow_component_sent_events counter
siemflow_component_sent_events_total{pipeline="contoso",component_id="in",component_kind="source",component_type="event_hubs"} 120
# TYPE siemflow_source_lag_events gauge
siemflow_source_lag_events{pipeline="contoso",component_id="in",component_kind="source",component_type="event_hubs",partition="0"} 7
siemflow_source_lag_events{pipeline="contoso",component_id="in",component_kind="source",component_type="event_hubs",partition="1"} 5
# TYPE siemflow_pipeline_state gauge
siemflow_pipeline_state{pipeline="contoso",state="running"} 1
siemflow_pipeline_state{pipeline="contoso",state="failed"} 0
# EOF
"#;

    #[test]
    fn an_exposition_reads_into_components_and_states() {
        let reading = Reading::parse(EXPOSITION, Instant::now()).unwrap();
        assert_eq!(reading.pipelines["contoso"], "running");
        let source = &reading.components[&("contoso".into(), "in".into())];
        assert_eq!(source.kind, "source");
        assert_eq!(source.kind_type, "event_hubs");
        assert_eq!(source.sent, 120.0);
        assert_eq!(source.lag_events, Some(12.0));
        assert_eq!(source.lag_bytes, None);
    }
}
