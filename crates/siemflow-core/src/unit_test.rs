//! `siemflow test`: the `tests:` cases of a pipeline file, run without any network.
//!
//! Each case builds the pipeline's transforms only (no sources, no sinks), injects its input events
//! at a component (into a transform's input, or as a source's output), collects what comes out of
//! the expected component's output, and checks `contains`, `not_contains`, `count` and `condition`.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use tokio::task::JoinSet;

use crate::codec::{EventTypes, Frame, Framer, Framing, decode};
use crate::compile::{ComponentConfig, Pipeline};
use crate::component::{ComponentContext, ComponentError};
use crate::config::{ComponentKind, TestCase, WhenFull};
use crate::dead_letter::{DeadLetterQueue, DeadLetters};
use crate::event::{Event, EventId, EventMetadata, Origin};
use crate::telemetry::{ComponentLabels, Telemetry};
use crate::topology::{Wiring, buffer, transform_task};

/// The result of one case.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    /// The case name.
    pub name: String,
    /// Every unmet expectation; empty when the case passed.
    pub failures: Vec<String>,
    /// The output events as text.
    pub outputs: Vec<String>,
    /// Dead letters written during the case.
    pub dead_letters: Vec<String>,
}

impl TestOutcome {
    /// Whether every expectation held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Runs every case of a pipeline.
pub async fn run_tests(pipeline: &Pipeline) -> Vec<TestOutcome> {
    let mut outcomes = Vec::new();
    for case in &pipeline.file.tests {
        let outcome = match run_case(pipeline, case).await {
            Ok(outcome) => outcome,
            Err(message) => TestOutcome {
                name: case.name.clone(),
                failures: vec![message],
                outputs: Vec::new(),
                dead_letters: Vec::new(),
            },
        };
        outcomes.push(outcome);
    }
    outcomes
}

async fn run_case(pipeline: &Pipeline, case: &TestCase) -> Result<TestOutcome, String> {
    let telemetry = Telemetry::new();
    let queue = Arc::new(DeadLetterQueue::memory(pipeline.id()));
    let mut events = input_events(pipeline, case)?;
    let mut wiring = Wiring::new(pipeline, &telemetry, |kind| {
        kind == ComponentKind::Transform
    });

    let collector_metrics = telemetry.component(ComponentLabels {
        pipeline: pipeline.id().to_string(),
        component_id: "_test_collector".into(),
        component_kind: "sink".into(),
        component_type: "test".into(),
    });
    let (collector, mut collected) =
        buffer::channel(usize::MAX, WhenFull::Block, collector_metrics);
    let (expect_component, expect_output) = match case.expect.component.split_once('.') {
        Some((component, output)) => (Arc::<str>::from(component), Some(Arc::<str>::from(output))),
        None => (Arc::<str>::from(case.expect.component.as_str()), None),
    };
    wiring
        .ports
        .entry((expect_component, expect_output))
        .or_default()
        .push(collector);

    let mut set = JoinSet::new();
    for component in &pipeline.components {
        let ComponentConfig::Transform(config) = &component.config else {
            continue;
        };
        let decl = &component.decl;
        let metrics = wiring.metrics[&decl.id].clone();
        let context = ComponentContext {
            pipeline: pipeline.id().clone(),
            id: decl.id.clone(),
            data_dir: std::env::temp_dir(),
            metrics: metrics.clone(),
            dead_letters: DeadLetters::new(queue.clone(), decl.id.clone(), metrics.clone()),
        };
        let task = transform_task(&mut wiring, &decl.id, config.as_ref(), &context)
            .map_err(|error: ComponentError| format!("transform `{}`: {error}", decl.id))?;
        set.spawn(task);
    }

    let target: Arc<str> = Arc::from(case.input.component.as_str());
    let mut injector = match pipeline.component(&target).map(|c| c.decl.kind) {
        Some(ComponentKind::Source) => wiring.fanout(&target, None),
        _ => crate::topology::fanout::Fanout::new(
            wiring.senders.get(&target).cloned().into_iter().collect(),
        ),
    };
    // Only the injector and the transforms' fan-outs may keep buffers open from here on.
    drop(wiring);
    for (index, event) in events.iter_mut().enumerate() {
        event.metadata_mut().id = EventId::derive(&[case.name.as_bytes(), &index.to_le_bytes()]);
    }
    injector
        .send(events)
        .await
        .map_err(|_| format!("component `{target}` did not accept input"))?;
    drop(injector);

    let gather = tokio::spawn(async move {
        let mut outputs = Vec::new();
        while let Some(batch) = collected.recv().await {
            outputs.extend(batch);
        }
        outputs
    });
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(format!("a transform failed: {error}")),
            Err(_) => return Err("a transform panicked".into()),
        }
    }
    let mut outputs = gather
        .await
        .map_err(|_| "collecting outputs failed".to_string())?;
    let texts: Vec<String> = outputs
        .iter()
        .map(|event| String::from_utf8_lossy(&event.to_line()).into_owned())
        .collect();
    let mut failures = Vec::new();
    for needle in &case.expect.contains {
        if !texts.iter().any(|text| text.contains(needle.as_str())) {
            failures.push(format!("no output contains {needle:?}"));
        }
    }
    for needle in &case.expect.not_contains {
        if let Some(position) = texts.iter().position(|text| text.contains(needle.as_str())) {
            failures.push(format!("output #{} contains {needle:?}", position + 1));
        }
    }
    if let Some(count) = case.expect.count
        && count != texts.len()
    {
        failures.push(format!(
            "expected {count} output event(s), got {}",
            texts.len()
        ));
    }
    if let Some(condition) = &case.expect.condition {
        for (index, event) in outputs.iter_mut().enumerate() {
            match condition.matches(event) {
                Ok(true) => {}
                Ok(false) => failures.push(format!(
                    "output #{} does not satisfy `{}`",
                    index + 1,
                    condition.as_str()
                )),
                Err(error) => failures.push(format!("output #{} is not JSON: {error}", index + 1)),
            }
        }
    }
    for event in outputs {
        event.resolve(crate::event::EventStatus::Delivered);
    }
    Ok(TestOutcome {
        name: case.name.clone(),
        failures,
        outputs: texts,
        dead_letters: queue.memory_lines(),
    })
}

