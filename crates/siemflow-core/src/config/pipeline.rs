//! A pipeline file read into component declarations, before component types are checked.
//!
//! This step knows the shape every pipeline shares (`id`, `sources`, `transforms`, `sinks`,
//! `tests`; `type`, `inputs`, `buffer` on components). Each component's own options stay a
//! positioned [`Node`] until [`crate::compile`] hands them to that component's config type.

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use super::de::{DeError, from_node};
use super::error::{ConfigError, ConfigErrors};
use super::interpolate::{Environment, ProcessEnvironment, interpolate};
use super::yaml::{Mark, Node, NodeKind, parse};
use crate::condition::Condition;

/// Which section a component is declared in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ComponentKind {
    /// `sources:`
    Source,
    /// `transforms:`
    Transform,
    /// `sinks:`
    Sink,
}

impl ComponentKind {
    /// The singular name used in messages and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentKind::Source => "source",
            ComponentKind::Transform => "transform",
            ComponentKind::Sink => "sink",
        }
    }
}

/// A reference in `inputs`: `component` or `component.output`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRef {
    /// The upstream component id.
    pub component: Arc<str>,
    /// A named output (`route` keys, `_unmatched`), or the default output.
    pub output: Option<Arc<str>>,
    /// Where the reference is written.
    pub mark: Mark,
}

impl std::fmt::Display for InputRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.output {
            Some(output) => write!(f, "{}.{output}", self.component),
            None => f.write_str(&self.component),
        }
    }
}

/// What a sink does when its buffer is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum WhenFull {
    /// Wait: backpressure reaches the source, nothing is lost (the default).
    #[default]
    Block,
    /// Drop the incoming batch (counted, and acknowledged as dropped).
    DropNewest,
}

/// The kind of buffer in front of a sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BufferType {
    /// In memory, sized in events (the default).
    #[default]
    Memory,
    /// A write-ahead log under `--data-dir`, sized in bytes, kept across restarts and crashes.
    Disk,
}

/// `buffer:` on a sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BufferConfig {
    /// Buffer kind. Default `memory`.
    #[serde(default, rename = "type")]
    pub buffer_type: BufferType,
    /// Memory buffers: events held before `when_full` applies. Default 1000.
    #[serde(default)]
    pub max_events: Option<usize>,
    /// Disk buffers: bytes on disk before `when_full` applies. Default 256 MiB.
    #[serde(default, deserialize_with = "super::size::deserialize_some")]
    pub max_bytes: Option<u64>,
    /// `block` (default) or `drop_newest`.
    #[serde(default)]
    pub when_full: WhenFull,
}

impl BufferConfig {
    /// The smallest disk buffer accepted: smaller ones would spend their time rotating segments.
    pub const MIN_DISK_BYTES: u64 = 1 << 20;

    /// The capacity of a memory buffer, in events.
    pub fn memory_events(&self) -> usize {
        self.max_events.unwrap_or(1000)
    }

    /// The capacity of a disk buffer, in bytes.
    pub fn disk_bytes(&self) -> u64 {
        self.max_bytes.unwrap_or(256 << 20)
    }

    /// The first option that does not fit the buffer type, as a message.
    fn mismatch(&self) -> Option<String> {
        match self.buffer_type {
            BufferType::Memory if self.max_bytes.is_some() => Some(
                "`buffer.max_bytes` is for `type: disk`; a memory buffer is sized with `max_events`"
                    .into(),
            ),
            BufferType::Memory if self.max_events == Some(0) => {
                Some("`buffer.max_events` must be at least 1".into())
            }
            BufferType::Disk if self.max_events.is_some() => Some(
                "`buffer.max_events` is for `type: memory`; a disk buffer is sized with `max_bytes`"
                    .into(),
            ),
            BufferType::Disk if self.disk_bytes() < Self::MIN_DISK_BYTES => {
                Some("`buffer.max_bytes` must be at least 1MiB".into())
            }
            _ => None,
        }
    }
}

impl Default for BufferConfig {
    fn default() -> Self {
        Self {
            buffer_type: BufferType::Memory,
            max_events: None,
            max_bytes: None,
            when_full: WhenFull::Block,
        }
    }
}

/// One declared component.
#[derive(Debug, Clone)]
pub struct ComponentDecl {
    /// Section.
    pub kind: ComponentKind,
    /// Id, unique in the pipeline.
    pub id: Arc<str>,
    /// Where the id is written.
    pub mark: Mark,
    /// The `type:` value.
    pub type_name: String,
    /// Where `type:`'s value is written.
    pub type_mark: Mark,
    /// Upstream references (transforms and sinks).
    pub inputs: Vec<InputRef>,
    /// Sink buffer.
    pub buffer: BufferConfig,
    /// Everything else, for the component's own config type.
    pub options: Node,
}

