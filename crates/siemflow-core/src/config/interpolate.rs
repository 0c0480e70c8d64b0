//! `${VAR}`, `${VAR:-default}` and `${file:PATH}` in pipeline files.
//!
//! Interpolation runs on scalar values of the parsed tree, never on the raw text, so an environment
//! variable can only ever become a string: it cannot inject YAML structure. `$$` is a literal `$`.

use std::path::{Path, PathBuf};

use super::yaml::{Mark, Node, NodeKind, ScalarStyle};

/// Where interpolated values come from. The process environment in production, a map in tests.
pub trait Environment {
    /// The value of an environment variable, if set.
    fn var(&self, name: &str) -> Option<String>;
    /// The content of a secret file.
    fn read_file(&self, path: &Path) -> std::io::Result<String>;
}

/// The real environment; relative `${file:...}` paths are resolved against `base_dir`.
#[derive(Debug, Clone)]
pub struct ProcessEnvironment {
    /// Directory of the pipeline file.
    pub base_dir: PathBuf,
}

impl Environment for ProcessEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn read_file(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(self.base_dir.join(path))
    }
}

/// Replaces every `${...}` in the tree's values; returns one error per failed reference.
pub fn interpolate(node: &mut Node, env: &dyn Environment) -> Vec<(Mark, String)> {
    let mut errors = Vec::new();
    walk(node, env, &mut errors);
    errors
}

fn walk(node: &mut Node, env: &dyn Environment, errors: &mut Vec<(Mark, String)>) {
    match &mut node.kind {
        NodeKind::Scalar(scalar) => {
            if !scalar.value.contains('$') {
                return;
            }
            // Offsets inside plain scalars map to exact columns; quoted ones start one later and
            // escapes make the rest approximate, so point at the opening quote then.
            let base = node.mark;
            let exact = scalar.style == ScalarStyle::Plain;
            match expand(&scalar.value, env) {
                Ok((value, interpolated)) => {
                    scalar.value = value;
                    scalar.interpolated = interpolated;
                }
                Err(failures) => {
                    for (offset, message) in failures {
                        let mark = if exact {
                            Mark {
                                line: base.line,
                                column: base.column + offset as u32,
                            }
                        } else {
                            base
                        };
                        errors.push((mark, message));
                    }
                }
            }
        }
        NodeKind::Sequence(items) => {
            for item in items {
                walk(item, env, errors);
            }
        }
        NodeKind::Mapping(entries) => {
            for (_, value) in entries {
                walk(value, env, errors);
            }
        }
    }
}

/// Expands one string; the flag says whether a value was interpolated (not only `$$` unescaped).
fn expand(text: &str, env: &dyn Environment) -> Result<(String, bool), Vec<(usize, String)>> {
    let mut output = String::with_capacity(text.len());
    let mut failures = Vec::new();
    let mut interpolated = false;
    let mut rest = text;
    let mut consumed_chars = 0usize;
    while let Some(position) = rest.find('$') {
        output.push_str(&rest[..position]);
        let char_offset = consumed_chars + rest[..position].chars().count();
        let after = &rest[position + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            output.push('$');
            consumed_chars = char_offset + 2;
            rest = stripped;
            continue;
        }
        let Some(body_start) = after.strip_prefix('{') else {
            output.push('$');
            consumed_chars = char_offset + 1;
            rest = after;
            continue;
        };
        let Some(end) = body_start.find('}') else {
            failures.push((char_offset, "`${` without a closing `}`".to_string()));
            return Err(failures);
        };
        let reference = &body_start[..end];
        match resolve(reference, env) {
            Ok(value) => {
                output.push_str(&value);
                interpolated = true;
            }
            Err(message) => failures.push((char_offset, message)),
        }
        consumed_chars = char_offset + 3 + reference.chars().count();
        rest = &body_start[end + 1..];
    }
    output.push_str(rest);
    if failures.is_empty() {
        Ok((output, interpolated))
    } else {
        Err(failures)
    }
}

