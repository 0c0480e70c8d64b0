//! The part of OData v4 query options the Defender and Graph list endpoints document: `$filter`
//! with `ge`/`gt`/`le`/`lt`/`eq` comparisons joined by `and` (date-time literals unquoted,
//! strings in single quotes), `$top`, `$skip`, `$skiptoken` (Graph's opaque continuation),
//! `$count` and `$expand`, plus `$orderby` on one property, which Graph does not document but
//! answers (connectors in production page alerts_v2 and incidents by `lastUpdateDateTime asc`).
//! Anything else in `$filter` is a 400, as on the real services.

use std::collections::HashMap;
use std::time::SystemTime;

use serde_json::Value;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `ge`
    Ge,
    /// `gt`
    Gt,
    /// `le`
    Le,
    /// `lt`
    Lt,
    /// `eq`
    Eq,
}

/// One `field op literal` clause.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    /// The property compared.
    pub field: String,
    /// How.
    pub op: Op,
    /// The literal, as written (quotes removed from strings).
    pub literal: String,
}

/// Parsed query options of a list request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// `$filter` clauses, all of which must hold.
    pub filter: Vec<Clause>,
    /// `$top`.
    pub top: Option<usize>,
    /// `$skip`.
    pub skip: usize,
    /// `$skiptoken` (Graph).
    pub skiptoken: Option<String>,
    /// `$expand`.
    pub expand: Option<String>,
    /// `$count=true`: the answer carries `@odata.count`, the number of matching items.
    pub count: bool,
    /// `$orderby`: one property and whether it is descending.
    pub order_by: Option<(String, bool)>,
}

/// Parses a raw query string (`a=b&c=d`, percent-encoded).
pub fn parse_query(raw: Option<&str>) -> Result<Query, String> {
    let pairs: HashMap<String, String> = url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    let number = |name: &str| -> Result<Option<usize>, String> {
        pairs
            .get(name)
            .map(|value| {
                value
                    .parse::<usize>()
                    .map_err(|_| format!("Invalid value '{value}' for query option {name}."))
            })
            .transpose()
    };
    Ok(Query {
        filter: match pairs.get("$filter") {
            Some(filter) => parse_filter(filter)?,
            None => Vec::new(),
        },
        top: number("$top")?,
        skip: number("$skip")?.unwrap_or(0),
        skiptoken: pairs.get("$skiptoken").cloned(),
        expand: pairs.get("$expand").cloned(),
        count: match pairs.get("$count").map(String::as_str) {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => return Err(format!("Invalid value '{other}' for query option $count.")),
        },
        order_by: pairs
            .get("$orderby")
            .map(|text| parse_order_by(text))
            .transpose()?,
    })
}

/// `lastUpdateDateTime`, `lastUpdateDateTime asc` or `lastUpdateDateTime desc`.
fn parse_order_by(text: &str) -> Result<(String, bool), String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    match words.as_slice() {
        [field] => Ok((field.to_string(), false)),
        [field, "asc"] => Ok((field.to_string(), false)),
        [field, "desc"] => Ok((field.to_string(), true)),
        _ => Err(format!("Invalid $orderby expression '{text}'.")),
    }
}

fn parse_filter(filter: &str) -> Result<Vec<Clause>, String> {
    let mut clauses = Vec::new();
    for part in split_and(filter) {
        let words: Vec<&str> = part.trim().splitn(3, ' ').collect();
        let [field, op, literal] = words.as_slice() else {
            return Err(format!("Invalid filter clause '{part}'."));
        };
        let op = match *op {
            "ge" => Op::Ge,
            "gt" => Op::Gt,
            "le" => Op::Le,
            "lt" => Op::Lt,
            "eq" => Op::Eq,
            other => return Err(format!("Unsupported filter operator '{other}'.")),
        };
        let literal = literal.trim();
        let literal = match literal
            .strip_prefix('\'')
            .and_then(|l| l.strip_suffix('\''))
        {
            Some(text) => text.replace("''", "'"),
            None => literal.to_string(),
        };
        clauses.push(Clause {
            field: field.to_string(),
            op,
            literal,
        });
    }
    Ok(clauses)
}

