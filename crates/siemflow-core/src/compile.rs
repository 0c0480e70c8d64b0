//! Turning a [`PipelineFile`] into a checked [`Pipeline`]: typed components and a valid graph.
//!
//! This is what `siemflow validate` runs, and what `run` and `test` run first. Nothing here
//! connects anywhere. Every error is collected and positioned.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::component::{SinkConfig, SourceConfig, TransformConfig, TransformOutputs};
use crate::config::yaml::{Mark, Node};
use crate::config::{
    ComponentDecl, ComponentKind, ConfigError, ConfigErrors, InputRef, PipelineFile, de_error,
    quoted_list,
};
use crate::registry::Registry;

/// A component's typed config.
#[derive(Debug)]
pub enum ComponentConfig {
    /// A source.
    Source(Box<dyn SourceConfig>),
    /// A transform.
    Transform(Box<dyn TransformConfig>),
    /// A sink.
    Sink(Box<dyn SinkConfig>),
}

/// A declared component with its typed config.
#[derive(Debug)]
pub struct CompiledComponent {
    /// The declaration (id, type, inputs, buffer, positions).
    pub decl: ComponentDecl,
    /// The typed config.
    pub config: ComponentConfig,
}

impl CompiledComponent {
    /// The outputs other components may reference.
    pub fn outputs(&self) -> TransformOutputs {
        match &self.config {
            ComponentConfig::Source(_) => TransformOutputs::default_only(),
            ComponentConfig::Transform(transform) => transform.outputs(),
            ComponentConfig::Sink(_) => TransformOutputs::default(),
        }
    }
}

/// A pipeline ready to run or test.
#[derive(Debug)]
pub struct Pipeline {
    /// The file it came from (id, path, tests).
    pub file: PipelineFile,
    /// Components in file order.
    pub components: Vec<CompiledComponent>,
}

impl Pipeline {
    /// The pipeline id.
    pub fn id(&self) -> &Arc<str> {
        &self.file.id
    }

    /// A component by id.
    pub fn component(&self, id: &str) -> Option<&CompiledComponent> {
        self.components.iter().find(|c| &*c.decl.id == id)
    }

    /// Whether every source ends by itself.
    pub fn is_finite(&self) -> bool {
        self.components
            .iter()
            .all(|component| match &component.config {
                ComponentConfig::Source(source) => source.is_finite(),
                _ => true,
            })
    }
}

/// Reads, interpolates, types and checks a pipeline file, reporting every error of every step.
///
/// A compile error at the position of a failed `${...}` is left out: the variable is the cause.
pub fn load_and_compile(
    path: &std::path::Path,
    registry: &Registry,
) -> Result<Pipeline, ConfigErrors> {
    let (file, mut errors) = crate::config::read_file(path);
    let Some(file) = file else {
        return Err(ConfigErrors(errors).sorted());
    };
    match compile(file, registry) {
        Ok(pipeline) if errors.is_empty() => Ok(pipeline),
        Ok(_) => Err(ConfigErrors(errors).sorted()),
        Err(more) => {
            let positions: HashSet<_> = errors.iter().map(|e| e.mark).collect();
            errors.extend(more.0.into_iter().filter(|e| !positions.contains(&e.mark)));
            Err(ConfigErrors(errors).sorted())
        }
    }
}

/// Where the option a check's message is about is written: a message that starts with an
/// option's path in backticks (`` `batch.max_events` must be at least 1 ``) points at that
/// option's value, when the component's options hold it.
fn option_mark(options: &Node, message: &str) -> Option<Mark> {
    let path = message.strip_prefix('`')?.split('`').next()?;
    if path.is_empty() || path.contains(char::is_whitespace) {
        return None;
    }
    let mut node = options;
    for key in path.split('.') {
        node = node.get(key)?;
    }
    Some(node.mark)
}