fn input_events(pipeline: &Pipeline, case: &TestCase) -> Result<Vec<Event>, String> {
    let origin = Arc::new(Origin {
        pipeline: pipeline.id().clone(),
        component: Arc::from(case.input.component.as_str()),
    });
    let metadata = |event_type| EventMetadata {
        origin: origin.clone(),
        event_type,
        received_at: SystemTime::now(),
        id: EventId::from(0),
        labels: None,
    };
    let mut types = EventTypes::default();
    let mut events = Vec::new();
    let mut add = |frame: Bytes, events: &mut Vec<Event>| -> Result<(), String> {
        let records = decode(&frame, &mut types).map_err(|error| format!("test input: {error}"))?;
        for record in records {
            events.push(Event::json(record.body, metadata(record.event_type)));
        }
        Ok(())
    };
    if let Some(file) = &case.input.file {
        let base = pipeline
            .file
            .path
            .parent()
            .unwrap_or(std::path::Path::new("."));
        let path = base.join(file);
        let content = std::fs::read(&path)
            .map_err(|error| format!("cannot read test input {}: {error}", path.display()))?;
        let mut framer = Framer::new(Framing::Auto, usize::MAX, 0);
        framer.push(&content);
        while let Some(frame) = framer.next_frame().or_else(|| framer.finish()) {
            match frame {
                Frame::Data { bytes, .. } => add(bytes, &mut events)?,
                Frame::Oversize { .. } => return Err("test input frame too large".into()),
            }
        }
    }
    for value in &case.input.events {
        let body = serde_json::to_vec(value).map_err(|error| error.to_string())?;
        add(Bytes::from(body), &mut events)?;
    }
    Ok(events)
}
