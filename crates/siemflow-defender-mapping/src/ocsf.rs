//! OCSF 1.5.0 (`builtin:defender-ocsf`): one JSON event per record.
//!
//! The class is the event type's, else the table's (Detection Finding for alerts, incidents and
//! DeviceEvents detections; Process, File System, Module, Scheduled Job, Script, Network,
//! Authentication, Account Change, Group Management, Registry, Windows Service, Email,
//! Inventory and API Activity for the streaming tables; Base Event for unknown records). Every
//! event has the classification attributes (`class_uid`, `activity_id`, `type_uid`,
//! `category_uid` and their names), `severity_id`, `time` (epoch ms; 0 when the record has no
//! time), `message`, `metadata` (`version`, `product`, `log_name` the table, `event_code` the
//! event id, `tenant_uid`), the table's fields at their OCSF paths, and `unmapped` with the other
//! columns. Objects OCSF requires an attribute of that Defender has no column for get the
//! "Unknown" value (`type_id: 0`, or 99 "Other" where the schema has no Unknown); objects OCSF
//! would reject for want of an identifying attribute are not written (their columns stay in
//! `unmapped`); a record without what its class needs ([`OcsfClass::needs`]) is a Base Event.
//! So every event validates against the schema. A field whose attribute the class does not
//! have stays in `unmapped`; `actor` and `device` on a class without them come with the host
//! profile (`metadata.profiles: ["host"]`).

use std::cell::RefCell;

use rustc_hash::FxHashMap;
use serde::Deserialize;
use serde_json::Value;
use siemflow_plugin_sdk::Output;
use siemflow_plugin_sdk::record::Record;

use crate::catalog::model::OCSF_HOST_PROFILE;
use crate::catalog::ocsf_classes::BASE_EVENT;
use crate::catalog::{Field, Kind, OcsfClass};
use crate::json_tree::{Node, Object};
use crate::json_value::typed;
use crate::options::{self, Common, Severities};
use crate::plugin::{Format, Rendered};
use crate::subject::{Subject, Used};

/// The OCSF schema version the events follow.
pub const OCSF_VERSION: &str = "1.5.0";

/// The OCSF plugin's own options (none yet: a misspelt common option is an error).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OcsfOptions {}

/// The OCSF format.
#[derive(Debug)]
pub struct OcsfFormat {
    common: Common,
    severities: Severities<u8>,
    allowed: AllowedPaths,
}

/// Whether an OCSF path belongs to a class, remembered per class and path.
/// [`OcsfClass::allows`] scans the class's attribute lists, and was asked for every field of
/// every event (4% of the plugin's time in the sandbox). Keys are the addresses and
/// lengths of the class's attribute list and of the path, both `'static`, so a key always names
/// the same content, and there are only as many keys as the mapping table has (class, path)
/// pairs.
#[derive(Debug, Default)]
struct AllowedPaths(RefCell<FxHashMap<[usize; 4], bool>>);

impl AllowedPaths {
    /// The OCSF attribute of `field` in events of `class`, with the class's answers remembered.
    fn path(&self, field: &Field, class: &OcsfClass) -> Option<&'static str> {
        field.ocsf_path(|path| {
            let key = [
                class.attributes.as_ptr() as usize,
                class.attributes.len(),
                path.as_ptr() as usize,
                path.len(),
            ];
            *self
                .0
                .borrow_mut()
                .entry(key)
                .or_insert_with(|| class.allows(path))
        })
    }
}

/// Defender levels as OCSF `severity_id` (0 Unknown, 1 Informational, 2 Low, 3 Medium, 4 High).
const DEFAULT_SEVERITIES: [u8; 5] = [0, 1, 2, 3, 4];

/// OCSF's severity names by `severity_id` (0–6).
const SEVERITY_NAMES: [&str; 7] = [
    "Unknown",
    "Informational",
    "Low",
    "Medium",
    "High",
    "Critical",
    "Fatal",
];

