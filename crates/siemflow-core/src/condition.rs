//! JSONPath conditions for `filter`, `route` and `siemflow test` expectations, and JSONPath field
//! paths for keys (`dedupe`).
//!
//! A condition is written as an RFC 9535 filter expression whose `$` is the event:
//! `$.category == 'AdvancedHunting-DeviceProcessEvents' && $.properties.FileSize > 1000`,
//! `$.properties.ActionType`, `!$.properties.InitiatingProcessId`, `match($.x, 'a.*')`.
//! It is compiled once into the query `$[?(...)]` (with the event's `$` turned into the filter's
//! `@`) and evaluated by jsonpath-rust against a one-element array holding the event.

use std::fmt;
use std::sync::Arc;

use jsonpath_rust::parser::model::JpQuery;
use jsonpath_rust::parser::parse_json_path;
use jsonpath_rust::query::js_path_process;
use serde::Deserialize;
use serde_json::Value;

use crate::event::{Event, JsonError};

/// A compiled condition.
#[derive(Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct Condition {
    source: Arc<str>,
    query: Arc<JpQuery>,
}

impl Condition {
    /// Compiles a condition, or says why it is not one.
    pub fn new(source: &str) -> Result<Self, String> {
        let trimmed = source.trim();
        if trimmed.is_empty() {
            return Err("a condition cannot be empty".into());
        }
        let expression = root_to_current(trimmed)?;
        let query = parse_json_path(&format!("$[?({expression})]"))
            .map_err(|error| format!("invalid JSONPath condition `{trimmed}`: {error}"))?;
        Ok(Self {
            source: Arc::from(trimmed),
            query: Arc::new(query),
        })
    }

    /// The condition as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Evaluates the condition on a JSON value.
    pub fn matches_value(&self, value: Value) -> (bool, Value) {
        let wrapped = Value::Array(vec![value]);
        let matched = js_path_process(&self.query, &wrapped)
            .map(|found| !found.is_empty())
            .unwrap_or(false);
        let value = match wrapped {
            Value::Array(mut items) => items.pop().unwrap_or(Value::Null),
            other => other,
        };
        (matched, value)
    }

    /// Evaluates the condition on an event, parsing its body once if needed.
    ///
    /// Fails only when the body is not JSON.
    pub fn matches(&self, event: &mut Event) -> Result<bool, JsonError> {
        let shared = event.take_parsed()?;
        let value = Arc::try_unwrap(shared).unwrap_or_else(|shared| (*shared).clone());
        let (matched, value) = self.matches_value(value);
        event.restore_parsed(Arc::new(value));
        Ok(matched)
    }
}

impl TryFrom<String> for Condition {
    type Error = String;

    fn try_from(source: String) -> Result<Self, String> {
        Self::new(&source)
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Condition({:?})", self.source)
    }
}

/// A compiled JSONPath query that selects values from an event, e.g. `$.properties.ReportId`.
#[derive(Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct FieldPath {
    source: Arc<str>,
    query: Arc<JpQuery>,
}

impl FieldPath {
    /// Compiles a path, or says why it is not one.
    pub fn new(source: &str) -> Result<Self, String> {
        let trimmed = source.trim();
        let query = parse_json_path(trimmed)
            .map_err(|error| format!("invalid JSONPath `{trimmed}`: {error}"))?;
        Ok(Self {
            source: Arc::from(trimmed),
            query: Arc::new(query),
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The values the path selects (none when it matches nothing).
    pub fn select<'a>(&self, value: &'a Value) -> Vec<&'a Value> {
        js_path_process(&self.query, value)
            .map(|found| found.into_iter().map(|r| r.val).collect())
            .unwrap_or_default()
    }
}

impl TryFrom<String> for FieldPath {
    type Error = String;

    fn try_from(source: String) -> Result<Self, String> {
        Self::new(&source)
    }
}

impl fmt::Debug for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FieldPath({:?})", self.source)
    }
}

/// Rewrites the event root `$` into the filter's current node `@`, leaving string literals alone.
fn root_to_current(expression: &str) -> Result<String, String> {
    let mut output = String::with_capacity(expression.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in expression.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
                output.push(c);
            }
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    output.push(c);
                }
                '$' => output.push('@'),
                _ => output.push(c),
            },
        }
    }
    if quote.is_some() {
        return Err(format!("unterminated string in condition `{expression}`"));
    }
    Ok(output)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use serde_json::json;

    use super::*;
    use crate::event::test_support::metadata;

    fn check(condition: &str, value: Value) -> bool {
        Condition::new(condition).unwrap().matches_value(value).0
    }

    #[test]
    fn compares_fields() {
        let event = json!({"category": "AdvancedHunting-DeviceProcessEvents", "properties": {"FileSize": 5368709120u64, "Note": "a $ sign"}});
        assert!(check(
            "$.category == 'AdvancedHunting-DeviceProcessEvents'",
            event.clone()
        ));
        assert!(!check(
            "$.category == 'AdvancedHunting-DeviceFileEvents'",
            event.clone()
        ));
        assert!(check("$.properties.FileSize > 4294967296", event.clone()));
        assert!(check(
            "$.category == 'AdvancedHunting-DeviceProcessEvents' && $.properties.Note == 'a $ sign'",
            event.clone()
        ));
        assert!(check("$.properties.FileSize", event.clone()));
        assert!(!check("$.properties.Missing", event.clone()));
        assert!(check("!$.properties.Missing", event.clone()));
        assert!(check("match($.category, 'Advanced.*Process.*')", event));
    }

    #[test]
    fn field_paths_select_values() {
        let path = FieldPath::new("$.properties.ReportId").unwrap();
        let value = json!({"properties": {"ReportId": 9007199254740993u64}});
        assert_eq!(path.select(&value), vec![&json!(9007199254740993u64)]);
        assert!(path.select(&json!({})).is_empty());
        assert!(FieldPath::new("properties").is_err());
    }

    #[test]
    fn existence_is_presence_and_match_is_whole_string() {
        assert!(check("$.a", json!({"a": null})));
        assert!(check("$.a", json!({"a": false})));
        assert!(!check("$.a", json!({})));
        assert!(!check("match($.a, 'b')", json!({"a": "abc"})));
        assert!(check("search($.a, 'b')", json!({"a": "abc"})));
    }

    #[test]
    fn rejects_invalid_conditions() {
        assert!(Condition::new("$.a ==").is_err());
        assert!(
            Condition::new("$.a == 'x")
                .unwrap_err()
                .contains("unterminated")
        );
        assert!(Condition::new("  ").is_err());
    }

    #[test]
    fn evaluates_events_and_keeps_their_body() {
        let condition = Condition::new("$.n > 1").unwrap();
        let body = Bytes::from_static(br#"{"n":9007199254740993}"#);
        let mut event = Event::json(body.clone(), metadata(1));
        assert!(condition.matches(&mut event).unwrap());
        assert_eq!(event.body(), &body);
        assert_eq!(
            event.parsed().unwrap()["n"].as_u64(),
            Some(9_007_199_254_740_993)
        );
        let mut broken = Event::json(Bytes::from_static(b"not json"), metadata(2));
        assert!(condition.matches(&mut broken).is_err());
    }
}

crate::string_option_schema!(Condition);
crate::string_option_schema!(FieldPath);
