//! `POST /v1.0/security/runHuntingQuery`: advanced hunting through Graph over in-memory tables,
//! as `shared/reference/defender-apis.md` section 8 describes it.
//!
//! The body is `{"Query": "<KQL>", "Timespan": "<ISO 8601>"}` (`query`/`timespan` also taken);
//! the answer `{"@odata.context", "schema": [{"name", "type"}], "results": [{...}]}`. The query
//! runs over the [`kql`](super::kql) subset; `Timespan` (default 30 days back) bounds the rows by
//! `Timestamp` as well, and nothing older than 30 days is kept.
//!
//! What makes it a test of a client:
//!
//! - rows become visible late: each has a `visible_at`, as advanced hunting data lands minutes
//!   after its `Timestamp`;
//! - the documented result caps truncate **without saying so**: at most [`HuntingOptions::max_rows`]
//!   rows (100,000) and [`HuntingOptions::max_result_bytes`] of rows (50 MB);
//! - quotas: [`HuntingOptions::calls_per_minute`] per app (45) answered 429 with `Retry-After`,
//!   and a CPU allocation per cycle ([`HuntingOptions::cpu_rows_per_cycle`] rows scanned per
//!   [`HuntingOptions::cpu_cycle`], 15 minutes) answered 429 **without** `Retry-After`, the
//!   portal's message saying when queries may run again;
//! - a query that does not parse, or names a table or column that does not exist, is a 400
//!   `BadRequest` carrying Kusto's message.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value, json};

use super::kql::{self, Stage};
use super::odata::parse_time;
use super::resources::ApiError;

/// How the hunting API behaves.
#[derive(Debug, Clone)]
pub struct HuntingOptions {
    /// Rows returned at most; more are cut off silently (documented: 100,000).
    pub max_rows: usize,
    /// Bytes of rows returned at most; more are cut off silently (documented: 50 MB).
    pub max_result_bytes: usize,
    /// Calls per minute per app; `None` for no limit (documented: at least 45).
    pub calls_per_minute: Option<usize>,
    /// Rows a tenant may scan per CPU cycle; `None` for no limit.
    pub cpu_rows_per_cycle: Option<usize>,
    /// The CPU allocation's cycle (documented: 15 minutes).
    pub cpu_cycle: Duration,
}

impl Default for HuntingOptions {
    fn default() -> Self {
        Self {
            max_rows: 100_000,
            max_result_bytes: 50 * 1024 * 1024,
            calls_per_minute: Some(45),
            cpu_rows_per_cycle: None,
            cpu_cycle: Duration::from_secs(15 * 60),
        }
    }
}

/// One query the API ran (or refused), for tests to check what a client asked.
#[derive(Debug, Clone)]
pub struct HuntingCall {
    /// When it came.
    pub at: Instant,
    /// The KQL.
    pub query: String,
    /// The `Timespan`, if any.
    pub timespan: Option<String>,
    /// Rows answered (before truncation: `matched`).
    pub rows: usize,
    /// Rows the query matched.
    pub matched: usize,
    /// HTTP status answered.
    pub status: u16,
    /// For a 429 for spent CPU: how long the answer said to wait.
    pub blocked_for: Option<Duration>,
}

#[derive(Debug, Clone)]
struct Row {
    visible_at: SystemTime,
    timestamp: Option<SystemTime>,
    value: Map<String, Value>,
}

/// The tables and the quota state.
#[derive(Debug)]
pub struct Hunting {
    options: HuntingOptions,
    tables: BTreeMap<String, Vec<Row>>,
    calls: HashMap<String, VecDeque<Instant>>,
    cycle_start: Instant,
    cpu_used: usize,
    log: Vec<HuntingCall>,
}

/// Data older than this is gone.
const RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

impl Hunting {
    /// Empty tables.
    pub fn new(options: HuntingOptions) -> Self {
        Self {
            options,
            tables: BTreeMap::new(),
            calls: HashMap::new(),
            cycle_start: Instant::now(),
            cpu_used: 0,
            log: Vec::new(),
        }
    }

    /// Creates a table with no rows (so that queries on it are valid).
    pub fn create_table(&mut self, table: &str) {
        self.tables.entry(table.to_string()).or_default();
    }

    /// Adds a row to `table`, visible to queries from `visible_at` on.
    pub fn add_row(&mut self, table: &str, row: Value, visible_at: SystemTime) {
        let Value::Object(value) = row else {
            panic!("a hunting row is a JSON object");
        };
        let timestamp = value
            .get("Timestamp")
            .and_then(Value::as_str)
            .and_then(parse_time);
        self.tables.entry(table.to_string()).or_default().push(Row {
            visible_at,
            timestamp,
            value,
        });
    }

