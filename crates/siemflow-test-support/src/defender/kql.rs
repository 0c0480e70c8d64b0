//! The part of KQL (Kusto Query Language) that advanced hunting connectors send: a table, then
//! `where`, `project`, `order by`/`sort by` and `take`/`limit` stages. Predicates compare columns
//! with `==`, `!=`, `=~`, `!~`, `<`, `<=`, `>`, `>=`, `has`, `contains`, `startswith`, `in (...)`,
//! joined by `and`/`or` with parentheses; literals are strings (`"..."` or `'...'`), numbers,
//! `true`/`false` and `datetime(...)`. Anything else is refused with a Kusto-style syntax error,
//! so a client relying on more than this finds out in tests rather than in production.

use std::cmp::Ordering;
use std::time::SystemTime;

use serde_json::{Map, Value};

use super::odata::parse_time;

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The table it reads.
    pub table: String,
    /// Its stages, in order.
    pub stages: Vec<Stage>,
}

/// One `| stage`.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// `where <predicate>`.
    Where(Expr),
    /// `project a, b, c`.
    Project(Vec<String>),
    /// `order by column [asc|desc]` (Kusto's default is descending).
    OrderBy(String, bool),
    /// `take N` / `limit N`.
    Take(usize),
}

/// A predicate.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Both hold.
    And(Box<Expr>, Box<Expr>),
    /// Either holds.
    Or(Box<Expr>, Box<Expr>),
    /// `column op literal`.
    Compare(String, Op, Literal),
    /// `column in (literals)`.
    In(String, Vec<Literal>),
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `=~` (case-insensitive equality)
    EqNoCase,
    /// `!~`
    NeNoCase,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `has` (whole term, case-insensitive)
    Has,
    /// `contains` (substring, case-insensitive)
    Contains,
    /// `startswith` (case-insensitive)
    StartsWith,
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A string.
    Text(String),
    /// A number.
    Number(f64),
    /// `true` / `false`.
    Bool(bool),
    /// `datetime(...)`.
    Time(SystemTime),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Number(f64),
    Time(SystemTime),
    Symbol(&'static str),
}

/// A syntax or semantic error, worded as Kusto words them.
pub type KqlError = String;

fn tokenize(text: &str) -> Result<Vec<Token>, KqlError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut index = 0;
    while index < chars.len() {
        let c = chars[index];
        if c.is_whitespace() {
            index += 1;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = index;
            while index < chars.len()
                && (chars[index].is_ascii_alphanumeric()
                    || chars[index] == '_'
                    || chars[index] == '-')
            {
                index += 1;
            }
            let word: String = chars[start..index].iter().collect();
            if word == "datetime" && chars.get(index) == Some(&'(') {
                let close = chars[index..]
                    .iter()
                    .position(|&c| c == ')')
                    .ok_or_else(|| syntax_error(text, index))?;
                let inner: String = chars[index + 1..index + close].iter().collect();
                let time = parse_time(inner.trim()).ok_or_else(|| {
                    format!(
                        "Semantic error: '{}' is not a valid datetime literal.",
                        inner.trim()
                    )
                })?;
                tokens.push(Token::Time(time));
                index += close + 1;
            } else {
                tokens.push(Token::Word(word));
            }
        } else if c.is_ascii_digit() {
            let start = index;
            while index < chars.len() && (chars[index].is_ascii_digit() || chars[index] == '.') {
                index += 1;
            }
            let number: String = chars[start..index].iter().collect();
            tokens.push(Token::Number(
                number.parse().map_err(|_| syntax_error(text, start))?,
            ));
        } else if c == '"' || c == '\'' {
            let mut value = String::new();
            index += 1;
            loop {
                match chars.get(index) {
                    None => return Err(syntax_error(text, index)),
                    Some('\\') => {
                        if let Some(&next) = chars.get(index + 1) {
                            value.push(next);
                        }
                        index += 2;
                    }
                    Some(&quote) if quote == c => {
                        index += 1;
                        break;
                    }
                    Some(&other) => {
                        value.push(other);
                        index += 1;
                    }
                }
            }
            tokens.push(Token::Text(value));
        } else {
            let rest: String = chars[index..chars.len().min(index + 2)].iter().collect();
            let symbol = ["==", "!=", "=~", "!~", "<=", ">="]
                .into_iter()
                .find(|symbol| rest.starts_with(symbol))
                .or_else(|| {
                    ["|", "(", ")", ",", "<", ">"]
                        .into_iter()
                        .find(|symbol| rest.starts_with(symbol))
                })
                .ok_or_else(|| syntax_error(text, index))?;
            tokens.push(Token::Symbol(symbol));
            index += symbol.len();
        }
    }
    Ok(tokens)
}

