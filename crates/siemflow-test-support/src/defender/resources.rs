//! The four list-and-update APIs over in-memory collections: Defender for Endpoint `/api/alerts`,
//! Defender XDR `/api/incidents`, and Graph `/security/alerts_v2` and `/security/incidents`.
//!
//! Items keep their insertion order (an update changes an item in place; it does not move), which
//! is what makes `$skip` paging over a `lastUpdateTime ge X` filter lose nothing: the filtered set
//! only grows while a client pages through it. The real services do not document their order.
//!
//! Page sizes: `/api/alerts` up to 10,000 and `/api/incidents` up to 100 (documented); Graph's
//! are not documented, 2,000 for alerts and 50 for incidents here. A full page that has more
//! behind it carries `@odata.nextLink` (`$skip` for the Defender APIs, an opaque `$skiptoken`
//! for Graph), unless a fault removes it.

use std::collections::HashMap;
use std::time::SystemTime;

use base64::Engine;
use serde_json::{Map, Value, json};

use super::odata::{Query, format_time};

/// Which API a collection serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `GET/PATCH /api/alerts` (Defender for Endpoint).
    MdeAlerts,
    /// `GET /api/incidents` (Defender XDR).
    XdrIncidents,
    /// `GET/PATCH /v1.0/security/alerts_v2` (Graph).
    GraphAlerts,
    /// `GET /v1.0/security/incidents` (Graph).
    GraphIncidents,
}

impl Kind {
    /// The id property.
    pub fn id_field(self) -> &'static str {
        match self {
            Self::XdrIncidents => "incidentId",
            _ => "id",
        }
    }

    /// The last-update property.
    pub fn time_field(self) -> &'static str {
        match self {
            Self::MdeAlerts | Self::XdrIncidents => "lastUpdateTime",
            Self::GraphAlerts | Self::GraphIncidents => "lastUpdateDateTime",
        }
    }

    fn max_top(self) -> usize {
        match self {
            Self::MdeAlerts => 10_000,
            Self::XdrIncidents => 100,
            Self::GraphAlerts => 2_000,
            Self::GraphIncidents => 50,
        }
    }

    fn filterable(self) -> &'static [&'static str] {
        match self {
            Self::MdeAlerts => &[
                "alertCreationTime",
                "lastUpdateTime",
                "incidentId",
                "InvestigationId",
                "id",
                "assignedTo",
                "detectionSource",
                "lastEventTime",
                "status",
                "severity",
                "category",
            ],
            Self::XdrIncidents => &["lastUpdateTime", "createdTime", "status", "assignedTo"],
            Self::GraphAlerts => &[
                "assignedTo",
                "classification",
                "determination",
                "createdDateTime",
                "lastUpdateDateTime",
                "severity",
                "serviceSource",
                "status",
            ],
            Self::GraphIncidents => &[
                "assignedTo",
                "classification",
                "createdDateTime",
                "determination",
                "lastUpdateDateTime",
                "severity",
                "status",
            ],
        }
    }

    fn context(self, base: &str) -> String {
        match self {
            Self::MdeAlerts => format!("{base}/api/$metadata#Alerts"),
            Self::XdrIncidents => format!("{base}/api/$metadata#Incidents"),
            Self::GraphAlerts => format!("{base}/v1.0/$metadata#security/alerts_v2"),
            Self::GraphIncidents => format!("{base}/v1.0/$metadata#security/incidents"),
        }
    }

    /// The collection's path.
    pub fn path(self) -> &'static str {
        match self {
            Self::MdeAlerts => "/api/alerts",
            Self::XdrIncidents => "/api/incidents",
            Self::GraphAlerts => "/v1.0/security/alerts_v2",
            Self::GraphIncidents => "/v1.0/security/incidents",
        }
    }
}

/// One collection.
#[derive(Debug)]
pub struct Collection {
    kind: Kind,
    items: Vec<Value>,
    index: HashMap<String, usize>,
}

/// An error the API answers with: status, OData error code, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// `error.code`.
    pub code: &'static str,
    /// `error.message`.
    pub message: String,
}

impl ApiError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
}

/// An id as text, whatever JSON type it has.
pub fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

impl Collection {
    /// An empty collection.
    pub fn new(kind: Kind) -> Self {
        Self {
            kind,
            items: Vec::new(),
            index: HashMap::new(),
        }
    }

    /// Items in server order.
    pub fn items(&self) -> &[Value] {
        &self.items
    }

    /// Adds an item or replaces the one with its id (keeping its place); its id property must be
    /// set. Returns the id.
    pub fn upsert(&mut self, item: Value) -> String {
        let id = item
            .get(self.kind.id_field())
            .and_then(id_text)
            .unwrap_or_else(|| panic!("a {:?} item needs `{}`", self.kind, self.kind.id_field()));
        match self.index.get(&id) {
            Some(&position) => self.items[position] = item,
            None => {
                self.index.insert(id.clone(), self.items.len());
                self.items.push(item);
            }
        }
        id
    }