    /// Every call so far.
    pub fn calls(&self) -> &[HuntingCall] {
        &self.log
    }

    /// Changes the limits (the quota state goes on).
    pub fn set_options(&mut self, options: HuntingOptions) {
        self.options = options;
    }

    /// Runs one request: the answer body, or an error with its status. `Err` with status 429
    /// carries its `Retry-After` in the second field, when the API gives one.
    pub fn run(
        &mut self,
        client_id: &str,
        body: &[u8],
    ) -> Result<Value, (ApiError, Option<Duration>)> {
        let now = Instant::now();
        let request: Value = serde_json::from_slice(body).map_err(|_| {
            (
                ApiError::bad_request("The request body is not valid JSON."),
                None,
            )
        })?;
        let field = |name: &str| {
            request
                .get(name)
                .or_else(|| request.get(name.to_lowercase()))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let Some(text) = field("Query") else {
            return Err((
                ApiError::bad_request("The 'Query' property is required."),
                None,
            ));
        };
        let timespan = field("Timespan");
        let mut call = HuntingCall {
            at: now,
            query: text.clone(),
            timespan: timespan.clone(),
            rows: 0,
            matched: 0,
            status: 200,
            blocked_for: None,
        };
        let result = self.answer(client_id, &text, timespan.as_deref(), now, &mut call);
        call.status = match &result {
            Ok(_) => 200,
            Err((error, _)) => error.status,
        };
        self.log.push(call);
        result
    }

    fn answer(
        &mut self,
        client_id: &str,
        text: &str,
        timespan: Option<&str>,
        now: Instant,
        call: &mut HuntingCall,
    ) -> Result<Value, (ApiError, Option<Duration>)> {
        if let Some(wait) = self.calls_exceeded(client_id, now) {
            return Err((
                ApiError::new(
                    429,
                    "TooManyRequests",
                    "Too many requests. You have exceeded the number of calls per minute allowed for advanced hunting.",
                ),
                Some(wait),
            ));
        }
        if now.duration_since(self.cycle_start) >= self.options.cpu_cycle {
            self.cycle_start = now;
            self.cpu_used = 0;
        }
        if let Some(limit) = self.options.cpu_rows_per_cycle
            && self.cpu_used >= limit
        {
            let left = self
                .options
                .cpu_cycle
                .saturating_sub(now.duration_since(self.cycle_start))
                .as_secs()
                + 1;
            call.blocked_for = Some(Duration::from_secs(left));
            return Err((
                ApiError::new(
                    429,
                    "TooManyRequests",
                    format!(
                        "You have exceeded processing resources allocated to this tenant. You can run queries again in {:02}:{:02}:{:02}.",
                        left / 3600,
                        left / 60 % 60,
                        left % 60
                    ),
                ),
                None,
            ));
        }
        let query = kql::parse(text).map_err(|message| (ApiError::bad_request(message), None))?;
        let (from, to) = timespan_bounds(timespan, SystemTime::now())
            .map_err(|message| (ApiError::bad_request(message), None))?;
        let Some(rows) = self.tables.get(&query.table) else {
            return Err((
                ApiError::bad_request(format!(
                    "Semantic error: 'where' operator: Failed to resolve table or column expression named '{}'",
                    query.table
                )),
                None,
            ));
        };
        let known: std::collections::HashSet<&str> = rows
            .iter()
            .flat_map(|row| row.value.keys().map(String::as_str))
            .collect();
        if !rows.is_empty()
            && let Some(unknown) = query.columns().into_iter().find(|c| !known.contains(c))
        {
            return Err((
                ApiError::bad_request(format!(
                    "Semantic error: Failed to resolve scalar expression named '{unknown}'"
                )),
                None,
            ));
        }
        let wall = SystemTime::now();
        let oldest = wall
            .checked_sub(RETENTION)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let mut selected: Vec<&Row> = rows
            .iter()
            .filter(|row| row.visible_at <= wall)
            .filter(|row| {
                row.timestamp
                    .is_some_and(|t| t >= oldest && t >= from && t <= to)
            })
            .collect();
        self.cpu_used += selected.len();
        let mut projection: Option<&[String]> = None;
        for stage in &query.stages {
            match stage {
                Stage::Where(expr) => selected.retain(|row| expr.matches(&row.value)),
                Stage::Project(columns) => projection = Some(columns),
                Stage::OrderBy(column, descending) => {
                    selected.sort_by(|a, b| {
                        let key = |row: &Row| {
                            row.value.get(column).map(|v| match v {
                                Value::String(text) => parse_time(text)
                                    .map_or_else(|| (0, text.clone()), |t| (1, format!("{t:?}"))),
                                other => (2, format!("{:>40}", other.to_string())),
                            })
                        };
                        let ordering = key(a).cmp(&key(b));
                        if *descending {
                            ordering.reverse()
                        } else {
                            ordering
                        }
                    });
                }
                Stage::Take(n) => selected.truncate(*n),
            }
        }
        call.matched = selected.len();
        let mut results = Vec::new();
        let mut bytes = 0usize;
        for row in selected.into_iter().take(self.options.max_rows) {
            let value = match projection {
                Some(columns) => Value::Object(
                    columns
                        .iter()
                        .map(|c| (c.clone(), row.value.get(c).cloned().unwrap_or(Value::Null)))
                        .collect(),
                ),
                None => Value::Object(row.value.clone()),
            };
            bytes += value.to_string().len();
            if bytes > self.options.max_result_bytes {
                break;
            }
            results.push(value);
        }
        call.rows = results.len();
        Ok(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.security.huntingQueryResults",
            "schema": schema(&results, projection),
            "results": results,
        }))
    }

    fn calls_exceeded(&mut self, client_id: &str, now: Instant) -> Option<Duration> {
        let limit = self.options.calls_per_minute?;
        let calls = self.calls.entry(client_id.to_string()).or_default();
        while calls
            .front()
            .is_some_and(|&at| now.duration_since(at) >= Duration::from_secs(60))
        {
            calls.pop_front();
        }
        if calls.len() >= limit {
            let oldest = calls[calls.len() - limit];
            let free = oldest + Duration::from_secs(60);
            return Some(Duration::from_secs(
                free.saturating_duration_since(now).as_secs() + 1,
            ));
        }
        calls.push_back(now);
        None
    }
}

