//! The option reference in `docs/pipelines.md`, generated from the config types' doc comments:
//! each component type's options as a table of name, default and meaning, from the JSON Schema
//! that `schemars` derives from its config struct (its doc comments are the descriptions).
//!
//! A description states its default as `(default X)`, where `X` is what a user would write; the
//! table shows it in its own column. An option without a default is required.

use serde_json::Value;

/// Implements `schemars::JsonSchema` for an option value written as a string and read into a type
/// of its own (a secret, a URL, an address, a time).
#[macro_export]
macro_rules! string_option_schema {
    ($type:ty) => {
        impl schemars::JsonSchema for $type {
            fn inline_schema() -> bool {
                true
            }

            fn schema_name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($type))
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({ "type": "string" })
            }
        }
    };
}

/// One row of an option table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionRow {
    /// The option's name (`path`, `batch`).
    pub name: String,
    /// `required`, or the default as written in the description.
    pub default: String,
    /// The description without its default.
    pub meaning: String,
}

/// The rows of an object schema's options, by name (flattened blocks among them).
pub fn option_rows(value: &Value) -> Vec<OptionRow> {
    let required: Vec<&str> = value
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = value.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    properties
        .iter()
        .map(|(name, property)| {
            let description = property
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let (meaning, default) = split_default(description);
            let default = match default {
                Some(default) => default,
                None if required.contains(&name.as_str()) => "required".to_string(),
                None => String::new(),
            };
            OptionRow {
                name: name.clone(),
                default,
                meaning,
            }
        })
        .collect()
}

/// Takes the default out of a description, in the forms the doc comments use:
/// `Events per batch (default 500).`, `(default `100ms`; always at the end)`,
/// `(default: the token's)`, and a choice marked `` `gzip` (default) or `none` ``.
fn split_default(description: &str) -> (String, Option<String>) {
    let text = description.split_whitespace().collect::<Vec<_>>().join(" ");
    // A choice marked as the default: the choice stays in the meaning.
    if let Some(at) = text.find("` (default)") {
        let open = text[..at].rfind('`').unwrap_or(at);
        let default = text[open..=at].to_string();
        let meaning = format!("{}{}", &text[..=at], &text[at + "` (default)".len()..]);
        return (meaning, Some(default));
    }
    let Some(start) = ["(default ", "(default: "]
        .iter()
        .filter_map(|form| text.find(form))
        .min()
    else {
        return (text, None);
    };
    let mut depth = 0usize;
    let mut end = None;
    for (at, c) in text[start..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    end = Some(start + at);
                    break;
                }
            }
            _ => {}
        }
    }
    let Some(end) = end else {
        return (text, None);
    };
    let inside = text[start + "(default".len()..end]
        .trim_start_matches(':')
        .trim();
    // `(default `1s`; always at the end)`, `(default `false`: read once, then finish)`: the
    // default is up to the first `;`, or to a `:` right after a quoted value.
    let quoted_end = inside
        .strip_prefix('`')
        .and_then(|rest| rest.find('`'))
        .map(|at| at + 2)
        .filter(|&at| inside[at..].starts_with(':'));
    let (default, rest) = match quoted_end.or_else(|| inside.find(';')) {
        Some(cut) => (&inside[..cut], Some(inside[cut + 1..].trim())),
        None => (inside, None),
    };
    let mut meaning = text[..start].trim_end().to_string();
    if let Some(rest) = rest.filter(|rest| !rest.is_empty()) {
        meaning.push_str(" (");
        meaning.push_str(rest);
        meaning.push(')');
    }
    meaning.push_str(&text[end + 1..]);
    (meaning, Some(default.trim().to_string()))
}

/// The Markdown table of `rows`.
pub fn option_table(rows: &[OptionRow]) -> String {
    let mut table = String::from("| option | default | meaning |\n|---|---|---|\n");
    for row in rows {
        let cell = |text: &str| text.replace('|', "\\|");
        table.push_str(&format!(
            "| `{}` | {} | {} |\n",
            row.name,
            cell(&row.default),
            cell(&row.meaning)
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::split_default;

    #[test]
    fn defaults_are_taken_out_of_descriptions() {
        let split = |text: &str| split_default(text);
        assert_eq!(
            split("Events per batch (default 500)."),
            ("Events per batch.".into(), Some("500".into()))
        );
        assert_eq!(
            split("How often offsets are written (default `100ms`; always at the end)."),
            (
                "How often offsets are written (always at the end).".into(),
                Some("`100ms`".into())
            )
        );
        assert_eq!(
            split("`auto` (default), `lines` or `documents`."),
            (
                "`auto`, `lines` or `documents`.".into(),
                Some("`auto`".into())
            )
        );
        assert_eq!(
            split("The index (default: the token's default index)."),
            (
                "The index.".into(),
                Some("the token's default index".into())
            )
        );
        assert_eq!(
            split("Keep reading (default `false`: read once, then finish)."),
            (
                "Keep reading (read once, then finish).".into(),
                Some("`false`".into())
            )
        );
        assert_eq!(split("A path."), ("A path.".into(), None));
    }
}