/// Types every component and checks the graph.
pub fn compile(file: PipelineFile, registry: &Registry) -> Result<Pipeline, ConfigErrors> {
    let path = file.path.clone();
    let mut errors = Vec::new();
    let mut components = Vec::new();
    for decl in &file.components {
        let here = format!("{}s.{}", decl.kind.as_str(), decl.id);
        let parsed = match decl.kind {
            ComponentKind::Source => registry
                .parse_source(&decl.type_name, &decl.options)
                .map(|r| r.map(ComponentConfig::Source)),
            ComponentKind::Transform => registry
                .parse_transform(&decl.type_name, &decl.options)
                .map(|r| r.map(ComponentConfig::Transform)),
            ComponentKind::Sink => registry
                .parse_sink(&decl.type_name, &decl.options)
                .map(|r| r.map(ComponentConfig::Sink)),
        };
        match parsed {
            None if decl.type_name.is_empty() => {}
            None => {
                let known = match decl.kind {
                    ComponentKind::Source => registry.source_names(),
                    ComponentKind::Transform => registry.transform_names(),
                    ComponentKind::Sink => registry.sink_names(),
                };
                errors.push(ConfigError::new(
                    &path,
                    decl.type_mark,
                    format!(
                        "{here}: unknown {} type `{}`, expected one of {}",
                        decl.kind.as_str(),
                        decl.type_name,
                        quoted_list(&known)
                    ),
                ));
            }
            Some(Err(mut error)) => {
                // A value read through `#[serde(flatten)]` has lost its position and points at
                // the component: the option its message names still has one.
                if error.mark.is_none_or(|mark| mark == decl.options.mark) {
                    error.mark = option_mark(&decl.options, &error.message).or(error.mark);
                }
                errors.push(de_error(&path, decl.options.mark, &here, error));
            }
            Some(Ok(mut config)) => {
                let base = path.parent().unwrap_or(std::path::Path::new(""));
                match &mut config {
                    ComponentConfig::Source(c) => c.resolve_paths(base),
                    ComponentConfig::Transform(c) => c.resolve_paths(base),
                    ComponentConfig::Sink(c) => c.resolve_paths(base),
                }
                let check = match &config {
                    ComponentConfig::Source(c) => c.check(),
                    ComponentConfig::Transform(c) => c.check(),
                    ComponentConfig::Sink(c) => c.check(),
                };
                if let Err(message) = check {
                    let mark = option_mark(&decl.options, &message).unwrap_or(decl.mark);
                    errors.push(ConfigError::new(&path, mark, format!("{here}: {message}")));
                }
                components.push(CompiledComponent {
                    decl: decl.clone(),
                    config,
                });
            }
        }
    }

    let declared: HashMap<&str, &ComponentDecl> =
        file.components.iter().map(|d| (&*d.id, d)).collect();
    let outputs: HashMap<&str, TransformOutputs> = components
        .iter()
        .map(|c| (&*c.decl.id, c.outputs()))
        .collect();
    for decl in &file.components {
        for input in &decl.inputs {
            if let Err(message) = check_input(input, &declared, &outputs) {
                errors.push(ConfigError::new(
                    &path,
                    input.mark,
                    format!("{}s.{}: {message}", decl.kind.as_str(), decl.id),
                ));
            }
        }
    }
    errors.extend(find_cycles(&file));

    let has = |kind| file.declared.contains(&kind);
    if !file.id.is_empty() && (!has(ComponentKind::Source) || !has(ComponentKind::Sink)) {
        errors.push(ConfigError::new(
            &path,
            file.id_mark,
            "a pipeline needs at least one source and one sink",
        ));
    }
    for case in &file.tests {
        let here = format!("tests `{}`", case.name);
        match declared.get(case.input.component.as_str()) {
            Some(decl) if decl.kind == ComponentKind::Sink => errors.push(ConfigError::new(
                &path,
                case.component_marks.0,
                format!(
                    "{here}: input component `{}` is a sink",
                    case.input.component
                ),
            )),
            Some(_) => {}
            None => errors.push(ConfigError::new(
                &path,
                case.component_marks.0,
                format!(
                    "{here}: input component `{}` does not exist",
                    case.input.component
                ),
            )),
        }
        if case.input.file.is_none() && case.input.events.is_empty() {
            errors.push(ConfigError::new(
                &path,
                case.mark,
                format!("{here}: `input` needs `file` or `events`"),
            ));
        }
        let (component, output) = match case.expect.component.split_once('.') {
            Some((component, output)) => (component, Some(Arc::from(output))),
            None => (case.expect.component.as_str(), None),
        };
        let reference = InputRef {
            component: Arc::from(component),
            output,
            mark: case.component_marks.1,
        };
        if let Err(message) = check_input(&reference, &declared, &outputs) {
            errors.push(ConfigError::new(
                &path,
                reference.mark,
                format!("{here}: expect {message}"),
            ));
        }
    }

    if errors.is_empty() {
        Ok(Pipeline { file, components })
    } else {
        Err(ConfigErrors(errors).sorted())
    }
}