/// Attributes OCSF requires inside objects of these names, with their "Unknown" values, for
/// objects the mapping created without them.
const REQUIRED_IN_OBJECTS: &[(&str, &str, &str)] = &[
    ("device", "type_id", "0"),
    ("file", "type_id", "1"),
    ("module", "load_type_id", "99"),
    ("file_result", "type_id", "1"),
    ("os", "type_id", "99"),
    ("os", "name", "\"\""),
    ("analytic", "type_id", "0"),
    ("connection_info", "direction_id", "0"),
    ("api", "operation", "\"\""),
    ("databucket", "type_id", "0"),
    ("finding_info", "uid", "\"\""),
    // A previous value's key is its key's, and an unnamed value is the key's default value.
    ("prev_reg_value", "path", "\"\""),
    ("prev_reg_value", "name", "\"\""),
    ("finding_info", "title", "\"\""),
];

impl Format for OcsfFormat {
    fn new(config: Value) -> Result<Self, String> {
        let (common, OcsfOptions {}) = options::parse::<OcsfOptions>(config)?;
        let severities = common.severities(
            DEFAULT_SEVERITIES,
            |value| value.as_u64().filter(|id| *id <= 6).map(|id| id as u8),
            "an OCSF severity_id from 0 to 6",
        )?;
        Ok(Self {
            common,
            severities,
            allowed: AllowedPaths::default(),
        })
    }

    fn render(&self, subject: &Subject<'_>, _size: usize) -> Rendered {
        let chosen = subject.action.ocsf.unwrap_or(subject.table.ocsf);
        let (mut event, used) = match self.build(subject, &chosen) {
            (event, used, true) => (event, used),
            // The record lacks what its class cannot do without: a Base Event keeps it all.
            _ => {
                let (event, used, _) = self.build(subject, &BASE_EVENT);
                (event, used)
            }
        };
        let mut unmapped = Object::new();
        for (name, value) in subject.unmapped(&used) {
            unmapped.set(name, Node::raw(value.raw()));
        }
        for (key, value) in &self.common.fields {
            unmapped_or_path(&mut event, &mut unmapped, key, value);
        }
        if !unmapped.is_empty() {
            event.set("unmapped", Node::Object(unmapped));
        }
        Rendered {
            output: Output::json_text(event.to_json()),
            used,
        }
    }
}

