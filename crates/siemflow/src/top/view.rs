//! The table `top` prints: one line per component, rates over the interval between two
//! readings, the rest as of the later one.

use std::fmt;

use super::scrape::{Component, ComponentKey, Reading};

/// One component's line.
#[derive(Debug, Clone, PartialEq)]
struct Line {
    key: ComponentKey,
    state: String,
    kind: String,
    kind_type: String,
    in_rate: f64,
    out_rate: f64,
    errors: f64,
    dead_letters: f64,
    buffered: f64,
    pending: f64,
    lag: String,
    checkpoint_age: String,
}

/// What changed between two readings.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    lines: Vec<Line>,
}

impl Table {
    /// The table of what happened from `before` to `now`. A component new in `now` (a pipeline
    /// just started or restarted, whose counters began again) is rated from zero.
    pub fn between(before: &Reading, now: &Reading) -> Self {
        let seconds = now
            .at
            .saturating_duration_since(before.at)
            .as_secs_f64()
            .max(1e-3);
        let empty = Component::default();
        let lines = now
            .components
            .iter()
            .map(|(key, component)| {
                let earlier = before.components.get(key).unwrap_or(&empty);
                // Counters start again when a pipeline restarts: a drop means "from zero".
                let rate = |now: f64, then: f64| {
                    let then = if then > now { 0.0 } else { then };
                    (now - then) / seconds
                };
                Line {
                    key: key.clone(),
                    state: if component.degraded {
                        "degraded".into()
                    } else {
                        now.pipelines.get(&key.0).cloned().unwrap_or_default()
                    },
                    kind: component.kind.clone(),
                    kind_type: component.kind_type.clone(),
                    in_rate: rate(component.received, earlier.received),
                    out_rate: rate(component.sent, earlier.sent),
                    errors: rate(component.errors, earlier.errors) * seconds,
                    dead_letters: component.dead_letters,
                    buffered: component.buffered,
                    pending: component.pending,
                    lag: lag(component),
                    checkpoint_age: component
                        .checkpoint_age
                        .map_or_else(|| "-".into(), |age| format!("{age:.0}s")),
                }
            })
            .collect();
        Self { lines }
    }
}

/// The lag a source reports, in its own unit: events (Event Hubs), bytes (Azure Storage) or the
/// age of the newest change read (REST APIs).
fn lag(component: &Component) -> String {
    if let Some(events) = component.lag_events {
        format!("{events:.0} ev")
    } else if let Some(bytes) = component.lag_bytes {
        format!("{bytes:.0} B")
    } else if let Some(age) = component.high_water_mark_age {
        format!("{age:.0}s old")
    } else {
        "-".into()
    }
}

const HEADER: [&str; 13] = [
    "PIPELINE",
    "STATE",
    "COMPONENT",
    "KIND",
    "TYPE",
    "IN/s",
    "OUT/s",
    "ERRORS",
    "DEAD",
    "BUFFER",
    "PENDING",
    "LAG",
    "CHECKPOINT",
];

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<[String; 13]> = self
            .lines
            .iter()
            .map(|line| {
                [
                    line.key.0.clone(),
                    line.state.clone(),
                    line.key.1.clone(),
                    line.kind.clone(),
                    line.kind_type.clone(),
                    format!("{:.1}", line.in_rate),
                    format!("{:.1}", line.out_rate),
                    format!("{:.0}", line.errors),
                    format!("{:.0}", line.dead_letters),
                    format!("{:.0}", line.buffered),
                    format!("{:.0}", line.pending),
                    line.lag.clone(),
                    line.checkpoint_age.clone(),
                ]
            })
            .collect();
        let mut widths = HEADER.map(str::len);
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.len());
            }
        }
        let header = HEADER.map(String::from);
        for row in std::iter::once(&header).chain(&rows) {
            let mut cells = row.iter().zip(widths).enumerate().peekable();
            while let Some((column, (cell, width))) = cells.next() {
                // Names to the left, figures to the right.
                if column < 5 {
                    write!(f, "{cell:<width$}")?;
                } else {
                    write!(f, "{cell:>width$}")?;
                }
                if cells.peek().is_some() {
                    write!(f, "  ")?;
                }
            }
            writeln!(f)?;
        }
        if rows.is_empty() {
            writeln!(f, "(no pipelines)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn reading(at: Instant, sent: f64) -> Reading {
        let text = format!(
            "# TYPE siemflow_component_sent_events counter\n\
             siemflow_component_sent_events_total{{pipeline=\"contoso\",component_id=\"out\",component_kind=\"sink\",component_type=\"file\"}} {sent}\n\
             # TYPE siemflow_component_errors counter\n\
             siemflow_component_errors_total{{pipeline=\"contoso\",component_id=\"out\",component_kind=\"sink\",component_type=\"file\",reason=\"io\"}} 3\n\
             # TYPE siemflow_pipeline_state gauge\n\
             siemflow_pipeline_state{{pipeline=\"contoso\",state=\"running\"}} 1\n"
        );
        Reading::parse(&text, at).unwrap()
    }

    #[test]
    fn rates_are_over_the_interval_and_a_restart_counts_from_zero() {
        let start = Instant::now();
        let later = start + Duration::from_secs(2);
        let table = Table::between(&reading(start, 100.0), &reading(later, 300.0));
        assert_eq!(table.lines[0].out_rate, 100.0);
        assert_eq!(table.lines[0].errors, 0.0);
        assert_eq!(table.lines[0].state, "running");
        let restarted = Table::between(&reading(start, 500.0), &reading(later, 40.0));
        assert_eq!(restarted.lines[0].out_rate, 20.0);
    }

    #[test]
    fn a_degraded_component_says_so_in_the_state_column() {
        let start = Instant::now();
        let text = "# TYPE siemflow_component_degraded gauge\n\
             siemflow_component_degraded{pipeline=\"contoso\",component_id=\"out\",component_kind=\"sink\",component_type=\"file\"} 1\n\
             # TYPE siemflow_pipeline_state gauge\n\
             siemflow_pipeline_state{pipeline=\"contoso\",state=\"running\"} 1\n";
        let degraded = Reading::parse(text, start).unwrap();
        let table = Table::between(&reading(start, 0.0), &degraded);
        assert_eq!(table.lines[0].state, "degraded");
    }

    #[test]
    fn the_table_has_a_header_and_a_line_per_component() {
        let start = Instant::now();
        let table = Table::between(
            &reading(start, 0.0),
            &reading(start + Duration::from_secs(1), 10.0),
        );
        let text = table.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with("PIPELINE"), "{text}");
        let cells: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(
            cells,
            [
                "contoso", "running", "out", "sink", "file", "0.0", "10.0", "0", "0", "0", "0",
                "-", "-"
            ]
        );
    }
}
