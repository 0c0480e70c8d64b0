//! The shape of the mapping table: what one event type says about itself and its fields.
//!
//! Everything here is `const`: the table is data compiled into each plugin, read by the
//! renderers and by the generator of `docs/mappings.md`.

use super::cim::CimValue;

/// Defender's severity levels, the common scale every format's own scale is derived from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// No severity given and none implied by the event type.
    Unknown,
    /// Informational.
    Informational,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Level; 5] = [
        Level::Unknown,
        Level::Informational,
        Level::Low,
        Level::Medium,
        Level::High,
    ];

    /// The name used in configuration (`severity_map`) and docs.
    pub const fn name(self) -> &'static str {
        match self {
            Level::Unknown => "unknown",
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
        }
    }

    /// Reads a Defender severity in any API's spelling (`High`, `high`, `UnSpecified`).
    pub fn parse(text: &str) -> Option<Level> {
        Level::ALL
            .into_iter()
            .find(|level| text.eq_ignore_ascii_case(level.name()))
            .or_else(|| {
                ["unspecified", "unknownfuturevalue"]
                    .iter()
                    .any(|name| text.eq_ignore_ascii_case(name))
                    .then_some(Level::Unknown)
            })
    }
}

/// A QRadar-style two-level category: the High-Level and Low-Level Category a QID carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Category {
    /// The high-level category, e.g. `Authentication`.
    pub high: &'static str,
    /// The low-level category, e.g. `Host Login Failed`.
    pub low: &'static str,
}

/// An OCSF event class and the activity an event type is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OcsfClass {
    /// `class_uid` (`category_uid * 1000 + class id`; 0 is the Base Event).
    pub class_uid: u32,
    /// The class's name, e.g. `Process Activity`.
    pub class_name: &'static str,
    /// `activity_id` (99 is Other).
    pub activity_id: u32,
    /// The activity's name, e.g. `Launch`.
    pub activity_name: &'static str,
    /// `status_id` (OCSF's outcome: 1 Success, 2 Failure) when the event type implies one.
    pub status_id: Option<u32>,
    /// The class's own top-level attributes (beyond the Base Event's, and the host profile's
    /// `actor` and `device`): a field mapped to another class's attribute is left to `unmapped`.
    pub attributes: &'static [&'static str],
    /// Attributes the class requires that Defender has no column for, set when absent:
    /// `(dotted path, JSON value)`, e.g. `("device.type_id", "0")`.
    pub defaults: &'static [(&'static str, &'static str)],
    /// What the class cannot do without: attributes (`a|b` for either) the event must hold
    /// once the fields are mapped, else it is a Base Event (a record without the data the
    /// class requires, such as a logon without the account).
    pub needs: &'static [&'static str],
}

/// The Base Event's attributes, which every class has.
pub const OCSF_BASE_ATTRIBUTES: &[&str] = &[
    "activity_id",
    "activity_name",
    "category_name",
    "category_uid",
    "class_name",
    "class_uid",
    "count",
    "duration",
    "end_time",
    "enrichments",
    "message",
    "metadata",
    "observables",
    "raw_data",
    "raw_data_size",
    "severity",
    "severity_id",
    "start_time",
    "status",
    "status_code",
    "status_detail",
    "status_id",
    "time",
    "timezone_offset",
    "type_name",
    "type_uid",
    "unmapped",
];

/// The attributes the OCSF host profile adds to any class.
pub const OCSF_HOST_PROFILE: &[&str] = &["actor", "device"];

impl OcsfClass {
    /// Whether an attribute path (`actor.process.pid`) belongs to this class, with the host
    /// profile.
    pub fn allows(&self, path: &str) -> bool {
        let top = path.split('.').next().unwrap_or(path);
        OCSF_BASE_ATTRIBUTES.contains(&top)
            || OCSF_HOST_PROFILE.contains(&top)
            || self.attributes.contains(&top)
    }

    /// Whether the class has `attribute` without the host profile.
    pub fn defines(&self, attribute: &str) -> bool {
        OCSF_BASE_ATTRIBUTES.contains(&attribute) || self.attributes.contains(&attribute)
    }

    /// `category_uid`: the thousands of `class_uid`.
    pub const fn category_uid(&self) -> u32 {
        // Extension classes add `extension uid * 100000` (the Windows extension's 201001 is
        // System Activity, category 1).
        self.class_uid % 100_000 / 1000
    }

    /// `type_uid = class_uid * 100 + activity_id`, as OCSF defines it.
    pub const fn type_uid(&self) -> u64 {
        self.class_uid as u64 * 100 + self.activity_id as u64
    }

    /// The same class and activity with an outcome.
    pub const fn with_status(mut self, status_id: u32) -> Self {
        self.status_id = Some(status_id);
        self
    }