impl OcsfFormat {
    /// The event of a record as `class`, the columns it took, and whether it holds what the
    /// class needs. Objects OCSF would reject for want of an identifying attribute (an endpoint
    /// with only a port, a process without an id) are not written: their columns stay in
    /// `unmapped`.
    fn build<'s>(
        &'s self,
        subject: &'s Subject<'_>,
        class: &OcsfClass,
    ) -> (Object<'s>, Used, bool) {
        let mut event = Object::new();
        classify(&mut event, class);
        let severity = *self.severities.of(subject.level);
        event.set("severity_id", Node::Integer(i64::from(severity)));
        event.set(
            "severity",
            Node::string(SEVERITY_NAMES[usize::from(severity).min(6)]),
        );
        let time = subject.time.map_or(0, |time| time.unix_millis());
        event.set("time", Node::Integer(time));
        event.set("message", Node::string(title_of(subject)));
        if let Some(status_id) = class.status_id {
            event.set("status_id", Node::Integer(i64::from(status_id)));
        }
        event.set("metadata", Node::Object(self.metadata(subject, class)));

        let mut written: Vec<(&'static str, &'static Field)> = Vec::new();
        let mut used = subject.map_fields(
            |field| self.allowed.path(field, class),
            |field, path, value| {
                let Some(node) = typed(field.kind, &value, true) else {
                    return false;
                };
                let done = match field.kind {
                    Kind::Hash(algorithm_id) => {
                        let mut object = Object::new();
                        object.set("algorithm_id", Node::Integer(i64::from(algorithm_id)));
                        object.set("value", node);
                        event.push_path(path, Node::Object(object))
                    }
                    _ => event.insert_path(path, node),
                };
                if done {
                    written.push((path, field));
                }
                done
            },
        );
        for field in subject
            .table
            .all_fields()
            .filter(|field| field.in_json_text)
        {
            let Some(path) = self.allowed.path(field, class) else {
                continue;
            };
            let Some(holder) = subject.json_text_value(field) else {
                continue;
            };
            let node = Record::parse(holder.as_bytes())
                .ok()
                .and_then(|record| typed(field.kind, &record.value("v")?, true))
                .map(Node::into_owned);
            if let Some(node) = node {
                event.insert_path(path, node);
            }
        }
        if class.defines("finding_info") {
            // A finding's title is the event's own, else its type's name.
            event.insert_path("finding_info.title", Node::string(title_of(subject)));
        }
        for (path, default) in class.defaults {
            if !event.contains_path(path) {
                event.insert_path(path, Node::Raw((*default).into()));
            }
        }
        complete_objects(&mut event);
        let removed = event.prune(&identified);
        let gone = |path: &str| {
            removed.iter().any(|object| {
                path.strip_prefix(object.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
            })
        };
        for (path, field) in &written {
            if !gone(path) {
                continue;
            }
            let Some((_, column)) = subject.value_of(field) else {
                continue;
            };
            let kept_elsewhere = written.iter().any(|(other_path, other)| {
                !gone(other_path)
                    && subject
                        .value_of(other)
                        .is_some_and(|(_, other_column)| other_column == column)
            });
            if !kept_elsewhere && !subject.is_header_column(column) {
                used.forget(column);
            }
        }
        if OCSF_HOST_PROFILE
            .iter()
            .any(|attribute| !class.defines(attribute) && event.get(attribute).is_some())
        {
            event.insert_path("metadata.profiles", Node::Raw("[\"host\"]".into()));
        }
        let fits = class.needs.iter().all(|need| {
            need.split('|')
                .any(|attribute| event.contains_path(attribute))
        });
        (event, used, fits)
    }

    /// `metadata`: schema version, product, and where the event came from.
    fn metadata<'s>(&'s self, subject: &'s Subject<'_>, class: &OcsfClass) -> Object<'s> {
        let mut product = Object::new();
        let name = subject.product();
        product.set(
            "name",
            Node::string(
                self.common
                    .product
                    .as_deref()
                    .map_or(name, std::borrow::Cow::Borrowed),
            ),
        );
        product.set("vendor_name", Node::string(self.common.vendor()));
        let mut metadata = Object::new();
        metadata.set("version", Node::string(OCSF_VERSION));
        metadata.set("product", Node::Object(product));
        metadata.set("log_name", Node::string(subject.table.name));
        metadata.set("event_code", Node::string(&subject.event_id));
        if class.class_uid >= 100_000 {
            // Extension classes (the Windows extension's registry and service classes) say
            // which extension defines them.
            metadata.set(
                "extensions",
                Node::Raw(
                    format!(r#"[{{"name":"win","uid":"2","version":"{OCSF_VERSION}"}}]"#).into(),
                ),
            );
        }
        metadata
    }
}

/// The event's own title, else its type's name.
fn title_of<'s>(subject: &'s Subject<'_>) -> std::borrow::Cow<'s, str> {
    subject
        .title()
        .unwrap_or(std::borrow::Cow::Borrowed(subject.action.name))
}

/// The classification attributes of a class and activity.
fn classify(event: &mut Object<'_>, class: &OcsfClass) {
    event.set("class_uid", Node::Integer(i64::from(class.class_uid)));
    event.set("class_name", Node::string(class.class_name));
    event.set(
        "category_uid",
        Node::Integer(i64::from(class.category_uid())),
    );
    event.set(
        "category_name",
        Node::string(category_name(class.category_uid())),
    );
    event.set("activity_id", Node::Integer(i64::from(class.activity_id)));
    event.set("activity_name", Node::string(class.activity_name));
    event.set("type_uid", Node::Raw(class.type_uid().to_string().into()));
    event.set(
        "type_name",
        Node::string(format!("{}: {}", class.class_name, class.activity_name)),
    );
}