/// The columns of the answer with their types, from the projection or the rows.
fn schema(results: &[Value], projection: Option<&[String]>) -> Value {
    let mut columns: Vec<String> = projection.map(<[String]>::to_vec).unwrap_or_default();
    if projection.is_none() {
        for row in results {
            if let Value::Object(map) = row {
                for key in map.keys() {
                    if !columns.contains(key) {
                        columns.push(key.clone());
                    }
                }
            }
        }
    }
    let kind = |column: &str| {
        let value = results
            .iter()
            .filter_map(|row| row.get(column))
            .find(|value| !value.is_null());
        match value {
            Some(Value::String(text)) if parse_time(text).is_some() => "DateTime",
            Some(Value::Number(n)) if n.is_f64() => "Double",
            Some(Value::Number(_)) => "Int64",
            Some(Value::Bool(_)) => "Boolean",
            Some(Value::Object(_) | Value::Array(_)) => "Dynamic",
            _ => "String",
        }
    };
    Value::Array(
        columns
            .iter()
            .map(|column| json!({"name": column, "type": kind(column)}))
            .collect(),
    )
}

/// `Timespan` as a closed range of times: `start/end`, `duration/end`, `start/duration`,
/// `duration` (back from now) or `start` (to now); 30 days back when absent.
pub fn timespan_bounds(
    timespan: Option<&str>,
    now: SystemTime,
) -> Result<(SystemTime, SystemTime), String> {
    let bad = |text: &str| format!("Invalid timespan '{text}'.");
    let Some(text) = timespan.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok((now.checked_sub(RETENTION).unwrap_or(now), now));
    };
    let back = |from: SystemTime, duration: Duration| from.checked_sub(duration).unwrap_or(from);
    match text.split_once('/') {
        None => match parse_duration(text) {
            Some(duration) => Ok((back(now, duration), now)),
            None => parse_time(text)
                .map(|start| (start, now))
                .ok_or_else(|| bad(text)),
        },
        Some((left, right)) => match (parse_duration(left), parse_duration(right)) {
            (Some(duration), None) => {
                let end = parse_time(right).ok_or_else(|| bad(text))?;
                Ok((back(end, duration), end))
            }
            (None, Some(duration)) => {
                let start = parse_time(left).ok_or_else(|| bad(text))?;
                Ok((start, start + duration))
            }
            (None, None) => Ok((
                parse_time(left).ok_or_else(|| bad(text))?,
                parse_time(right).ok_or_else(|| bad(text))?,
            )),
            (Some(_), Some(_)) => Err(bad(text)),
        },
    }
}

