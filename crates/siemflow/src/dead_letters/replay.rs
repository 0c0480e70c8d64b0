//! `siemflow dead-letters replay`: dead letters sent back into the pipeline they came from.
//!
//! The pipeline runs with its sources replaced: each letter goes back to where its component
//! took it. A source's letters leave as that source's output, a transform's or a sink's letters
//! enter that component. Only the components downstream of those run. Each letter is its own
//! acknowledgement batch, so its fate is known exactly:
//!
//! - **delivered**, or dropped on purpose: its letter is removed;
//! - **dead-lettered again**: the new letter, with the new reason, replaces the old one;
//! - **not delivered** (a sink still down): the letter stays as it was.
//!
//! Letters that cannot be replayed stay too: a cut body (`truncated`), or a component the
//! pipeline no longer has.
//!
//! The file work happens while the run holds the pipeline's lock, so no other process writes the
//! file meanwhile. The letters are first moved to `<pipeline>.replaying.jsonl`. The run's own
//! dead letters go to a fresh `<pipeline>.jsonl`, and the letters that stay are appended to it at
//! the end. A replay that is interrupted leaves the `.replaying` file, and the next replay
//! takes it up again. Its letters may then be delivered twice, never lost.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::FutureExt;
use futures::future::join_all;
use siemflow_core::Pipeline;
use siemflow_core::compile::{CompiledComponent, ComponentConfig};
use siemflow_core::component::{ComponentError, ComponentTask, SourceConfig, SourceContext};
use siemflow_core::config::{ComponentDecl, ComponentKind, InputRef};
use siemflow_core::dead_letter::{StoredLetter, StoredLine, file_path, read_file};
use siemflow_core::event::{
    BatchNotifier, BatchStatus, Event, EventId, EventMetadata, Labels, Origin,
};
use tokio::sync::OnceCell;

/// What a replay did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    /// Letters sent back into the pipeline.
    pub replayed: usize,
    /// Of those, delivered (or dropped on purpose): removed.
    pub delivered: usize,
    /// Of those, dead-lettered again (the new letter replaces the old).
    pub dead_lettered: usize,
    /// Of those, not delivered: kept as they were.
    pub failed: usize,
    /// Letters not replayed (cut bodies, unknown components, other components): kept.
    pub kept: usize,
    /// Why letters were not replayed, with counts.
    pub not_replayable: BTreeMap<String, usize>,
}

/// The pipeline rewritten for a replay, and where its report will be.
pub struct Replay {
    /// The pipeline to run.
    pub pipeline: Pipeline,
    /// Filled in as the run ends.
    pub report: Arc<Mutex<ReplayReport>>,
}

/// Rewrites `pipeline` to replay the dead letters of `components` (all when empty) found in
/// `letters`. `None` when no letter can be replayed.
pub fn plan(
    pipeline: Pipeline,
    data_dir: &Path,
    letters: &[StoredLine],
    components: &[String],
) -> Option<Replay> {
    let chosen =
        |component: &str| components.is_empty() || components.iter().any(|c| c == component);
    let targets: HashSet<Arc<str>> = letters
        .iter()
        .filter_map(|line| line.letter.as_ref().ok())
        .filter(|letter| chosen(&letter.component) && letter.whole_body().is_some())
        .filter_map(|letter| {
            pipeline
                .component(&letter.component)
                .map(|c| c.decl.id.clone())
        })
        .collect();
    if targets.is_empty() {
        return None;
    }
    let kept = downstream(&pipeline, &targets);
    let report = Arc::new(Mutex::new(ReplayReport::default()));
    let shared = Arc::new(Shared {
        dead_letters: file_path(data_dir, pipeline.id()),
        replaying: replaying_path(data_dir, pipeline.id()),
        components: components.to_vec(),
        targets: targets.iter().map(|t| t.to_string()).collect(),
        loaded: OnceCell::new(),
        remaining: Mutex::new(targets.len()),
        report: report.clone(),
    });

    let Pipeline {
        file,
        components: declared,
    } = pipeline;
    let mut rewritten = Vec::new();
    for mut component in declared {
        let id = component.decl.id.clone();
        if !kept.contains(&id) {
            continue;
        }
        component
            .decl
            .inputs
            .retain(|input| kept.contains(&*input.component));
        if targets.contains(&id) {
            match component.decl.kind {
                ComponentKind::Source => {
                    component.config = ComponentConfig::Source(Box::new(ReplaySource {
                        component: id.to_string(),
                        shared: shared.clone(),
                    }));
                }
                ComponentKind::Transform | ComponentKind::Sink => {
                    let source_id: Arc<str> = Arc::from(format!("dead-letters-for-{id}"));
                    component.decl.inputs.push(InputRef {
                        component: source_id.clone(),
                        output: None,
                        mark: component.decl.mark,
                    });
                    rewritten.push(CompiledComponent {
                        decl: ComponentDecl {
                            kind: ComponentKind::Source,
                            id: source_id,
                            mark: component.decl.mark,
                            type_name: "dead_letters".into(),
                            type_mark: component.decl.mark,
                            inputs: Vec::new(),
                            buffer: component.decl.buffer,
                            options: component.decl.options.clone(),
                        },
                        config: ComponentConfig::Source(Box::new(ReplaySource {
                            component: id.to_string(),
                            shared: shared.clone(),
                        })),
                    });
                }
            }
        }
        rewritten.push(component);
    }
    Some(Replay {
        pipeline: Pipeline {
            file,
            components: rewritten,
        },
        report,
    })
}