/// OCSF's category names.
fn category_name(category_uid: u32) -> &'static str {
    match category_uid {
        0 => "Uncategorized",
        1 => "System Activity",
        2 => "Findings",
        3 => "Identity & Access Management",
        4 => "Network Activity",
        5 => "Discovery",
        6 => "Application Activity",
        7 => "Remediation",
        8 => "Unmanned Systems",
        _ => "Uncategorized",
    }
}

/// Adds the attributes OCSF requires to objects the mapping created without them: the
/// "Unknown" enum value, and a file's `name` from its `path`.
fn complete_objects(event: &mut Object<'_>) {
    event.visit_objects(&mut |key, object| {
        if matches!(key, "file" | "file_result") && object.get("name").is_none() {
            let name = object.get("path").and_then(Node::as_text).and_then(|path| {
                path.rsplit(['\\', '/'])
                    .next()
                    .map(|name| Node::string(name.to_string()))
            });
            object.set("name", name.unwrap_or_else(|| Node::string("")));
        }
        for (object_key, attribute, value) in REQUIRED_IN_OBJECTS {
            if *object_key == key && object.get(attribute).is_none() {
                object.set(*attribute, Node::Raw((*value).into()));
            }
        }
    });
}

/// Objects OCSF 1.5.0 constrains, by the attribute names that hold them, with the attributes of
/// which they need at least one.
const IDENTIFIED_BY: &[(&[&str], &[&str])] = &[
    (
        &["src_endpoint", "dst_endpoint"],
        &[
            "ip",
            "uid",
            "name",
            "hostname",
            "svc_name",
            "instance_uid",
            "interface_uid",
            "interface_name",
            "domain",
        ],
    ),
    (
        &["device"],
        &[
            "ip",
            "uid",
            "name",
            "hostname",
            "instance_uid",
            "interface_uid",
            "interface_name",
        ],
    ),
    (&["process", "parent_process"], &["pid", "uid", "cpid"]),
    (&["user"], &["account", "name", "uid"]),
    (
        &["actor"],
        &[
            "process",
            "user",
            "invoked_by",
            "session",
            "app_name",
            "app_uid",
        ],
    ),
    (
        &[
            "group",
            "service",
            "analytic",
            "feature",
            "policy",
            "malware_scan_info",
        ],
        &["name", "uid"],
    ),
    (&["url"], &["url_string", "path"]),
    (&["script"], &["script_content"]),
    (&["databucket"], &["uid", "name"]),
    (&["job"], &["name"]),
    (&["email"], &["from", "to"]),
    (
        &["win_service"],
        &[
            "cmd_line",
            "service_category_id",
            "service_dependencies",
            "service_error_control_id",
            "service_start_name",
            "service_start_type_id",
            "service_type_id",
        ],
    ),
];

/// Whether an object under `key` has what OCSF needs of it (objects OCSF does not constrain
/// are kept unless empty).
fn identified(key: &str, object: &Object<'_>) -> bool {
    match IDENTIFIED_BY.iter().find(|(keys, _)| keys.contains(&key)) {
        Some((_, any_of)) => any_of
            .iter()
            .any(|attribute| object.get(attribute).is_some()),
        None => !object.is_empty(),
    }
}

/// A static field: a dotted path (`metadata.log_provider`) where it is free; anything else in
/// `unmapped` under its key, so that no attribute OCSF does not define is added.
fn unmapped_or_path<'a>(
    event: &mut Object<'a>,
    unmapped: &mut Object<'a>,
    key: &'a str,
    value: &'a str,
) {
    if key.contains('.') && !event.contains_path(key) && event.insert_path(key, Node::string(value))
    {
        return;
    }
    unmapped.set(key, Node::string(value));
}
