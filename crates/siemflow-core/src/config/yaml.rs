//! A YAML tree that remembers where every node was written.
//!
//! `serde_yaml` forgets positions as soon as a document becomes an untyped value, and stops at the
//! first error. Pipeline files are instead loaded into this tree (from `yaml-rust2`'s marked
//! events), interpolated in place, and typed with [`super::de`], so that every error can name its
//! `line:column` and all of them can be reported at once.

use std::collections::HashMap;
use std::fmt;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A position in a source file, 1-based.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Mark {
    /// Line, starting at 1.
    pub line: u32,
    /// Column in characters, starting at 1.
    pub column: u32,
}

impl Mark {
    fn from_marker(marker: Marker) -> Self {
        Self {
            line: marker.line() as u32,
            column: marker.col() as u32 + 1,
        }
    }
}

impl fmt::Display for Mark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// How a scalar was written, which decides whether `123` or `true` are typed or strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarStyle {
    /// Unquoted: resolved by the YAML 1.2 core schema (null, bool, int, float, string).
    Plain,
    /// Quoted or block: always a string.
    Quoted,
}

/// A scalar value with the facts needed for good errors.
#[derive(Clone, Debug, PartialEq)]
pub struct Scalar {
    /// The text after interpolation.
    pub value: String,
    /// How it was written.
    pub style: ScalarStyle,
    /// True when `${...}` interpolation changed it: its text is then kept out of error messages.
    pub interpolated: bool,
}

/// What a node holds.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    /// A scalar.
    Scalar(Scalar),
    /// A sequence.
    Sequence(Vec<Node>),
    /// A mapping, in file order; keys are nodes so that their positions are known.
    Mapping(Vec<(Node, Node)>),
}

/// A YAML node and where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Position of the node's first character.
    pub mark: Mark,
    /// The content.
    pub kind: NodeKind,
}

impl Node {
    /// A plain scalar, used for synthesized nodes in tests.
    pub fn scalar(value: impl Into<String>, mark: Mark) -> Self {
        Self {
            mark,
            kind: NodeKind::Scalar(Scalar {
                value: value.into(),
                style: ScalarStyle::Plain,
                interpolated: false,
            }),
        }
    }

    /// An empty mapping at a position.
    pub fn empty_mapping(mark: Mark) -> Self {
        Self {
            mark,
            kind: NodeKind::Mapping(Vec::new()),
        }
    }

    /// The scalar's text if this is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar(scalar) => Some(&scalar.value),
            _ => None,
        }
    }

    /// Whether this is a null (`~`, `null` or an empty plain scalar).
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar(Scalar { value, style: ScalarStyle::Plain, .. })
            if matches!(value.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// The mapping's entries if this is a mapping.
    pub fn as_mapping(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Mapping(entries) => Some(entries),
            _ => None,
        }
    }

    /// The value of a mapping key.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_mapping()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, value)| value)
    }

    /// A short name of the node's kind for error messages.
    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Scalar(_) if self.is_null() => "null",
            NodeKind::Scalar(_) => "a scalar",
            NodeKind::Sequence(_) => "a sequence",
            NodeKind::Mapping(_) => "a mapping",
        }
    }
}

/// A YAML syntax error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where the parser stopped.
    pub mark: Mark,
    /// What it found.
    pub message: String,
}

/// The first tab of `mark`'s line up to `mark`: the parser points just past it.
fn at_tab(source: &str, mark: Mark) -> Mark {
    let line = source
        .split(['\n'])
        .nth(mark.line.saturating_sub(1) as usize)
        .unwrap_or_default();
    match line
        .chars()
        .take(mark.column as usize)
        .position(|c| c == '\t')
    {
        Some(index) => Mark {
            line: mark.line,
            column: index as u32 + 1,
        },
        None => mark,
    }
}

/// The YAML parser's message for the mistakes people make in pipeline files, said the way a
/// person would fix them; the parser's own words follow in parentheses.
fn in_plain_words(info: &str) -> String {
    let plain = match info {
        "tabs disallowed within this context (block indentation)"
        | "tabs disallowed in this context"
        | "while scanning a plain scalar, found a tab" => {
            "a tab where YAML needs spaces: indent with spaces only"
        }
        "while parsing a flow mapping, did not find expected ',' or '}'" => {
            "a `{ ... }` mapping is not closed with `}`, or two of its entries lack a `,` between them (look above this point)"
        }
        "while parsing a flow sequence, expected ',' or ']'" => {
            "a `[ ... ]` list is not closed with `]`, or two of its items lack a `,` between them (look above this point)"
        }
        "while scanning a quoted scalar, found unexpected end of stream" => {
            "a quoted value is not closed: its closing quote is missing"
        }
        "mapping values are not allowed in this context" => {
            "a `:` where a value was expected: quote a value that holds `: `, or check the indentation of the line"
        }
        "while parsing a block mapping, did not find expected key" => {
            "this line is not indented like the keys around it"
        }
        "invalid indentation" | "invalid indentation in flow construct" => {
            "this line is indented wrongly for where it is"
        }
        "while parsing a node, did not find expected node content" => "a value is missing here",
        "while parsing node, found unknown anchor" => {
            "`*name` refers to an anchor `&name` that is not defined above it"
        }
        _ => return info.to_string(),
    };
    format!("{plain} ({info})")
}

