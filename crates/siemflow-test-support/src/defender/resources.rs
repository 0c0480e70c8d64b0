//! The four list-and-update APIs over in-memory collections: Defender for Endpoint `/api/alerts`,
//! Defender XDR `/api/incidents`, and Graph `/security/alerts_v2` and `/security/incidents`.
//!
//! Defender for Endpoint and XDR items keep their insertion order (an update changes an item in
//! place; it does not move), and their documented page sizes are enforced: `$top` up to 10,000
//! for `/api/alerts` and 100 for `/api/incidents`, a 400 above.
//!
//! Graph behaves as it does on large tenants (`shared/reference/defender-apis.md` section 7),
//! with [`ScaleLimits`]:
//!
//! - `$top` above 1,000 on `alerts_v2` is clamped to 1,000 without a word; above 50 on
//!   `incidents` it is a 400 with Graph's own message;
//! - a query can be paged only so far ([`ScaleLimits::paging_cap`], 6,000 items): `$skip` + `$top`
//!   beyond it is a 400, and the `@odata.nextLink` simply stops there, as if the list had ended;
//! - `$expand=alerts` together with `$filter` on the incident list answers 500 whenever the page
//!   holds an incident with more than [`ScaleLimits::list_expand_alert_limit`] (150) alerts;
//!   `GET /security/incidents/{id}?$expand=alerts` works;
//! - the default order is the documented "most recent at the top" (by `createdDateTime`);
//!   `$orderby` on one date property, undocumented but answered, sorts as asked; `$count=true`
//!   adds `@odata.count`.
//!
//! A full page that has more behind it carries `@odata.nextLink` (`$skip` for the Defender APIs,
//! an opaque `$skiptoken` for Graph), unless a fault removes it or the paging cap is reached.

use std::collections::{HashMap, HashSet};
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

    /// The largest `$top` the API takes, and whether it clamps a larger one (Graph `alerts_v2`)
    /// rather than refusing it.
    fn max_top(self) -> (usize, bool) {
        match self {
            Self::MdeAlerts => (10_000, false),
            Self::XdrIncidents => (100, false),
            Self::GraphAlerts => (1_000, true),
            Self::GraphIncidents => (50, false),
        }
    }

    fn is_graph(self) -> bool {
        matches!(self, Self::GraphAlerts | Self::GraphIncidents)
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

/// Graph's limits on large tenants (see the module docs); they apply to the Graph collections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaleLimits {
    /// How many items into one query a client can page (`$skip` + `$top`, or nextLinks); `None`
    /// for no limit.
    pub paging_cap: Option<usize>,
    /// `$expand=alerts` with `$filter` on the incident list answers 500 when the page holds an
    /// incident with more alerts than this; `None` for never.
    pub list_expand_alert_limit: Option<usize>,
    /// `GET /security/incidents/{id}?$expand=alerts` answers 500 for an incident with more alerts
    /// than this; `None` (the default: nothing says it fails) for never.
    pub single_expand_alert_limit: Option<usize>,
}

impl Default for ScaleLimits {
    fn default() -> Self {
        Self {
            paging_cap: Some(6_000),
            list_expand_alert_limit: Some(150),
            single_expand_alert_limit: None,
        }
    }
}