    /// The same class with another activity.
    pub const fn activity(mut self, activity_id: u32, activity_name: &'static str) -> Self {
        self.activity_id = activity_id;
        self.activity_name = activity_name;
        self
    }
}

/// How a field's value is typed in the JSON formats (CEF and LEEF write text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Kept as received (string, number, boolean).
    Plain,
    /// A time: OCSF wants epoch milliseconds, CEF epoch milliseconds, the rest RFC 3339.
    Time,
    /// An integer (a number, or a string that holds one).
    Integer,
    /// Stringified JSON (`AdditionalFields`): parsed into JSON for the JSON formats.
    Json,
    /// A hash: an OCSF fingerprint `{algorithm_id, value}` appended to the `hashes` list the
    /// OCSF path names (1 MD5, 2 SHA-1, 3 SHA-256).
    Hash(u8),
    /// A name OCSF has an enum for: the matching `(name, id)` gives the OCSF integer (any
    /// case); other formats write the name.
    Lookup(&'static [(&'static str, i64)]),
    /// MITRE ATT&CK technique ids (a JSON array, or its text): OCSF `attacks` objects.
    Techniques,
    /// Text in OCSF, which types the attribute a string (`metadata.uid` from a numeric
    /// `ReportId`); kept as received elsewhere.
    Text,
    /// A list in OCSF, which types the attribute an array (`email.to`): a single value becomes
    /// a one-item list; kept as received elsewhere.
    List,
    /// An e-mail address (or, with `true`, a list of them in OCSF). OCSF's `email_t` is ASCII:
    /// an internationalized local part is written percent-encoded there, an address whose
    /// domain does not fit is left to `unmapped`; kept as received elsewhere.
    Email(bool),
    /// An IP address: OCSF's `ip_t` takes only one, so anything else is left to `unmapped`
    /// there; kept as received elsewhere.
    Ip,
}

/// One field of an event type: where it comes from and where it goes in each format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The columns it is read from, the first that has a value wins; `a.b` reads `b` inside
    /// the object `a`.
    pub sources: &'static [&'static str],
    /// The CEF extension key.
    pub cef: Option<&'static str>,
    /// A CEF custom-string label: with `cef: Some("cs1")`, `cs1Label` gets this.
    pub cef_label: Option<&'static str>,
    /// The LEEF attribute key.
    pub leef: Option<&'static str>,
    /// The Splunk CIM field name.
    pub cim: Option<&'static str>,
    /// How the value is converted to CIM's spelling, when it is not written as received.
    pub cim_value: Option<CimValue>,
    /// The OCSF attribute, a dotted path (`actor.process.cmd_line`).
    pub ocsf: Option<&'static str>,
    /// The OCSF attribute when the event's class has no `ocsf` (a registry key is `reg_key.path`
    /// in a key event and `reg_value.path` in a value event).
    pub ocsf_else: Option<&'static str>,
    /// The value's type in the JSON formats.
    pub kind: Kind,
    /// The sources name a key inside a column of stringified JSON (`AdditionalFields.TaskName`):
    /// only OCSF reads it, and the column itself stays where it goes (in `unmapped`), so
    /// nothing is lost.
    pub in_json_text: bool,
}

/// A field read from `sources`, mapped nowhere yet.
pub const fn from(sources: &'static [&'static str]) -> Field {
    Field {
        sources,
        cef: None,
        cef_label: None,
        leef: None,
        cim: None,
        cim_value: None,
        ocsf: None,
        ocsf_else: None,
        kind: Kind::Plain,
        in_json_text: false,
    }
}

impl Field {
    /// Maps the field to a CEF key.
    pub const fn cef(mut self, key: &'static str) -> Self {
        self.cef = Some(key);
        self
    }

    /// Maps the field to a labelled CEF custom field (`cs1` + `cs1Label`).
    pub const fn cef_custom(mut self, key: &'static str, label: &'static str) -> Self {
        self.cef = Some(key);
        self.cef_label = Some(label);
        self
    }

    /// Maps the field to a LEEF key.
    pub const fn leef(mut self, key: &'static str) -> Self {
        self.leef = Some(key);
        self
    }

    /// Maps the field to a CIM field.
    pub const fn cim(mut self, name: &'static str) -> Self {
        self.cim = Some(name);
        self
    }

    /// Maps the field to a CIM field, its value converted to CIM's spelling.
    pub const fn cim_as(mut self, name: &'static str, value: CimValue) -> Self {
        self.cim = Some(name);
        self.cim_value = Some(value);
        self
    }

    /// Maps the field to an OCSF attribute.
    pub const fn ocsf(mut self, path: &'static str) -> Self {
        self.ocsf = Some(path);
        self
    }

    /// Maps the field to an OCSF attribute, or to `other` in classes without the first.
    pub const fn ocsf_or(mut self, path: &'static str, other: &'static str) -> Self {
        self.ocsf = Some(path);
        self.ocsf_else = Some(other);
        self
    }