/// Where a `siemflow test` case injects events.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestInput {
    /// The component that receives the events (a transform's input, or a source's output).
    pub component: String,
    /// A file of JSON lines or documents, relative to the pipeline file.
    #[serde(default)]
    pub file: Option<String>,
    /// Inline events.
    #[serde(default)]
    pub events: Vec<serde_json::Value>,
}

/// What a `siemflow test` case expects from a component's output.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestExpect {
    /// The component (or `component.output`) whose output is checked.
    pub component: String,
    /// Each string must appear in at least one output event.
    #[serde(default)]
    pub contains: Vec<String>,
    /// No output event may contain any of these strings.
    #[serde(default)]
    pub not_contains: Vec<String>,
    /// Exact number of output events.
    #[serde(default)]
    pub count: Option<usize>,
    /// A JSONPath condition every output event must satisfy.
    #[serde(default)]
    pub condition: Option<Condition>,
}

/// One case of a pipeline's `tests:` block.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    /// Shown in the report.
    pub name: String,
    /// Events in.
    pub input: TestInput,
    /// Expectations.
    pub expect: TestExpect,
    /// Position of the case, for errors.
    #[serde(skip)]
    pub mark: Mark,
    /// Position of `input.component` and `expect.component`.
    #[serde(skip)]
    pub component_marks: (Mark, Mark),
}

/// A pipeline file read and interpolated, component options still untyped.
#[derive(Debug, Clone)]
pub struct PipelineFile {
    /// The file.
    pub path: Arc<Path>,
    /// The pipeline id.
    pub id: Arc<str>,
    /// Where the id is written.
    pub id_mark: Mark,
    /// Every component, in file order (sources, transforms, sinks).
    pub components: Vec<ComponentDecl>,
    /// The `tests:` cases.
    pub tests: Vec<TestCase>,
    /// The sections that declare at least one component, valid or not: a section whose only
    /// component was refused (a repeated id) is not reported again as missing.
    pub declared: Vec<ComponentKind>,
}

const TOP_LEVEL_KEYS: &[&str] = &["id", "sources", "transforms", "sinks", "tests"];

/// Reads a pipeline file with the process environment.
pub fn load_file(path: &Path) -> Result<PipelineFile, ConfigErrors> {
    match read_file(path) {
        (Some(pipeline), errors) if errors.is_empty() => Ok(pipeline),
        (_, errors) => Err(ConfigErrors(errors).sorted()),
    }
}

/// Reads a pipeline file and returns what could be read along with every error, so that later
/// checks can still run and report their errors too.
pub fn read_file(path: &Path) -> (Option<PipelineFile>, Vec<ConfigError>) {
    let file: Arc<Path> = Arc::from(path);
    let at_start = |message: String| {
        (
            None,
            vec![ConfigError::new(
                &file,
                Mark { line: 1, column: 1 },
                message,
            )],
        )
    };
    let source = match std::fs::read(path) {
        Ok(source) => source,
        Err(error) => return at_start(format!("cannot read pipeline file: {error}")),
    };
    let source = match String::from_utf8(source) {
        Ok(source) => source,
        Err(error) => return at_start(format!("pipeline file is not UTF-8: {error}")),
    };
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    read_str(path, &source, &ProcessEnvironment { base_dir })
}

/// Reads pipeline YAML from a string; `path` is used in errors.
pub fn load_str(
    path: &Path,
    source: &str,
    env: &dyn Environment,
) -> Result<PipelineFile, ConfigErrors> {
    match read_str(path, source, env) {
        (Some(pipeline), errors) if errors.is_empty() => Ok(pipeline),
        (_, errors) => Err(ConfigErrors(errors).sorted()),
    }
}