/// The targets and every component downstream of them.
fn downstream(pipeline: &Pipeline, targets: &HashSet<Arc<str>>) -> HashSet<Arc<str>> {
    let mut kept: HashSet<Arc<str>> = targets.clone();
    loop {
        let before = kept.len();
        for component in &pipeline.components {
            if component
                .decl
                .inputs
                .iter()
                .any(|input| kept.contains(&*input.component))
            {
                kept.insert(component.decl.id.clone());
            }
        }
        if kept.len() == before {
            return kept;
        }
    }
}

/// Where a replay keeps the letters it is working on.
pub fn replaying_path(data_dir: &Path, pipeline: &str) -> PathBuf {
    data_dir
        .join("dead-letter")
        .join(format!("{pipeline}.replaying.jsonl"))
}

/// What the replay sources of one run share.
struct Shared {
    dead_letters: PathBuf,
    replaying: PathBuf,
    components: Vec<String>,
    targets: HashSet<String>,
    loaded: OnceCell<Result<Loaded, String>>,
    /// Replay sources still running; the last one writes the kept letters back.
    remaining: Mutex<usize>,
    report: Arc<Mutex<ReplayReport>>,
}

/// The letters of the run, with what became of each.
struct Loaded {
    lines: Vec<StoredLine>,
    /// Per line: replayed by this run (and its outcome, once known).
    fate: Mutex<Vec<Fate>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Fate {
    Kept(String),
    Pending,
    Delivered,
    DeadLettered,
    Failed,
}

impl Shared {
    /// Moves the letters aside and reads them, once for all the run's replay sources.
    async fn load(&self) -> &Result<Loaded, String> {
        self.loaded
            .get_or_init(|| async {
                move_aside(&self.dead_letters, &self.replaying)?;
                let lines = read_file(&self.replaying).map_err(|error| {
                    format!("cannot read {}: {error}", self.replaying.display())
                })?;
                let fate = lines
                    .iter()
                    .map(|line| match &line.letter {
                        Err(_) => Fate::Kept("not a dead letter".into()),
                        Ok(letter) if !self.chosen(&letter.component) => {
                            Fate::Kept("another component".into())
                        }
                        Ok(letter) if !self.targets.contains(&letter.component) => {
                            Fate::Kept(format!("no component `{}`", letter.component))
                        }
                        Ok(letter) if letter.whole_body().is_none() => {
                            Fate::Kept("body cut or missing".into())
                        }
                        Ok(_) => Fate::Pending,
                    })
                    .collect();
                Ok(Loaded {
                    lines,
                    fate: Mutex::new(fate),
                })
            })
            .await
    }

    fn chosen(&self, component: &str) -> bool {
        self.components.is_empty() || self.components.iter().any(|c| c == component)
    }

    /// Called by each replay source as it ends; the last writes back the letters that stay.
    fn finished(&self) -> Result<(), String> {
        let last = {
            let mut remaining = self
                .remaining
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *remaining -= 1;
            *remaining == 0
        };
        if !last {
            return Ok(());
        }
        let Some(Ok(loaded)) = self.loaded.get() else {
            return Ok(());
        };
        let fate = loaded
            .fate
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut report = self
            .report
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut stay = Vec::new();
        for (line, fate) in loaded.lines.iter().zip(fate.iter()) {
            match fate {
                Fate::Kept(why) => {
                    report.kept += 1;
                    *report.not_replayable.entry(why.clone()).or_default() += 1;
                    stay.push(line.line.as_str());
                }
                Fate::Delivered => {
                    report.replayed += 1;
                    report.delivered += 1;
                }
                Fate::DeadLettered => {
                    report.replayed += 1;
                    report.dead_lettered += 1;
                }
                Fate::Pending | Fate::Failed => {
                    report.replayed += 1;
                    report.failed += 1;
                    stay.push(line.line.as_str());
                }
            }
        }
        append_lines(&self.dead_letters, &stay)?;
        std::fs::remove_file(&self.replaying)
            .map_err(|error| format!("cannot remove {}: {error}", self.replaying.display()))
    }
}

/// Moves `from`'s lines to the end of `to` (a `.replaying` file left by an interrupted replay
/// is taken up again, with the letters written since).
fn move_aside(from: &Path, to: &Path) -> Result<(), String> {
    if !to.exists() {
        return match std::fs::rename(from, to) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(format!("cannot move {}: {error}", from.display())),
        };
    }
    let lines =
        read_file(from).map_err(|error| format!("cannot read {}: {error}", from.display()))?;
    let lines: Vec<&str> = lines.iter().map(|line| line.line.as_str()).collect();
    append_lines(to, &lines)?;
    match std::fs::remove_file(from) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(format!("cannot remove {}: {error}", from.display())),
    }
}