/// Splits on ` and ` outside quoted strings.
fn split_and(filter: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let bytes = filter.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'\'' {
            quoted = !quoted;
        } else if !quoted && bytes[index..].starts_with(b" and ") {
            parts.push(&filter[start..index]);
            index += 5;
            start = index;
            continue;
        }
        index += 1;
    }
    parts.push(&filter[start..]);
    parts
}

/// Parses a DateTimeOffset as the services write it: up to 7 fractional digits, `Z`.
pub fn parse_time(text: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(text.trim_end_matches('Z')).ok()
}

/// Formats a time with 7 fractional digits, as the Defender APIs do.
pub fn format_time(time: SystemTime) -> String {
    let nanos = humantime::format_rfc3339_nanos(time).to_string();
    // `2026-11-24T08:15:04.123456789Z` -> `2026-11-24T08:15:04.1234567Z`
    format!("{}Z", &nanos[..nanos.len() - 3])
}

impl Clause {
    /// Whether `item` satisfies the clause. Date-time fields compare as times; others as text.
    pub fn matches(&self, item: &Value) -> Result<bool, String> {
        let value = item.get(&self.field);
        let ordering = match value {
            None | Some(Value::Null) => return Ok(false),
            Some(Value::String(text)) => match (parse_time(text), parse_time(&self.literal)) {
                (Some(left), Some(right)) => left.cmp(&right),
                (Some(_), None) => {
                    return Err(format!(
                        "The literal '{}' is not a valid DateTimeOffset for '{}'.",
                        self.literal, self.field
                    ));
                }
                _ => text.as_str().cmp(self.literal.as_str()),
            },
            Some(Value::Number(number)) => {
                let right: f64 = self
                    .literal
                    .parse()
                    .map_err(|_| format!("The literal '{}' is not a number.", self.literal))?;
                number
                    .as_f64()
                    .unwrap_or(f64::NAN)
                    .partial_cmp(&right)
                    .unwrap_or(std::cmp::Ordering::Less)
            }
            Some(other) => other.to_string().as_str().cmp(self.literal.as_str()),
        };
        use std::cmp::Ordering::{Equal, Greater, Less};
        Ok(match self.op {
            Op::Ge => ordering != Less,
            Op::Gt => ordering == Greater,
            Op::Le => ordering != Greater,
            Op::Lt => ordering == Less,
            Op::Eq => ordering == Equal,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_filters() {
        let query = parse_query(Some(
            "$filter=lastUpdateTime+ge+2026-11-24T00:00:00Z+and+status+eq+'New'&$top=3&$skip=6&$expand=evidence",
        ))
        .unwrap();
        assert_eq!(query.top, Some(3));
        assert_eq!(query.skip, 6);
        assert_eq!(query.expand.as_deref(), Some("evidence"));
        assert_eq!(query.filter.len(), 2);
        let item =
            serde_json::json!({"lastUpdateTime": "2026-11-24T08:15:04.27Z", "status": "New"});
        assert!(query.filter.iter().all(|c| c.matches(&item).unwrap()));
        let old =
            serde_json::json!({"lastUpdateTime": "2026-11-23T23:59:59.9999999Z", "status": "New"});
        assert!(!query.filter[0].matches(&old).unwrap());
        assert!(parse_query(Some("$filter=severity+has+'High'")).is_err());
        assert!(parse_query(Some("$top=ten")).is_err());
        let ordered = parse_query(Some("$orderby=lastUpdateDateTime+asc&$count=true")).unwrap();
        assert_eq!(ordered.order_by, Some(("lastUpdateDateTime".into(), false)));
        assert!(ordered.count);
        assert!(parse_query(Some("$orderby=a+b+c")).is_err());
    }

    #[test]
    fn times_keep_seven_digits() {
        let time = parse_time("2026-11-24T08:15:04.1234567Z").unwrap();
        assert_eq!(format_time(time), "2026-11-24T08:15:04.1234567Z");
    }
}