fn syntax_error(text: &str, at: usize) -> KqlError {
    let near: String = text.chars().skip(at).take(20).collect();
    format!(
        "Syntax error: Query could not be parsed at '{near}' on line [1,{}]",
        at + 1
    )
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn expected(&self, what: &str) -> KqlError {
        format!(
            "Syntax error: expected {what}, found {}",
            self.peek()
                .map_or_else(|| "the end of the query".to_string(), |t| format!("{t:?}"))
        )
    }

    fn word(&mut self) -> Result<String, KqlError> {
        match self.next() {
            Some(Token::Word(word)) => Ok(word),
            _ => {
                self.at -= 1;
                Err(self.expected("a name"))
            }
        }
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w == word)
    }

    fn symbol(&mut self, symbol: &str) -> Result<(), KqlError> {
        match self.next() {
            Some(Token::Symbol(s)) if s == symbol => Ok(()),
            _ => {
                self.at -= 1;
                Err(self.expected(&format!("'{symbol}'")))
            }
        }
    }

    fn query(&mut self) -> Result<Query, KqlError> {
        let table = self.word()?;
        let mut stages = Vec::new();
        while self.peek().is_some() {
            self.symbol("|")?;
            let operator = self.word()?;
            stages.push(match operator.as_str() {
                "where" => Stage::Where(self.or()?),
                "project" => {
                    let mut columns = vec![self.word()?];
                    while self.peek() == Some(&Token::Symbol(",")) {
                        self.at += 1;
                        columns.push(self.word()?);
                    }
                    Stage::Project(columns)
                }
                "order" | "sort" => {
                    if self.word()? != "by" {
                        return Err(self.expected("'by'"));
                    }
                    let column = self.word()?;
                    let descending = if self.is_word("asc") {
                        self.at += 1;
                        false
                    } else {
                        if self.is_word("desc") {
                            self.at += 1;
                        }
                        true
                    };
                    Stage::OrderBy(column, descending)
                }
                "take" | "limit" => match self.next() {
                    Some(Token::Number(n)) if n >= 0.0 => Stage::Take(n as usize),
                    _ => return Err(self.expected("a row count")),
                },
                other => {
                    return Err(format!(
                        "Syntax error: the operator '{other}' is not supported by this server"
                    ));
                }
            });
        }
        Ok(Query { table, stages })
    }

    fn or(&mut self) -> Result<Expr, KqlError> {
        let mut left = self.and()?;
        while self.is_word("or") {
            self.at += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, KqlError> {
        let mut left = self.comparison()?;
        while self.is_word("and") {
            self.at += 1;
            left = Expr::And(Box::new(left), Box::new(self.comparison()?));
        }
        Ok(left)
    }

    fn comparison(&mut self) -> Result<Expr, KqlError> {
        if self.peek() == Some(&Token::Symbol("(")) {
            self.at += 1;
            let inner = self.or()?;
            self.symbol(")")?;
            return Ok(inner);
        }
        let column = self.word()?;
        let op = match self.next() {
            Some(Token::Symbol("==")) => Op::Eq,
            Some(Token::Symbol("!=")) => Op::Ne,
            Some(Token::Symbol("=~")) => Op::EqNoCase,
            Some(Token::Symbol("!~")) => Op::NeNoCase,
            Some(Token::Symbol("<")) => Op::Lt,
            Some(Token::Symbol("<=")) => Op::Le,
            Some(Token::Symbol(">")) => Op::Gt,
            Some(Token::Symbol(">=")) => Op::Ge,
            Some(Token::Word(word)) if word == "has" => Op::Has,
            Some(Token::Word(word)) if word == "contains" => Op::Contains,
            Some(Token::Word(word)) if word == "startswith" => Op::StartsWith,
            Some(Token::Word(word)) if word == "in" => {
                self.symbol("(")?;
                let mut values = vec![self.literal()?];
                while self.peek() == Some(&Token::Symbol(",")) {
                    self.at += 1;
                    values.push(self.literal()?);
                }
                self.symbol(")")?;
                return Ok(Expr::In(column, values));
            }
            _ => {
                self.at -= 1;
                return Err(self.expected("a comparison operator"));
            }
        };
        Ok(Expr::Compare(column, op, self.literal()?))
    }

    fn literal(&mut self) -> Result<Literal, KqlError> {
        match self.next() {
            Some(Token::Text(text)) => Ok(Literal::Text(text)),
            Some(Token::Number(number)) => Ok(Literal::Number(number)),
            Some(Token::Time(time)) => Ok(Literal::Time(time)),
            Some(Token::Word(word)) if word == "true" => Ok(Literal::Bool(true)),
            Some(Token::Word(word)) if word == "false" => Ok(Literal::Bool(false)),
            _ => {
                self.at -= 1;
                Err(self.expected("a literal"))
            }
        }
    }
}

/// Parses a query.
pub fn parse(text: &str) -> Result<Query, KqlError> {
    let mut parser = Parser {
        tokens: tokenize(text)?,
        at: 0,
    };
    if parser.tokens.is_empty() {
        return Err("Syntax error: the query is empty".into());
    }
    parser.query()
}

impl Query {
    /// Every column the query names.
    pub fn columns(&self) -> Vec<&str> {
        fn walk<'a>(expr: &'a Expr, out: &mut Vec<&'a str>) {
            match expr {
                Expr::And(a, b) | Expr::Or(a, b) => {
                    walk(a, out);
                    walk(b, out);
                }
                Expr::Compare(column, ..) | Expr::In(column, _) => out.push(column),
            }
        }
        let mut out = Vec::new();
        for stage in &self.stages {
            match stage {
                Stage::Where(expr) => walk(expr, &mut out),
                Stage::Project(columns) => out.extend(columns.iter().map(String::as_str)),
                Stage::OrderBy(column, _) => out.push(column),
                Stage::Take(_) => {}
            }
        }
        out
    }
}