/// One collection.
#[derive(Debug)]
pub struct Collection {
    kind: Kind,
    items: Vec<Value>,
    index: HashMap<String, usize>,
    /// Every version that ever existed, in order: `(id, last-update time)`.
    history: Vec<(String, String)>,
    /// The versions a list or a get has answered with.
    served: HashSet<(String, String)>,
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
    /// An error with its status, code and message.
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// A 400 `BadRequest`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
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
            history: Vec::new(),
            served: HashSet::new(),
        }
    }

    /// Items in server order.
    pub fn items(&self) -> &[Value] {
        &self.items
    }

    /// `(id, last-update time)` of an item: the key of one version of it.
    pub fn version_of(&self, item: &Value) -> (String, String) {
        (
            item.get(self.kind.id_field())
                .and_then(id_text)
                .unwrap_or_default(),
            item.get(self.kind.time_field())
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        )
    }

    /// Every version that ever existed, oldest first.
    pub fn history(&self) -> &[(String, String)] {
        &self.history
    }

    /// Whether the current version of `id` was in an answer already.
    pub fn was_served(&self, id: &str) -> bool {
        self.get(id)
            .is_some_and(|item| self.served.contains(&self.version_of(item)))
    }

    /// Adds an item or replaces the one with its id (keeping its place); its id property must be
    /// set. Returns the id.
    pub fn upsert(&mut self, item: Value) -> String {
        let id = item
            .get(self.kind.id_field())
            .and_then(id_text)
            .unwrap_or_else(|| panic!("a {:?} item needs `{}`", self.kind, self.kind.id_field()));
        self.history.push(self.version_of(&item));
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
        let updated = Value::Object(item.clone());
        self.history.push(self.version_of(&updated));
        Some(updated)
    }

    /// One page of a list request: the response body. `base` is the server's URL, used in
    /// `@odata.context` and `@odata.nextLink`; `raw_query` is the request's query string.
    pub fn list(
        &mut self,
        base: &str,
        query: &Query,
        raw_query: &str,
        omit_next_link: bool,
        limits: &ScaleLimits,
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
        let (max_top, clamps) = self.kind.max_top();
        let top = match query.top {
            None => max_top,
            Some(top) if top <= max_top => top,
            Some(_) if clamps => max_top,
            Some(top) if self.kind.is_graph() => {
                return Err(ApiError::new(
                    400,
                    "BadRequest",
                    format!(
                        "The query specified in the URI is not valid. The limit of '{max_top}' for Top query has been exceeded. The value from the incoming request is '{top}'."
                    ),
                ));
            }
            Some(_) => {
                return Err(ApiError::new(
                    400,
                    "BadRequest",
                    format!("Invalid value for $top: the maximum is {max_top}."),
                ));
            }
        };
        let cap = limits.paging_cap.filter(|_| self.kind.is_graph());
        let skip = match &query.skiptoken {
            Some(token) => decode_skiptoken(token)?,
            None => {
                if let Some(cap) = cap
                    && query.skip + top > cap
                {
                    return Err(ApiError::new(
                        400,
                        "BadRequest",
                        format!(
                            "The query specified in the URI is not valid. $skip plus $top cannot exceed {cap}."
                        ),
                    ));
                }
                query.skip
            }
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
        self.sort(&mut matching, query)?;
        let end = match cap {
            Some(cap) => (skip + top).min(cap),
            None => skip + top,
        };
        let page: Vec<&Value> = matching
            .iter()
            .skip(skip)
            .take(end.saturating_sub(skip))
            .copied()
            .collect();
        if query.expand.as_deref() == Some("alerts")
            && self.kind == Kind::GraphIncidents
            && !query.filter.is_empty()
            && let Some(limit) = limits.list_expand_alert_limit
            && page.iter().any(|item| alert_count(item) > limit)
        {
            return Err(ApiError::new(
                500,
                "InternalServerError",
                "An internal server error occurred while processing the request.",
            ));
        }
        let versions: Vec<(String, String)> =
            page.iter().map(|item| self.version_of(item)).collect();
        let page: Vec<Value> = page
            .into_iter()
            .map(|item| self.shape(item, query.expand.as_deref()))
            .collect();
        self.served.extend(versions);
        let more = skip + page.len() < matching.len() && cap.is_none_or(|cap| end < cap);
        let mut body = json!({
            "@odata.context": self.kind.context(base),
        });
        if query.count {
            body["@odata.count"] = json!(matching.len());
        }
        body["value"] = Value::Array(page);
        if more && !omit_next_link {
            body["@odata.nextLink"] = Value::String(self.next_link(base, raw_query, skip + top));
        }
        Ok(body)
    }

    /// Puts matching items in the order the API gives: `$orderby` when asked (Graph only), else
    /// Graph's most recent first (by `createdDateTime`), else insertion order. Ties keep
    /// insertion order.
    fn sort(&self, items: &mut [&Value], query: &Query) -> Result<(), ApiError> {
        let (field, descending) = match (&query.order_by, self.kind.is_graph()) {
            (Some(_), false) => {
                return Err(ApiError::new(
                    400,
                    "BadRequest",
                    "The query option $orderby is not supported.",
                ));
            }
            (Some((field, descending)), true) => {
                if !["lastUpdateDateTime", "createdDateTime"].contains(&field.as_str()) {
                    return Err(ApiError::new(
                        400,
                        "BadRequest",
                        format!("Ordering by '{field}' is not supported."),
                    ));
                }
                (field.as_str(), *descending)
            }
            (None, true) => ("createdDateTime", true),
            (None, false) => return Ok(()),
        };
        let time = |item: &&Value| {
            item.get(field)
                .and_then(Value::as_str)
                .and_then(super::odata::parse_time)
        };
        if descending {
            items.sort_by_cached_key(|item| std::cmp::Reverse(time(item)));
        } else {
            items.sort_by_cached_key(time);
        }
        Ok(())
    }

    /// `GET /.../{id}`: the item as the API shows it on its own (`$expand` applies).
    pub fn get_one(
        &mut self,
        id: &str,
        query: &Query,
        limits: &ScaleLimits,
    ) -> Result<Value, ApiError> {
        let item = self.get(id).ok_or_else(|| not_found(self.kind, id))?;
        if query.expand.as_deref() == Some("alerts")
            && self.kind == Kind::GraphIncidents
            && let Some(limit) = limits.single_expand_alert_limit
            && alert_count(item) > limit
        {
            return Err(ApiError::new(
                500,
                "InternalServerError",
                "An internal server error occurred while processing the request.",
            ));
        }
        let shaped = self.shape(item, query.expand.as_deref());
        let version = self.version_of(item);
        self.served.insert(version);
        Ok(shaped)
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

/// How many alerts an incident holds.
fn alert_count(item: &Value) -> usize {
    item.get("alerts")
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
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