/// Parses one YAML document into a [`Node`]; an empty document is an empty mapping.
pub fn parse(source: &str) -> Result<Node, SyntaxError> {
    let mut builder = TreeBuilder::default();
    let mut parser = Parser::new_from_str(source);
    parser.load(&mut builder, true).map_err(|error| {
        let mut mark = Mark::from_marker(*error.marker());
        if error.info().contains("tab") {
            mark = at_tab(source, mark);
        }
        SyntaxError {
            mark,
            message: in_plain_words(error.info()),
        }
    })?;
    if let Some(error) = builder.error {
        return Err(error);
    }
    if builder.documents > 1 {
        return Err(SyntaxError {
            mark: builder.second_document.unwrap_or_default(),
            message: "a pipeline file holds one YAML document; found a second `---`".into(),
        });
    }
    Ok(builder
        .root
        .unwrap_or_else(|| Node::empty_mapping(Mark { line: 1, column: 1 })))
}

enum Frame {
    Sequence(Mark, Vec<Node>, usize),
    Mapping(Mark, Vec<(Node, Node)>, Option<Node>, usize),
}

#[derive(Default)]
struct TreeBuilder {
    stack: Vec<Frame>,
    root: Option<Node>,
    anchors: HashMap<usize, Node>,
    documents: usize,
    second_document: Option<Mark>,
    error: Option<SyntaxError>,
}

impl TreeBuilder {
    fn fail(&mut self, mark: Mark, message: impl Into<String>) {
        if self.error.is_none() {
            self.error = Some(SyntaxError {
                mark,
                message: message.into(),
            });
        }
    }

    fn finish(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Sequence(_, items, _)) => items.push(node),
            Some(Frame::Mapping(_, entries, pending_key, _)) => match pending_key.take() {
                None => {
                    let duplicate =
                        entries
                            .iter()
                            .find(|(key, _)| same_key(key, &node))
                            .map(|previous| {
                                format!(
                                    "duplicate key `{}` (first at {})",
                                    node.as_str().unwrap_or("?"),
                                    previous.0.mark
                                )
                            });
                    let mark = node.mark;
                    *pending_key = Some(node);
                    if let Some(message) = duplicate {
                        self.fail(mark, message);
                    }
                }
                Some(key) => entries.push((key, node)),
            },
        }
    }
}

impl TreeBuilder {
    /// Applies YAML merge keys (`<<: *creds`, `<<: [*a, *b]`): the merged mappings' entries are
    /// added where the mapping has no such key, the first merged mapping winning over later
    /// ones. Merged entries keep the position where they were written.
    fn merge(&mut self, entries: Vec<(Node, Node)>) -> Vec<(Node, Node)> {
        if !entries.iter().any(|(key, _)| is_merge_key(key)) {
            return entries;
        }
        let (merges, mut own): (Vec<_>, Vec<_>) =
            entries.into_iter().partition(|(key, _)| is_merge_key(key));
        for (key, value) in merges {
            let sources = match value.kind {
                NodeKind::Mapping(entries) => vec![entries],
                NodeKind::Sequence(items) => {
                    let mut sources = Vec::new();
                    for item in items {
                        match item.kind {
                            NodeKind::Mapping(entries) => sources.push(entries),
                            _ => self.fail(item.mark, MERGE_VALUE),
                        }
                    }
                    sources
                }
                _ => {
                    self.fail(key.mark, MERGE_VALUE);
                    Vec::new()
                }
            };
            for (merged_key, merged_value) in sources.into_iter().flatten() {
                if !own.iter().any(|(key, _)| same_key(key, &merged_key)) {
                    own.push((merged_key, merged_value));
                }
            }
        }
        own
    }
}

const MERGE_VALUE: &str =
    "`<<` merges a mapping or a list of mappings, e.g. `<<: *credentials` (an alias)";

/// The merge key `<<`, unquoted.
fn is_merge_key(key: &Node) -> bool {
    matches!(&key.kind, NodeKind::Scalar(Scalar { value, style: ScalarStyle::Plain, .. }) if value == "<<")
}

fn same_key(a: &Node, b: &Node) -> bool {
    match (&a.kind, &b.kind) {
        (NodeKind::Scalar(a), NodeKind::Scalar(b)) => a.value == b.value,
        _ => false,
    }
}