    /// The OCSF attribute of this field in events of a class, given whether the class has a
    /// path ([`OcsfClass::allows`], or a remembered answer of it).
    pub fn ocsf_path(&self, mut allows: impl FnMut(&'static str) -> bool) -> Option<&'static str> {
        self.ocsf
            .filter(|path| allows(path))
            .or_else(|| self.ocsf_else.filter(|path| allows(path)))
    }

    /// Types the value.
    pub const fn kind(mut self, kind: Kind) -> Self {
        self.kind = kind;
        self
    }

    /// Reads the sources inside a column of stringified JSON (see [`Field::in_json_text`]).
    pub const fn in_json_text(mut self) -> Self {
        self.in_json_text = true;
        self
    }
}

/// One event type: an ActionType of a table, an alert category, or a table without actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action {
    /// The value of the table's action column (`ProcessCreated`, `Execution`); `*` for the
    /// entry that covers values the table does not list.
    pub value: &'static str,
    /// The event's name in the SIEM.
    pub name: &'static str,
    /// The QRadar-style category.
    pub category: Category,
    /// The severity when the record carries none.
    pub severity: Level,
    /// The OCSF class and activity, when not the table's.
    pub ocsf: Option<OcsfClass>,
    /// The CIM `action` value (`success`, `failure`, `created`, `allowed`...), when there is one.
    pub cim_action: Option<&'static str>,
    /// The CIM dataset of this event type, when not its table's (DeviceEvents' antivirus
    /// detections are Malware attacks).
    pub cim_dataset: Option<&'static str>,
}

/// An action entry.
pub const fn action(
    value: &'static str,
    name: &'static str,
    high: &'static str,
    low: &'static str,
    severity: Level,
) -> Action {
    Action {
        value,
        name,
        category: Category { high, low },
        severity,
        ocsf: None,
        cim_action: None,
        cim_dataset: None,
    }
}

impl Action {
    /// Sets the OCSF class and activity.
    pub const fn ocsf(mut self, class: OcsfClass) -> Self {
        self.ocsf = Some(class);
        self
    }

    /// Sets the CIM `action`.
    pub const fn cim_action(mut self, action: &'static str) -> Self {
        self.cim_action = Some(action);
        self
    }

    /// Sets the CIM dataset, for an event type of another dataset than its table's.
    pub const fn cim_dataset(mut self, dataset: &'static str) -> Self {
        self.cim_dataset = Some(dataset);
        self
    }

    /// Whether this entry covers the values the table does not list.
    pub const fn is_fallback(&self) -> bool {
        matches!(self.value.as_bytes(), b"*")
    }
}

/// Where the records of an event table come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A streaming API table (Event Hubs or the storage export).
    Streaming,
    /// A REST API resource.
    Rest,
    /// Anything siemflow does not know: mapped generically.
    Unknown,
}

/// One table of the mapping: a streaming table, a REST resource, or the generic fallback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    /// The table's name (`DeviceProcessEvents`, `Alert`, `Incident`).
    pub name: &'static str,
    /// Where its records come from.
    pub origin: Origin,
    /// The REST APIs or the note shown in the docs.
    pub note: &'static str,
    /// The column that selects the action entry (`ActionType`, `Category`), if any.
    pub action_column: Option<&'static str>,
    /// The event types; the last is the fallback (`*`) when the table has an action column.
    pub actions: &'static [Action],
    /// The fields, in groups shared between tables.
    pub fields: &'static [&'static [Field]],
    /// The columns of the record's severity, if it carries one.
    pub severity_columns: &'static [&'static str],
    /// The columns of the event's time, the first that parses wins.
    pub time_columns: &'static [&'static str],
    /// The OCSF class of the table's events (an action may choose another).
    pub ocsf: OcsfClass,
    /// The Splunk sourcetype.
    pub sourcetype: &'static str,
    /// The CIM data model the fields follow (documentation, and Splunk's `tag`).
    pub cim_model: &'static str,
    /// The CEF Device Product and LEEF Product when the record names no product.
    pub product: &'static str,
}

impl Table {
    /// Every field, in order.
    pub fn all_fields(&self) -> impl Iterator<Item = &'static Field> + '_ {
        self.fields.iter().flat_map(|group| group.iter())
    }

    /// The entry for an action value: the listed one, else the fallback, else the only one.
    pub fn action_for(&self, value: Option<&str>) -> &'static Action {
        let listed = value.and_then(|value| {
            self.actions
                .iter()
                .find(|action| !action.is_fallback() && action.value.eq_ignore_ascii_case(value))
        });
        let fallback = || {
            self.actions
                .iter()
                .find(|action| action.is_fallback())
                .or(self.actions.first())
        };
        match listed.or_else(fallback) {
            Some(action) => action,
            None => &crate::catalog::GENERIC_ACTION,
        }
    }
}