impl Expr {
    /// Whether a row satisfies the predicate.
    pub fn matches(&self, row: &Map<String, Value>) -> bool {
        match self {
            Self::And(a, b) => a.matches(row) && b.matches(row),
            Self::Or(a, b) => a.matches(row) || b.matches(row),
            Self::In(column, values) => values
                .iter()
                .any(|value| compare(row.get(column), Op::Eq, value)),
            Self::Compare(column, op, literal) => compare(row.get(column), *op, literal),
        }
    }
}

fn compare(value: Option<&Value>, op: Op, literal: &Literal) -> bool {
    let Some(value) = value.filter(|value| !value.is_null()) else {
        return matches!(op, Op::Ne | Op::NeNoCase);
    };
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let ordering = match literal {
        Literal::Time(time) => parse_time(&text).map(|left| left.cmp(time)),
        Literal::Number(number) => text.parse::<f64>().ok().and_then(|n| n.partial_cmp(number)),
        Literal::Bool(flag) => Some(text.eq_ignore_ascii_case(&flag.to_string()).cmp(&true)),
        Literal::Text(right) => Some(text.as_str().cmp(right.as_str())),
    };
    let right_text = match literal {
        Literal::Text(right) => right.to_lowercase(),
        _ => String::new(),
    };
    let lower = text.to_lowercase();
    match op {
        Op::Eq => ordering == Some(Ordering::Equal),
        Op::Ne => ordering != Some(Ordering::Equal),
        Op::EqNoCase => lower == right_text,
        Op::NeNoCase => lower != right_text,
        Op::Lt => ordering == Some(Ordering::Less),
        Op::Le => matches!(ordering, Some(Ordering::Less | Ordering::Equal)),
        Op::Gt => ordering == Some(Ordering::Greater),
        Op::Ge => matches!(ordering, Some(Ordering::Greater | Ordering::Equal)),
        Op::Contains => lower.contains(&right_text),
        Op::StartsWith => lower.starts_with(&right_text),
        Op::Has => lower
            .split(|c: char| !c.is_alphanumeric())
            .any(|term| term == right_text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_evaluates_what_hunting_connectors_send() {
        let query = parse(
            r#"DeviceProcessEvents | where ActionType == "ProcessCreated"
| where Timestamp > datetime(2026-11-24T08:00:00Z) and Timestamp <= datetime(2026-11-24T09:00:00.1234567Z)
| project Timestamp, DeviceId, ReportId | order by Timestamp asc | take 10"#,
        )
        .unwrap();
        assert_eq!(query.table, "DeviceProcessEvents");
        assert_eq!(query.stages.len(), 5);
        let Stage::Where(first) = &query.stages[0] else {
            panic!()
        };
        let Stage::Where(window) = &query.stages[1] else {
            panic!()
        };
        let row = |action: &str, time: &str| {
            json!({"ActionType": action, "Timestamp": time})
                .as_object()
                .unwrap()
                .clone()
        };
        assert!(first.matches(&row("ProcessCreated", "x")));
        assert!(!first.matches(&row("OpenProcessApiCall", "x")));
        assert!(window.matches(&row("", "2026-11-24T09:00:00.1234567Z")));
        assert!(!window.matches(&row("", "2026-11-24T08:00:00Z")));
        let any = parse("T | where A in ('x', \"y\") or (B has 'Word' and C >= 3)").unwrap();
        let Stage::Where(any) = &any.stages[0] else {
            panic!()
        };
        assert!(any.matches(json!({"A": "y"}).as_object().unwrap()));
        assert!(any.matches(json!({"B": "a word here", "C": 4}).as_object().unwrap()));
        assert!(!any.matches(json!({"B": "a word here", "C": 2}).as_object().unwrap()));
        assert!(parse("T | summarize count() by A").is_err());
        assert!(parse("T | where A = 'x'").is_err());
        assert!(parse("T | where Timestamp > datetime(yesterday)").is_err());
    }
}