fn append_lines(path: &Path, lines: &[&str]) -> Result<(), String> {
    if lines.is_empty() {
        return Ok(());
    }
    let failed = |error: std::io::Error| format!("cannot write {}: {error}", path.display());
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(failed)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(failed)?;
    let mut text = lines.join("\n");
    text.push('\n');
    file.write_all(text.as_bytes()).map_err(failed)?;
    file.sync_all().map_err(failed)
}

/// Sends one component's letters back, one acknowledgement batch per letter.
struct ReplaySource {
    component: String,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ReplaySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplaySource")
            .field("component", &self.component)
            .finish()
    }
}

/// How many letters are sent downstream at a time.
const BATCH: usize = 100;

impl SourceConfig for ReplaySource {
    fn is_finite(&self) -> bool {
        true
    }

    fn build(&self, mut cx: SourceContext) -> Result<ComponentTask, ComponentError> {
        let component = self.component.clone();
        let shared = self.shared.clone();
        Ok(async move {
            let outcome = replay(&component, &shared, &mut cx).await;
            let written = shared.finished();
            outcome.and(written.map_err(ComponentError::Other))
        }
        .boxed())
    }
}

async fn replay(
    component: &str,
    shared: &Shared,
    cx: &mut SourceContext,
) -> Result<(), ComponentError> {
    let loaded = match shared.load().await {
        Ok(loaded) => loaded,
        Err(error) => return Err(ComponentError::Other(error.clone())),
    };
    let origin = Arc::new(Origin {
        pipeline: cx.component.pipeline.clone(),
        component: cx.component.id.clone(),
    });
    let mine: Vec<usize> = {
        let fate = loaded
            .fate
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        loaded
            .lines
            .iter()
            .enumerate()
            .filter(|(index, line)| {
                fate[*index] == Fate::Pending
                    && line
                        .letter
                        .as_ref()
                        .is_ok_and(|letter| letter.component == component)
            })
            .map(|(index, _)| index)
            .collect()
    };
    let mut waiting = Vec::new();
    for chunk in mine.chunks(BATCH) {
        let mut batch = Vec::with_capacity(chunk.len());
        for &index in chunk {
            let Ok(letter) = &loaded.lines[index].letter else {
                continue;
            };
            let Some(mut event) = event_of(letter, &origin) else {
                continue;
            };
            let (notifier, status) = BatchNotifier::new();
            event.add_finalizer(notifier.finalizer());
            drop(notifier);
            batch.push(event);
            waiting.push(async move { (index, status.outcome().await) });
        }
        if cx.out.send(batch).await.is_err() {
            break;
        }
    }
    let outcomes: HashMap<usize, _> = join_all(waiting).await.into_iter().collect();
    let mut fate = loaded
        .fate
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for (index, outcome) in outcomes {
        fate[index] = match outcome.status {
            BatchStatus::Delivered if outcome.dead_lettered.is_empty() => Fate::Delivered,
            BatchStatus::Delivered => Fate::DeadLettered,
            BatchStatus::Errored | BatchStatus::Rejected => Fate::Failed,
        };
    }
    Ok(())
}

/// The event a letter held, with its id, type and labels.
fn event_of(letter: &StoredLetter, origin: &Arc<Origin>) -> Option<Event> {
    let body = Bytes::from(letter.whole_body()?);
    let id = letter
        .event_id
        .as_deref()
        .and_then(|hex| u128::from_str_radix(hex, 16).ok())
        .map_or_else(|| EventId::derive(&[b"dead-letter", &body]), EventId::from);
    let mut metadata = EventMetadata::new(origin.clone(), id);
    metadata.event_type = letter.event_type.as_deref().map(Arc::from);
    if letter.sourcetype.is_some() || letter.siem_event_id.is_some() || letter.route.is_some() {
        metadata.labels = Some(Arc::new(Labels {
            siem_event_id: letter.siem_event_id.as_deref().map(Arc::from),
            sourcetype: letter.sourcetype.as_deref().map(Arc::from),
            route: letter.route.as_deref().map(Arc::from),
        }));
    }
    Some(if letter.text {
        Event::text(body, metadata)
    } else {
        Event::json(body, metadata)
    })
}