fn read_str(
    path: &Path,
    source: &str,
    env: &dyn Environment,
) -> (Option<PipelineFile>, Vec<ConfigError>) {
    let file: Arc<Path> = Arc::from(path);
    let mut errors = Vec::new();
    let mut root = match parse(source) {
        Ok(root) => root,
        Err(error) => {
            let message = format!("YAML syntax error: {}", error.message);
            return (None, vec![ConfigError::new(&file, error.mark, message)]);
        }
    };
    for (mark, message) in interpolate(&mut root, env) {
        errors.push(ConfigError::new(&file, mark, message));
    }
    let Some(entries) = root.as_mapping() else {
        let message = format!("a pipeline file is a mapping, found {}", root.kind_name());
        errors.push(ConfigError::new(&file, root.mark, message));
        return (None, errors);
    };

    let mut pipeline = PipelineFile {
        path: file.clone(),
        id: Arc::from(""),
        id_mark: root.mark,
        components: Vec::new(),
        tests: Vec::new(),
        declared: Vec::new(),
    };
    let mut seen_id = false;
    for (key, value) in entries {
        match key.as_str() {
            Some("id") => {
                seen_id = true;
                pipeline.id_mark = value.mark;
                let interpolated = matches!(
                    &value.kind,
                    super::yaml::NodeKind::Scalar(scalar) if scalar.interpolated
                );
                match value.as_str().filter(|_| !value.is_null()) {
                    Some(_) if interpolated => errors.push(ConfigError::new(
                        &file,
                        value.mark,
                        "pipeline id: write it out rather than take it from `${...}`: it labels every metric and log line, which never show a value from the environment or a file".to_string(),
                    )),
                    Some(id) => match check_id(id) {
                        Ok(()) => pipeline.id = Arc::from(id),
                        Err(message) => errors.push(ConfigError::new(
                            &file,
                            value.mark,
                            format!("pipeline id: {message}"),
                        )),
                    },
                    None => errors.push(ConfigError::new(
                        &file,
                        value.mark,
                        format!("`id` is a string, found {}", value.kind_name()),
                    )),
                }
            }
            Some("sources") => read_section(
                &file,
                value,
                ComponentKind::Source,
                &mut pipeline,
                &mut errors,
            ),
            Some("transforms") => read_section(
                &file,
                value,
                ComponentKind::Transform,
                &mut pipeline,
                &mut errors,
            ),
            Some("sinks") => read_section(
                &file,
                value,
                ComponentKind::Sink,
                &mut pipeline,
                &mut errors,
            ),
            Some("tests") => read_tests(&file, value, &mut pipeline, &mut errors),
            // Blocks to merge from (`x-credentials: &creds ...`), as in Compose files.
            Some(key) if key.starts_with("x-") => {}
            _ => errors.push(ConfigError::new(
                &file,
                key.mark,
                format!(
                    "unknown key `{}`, expected one of {}",
                    key.as_str().unwrap_or("?"),
                    quoted_list(TOP_LEVEL_KEYS)
                ),
            )),
        }
    }
    if !seen_id {
        errors.push(ConfigError::new(
            &file,
            root.mark,
            "missing key `id` (the pipeline id)",
        ));
    }
    (Some(pipeline), errors)
}

/// Ids become file names and metric labels: letters, digits, `_` and `-`, at most 64.
pub fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 64 {
        return Err(format!("`{id}` must be 1 to 64 characters"));
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(format!("`{id}` may only hold letters, digits, `_` and `-`"));
    }
    Ok(())
}