fn check_input(
    input: &InputRef,
    declared: &HashMap<&str, &ComponentDecl>,
    outputs: &HashMap<&str, TransformOutputs>,
) -> Result<(), String> {
    let Some(upstream) = declared.get(&*input.component) else {
        return Err(format!(
            "input `{input}` does not exist (declared: {})",
            quoted_list(&sorted_ids(declared))
        ));
    };
    if upstream.kind == ComponentKind::Sink {
        return Err(format!("input `{input}` is a sink, which has no output"));
    }
    // A component whose type failed to parse has no known outputs; its own error is enough.
    let Some(available) = outputs.get(&*input.component) else {
        return Ok(());
    };
    match &input.output {
        None if available.default => Ok(()),
        None => Err(format!(
            "`{}` has only named outputs: use one of {}",
            input.component,
            quoted_list(
                &available
                    .named
                    .iter()
                    .map(|n| format!("{}.{n}", input.component))
                    .collect::<Vec<_>>()
            )
        )),
        Some(name) if available.named.contains(name) => Ok(()),
        Some(name) => Err(format!(
            "`{}` has no output `{name}`{}",
            input.component,
            if available.named.is_empty() {
                String::new()
            } else {
                format!(" (outputs: {})", quoted_list(&available.named))
            }
        )),
    }
}

fn sorted_ids<'a>(declared: &HashMap<&'a str, &ComponentDecl>) -> Vec<&'a str> {
    let mut ids: Vec<&str> = declared.keys().copied().collect();
    ids.sort_unstable();
    ids
}

/// Reports each cycle once, at the component where the search closed it.
fn find_cycles(file: &PipelineFile) -> Vec<ConfigError> {
    // A sink used as an input is already an error of its own; only cycles through outputs count.
    let sinks: HashSet<&str> = file
        .components
        .iter()
        .filter(|d| d.kind == ComponentKind::Sink)
        .map(|d| &*d.id)
        .collect();
    let inputs: HashMap<&str, Vec<&str>> = file
        .components
        .iter()
        .map(|d| {
            let upstream = d
                .inputs
                .iter()
                .map(|i| &*i.component)
                .filter(|id| !sinks.contains(id))
                .collect();
            (&*d.id, upstream)
        })
        .collect();
    let mut errors = Vec::new();
    let mut done: HashSet<&str> = HashSet::new();
    for decl in &file.components {
        let mut path = Vec::new();
        visit(&decl.id, &inputs, &mut path, &mut done, &mut |cycle| {
            let first = cycle[0];
            if let Some(decl) = file.components.iter().find(|d| &*d.id == first) {
                let mut names: Vec<&str> = cycle.to_vec();
                names.push(first);
                errors.push(ConfigError::new(
                    &file.path,
                    decl.mark,
                    format!(
                        "{}s.{first}: cycle in inputs: {}",
                        decl.kind.as_str(),
                        names.join(" <- ")
                    ),
                ));
            }
        });
    }
    errors
}

fn visit<'a>(
    id: &'a str,
    inputs: &HashMap<&'a str, Vec<&'a str>>,
    path: &mut Vec<&'a str>,
    done: &mut HashSet<&'a str>,
    report: &mut dyn FnMut(&[&'a str]),
) {
    if done.contains(id) {
        return;
    }
    if let Some(start) = path.iter().position(|p| *p == id) {
        report(&path[start..]);
        return;
    }
    path.push(id);
    for upstream in inputs.get(id).into_iter().flatten() {
        visit(upstream, inputs, path, done, report);
    }
    path.pop();
    done.insert(id);
}