fn resolve(reference: &str, env: &dyn Environment) -> Result<String, String> {
    if let Some(path) = reference.strip_prefix("file:") {
        if path.is_empty() {
            return Err("`${file:}` needs a path".into());
        }
        return env
            .read_file(Path::new(path))
            .map(|content| {
                let trimmed = content.strip_suffix('\n').unwrap_or(&content);
                let value = trimmed.strip_suffix('\r').unwrap_or(trimmed).to_string();
                // What comes from outside the file is what no output may show.
                crate::secret::register(&value);
                value
            })
            .map_err(|error| format!("cannot read secret file `{path}`: {error}"));
    }
    let (name, default) = match reference.split_once(":-") {
        Some((name, default)) => (name, Some(default)),
        None => (reference, None),
    };
    if !is_variable_name(name) {
        return Err(format!(
            "`${{{reference}}}` is not a valid reference (use ${{NAME}}, ${{NAME:-default}} or ${{file:PATH}})"
        ));
    }
    match (env.var(name), default) {
        (Some(value), Some(default)) if value.is_empty() => Ok(default.to_string()),
        (Some(value), _) => {
            crate::secret::register(&value);
            Ok(value)
        }
        (None, Some(default)) => Ok(default.to_string()),
        (None, None) => Err(format!("environment variable `{name}` is not set")),
    }
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::super::yaml::{Scalar, parse};
    use super::*;

    struct MapEnvironment(HashMap<&'static str, &'static str>);

    impl Environment for MapEnvironment {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|value| value.to_string())
        }

        fn read_file(&self, path: &Path) -> std::io::Result<String> {
            match path.to_str() {
                Some("secret.txt") => Ok("s3cr3t\n".into()),
                _ => Err(std::io::Error::from(std::io::ErrorKind::NotFound)),
            }
        }
    }

    fn env() -> MapEnvironment {
        MapEnvironment(HashMap::from([("TENANT", "contoso"), ("EMPTY", "")]))
    }

    fn scalar(node: &Node, key: &str) -> Scalar {
        let entries = node.as_mapping().unwrap();
        match &entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .unwrap()
            .1
            .kind
        {
            NodeKind::Scalar(scalar) => scalar.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn expands_variables_defaults_and_files() {
        let mut node = parse(
            "a: ${TENANT}-x\nb: ${MISSING:-fallback}\nc: ${EMPTY:-used}\nd: ${file:secret.txt}\ne: cost $$5 and $x\n",
        )
        .unwrap();
        assert!(interpolate(&mut node, &env()).is_empty());
        assert_eq!(scalar(&node, "a").value, "contoso-x");
        assert!(scalar(&node, "a").interpolated);
        assert_eq!(scalar(&node, "b").value, "fallback");
        assert_eq!(scalar(&node, "c").value, "used");
        assert_eq!(scalar(&node, "d").value, "s3cr3t");
        assert_eq!(scalar(&node, "e").value, "cost $5 and $x");
        assert!(!scalar(&node, "e").interpolated);
    }

    #[test]
    fn reports_every_unset_variable_with_its_column() {
        let mut node = parse("a: x ${ONE} ${TWO}\nb: \"${file:nope}\"\n").unwrap();
        let errors = interpolate(&mut node, &env());
        assert_eq!(
            errors,
            vec![
                (
                    Mark { line: 1, column: 6 },
                    "environment variable `ONE` is not set".to_string()
                ),
                (
                    Mark {
                        line: 1,
                        column: 13
                    },
                    "environment variable `TWO` is not set".to_string()
                ),
                (
                    Mark { line: 2, column: 4 },
                    "cannot read secret file `nope`: entity not found".to_string()
                ),
            ]
        );
    }

    #[test]
    fn rejects_bad_references() {
        let mut node = parse("a: ${not valid}\nb: ${open\n").unwrap();
        let errors = interpolate(&mut node, &env());
        assert_eq!(errors.len(), 2);
        assert!(errors[0].1.contains("not a valid reference"));
        assert!(errors[1].1.contains("without a closing"));
    }
}