/// `` `a`, `b` `` for messages.
pub fn quoted_list<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|item| format!("`{}`", item.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn read_section(
    file: &Arc<Path>,
    section: &Node,
    kind: ComponentKind,
    pipeline: &mut PipelineFile,
    errors: &mut Vec<ConfigError>,
) {
    if section.is_null() {
        return;
    }
    if section
        .as_mapping()
        .is_some_and(|entries| !entries.is_empty())
    {
        pipeline.declared.push(kind);
    }
    let Some(entries) = section.as_mapping() else {
        errors.push(ConfigError::new(
            file,
            section.mark,
            format!(
                "`{}s` is a mapping of component ids to components",
                kind.as_str()
            ),
        ));
        return;
    };
    for (key, body) in entries {
        let id = key.as_str().unwrap_or_default();
        if let Err(message) = check_id(id) {
            errors.push(ConfigError::new(
                file,
                key.mark,
                format!("component id: {message}"),
            ));
            continue;
        }
        if let Some(previous) = pipeline.components.iter().find(|c| &*c.id == id) {
            errors.push(ConfigError::new(
                file,
                key.mark,
                format!(
                    "component id `{id}` is already used by the {} at {}",
                    previous.kind.as_str(),
                    previous.mark
                ),
            ));
            continue;
        }
        if let Some(decl) = read_component(file, kind, id, key.mark, body, errors) {
            pipeline.components.push(decl);
        }
    }
}

fn read_component(
    file: &Arc<Path>,
    kind: ComponentKind,
    id: &str,
    mark: Mark,
    body: &Node,
    errors: &mut Vec<ConfigError>,
) -> Option<ComponentDecl> {
    let here = format!("{}s.{id}", kind.as_str());
    let Some(entries) = body.as_mapping() else {
        errors.push(ConfigError::new(
            file,
            body.mark,
            format!(
                "{here}: a component is a mapping with a `type`, found {}",
                body.kind_name()
            ),
        ));
        return None;
    };
    let mut decl = ComponentDecl {
        kind,
        id: Arc::from(id),
        mark,
        type_name: String::new(),
        type_mark: body.mark,
        inputs: Vec::new(),
        buffer: BufferConfig::default(),
        options: Node::empty_mapping(body.mark),
    };
    let mut options = Vec::new();
    let mut has_type = false;
    let mut has_inputs = false;
    for (key, value) in entries {
        match key.as_str() {
            Some("type") => {
                has_type = true;
                decl.type_mark = value.mark;
                match value.as_str().filter(|_| !value.is_null()) {
                    Some(name) => decl.type_name = name.to_string(),
                    None => errors.push(ConfigError::new(
                        file,
                        value.mark,
                        format!("{here}: `type` is a string"),
                    )),
                }
            }
            Some("inputs") if kind != ComponentKind::Source => {
                has_inputs = true;
                match read_inputs(value) {
                    Ok(inputs) if inputs.is_empty() => errors.push(ConfigError::new(
                        file,
                        value.mark,
                        format!("{here}: `inputs` needs at least one component"),
                    )),
                    Ok(inputs) => decl.inputs = inputs,
                    Err((mark, message)) => {
                        errors.push(ConfigError::new(file, mark, format!("{here}: {message}")))
                    }
                }
            }
            Some("buffer") if kind == ComponentKind::Sink => {
                match from_node::<BufferConfig>(value) {
                    Ok(buffer) => match buffer.mismatch() {
                        Some(message) => errors.push(ConfigError::new(
                            file,
                            value.mark,
                            format!("{here}: {message}"),
                        )),
                        None => decl.buffer = buffer,
                    },
                    Err(error) => {
                        errors.push(de_error(file, value.mark, &format!("{here}.buffer"), error))
                    }
                }
            }
            Some("inputs") => errors.push(ConfigError::new(
                file,
                key.mark,
                format!("{here}: a source has no `inputs`"),
            )),
            _ => options.push((key.clone(), value.clone())),
        }
    }
    if !has_type {
        errors.push(ConfigError::new(
            file,
            body.mark,
            format!("{here}: missing key `type`"),
        ));
    }
    if kind != ComponentKind::Source && !has_inputs {
        errors.push(ConfigError::new(
            file,
            body.mark,
            format!("{here}: missing key `inputs`"),
        ));
    }
    decl.options = Node {
        mark: body.mark,
        kind: NodeKind::Mapping(options),
    };
    Some(decl)
}

fn read_inputs(node: &Node) -> Result<Vec<InputRef>, (Mark, String)> {
    let NodeKind::Sequence(items) = &node.kind else {
        return Err((
            node.mark,
            "`inputs` is a list of component ids, e.g. `[in]`".into(),
        ));
    };
    items
        .iter()
        .map(|item| {
            let text = item
                .as_str()
                .filter(|_| !item.is_null())
                .ok_or((item.mark, "an input is a component id".to_string()))?;
            let (component, output) = match text.split_once('.') {
                Some((component, output)) => (component, Some(Arc::from(output))),
                None => (text, None),
            };
            Ok(InputRef {
                component: Arc::from(component),
                output,
                mark: item.mark,
            })
        })
        .collect()
}

fn read_tests(
    file: &Arc<Path>,
    node: &Node,
    pipeline: &mut PipelineFile,
    errors: &mut Vec<ConfigError>,
) {
    if node.is_null() {
        return;
    }
    let NodeKind::Sequence(items) = &node.kind else {
        errors.push(ConfigError::new(
            file,
            node.mark,
            "`tests` is a list of test cases",
        ));
        return;
    };
    for item in items {
        match from_node::<TestCase>(item) {
            Ok(mut case) => {
                case.mark = item.mark;
                let mark_of = |section: &str| {
                    item.get(section)
                        .and_then(|n| n.get("component"))
                        .map_or(item.mark, |n| n.mark)
                };
                case.component_marks = (mark_of("input"), mark_of("expect"));
                pipeline.tests.push(case);
            }
            Err(error) => errors.push(de_error(file, item.mark, "tests", error)),
        }
    }
}

/// Turns a deserialization error into a positioned config error, prefixed with where it is.
pub fn de_error(file: &Arc<Path>, fallback: Mark, here: &str, error: DeError) -> ConfigError {
    ConfigError::new(
        file,
        error.mark.unwrap_or(fallback),
        format!("{here}: {}", error.message),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    struct Env(HashMap<&'static str, &'static str>);

    impl Environment for Env {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|v| v.to_string())
        }
        fn read_file(&self, _: &Path) -> std::io::Result<String> {
            Err(std::io::ErrorKind::NotFound.into())
        }
    }

    fn load(source: &str) -> Result<PipelineFile, ConfigErrors> {
        load_str(
            Path::new("p.yaml"),
            source,
            &Env(HashMap::from([("DIR", "/tmp")])),
        )
    }

    #[test]
    fn reads_components_and_options() {
        let pipeline = load(
            "id: contoso\nsources:\n  in: { type: file, path: \"${DIR}/x\" }\nsinks:\n  out:\n    type: console\n    inputs: [in, r.key]\n    buffer: { max_events: 10, when_full: drop_newest }\n",
        )
        .unwrap();
        assert_eq!(&*pipeline.id, "contoso");
        assert_eq!(pipeline.components.len(), 2);
        let source = &pipeline.components[0];
        assert_eq!(source.type_name, "file");
        assert_eq!(source.options.get("path").unwrap().as_str(), Some("/tmp/x"));
        assert!(source.options.get("type").is_none());
        let sink = &pipeline.components[1];
        assert_eq!(sink.inputs[1].to_string(), "r.key");
        assert_eq!(sink.buffer.memory_events(), 10);
        assert_eq!(sink.buffer.when_full, WhenFull::DropNewest);
    }

    #[test]
    fn disk_buffers_are_sized_in_bytes_and_memory_buffers_in_events() {
        let sink = |buffer: &str| {
            load(&format!(
                "id: a\nsources:\n  in: {{ type: stdin }}\nsinks:\n  out: {{ type: console, inputs: [in], buffer: {buffer} }}\n"
            ))
        };
        let disk = sink("{ type: disk, max_bytes: 64MiB, when_full: drop_newest }").unwrap();
        let buffer = disk.components[1].buffer;
        assert_eq!(buffer.buffer_type, BufferType::Disk);
        assert_eq!(buffer.disk_bytes(), 64 << 20);
        assert_eq!(buffer.when_full, WhenFull::DropNewest);
        assert_eq!(
            sink("{ type: disk }").unwrap().components[1]
                .buffer
                .disk_bytes(),
            256 << 20
        );
        for (buffer, message) in [
            (
                "{ type: disk, max_events: 5 }",
                "a disk buffer is sized with `max_bytes`",
            ),
            (
                "{ max_bytes: 1GiB }",
                "a memory buffer is sized with `max_events`",
            ),
            (
                "{ type: disk, max_bytes: 4KiB }",
                "`buffer.max_bytes` must be at least 1MiB",
            ),
            (
                "{ max_events: 0 }",
                "`buffer.max_events` must be at least 1",
            ),
        ] {
            let errors = sink(buffer).unwrap_err().to_string();
            assert!(
                errors.starts_with("p.yaml:5:47: sinks.out: ") && errors.contains(message),
                "{buffer}: {errors}"
            );
        }
    }

    #[test]
    fn reports_all_shape_errors_at_once() {
        let errors = load(
            "id: bad id\nsources:\n  in: { path: x, inputs: [a] }\ntransforms:\n  t: { type: filter }\nsinks:\n  in: { type: console, inputs: [t] }\nextra: 1\n",
        )
        .unwrap_err();
        let text = errors.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            vec![
                "p.yaml:1:5: pipeline id: `bad id` may only hold letters, digits, `_` and `-`",
                "p.yaml:3:7: sources.in: missing key `type`",
                "p.yaml:3:18: sources.in: a source has no `inputs`",
                "p.yaml:5:6: transforms.t: missing key `inputs`",
                "p.yaml:7:3: component id `in` is already used by the source at 3:3",
                "p.yaml:8:1: unknown key `extra`, expected one of `id`, `sources`, `transforms`, `sinks`, `tests`",
            ],
            "{text}"
        );
    }

    #[test]
    fn unset_variables_are_reported_with_position() {
        let errors =
            load("id: a\nsources:\n  in:\n    type: file\n    path: ${NOPE}\n").unwrap_err();
        assert_eq!(
            errors.to_string(),
            "p.yaml:5:11: environment variable `NOPE` is not set"
        );
    }

    #[test]
    fn syntax_errors_have_positions() {
        let errors = load("id: a\nsources: [\n").unwrap_err();
        assert!(errors.to_string().starts_with("p.yaml:"), "{errors}");
        assert!(errors.to_string().contains("YAML syntax error"), "{errors}");
    }
}
