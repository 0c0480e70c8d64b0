//! An OCSF event validator written from the official compiled schema (OCSF 1.5.0 with the
//! `win` and `linux` extensions, `tests/oracles/ocsf-1.5.0-compiled.json.gz`), as strict as the
//! schema is:
//!
//! - the class exists (`class_uid`), and `category_uid`, `type_uid`, `activity_id`, every
//!   `*_id` with an enum take one of their listed values; a caption (`class_name`,
//!   `category_name`, `activity_name`, `type_name`, `severity`, `status`, ...) is the enum's
//!   caption for its id (any text for 99, "Other");
//! - every required attribute is present, in the event and in every object it holds, including
//!   those a profile brings when the event declares that profile in `metadata.profiles`, and
//!   only the profiles the class accepts are declared;
//! - every value has its attribute's type: strings (with the type's pattern and length),
//!   integers (ports in range), numbers, booleans, arrays where the attribute is one, objects of
//!   the named object, validated in turn;
//! - `at_least_one` and `just_one` constraints of classes and objects hold;
//! - no attribute a class or object does not define appears, except inside `unmapped` (and
//!   `json_t` attributes, which take any JSON);
//! - an extension class, or an extension object anywhere in the event, comes with that
//!   extension declared in `metadata.extensions` (`name`, `uid`, `version`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use regex::Regex;
use serde_json::{Map, Value};

/// One attribute of a class or object.
#[derive(Debug, Clone)]
struct Attribute {
    kind: String,
    is_array: bool,
    object_type: Option<String>,
    required: bool,
    enumeration: Option<HashMap<String, String>>,
    sibling: Option<String>,
    profiles: Option<Vec<String>>,
    extension: Option<String>,
}

/// A class or an object: its attributes and constraints.
#[derive(Debug, Clone)]
struct Shape {
    name: String,
    attributes: HashMap<String, Attribute>,
    at_least_one: Vec<String>,
    just_one: Vec<String>,
    profiles: Vec<String>,
    extension: Option<String>,
}

/// A data type: its base, pattern, length and range.
#[derive(Debug, Clone)]
struct DataType {
    base: String,
    pattern: Option<Regex>,
    max_len: Option<usize>,
    range: Option<(i64, i64)>,
}

/// The compiled schema, ready to validate events.
#[derive(Debug)]
pub struct Schema {
    classes: HashMap<u64, Shape>,
    objects: HashMap<String, Shape>,
    types: HashMap<String, DataType>,
    extensions: HashMap<String, (String, String)>,
    version: String,
}

fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_string)
}