impl MarkedEventReceiver for TreeBuilder {
    fn on_event(&mut self, event: Event, marker: Marker) {
        let mark = Mark::from_marker(marker);
        match event {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents == 2 {
                    self.second_document = Some(mark);
                }
            }
            Event::Scalar(value, style, anchor, _tag) => {
                let style = match style {
                    TScalarStyle::Plain => ScalarStyle::Plain,
                    _ => ScalarStyle::Quoted,
                };
                let node = Node {
                    mark,
                    kind: NodeKind::Scalar(Scalar {
                        value,
                        style,
                        interpolated: false,
                    }),
                };
                self.finish(node, anchor);
            }
            Event::SequenceStart(anchor, _tag) => {
                self.stack.push(Frame::Sequence(mark, Vec::new(), anchor))
            }
            Event::MappingStart(anchor, _tag) => {
                self.stack
                    .push(Frame::Mapping(mark, Vec::new(), None, anchor))
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Sequence(start, items, anchor)) => (
                        Node {
                            mark: items.first().map_or(start, |first| start.min(first.mark)),
                            kind: NodeKind::Sequence(items),
                        },
                        anchor,
                    ),
                    Some(Frame::Mapping(start, entries, _, anchor)) => (
                        Node {
                            // Block collections are announced late; their first entry is the start.
                            mark: entries
                                .first()
                                .map_or(start, |first| start.min(first.0.mark)),
                            kind: NodeKind::Mapping(self.merge(entries)),
                        },
                        anchor,
                    ),
                    None => return,
                };
                self.finish(node, anchor);
            }
            Event::Alias(anchor) => match self.anchors.get(&anchor).cloned() {
                Some(mut node) => {
                    node.mark = mark;
                    self.finish(node, 0);
                }
                None => self.fail(mark, "alias to an unknown anchor"),
            },
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_syntax_mistakes_are_said_in_plain_words_at_their_place() {
        let tab = parse("id: p\nsources:\n\tin: { type: stdin }\n").unwrap_err();
        assert!(
            tab.message.starts_with("a tab where YAML needs spaces"),
            "{}",
            tab.message
        );
        assert_eq!(tab.mark.line, 3);
        let unclosed = parse("sources:\n  in: { type: stdin\nsinks:\n  out: 1\n").unwrap_err();
        assert!(
            unclosed
                .message
                .starts_with("a `{ ... }` mapping is not closed"),
            "{}",
            unclosed.message
        );
        let quote = parse("id: \"p\n").unwrap_err();
        assert!(
            quote.message.starts_with("a quoted value is not closed"),
            "{}",
            quote.message
        );
        let anchor = parse("a: *nothing\n").unwrap_err();
        assert!(
            anchor.message.contains("is not defined above"),
            "{}",
            anchor.message
        );
    }

    #[test]
    fn positions_are_one_based() {
        let node = parse("id: a\nsources:\n  in: { type: file }\n").unwrap();
        let entries = node.as_mapping().unwrap();
        assert_eq!(entries[0].0.mark, Mark { line: 1, column: 1 });
        assert_eq!(entries[0].1.mark, Mark { line: 1, column: 5 });
        let sources = entries[1].1.as_mapping().unwrap();
        assert_eq!(sources[0].0.mark, Mark { line: 3, column: 3 });
        let inner = sources[0].1.as_mapping().unwrap();
        assert_eq!(
            inner[0].1.mark,
            Mark {
                line: 3,
                column: 15
            }
        );
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let error = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(error.mark, Mark { line: 3, column: 1 });
        assert!(error.message.contains("duplicate key `a` (first at 1:1)"));
    }

    #[test]
    fn syntax_error_has_a_position() {
        let error = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(error.mark.line >= 1, "{error:?}");
    }

    #[test]
    fn merge_keys_add_the_entries_a_mapping_lacks() {
        let root = parse(
            "x-creds: &creds\n  tenant_id: t\n  client_id: c\nx-more: &more\n  client_id: other\n  cloud: gcc\na:\n  <<: *creds\n  client_id: mine\nb:\n  <<: [*creds, *more]\n",
        )
        .unwrap();
        let text = |path: &[&str]| {
            let mut node = &root;
            for key in path {
                node = node.get(key).unwrap_or_else(|| panic!("no {path:?}"));
            }
            node.as_str().map(str::to_string)
        };
        assert_eq!(text(&["a", "tenant_id"]).as_deref(), Some("t"));
        assert_eq!(text(&["a", "client_id"]).as_deref(), Some("mine"));
        assert_eq!(text(&["b", "client_id"]).as_deref(), Some("c"));
        assert_eq!(text(&["b", "cloud"]).as_deref(), Some("gcc"));
        assert!(root.get("a").unwrap().get("<<").is_none());
        // The merged key keeps the line it was written on (the anchor's).
        assert_eq!(
            root.get("a").unwrap().get("tenant_id").unwrap().mark.line,
            2
        );
        let error = parse("a:\n  <<: text\n").unwrap_err();
        assert!(
            error.message.contains("merges a mapping"),
            "{}",
            error.message
        );
    }

    #[test]
    fn aliases_copy_the_anchor() {
        let node = parse("a: &x { k: v }\nb: *x\n").unwrap();
        let entries = node.as_mapping().unwrap();
        assert_eq!(entries[1].1.as_mapping().unwrap()[0].1.as_str(), Some("v"));
    }

    #[test]
    fn empty_document_is_an_empty_mapping() {
        assert_eq!(parse("").unwrap().as_mapping().map(<[_]>::len), Some(0));
    }
}
