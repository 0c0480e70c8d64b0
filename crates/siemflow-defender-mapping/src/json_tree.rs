//! An ordered JSON document built from exact pieces, for the JSON formats.
//!
//! `serde_json::Value` would sort keys and turn integers above 64 bits into floats; here leaves
//! are JSON text copied from the record (compacted, never re-parsed), keys keep the order the
//! mapping writes them in, and dotted paths (`actor.process.pid`) create the objects on the way.
//! Keys and leaves borrow from the record and the mapping table where they can: a document is
//! built and written once per event, and allocating each of its pieces was most of its cost.

use std::borrow::Cow;

use siemflow_plugin_sdk::json::push_string;

/// A JSON value under construction.
#[derive(Debug, Clone)]
pub enum Node<'a> {
    /// Complete JSON text (a string, number, boolean, or a compacted object or array).
    Raw(Cow<'a, str>),
    /// A string's text, escaped when the document is written.
    Text(Cow<'a, str>),
    /// An integer.
    Integer(i64),
    /// An object, keys in insertion order.
    Object(Object<'a>),
    /// An array.
    Array(Vec<Node<'a>>),
}

impl<'a> Node<'a> {
    /// A JSON string.
    pub fn string(text: impl Into<Cow<'a, str>>) -> Node<'a> {
        Node::Text(text.into())
    }

    /// Any `serde_json::Value` (for values the mapping computes, not copied ones).
    pub fn value(value: &serde_json::Value) -> Node<'a> {
        Node::Raw(Cow::Owned(value.to_string()))
    }

    /// JSON text received from elsewhere, compacted (whitespace between tokens removed) so the
    /// document stays on one line; borrowed when it has no such whitespace.
    pub fn raw(json: impl Into<Cow<'a, str>>) -> Node<'a> {
        let json = trimmed(json.into());
        if needs_compacting(&json) {
            let mut out = String::with_capacity(json.len());
            compact(&json, &mut out);
            return Node::Raw(Cow::Owned(out));
        }
        Node::Raw(json)
    }

    /// A string leaf's text (unescaped), whether it was built as text or copied as JSON.
    pub fn as_text(&self) -> Option<Cow<'_, str>> {
        match self {
            Node::Text(text) => Some(Cow::Borrowed(text)),
            Node::Raw(raw) if raw.starts_with('"') => {
                serde_json::from_str::<Cow<'_, str>>(raw).ok()
            }
            _ => None,
        }
    }

    /// Whether this is `{}` (an empty object written as JSON text, as defaults are).
    fn is_empty_object_text(&self) -> bool {
        matches!(self, Node::Raw(raw) if raw == "{}")
    }

    fn write(&self, out: &mut String) {
        match self {
            Node::Raw(text) => out.push_str(text),
            Node::Text(text) => push_string(text, out),
            Node::Integer(value) => {
                let mut buffer = itoa::Buffer::new();
                out.push_str(buffer.format(*value));
            }
            Node::Object(object) => object.write(out),
            Node::Array(items) => {
                out.push('[');
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
        }
    }

    /// The node with everything it borrows copied, for a node built from a value that does not
    /// live as long as the document.
    pub fn into_owned(self) -> Node<'static> {
        let owned = |text: Cow<'_, str>| Cow::Owned(text.into_owned());
        match self {
            Node::Raw(raw) => Node::Raw(owned(raw)),
            Node::Text(text) => Node::Text(owned(text)),
            Node::Integer(value) => Node::Integer(value),
            Node::Object(Object(entries)) => Node::Object(Object(
                entries
                    .into_iter()
                    .map(|(key, node)| (owned(key), node.into_owned()))
                    .collect(),
            )),
            Node::Array(items) => Node::Array(items.into_iter().map(Node::into_owned).collect()),
        }
    }

    /// The node as compact JSON text.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(64);
        self.write(&mut out);
        out
    }
}

impl PartialEq for Node<'_> {
    /// Nodes are equal when they write the same JSON text.
    fn eq(&self, other: &Self) -> bool {
        self.to_json() == other.to_json()
    }
}

/// A JSON object, keys in insertion order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Object<'a>(Vec<(Cow<'a, str>, Node<'a>)>);

impl<'a> Object<'a> {
    /// An empty object.
    pub fn new() -> Self {
        Self(Vec::with_capacity(8))
    }

    /// The value at a top-level key.
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        self.0
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, node)| node)
    }

    /// Sets a top-level key, replacing its value.
    pub fn set(&mut self, key: impl Into<Cow<'a, str>>, node: Node<'a>) {
        let key = key.into();
        match self.0.iter_mut().find(|(name, _)| *name == key) {
            Some(entry) => entry.1 = node,
            None => self.0.push((key, node)),
        }
    }

    /// Puts `node` at a dotted path unless something is there already (the first mapping of a
    /// path wins). False when the path is taken, or crosses a value that is not an object.
    pub fn insert_path(&mut self, path: &'a str, node: Node<'a>) -> bool {
        match path.split_once('.') {
            None => {
                if self.get(path).is_some() {
                    return false;
                }
                self.0.push((Cow::Borrowed(path), node));
                true
            }
            Some((head, rest)) => match self.child(head) {
                Some(child) => child.insert_path(rest, node),
                None => false,
            },
        }
    }

    /// Appends `node` to the array at a dotted path, creating it.
    pub fn push_path(&mut self, path: &'a str, node: Node<'a>) -> bool {
        let (parent, key) = match path.rsplit_once('.') {
            Some((parent, key)) => (self.object_at(parent), key),
            None => (Some(self), path),
        };
        let Some(parent) = parent else { return false };
        match parent.0.iter_mut().find(|(name, _)| name == key) {
            Some((_, Node::Array(items))) => {
                items.push(node);
                true
            }
            Some(_) => false,
            None => {
                parent.0.push((Cow::Borrowed(key), Node::Array(vec![node])));
                true
            }
        }
    }

    /// Whether a dotted path holds a value.
    pub fn contains_path(&self, path: &str) -> bool {
        match path.split_once('.') {
            None => self.get(path).is_some(),
            Some((head, rest)) => match self.get(head) {
                Some(Node::Object(child)) => child.contains_path(rest),
                _ => false,
            },
        }
    }

    /// The object at a dotted path, created where missing; `None` when a value that is not an
    /// object is in the way.
    fn object_at(&mut self, path: &'a str) -> Option<&mut Object<'a>> {
        match path.split_once('.') {
            None => self.child(path),
            Some((head, rest)) => self.child(head)?.object_at(rest),
        }
    }

    fn child(&mut self, key: &'a str) -> Option<&mut Object<'a>> {
        let index = match self.0.iter().position(|(name, _)| name == key) {
            Some(index) => index,
            None => {
                self.0
                    .push((Cow::Borrowed(key), Node::Object(Object::new())));
                self.0.len() - 1
            }
        };
        match &mut self.0[index].1 {
            Node::Object(object) => Some(object),
            // `{}` from a default is an empty object too.
            node if node.is_empty_object_text() => {
                *node = Node::Object(Object::new());
                match node {
                    Node::Object(object) => Some(object),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Calls `visit` with the key and the object of every object below this one, outermost
    /// first.
    pub fn visit_objects(&mut self, visit: &mut impl FnMut(&str, &mut Object<'a>)) {
        for (key, node) in &mut self.0 {
            match node {
                Node::Object(object) => {
                    visit(key, object);
                    object.visit_objects(visit);
                }
                Node::Array(items) => {
                    for item in items {
                        if let Node::Object(object) = item {
                            visit(key, object);
                            object.visit_objects(visit);
                        }
                    }
                }
                Node::Raw(_) | Node::Text(_) | Node::Integer(_) => {}
            }
        }
    }

    /// Removes, innermost first, every object below this one that `keep` refuses (given its
    /// key and content; a `{}` default counts as an empty object), and returns their dotted
    /// paths. Objects inside arrays are left alone.
    pub fn prune(&mut self, keep: &impl Fn(&str, &Object<'a>) -> bool) -> Vec<String> {
        let mut removed = Vec::new();
        self.prune_below("", keep, &mut removed);
        removed
    }

    fn prune_below(
        &mut self,
        prefix: &str,
        keep: &impl Fn(&str, &Object<'a>) -> bool,
        removed: &mut Vec<String>,
    ) {
        let empty = Object::new();
        let path_of = |key: &str| {
            if prefix.is_empty() {
                key.to_string()
            } else {
                format!("{prefix}.{key}")
            }
        };
        self.0.retain_mut(|(key, node)| {
            let object = match node {
                Node::Object(object) => {
                    // Only objects below (a `{}` default is one) can be pruned.
                    let has_objects = object.0.iter().any(|(_, node)| {
                        matches!(node, Node::Object(_)) || node.is_empty_object_text()
                    });
                    if has_objects {
                        object.prune_below(&path_of(key), keep, removed);
                    }
                    &*object
                }
                node if node.is_empty_object_text() => &empty,
                _ => return true,
            };
            let kept = keep(key, object);
            if !kept {
                removed.push(path_of(key));
            }
            kept
        });
    }

    /// Whether the object has no keys.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The document as compact JSON text.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(256);
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        out.push('{');
        for (index, (key, node)) in self.0.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            push_string(key, out);
            out.push(':');
            node.write(out);
        }
        out.push('}');
    }
}

/// Copies valid JSON text without the whitespace between tokens.
pub fn compact(json: &str, out: &mut String) {
    let json = json.trim();
    if !needs_compacting(json) {
        out.push_str(json);
        return;
    }
    // Runs between whitespace outside strings are copied whole. Every index used to slice is
    // that of an ASCII byte (a quote, a backslash, whitespace), so a char boundary.
    let bytes = json.as_bytes();
    let (mut at, mut run) = (0, 0);
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'"' => at = after_string(bytes, at),
            b' ' | b'\n' | b'\r' | b'\t' => {
                out.push_str(&json[run..at]);
                at += 1;
                run = at;
            }
            _ => at += 1,
        }
    }
    out.push_str(&json[run..]);
}

/// `text` without leading and trailing whitespace, still borrowed when it was.
pub fn trimmed(text: Cow<'_, str>) -> Cow<'_, str> {
    match text {
        Cow::Borrowed(text) => Cow::Borrowed(text.trim()),
        Cow::Owned(text) if text.trim().len() == text.len() => Cow::Owned(text),
        Cow::Owned(text) => Cow::Owned(text.trim().to_string()),
    }
}

/// Whether trimmed JSON text has whitespace between tokens: a string, a number or a literal
/// never has.
fn needs_compacting(json: &str) -> bool {
    json.starts_with(['{', '[']) && json.contains([' ', '\n', '\r', '\t'])
}

/// The index after the string token that opens at `open` (its closing quote's, plus one), or
/// the end of the text for an unterminated one.
fn after_string(bytes: &[u8], open: usize) -> usize {
    let mut at = open + 1;
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'"' => return at + 1,
            b'\\' => at += 2,
            _ => at += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_build_objects_in_order_and_the_first_value_wins() {
        let mut doc = Object::new();
        assert!(doc.insert_path("b", Node::raw("1")));
        assert!(doc.insert_path("a.x", Node::string("q\"")));
        assert!(!doc.insert_path("a.x", Node::raw("2")));
        assert!(
            !doc.insert_path("b.c", Node::raw("3")),
            "b is not an object"
        );
        assert!(doc.push_path("a.h", Node::raw("4")));
        assert!(doc.push_path("a.h", Node::raw("5")));
        assert!(doc.contains_path("a.x"));
        assert!(!doc.contains_path("a.y"));
        assert_eq!(doc.to_json(), r#"{"b":1,"a":{"x":"q\"","h":[4,5]}}"#);
    }

    #[test]
    fn pruning_removes_refused_objects_innermost_first() {
        let mut doc = Object::new();
        doc.insert_path("actor.process.name", Node::string("a.exe"));
        doc.insert_path("actor.user", Node::raw("{}"));
        doc.insert_path("device.hostname", Node::string("h"));
        let keep = |key: &str, object: &Object| match key {
            "process" => object.get("pid").is_some(),
            _ => !object.is_empty(),
        };
        doc.insert_path("src.ip", Node::string("10.0.0.1"));
        doc.insert_path("src.location", Node::raw("{}"));
        let removed = doc.prune(&keep);
        assert_eq!(
            removed,
            ["actor.process", "actor.user", "actor", "src.location"]
        );
        assert_eq!(
            doc.to_json(),
            r#"{"device":{"hostname":"h"},"src":{"ip":"10.0.0.1"}}"#
        );
    }

    #[test]
    fn compacting_copies_scalars_and_drops_only_whitespace_between_tokens() {
        let compacted = |json: &str| {
            let mut out = String::new();
            compact(json, &mut out);
            out
        };
        assert_eq!(compacted(" \"a b\\\" c\" "), "\"a b\\\" c\"");
        assert_eq!(
            compacted("[ \"é \\\\\" , {\"k\" :\t\"v w\"}\n]"),
            "[\"é \\\\\",{\"k\":\"v w\"}]"
        );
        assert_eq!(compacted("{}"), "{}");
        assert_eq!(compacted("[1, \"unterminated ]"), "[1,\"unterminated ]");
    }

    #[test]
    fn leaves_borrow_what_needs_no_change_and_write_as_serde_json_would() {
        let record = r#"{"a": "x\"y", "b": [1, 2]}"#;
        assert!(matches!(
            Node::raw(&record[6..12]),
            Node::Raw(Cow::Borrowed(_))
        ));
        assert!(matches!(
            Node::raw(&record[19..25]),
            Node::Raw(Cow::Owned(_))
        ));
        let mut doc = Object::new();
        doc.set("text", Node::string("q\"\u{1}é"));
        doc.set("number", Node::Integer(-9_007_199_254_740_993));
        doc.set("raw", Node::raw(&record[19..25]));
        // As serde_json writes each value; keys in the order they were set.
        assert_eq!(
            doc.to_json(),
            r#"{"text":"q\"\u0001é","number":-9007199254740993,"raw":[1,2]}"#
        );
        assert_eq!(Node::string("a\"b").as_text().as_deref(), Some("a\"b"));
        assert_eq!(Node::raw(r#""a\"b""#).as_text().as_deref(), Some("a\"b"));
    }

    #[test]
    fn compacting_keeps_strings_and_exact_numbers() {
        let node = Node::raw("{ \"a b\" : [ 1 ,\n 18446744073709551617 ], \"c\":\"x \\\" y\" }");
        assert_eq!(
            node,
            Node::Raw(r#"{"a b":[1,18446744073709551617],"c":"x \" y"}"#.into())
        );
    }
}