    /// The item with `id`.
    pub fn get(&self, id: &str) -> Option<&Value> {
        self.index.get(id).map(|&position| &self.items[position])
    }

    /// Changes an item in place and stamps its last-update time; `None` if there is no such id.
    pub fn update(
        &mut self,
        id: &str,
        change: impl FnOnce(&mut Map<String, Value>),
    ) -> Option<Value> {
        let position = *self.index.get(id)?;
        let time_field = self.kind.time_field();
        let item = self.items[position].as_object_mut()?;
        change(item);
        item.insert(
            time_field.into(),
            Value::String(format_time(SystemTime::now())),
        );
        Some(Value::Object(item.clone()))
    }

    /// One page of a list request: the response body. `base` is the server's URL, used in
    /// `@odata.context` and `@odata.nextLink`; `raw_query` is the request's query string.
    pub fn list(
        &self,
        base: &str,
        query: &Query,
        raw_query: &str,
        omit_next_link: bool,
    ) -> Result<Value, ApiError> {
        for clause in &query.filter {
            if !self.kind.filterable().contains(&clause.field.as_str()) {
                return Err(ApiError::new(
                    400,
                    "BadRequest",
                    format!("Filtering by '{}' is not supported.", clause.field),
                ));
            }
        }
        let top = query.top.unwrap_or(self.kind.max_top());
        if top > self.kind.max_top() {
            return Err(ApiError::new(
                400,
                "BadRequest",
                format!(
                    "Invalid value for $top: the maximum is {}.",
                    self.kind.max_top()
                ),
            ));
        }
        let skip = match &query.skiptoken {
            Some(token) => decode_skiptoken(token)?,
            None => query.skip,
        };
        let mut matching = Vec::new();
        for item in &self.items {
            let mut keep = true;
            for clause in &query.filter {
                keep &= clause
                    .matches(item)
                    .map_err(|message| ApiError::new(400, "BadRequest", message))?;
            }
            if keep {
                matching.push(item);
            }
        }
        let page: Vec<Value> = matching
            .iter()
            .skip(skip)
            .take(top)
            .map(|item| self.shape(item, query.expand.as_deref()))
            .collect();
        let more = skip + page.len() < matching.len();
        let mut body = json!({
            "@odata.context": self.kind.context(base),
            "value": page,
        });
        if more && !omit_next_link {
            body["@odata.nextLink"] = Value::String(self.next_link(base, raw_query, skip + top));
        }
        Ok(body)
    }

    /// What a list shows of an item: MDE evidence only with `$expand=evidence`, Graph incident
    /// alerts only with `$expand=alerts`.
    fn shape(&self, item: &Value, expand: Option<&str>) -> Value {
        let hidden = match self.kind {
            Kind::MdeAlerts if expand != Some("evidence") => Some("evidence"),
            Kind::GraphIncidents if expand != Some("alerts") => Some("alerts"),
            _ => None,
        };
        match (hidden, item) {
            (Some(field), Value::Object(map)) => {
                let mut map = map.clone();
                map.remove(field);
                Value::Object(map)
            }
            _ => item.clone(),
        }
    }

    fn next_link(&self, base: &str, raw_query: &str, next: usize) -> String {
        let kept: Vec<(String, String)> = url::form_urlencoded::parse(raw_query.as_bytes())
            .filter(|(key, _)| key != "$skip" && key != "$skiptoken")
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect();
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in &kept {
            serializer.append_pair(key, value);
        }
        match self.kind {
            Kind::GraphAlerts | Kind::GraphIncidents => {
                let token = base64::engine::general_purpose::STANDARD
                    .encode(format!("{{\"skip\":{next}}}"));
                serializer.append_pair("$skiptoken", &token);
            }
            Kind::MdeAlerts | Kind::XdrIncidents => {
                serializer.append_pair("$skip", &next.to_string());
            }
        }
        format!("{base}{}?{}", self.kind.path(), serializer.finish())
    }
}

fn decode_skiptoken(token: &str) -> Result<usize, ApiError> {
    let bad = || ApiError::new(400, "BadRequest", "Invalid $skiptoken.");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token)
        .map_err(|_| bad())?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    value
        .get("skip")
        .and_then(Value::as_u64)
        .map(|skip| skip as usize)
        .ok_or_else(bad)
}

const MDE_STATUS: &[&str] = &["New", "InProgress", "Resolved"];
const MDE_CLASSIFICATION: &[&str] = &[
    "TruePositive",
    "InformationalExpectedActivity",
    "FalsePositive",
];
const MDE_DETERMINATION: &[&str] = &[
    "MultiStagedAttack",
    "MaliciousUserActivity",
    "CompromisedUser",
    "Malware",
    "Phishing",
    "UnwantedSoftware",
    "Other",
    "SecurityTesting",
    "LineOfBusinessApplication",
    "ConfirmedActivity",
    "ConfirmedUserActivity",
    "NotMalicious",
    "Clean",
    "InsufficientData",
];
const GRAPH_STATUS: &[&str] = &["unknown", "new", "inProgress", "resolved"];
const GRAPH_CLASSIFICATION: &[&str] = &[
    "unknown",
    "falsePositive",
    "truePositive",
    "informationalExpectedActivity",
];
const GRAPH_DETERMINATION: &[&str] = &[
    "unknown",
    "apt",
    "malware",
    "securityPersonnel",
    "securityTesting",
    "unwantedSoftware",
    "other",
    "multiStagedAttack",
    "compromisedAccount",
    "phishing",
    "maliciousUserActivity",
    "notMalicious",
    "notEnoughDataToValidate",
    "confirmedUserActivity",
    "confirmedActivity",
    "lineOfBusinessApplication",
];