fn names(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn shape(name: &str, definition: &Value) -> Shape {
    let attributes = definition
        .get("attributes")
        .and_then(Value::as_object)
        .map(|attributes| {
            attributes
                .iter()
                .map(|(name, attribute)| {
                    let enumeration =
                        attribute
                            .get("enum")
                            .and_then(Value::as_object)
                            .map(|values| {
                                values
                                    .iter()
                                    .map(|(key, entry)| {
                                        (key.clone(), text(entry, "caption").unwrap_or_default())
                                    })
                                    .collect()
                            });
                    let profiles = attribute
                        .get("profiles")
                        .filter(|profiles| !profiles.is_null())
                        .map(|profiles| names(Some(profiles)));
                    (
                        name.clone(),
                        Attribute {
                            kind: text(attribute, "type").unwrap_or_else(|| "string_t".into()),
                            is_array: attribute
                                .get("is_array")
                                .and_then(Value::as_bool)
                                .unwrap_or(false),
                            object_type: text(attribute, "object_type"),
                            required: attribute.get("requirement").and_then(Value::as_str)
                                == Some("required"),
                            enumeration,
                            sibling: text(attribute, "sibling"),
                            profiles,
                            extension: text(attribute, "extension"),
                        },
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let constraints = definition.get("constraints");
    Shape {
        name: name.to_string(),
        attributes,
        at_least_one: names(constraints.and_then(|c| c.get("at_least_one"))),
        just_one: names(constraints.and_then(|c| c.get("just_one"))),
        profiles: names(definition.get("profiles")),
        extension: text(definition, "extension"),
    }
}

impl Schema {
    /// Reads a compiled schema (gzip or plain JSON).
    pub fn load(path: &Path) -> Result<Self, String> {
        let bytes = std::fs::read(path).map_err(|error| format!("{}: {error}", path.display()))?;
        let json = if bytes.starts_with(&[0x1f, 0x8b]) {
            let mut text = Vec::new();
            flate2::read::GzDecoder::new(&bytes[..])
                .read_to_end(&mut text)
                .map_err(|error| format!("{}: {error}", path.display()))?;
            text
        } else {
            bytes
        };
        let schema: Value = serde_json::from_slice(&json)
            .map_err(|error| format!("{}: {error}", path.display()))?;
        Self::from_compiled(&schema)
    }

    /// Builds the validator from the compiled schema document.
    pub fn from_compiled(schema: &Value) -> Result<Self, String> {
        let classes = schema
            .get("classes")
            .and_then(Value::as_object)
            .ok_or("no `classes` in the schema")?
            .iter()
            .filter_map(|(name, class)| Some((class.get("uid")?.as_u64()?, shape(name, class))))
            .collect();
        let objects = schema
            .get("objects")
            .and_then(Value::as_object)
            .ok_or("no `objects` in the schema")?
            .iter()
            .map(|(name, object)| (name.clone(), shape(name, object)))
            .collect();
        let mut types: HashMap<String, DataType> = HashMap::new();
        let declared = schema
            .pointer("/dictionary/types/attributes")
            .and_then(Value::as_object)
            .ok_or("no data types in the schema")?;
        for (name, definition) in declared {
            types.insert(
                name.clone(),
                DataType {
                    base: text(definition, "type").unwrap_or_else(|| name.clone()),
                    pattern: text(definition, "regex")
                        .and_then(|pattern| Regex::new(&pattern).ok()),
                    max_len: definition
                        .get("max_len")
                        .and_then(Value::as_u64)
                        .map(|n| n as usize),
                    range: definition
                        .get("range")
                        .and_then(Value::as_array)
                        .and_then(|range| {
                            Some((range.first()?.as_i64()?, range.get(1)?.as_i64()?))
                        }),
                },
            );
        }
        let extensions = schema
            .get("extensions")
            .and_then(Value::as_object)
            .map(|extensions| {
                extensions
                    .iter()
                    .map(|(name, extension)| {
                        (
                            name.clone(),
                            (
                                extension
                                    .get("uid")
                                    .map(|uid| uid.to_string().trim_matches('"').to_string())
                                    .unwrap_or_default(),
                                text(extension, "version").unwrap_or_default(),
                            ),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            classes,
            objects,
            types,
            extensions,
            version: text(schema, "version").unwrap_or_default(),
        })
    }

    /// The schema's version (`1.5.0`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The name of the class with `class_uid`.
    pub fn class_name(&self, class_uid: u64) -> Option<&str> {
        self.classes
            .get(&class_uid)
            .map(|class| class.name.as_str())
    }

    /// Everything wrong with one event; empty when it is valid.
    pub fn validate(&self, event: &Value) -> Vec<String> {
        let mut problems = Vec::new();
        let Some(object) = event.as_object() else {
            return vec!["the event is not a JSON object".into()];
        };
        let Some(class) = object
            .get("class_uid")
            .and_then(Value::as_u64)
            .and_then(|uid| self.classes.get(&uid))
        else {
            return vec![format!(
                "class_uid {} is not a class of the schema",
                object.get("class_uid").unwrap_or(&Value::Null)
            )];
        };
        let profiles: HashSet<String> = names(event.pointer("/metadata/profiles"))
            .into_iter()
            .collect();
        for profile in &profiles {
            if !class.profiles.contains(profile) {
                problems.push(format!(
                    "metadata.profiles: the class {} does not take the profile `{profile}`",
                    class.name
                ));
            }
        }
        let mut extensions = HashSet::new();
        if let Some(extension) = &class.extension {
            extensions.insert(extension.clone());
        }
        let mut walk = Walk {
            schema: self,
            profiles: &profiles,
            extensions: &mut extensions,
            problems: &mut problems,
        };
        walk.object("", class, object);
        let declared = event
            .pointer("/metadata/extensions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut needed: Vec<&String> = extensions.iter().collect();
        needed.sort();
        for name in needed {
            let Some((uid, version)) = self.extensions.get(name) else {
                continue;
            };
            let found = declared.iter().any(|entry| {
                text(entry, "name").as_deref() == Some(name.as_str())
                    && text(entry, "uid").as_deref() == Some(uid.as_str())
                    && text(entry, "version").as_deref() == Some(version.as_str())
            });
            if !found {
                problems.push(format!(
                    "metadata.extensions: the `{name}` extension is used but not declared (name \"{name}\", uid \"{uid}\", version \"{version}\")"
                ));
            }
        }
        problems
    }
}

struct Walk<'a> {
    schema: &'a Schema,
    profiles: &'a HashSet<String>,
    extensions: &'a mut HashSet<String>,
    problems: &'a mut Vec<String>,
}

fn at(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// Whether a dotted path holds a value.
fn has(object: &Map<String, Value>, path: &str) -> bool {
    let mut parts = path.split('.');
    let Some(first) = parts.next() else {
        return false;
    };
    let mut value = object.get(first);
    for part in parts {
        value = value.and_then(|v| v.get(part));
    }
    value.is_some_and(|value| !value.is_null())
}

impl Walk<'_> {
    fn applies(&self, attribute: &Attribute) -> bool {
        attribute.profiles.as_ref().is_none_or(|profiles| {
            profiles
                .iter()
                .any(|profile| self.profiles.contains(profile))
        })
    }

    fn object(&mut self, path: &str, shape: &Shape, value: &Map<String, Value>) {
        if let Some(extension) = &shape.extension {
            self.extensions.insert(extension.clone());
        }
        for (name, item) in value {
            let here = at(path, name);
            let Some(attribute) = shape.attributes.get(name) else {
                self.problems
                    .push(format!("{here}: {} does not define `{name}`", shape.name));
                continue;
            };
            if !self.applies(attribute) {
                self.problems.push(format!(
                    "{here}: belongs to the profile(s) {:?}, not declared in metadata.profiles",
                    attribute.profiles.as_deref().unwrap_or_default()
                ));
            }
            if let Some(extension) = &attribute.extension {
                self.extensions.insert(extension.clone());
            }
            if item.is_null() {
                continue;
            }
            self.attribute(&here, attribute, item);
            if let (Some(sibling), Some(enumeration)) = (&attribute.sibling, &attribute.enumeration)
            {
                let id = match item {
                    Value::String(id) => id.clone(),
                    other => other.to_string(),
                };
                if let (Some(Value::String(caption)), Some(expected)) =
                    (value.get(sibling), enumeration.get(&id))
                    && id != "99"
                    && caption != expected
                {
                    self.problems.push(format!(
                        "{}: `{caption}` is not the caption of {name} {id} (`{expected}`)",
                        at(path, sibling)
                    ));
                }
            }
        }
        for (name, attribute) in &shape.attributes {
            if attribute.required
                && self.applies(attribute)
                && value.get(name).is_none_or(Value::is_null)
            {
                self.problems.push(format!(
                    "{}: required by {} and missing",
                    at(path, name),
                    shape.name
                ));
            }
        }
        if !shape.at_least_one.is_empty() && !shape.at_least_one.iter().any(|name| has(value, name))
        {
            self.problems.push(format!(
                "{}: {} needs at least one of {:?}",
                if path.is_empty() { "(event)" } else { path },
                shape.name,
                shape.at_least_one
            ));
        }
        if !shape.just_one.is_empty()
            && shape
                .just_one
                .iter()
                .filter(|name| has(value, name))
                .count()
                != 1
        {
            self.problems.push(format!(
                "{}: {} needs exactly one of {:?}",
                if path.is_empty() { "(event)" } else { path },
                shape.name,
                shape.just_one
            ));
        }
    }

    fn attribute(&mut self, path: &str, attribute: &Attribute, value: &Value) {
        if attribute.is_array {
            let Some(items) = value.as_array() else {
                self.problems
                    .push(format!("{path}: an array is expected, found {value}"));
                return;
            };
            for (index, item) in items.iter().enumerate() {
                self.single(&format!("{path}[{index}]"), attribute, item);
            }
        } else {
            self.single(path, attribute, value);
        }
    }

    fn single(&mut self, path: &str, attribute: &Attribute, value: &Value) {
        if attribute.kind == "object_t" {
            let Some(object) = value.as_object() else {
                self.problems
                    .push(format!("{path}: an object is expected, found {value}"));
                return;
            };
            let name = attribute.object_type.as_deref().unwrap_or("object");
            if name == "object" {
                return;
            }
            match self.schema.objects.get(name) {
                Some(shape) => {
                    let shape = shape.clone();
                    self.object(path, &shape, object);
                }
                None => self
                    .problems
                    .push(format!("{path}: the schema has no object `{name}`")),
            }
            return;
        }
        if attribute.kind == "json_t" {
            return;
        }
        self.typed(path, &attribute.kind, value);
        if let Some(enumeration) = &attribute.enumeration {
            let key = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            if !enumeration.contains_key(&key) {
                let mut allowed: Vec<&String> = enumeration.keys().collect();
                allowed.sort();
                self.problems
                    .push(format!("{path}: {value} is not one of {allowed:?}"));
            }
        }
    }

    fn typed(&mut self, path: &str, kind: &str, value: &Value) {
        let Some(data_type) = self.schema.types.get(kind) else {
            self.problems.push(format!("{path}: unknown type {kind}"));
            return;
        };
        let base = match data_type.base.as_str() {
            name if name == kind => name.to_string(),
            other => self
                .schema
                .types
                .get(other)
                .map_or_else(|| other.to_string(), |t| t.base.clone()),
        };
        let ok = match base.as_str() {
            "string_t" => match value.as_str() {
                Some(text) => {
                    if data_type.max_len.is_some_and(|max| text.len() > max) {
                        self.problems.push(format!(
                            "{path}: longer than {:?} characters ({kind})",
                            data_type.max_len
                        ));
                    }
                    if let Some(pattern) = &data_type.pattern
                        && !pattern.is_match(text)
                    {
                        self.problems
                            .push(format!("{path}: `{text}` is not a valid {kind}"));
                    }
                    true
                }
                None => false,
            },
            "integer_t" | "long_t" => match value.as_i64() {
                Some(number) => {
                    if let Some((low, high)) = data_type.range
                        && !(low..=high).contains(&number)
                    {
                        self.problems.push(format!(
                            "{path}: {number} is outside {low}..{high} ({kind})"
                        ));
                    }
                    true
                }
                None => value.as_u64().is_some(),
            },
            "float_t" => value.is_number(),
            "boolean_t" => value.is_boolean(),
            _ => true,
        };
        if !ok {
            self.problems
                .push(format!("{path}: {value} is not a {kind}"));
        }
    }
}

/// The schema shipped with the tests.
pub fn schema_1_5_0() -> Result<Schema, String> {
    Schema::load(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/oracles/ocsf-1.5.0-compiled.json.gz"),
    )
}

/// A count of problems by kind, for reports: the problem text with its path and values cut.
pub fn summarize<'a>(problems: impl IntoIterator<Item = &'a String>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for problem in problems {
        *counts.entry(problem.clone()).or_default() += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn catches_what_the_schema_forbids_and_passes_what_it_takes() {
        let schema = schema_1_5_0().unwrap();
        assert_eq!(schema.version(), "1.5.0");
        let valid = json!({
            "class_uid": 1007, "class_name": "Process Activity", "category_uid": 1,
            "category_name": "System Activity", "activity_id": 1, "activity_name": "Launch",
            "type_uid": 100701, "type_name": "Process Activity: Launch", "severity_id": 1,
            "severity": "Informational", "time": 1_700_000_000_000u64,
            "metadata": {"version": "1.5.0", "product": {"name": "Defender", "vendor_name": "Microsoft"}},
            "actor": {"process": {"pid": 4}},
            "device": {"type_id": 0, "hostname": "wks-01"},
            "process": {"pid": 8, "cmd_line": "cmd.exe"},
            "unmapped": {"anything": [1, {"x": null}]},
        });
        assert_eq!(schema.validate(&valid), Vec::<String>::new());
        let mut wrong = valid.clone();
        wrong["process"] = json!({"cmd_line": "cmd.exe", "ghost": 1});
        wrong["category_name"] = json!("Other");
        wrong["severity_id"] = json!(7);
        wrong["device"]["ip"] = json!("not an ip");
        wrong["actor"] = json!({});
        let problems = schema.validate(&wrong);
        let has = |text: &str| problems.iter().any(|problem| problem.contains(text));
        assert!(
            has("process: process needs at least one of"),
            "{problems:#?}"
        );
        assert!(
            has("process.ghost: process does not define `ghost`"),
            "{problems:#?}"
        );
        assert!(
            has("category_name: `Other` is not the caption of category_uid 1"),
            "{problems:#?}"
        );
        assert!(has("severity_id: 7 is not one of"), "{problems:#?}");
        assert!(
            has("device.ip: `not an ip` is not a valid ip_t"),
            "{problems:#?}"
        );
        assert!(has("actor: actor needs at least one of"), "{problems:#?}");
        let registry = json!({
            "class_uid": 201002, "category_uid": 1, "activity_id": 1, "type_uid": 20100201,
            "severity_id": 1, "time": 1, "metadata": {"version": "1.5.0", "product": {"name": "x"}},
            "actor": {"user": {"name": "a"}}, "device": {"type_id": 0, "hostname": "wks-01"},
            "reg_value": {"name": "Run", "path": "HKLM\\\\Software"},
        });
        let problems = schema.validate(&registry);
        assert!(
            problems
                .iter()
                .any(|problem| problem.contains("the `win` extension is used but not declared")),
            "{problems:#?}"
        );
        let mut declared = registry.clone();
        declared["metadata"]["extensions"] =
            json!([{"name": "win", "uid": "2", "version": "1.5.0"}]);
        assert_eq!(schema.validate(&declared), Vec::<String>::new());
    }
}