/// An ISO 8601 duration such as `P30D`, `PT1H30M` or `P1DT0.5S`.
fn parse_duration(text: &str) -> Option<Duration> {
    let rest = text.strip_prefix('P')?;
    let (date, time) = rest.split_once('T').unwrap_or((rest, ""));
    let mut seconds = 0f64;
    let mut read = |part: &str, units: &[(char, f64)]| -> Option<()> {
        let mut number = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                number.push(c);
            } else {
                let (_, factor) = units.iter().find(|(unit, _)| *unit == c)?;
                seconds += number.parse::<f64>().ok()? * factor;
                number.clear();
            }
        }
        number.is_empty().then_some(())
    };
    read(date, &[('W', 604_800.0), ('D', 86_400.0)])?;
    read(time, &[('H', 3600.0), ('M', 60.0), ('S', 1.0)])?;
    (date.len() + time.len() > 0).then(|| Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> SystemTime {
        parse_time(text).unwrap()
    }

    #[test]
    fn every_documented_timespan_form() {
        let now = at("2024-02-15T08:00:00Z");
        let day = Duration::from_secs(86_400);
        assert_eq!(
            timespan_bounds(Some("2024-02-01T08:00:00Z/2024-02-15T08:00:00Z"), now).unwrap(),
            (at("2024-02-01T08:00:00Z"), now)
        );
        assert_eq!(
            timespan_bounds(Some("P30D/2024-02-15T08:00:00Z"), now).unwrap(),
            (now - 30 * day, now)
        );
        assert_eq!(
            timespan_bounds(Some("2024-02-01T08:00:00Z/P1D"), now).unwrap(),
            (at("2024-02-01T08:00:00Z"), at("2024-02-02T08:00:00Z"))
        );
        assert_eq!(
            timespan_bounds(Some("PT1H30M"), now).unwrap().0,
            now - Duration::from_secs(5400)
        );
        assert_eq!(
            timespan_bounds(Some("2024-02-14T08:00:00Z"), now).unwrap(),
            (now - day, now)
        );
        assert!(timespan_bounds(Some("yesterday"), now).is_err());
        assert!(timespan_bounds(Some("P1D/P2D"), now).is_err());
    }

    #[test]
    fn late_rows_caps_and_quotas() {
        let mut hunting = Hunting::new(HuntingOptions {
            max_rows: 3,
            calls_per_minute: Some(4),
            cpu_rows_per_cycle: Some(100),
            ..HuntingOptions::default()
        });
        let now = SystemTime::now();
        let stamp =
            |ago: u64| humantime::format_rfc3339_nanos(now - Duration::from_secs(ago)).to_string();
        for n in 0..5u64 {
            hunting.add_row(
                "DeviceProcessEvents",
                json!({"Timestamp": stamp(60 + n), "ActionType": "ProcessCreated", "ReportId": n}),
                now,
            );
        }
        hunting.add_row(
            "DeviceProcessEvents",
            json!({"Timestamp": stamp(30), "ActionType": "ProcessCreated", "ReportId": 99}),
            now + Duration::from_secs(3600),
        );
        let body =
            br#"{"Query": "DeviceProcessEvents | where ActionType == 'ProcessCreated'", "Timespan": "PT1H"}"#;
        let answer = hunting.run("app", body).unwrap();
        assert_eq!(answer["results"].as_array().unwrap().len(), 3, "cut at 3");
        assert_eq!(
            hunting.calls()[0].matched,
            5,
            "the late row is not visible yet"
        );
        let schema = answer["schema"].as_array().unwrap();
        assert!(
            schema.contains(&json!({"name": "Timestamp", "type": "DateTime"}))
                && schema.contains(&json!({"name": "ReportId", "type": "Int64"})),
            "{schema:?}"
        );
        let (error, _) = hunting
            .run("app", br#"{"Query": "Nope | take 1"}"#)
            .unwrap_err();
        assert_eq!(error.status, 400);
        assert!(error.message.contains("'Nope'"), "{}", error.message);
        let (error, _) = hunting
            .run(
                "app",
                br#"{"Query": "DeviceProcessEvents | where Foo == 1"}"#,
            )
            .unwrap_err();
        assert!(error.message.contains("'Foo'"), "{}", error.message);
        hunting.run("app", body).unwrap();
        let (error, retry_after) = hunting.run("app", body).unwrap_err();
        assert_eq!((error.status, retry_after.is_some()), (429, true));
    }
}