/// Validates and applies a PATCH body to an alert; the updated alert.
///
/// Defender for Endpoint takes `status`, `assignedTo`, `classification`, `determination` and
/// `comment` (appended to `comments`); Graph takes the first four (comments are a separate
/// POST). Property names and enum values are case-sensitive; anything else is a 400.
pub fn patch_alert(
    collection: &mut Collection,
    id: &str,
    body: &[u8],
    author: &str,
) -> Result<Value, ApiError> {
    let kind = collection.kind;
    let bad = |message: String| ApiError::new(400, "InvalidRequestBody", message);
    let body: Value = serde_json::from_slice(body)
        .map_err(|error| bad(format!("Request body is not valid JSON: {error}")))?;
    let Value::Object(fields) = body else {
        return Err(bad("Request body must be a JSON object.".into()));
    };
    if fields.is_empty() {
        return Err(bad("Request body has no property to update.".into()));
    }
    let (status, classification, determination, comment) = match kind {
        Kind::MdeAlerts => (MDE_STATUS, MDE_CLASSIFICATION, MDE_DETERMINATION, true),
        Kind::GraphAlerts => (
            GRAPH_STATUS,
            GRAPH_CLASSIFICATION,
            GRAPH_DETERMINATION,
            false,
        ),
        _ => {
            return Err(ApiError::new(
                405,
                "MethodNotAllowed",
                "PATCH is not supported here.",
            ));
        }
    };
    for (name, value) in &fields {
        let allowed: Option<&[&str]> = match name.as_str() {
            "status" => Some(status),
            "classification" => Some(classification),
            "determination" => Some(determination),
            "assignedTo" => None,
            "comment" if comment => None,
            other => return Err(bad(format!("Property '{other}' cannot be updated."))),
        };
        let Some(text) = value.as_str() else {
            return Err(bad(format!("Property '{name}' must be a string.")));
        };
        if let Some(allowed) = allowed
            && !allowed.contains(&text)
        {
            return Err(bad(format!(
                "Invalid value '{text}' for property '{name}'."
            )));
        }
    }
    let now = format_time(SystemTime::now());
    collection
        .update(id, |alert| {
            for (name, value) in fields {
                if name == "comment" {
                    let entry = json!({"comment": value, "createdBy": author, "createdTime": now});
                    match alert.get_mut("comments") {
                        Some(Value::Array(comments)) => comments.push(entry),
                        _ => {
                            alert.insert("comments".into(), Value::Array(vec![entry]));
                        }
                    }
                } else {
                    alert.insert(name, value);
                }
            }
        })
        .ok_or_else(|| not_found(kind, id))
}

/// Graph `POST /security/alerts_v2/{id}/comments`: appends a comment; the comments.
pub fn comment_alert(
    collection: &mut Collection,
    id: &str,
    body: &[u8],
    author: &str,
) -> Result<Value, ApiError> {
    let bad = |message: &str| ApiError::new(400, "BadRequest", message);
    let body: Value =
        serde_json::from_slice(body).map_err(|_| bad("Request body is not valid JSON."))?;
    let Some(text) = body.get("comment").and_then(Value::as_str) else {
        return Err(bad("The 'comment' property is required."));
    };
    let entry = json!({
        "@odata.type": "microsoft.graph.security.alertComment",
        "comment": text,
        "createdByDisplayName": author,
        "createdDateTime": format_time(SystemTime::now()),
    });
    let updated = collection
        .update(id, |alert| match alert.get_mut("comments") {
            Some(Value::Array(comments)) => comments.push(entry),
            _ => {
                alert.insert("comments".into(), Value::Array(vec![entry]));
            }
        })
        .ok_or_else(|| not_found(Kind::GraphAlerts, id))?;
    Ok(json!({
        "@odata.context": "$metadata#Collection(microsoft.graph.security.alertComment)",
        "value": updated.get("comments").cloned().unwrap_or(Value::Array(Vec::new())),
    }))
}

/// The 404 each API gives for an unknown id.
pub fn not_found(kind: Kind, id: &str) -> ApiError {
    match kind {
        Kind::MdeAlerts => ApiError::new(404, "NotFound", format!("Alert {id} was not found")),
        Kind::GraphAlerts => ApiError::new(
            404,
            "NotFound",
            format!("Resource not found for the segment 'alerts_v2' with id '{id}'."),
        ),
        Kind::XdrIncidents | Kind::GraphIncidents => {
            ApiError::new(404, "NotFound", format!("Incident {id} was not found"))
        }
    }
}
