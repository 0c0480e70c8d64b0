//! `siemflow plugin new NAME`: a plugin crate that builds and passes its own test as generated.

use std::path::{Path, PathBuf};

use super::{Failure, NewArgs};

/// The files of a new plugin crate: (path, template).
const FILES: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../../templates/plugin/Cargo.toml.tmpl"),
    ),
    (
        "src/lib.rs",
        include_str!("../../templates/plugin/lib.rs.tmpl"),
    ),
    (
        "samples/input.jsonl",
        include_str!("../../templates/plugin/input.jsonl.tmpl"),
    ),
    (
        "samples/expected.txt",
        include_str!("../../templates/plugin/expected.txt.tmpl"),
    ),
    (
        "pipeline.yaml",
        include_str!("../../templates/plugin/pipeline.yaml.tmpl"),
    ),
    (
        "README.md",
        include_str!("../../templates/plugin/README.md.tmpl"),
    ),
    (
        ".gitignore",
        include_str!("../../templates/plugin/gitignore.tmpl"),
    ),
];

/// The SDK this binary was built with, when its source is still there.
const BUILT_WITH_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../siemflow-plugin-sdk");

pub fn create(args: &NewArgs) -> Result<(), Failure> {
    let name = &args.name;
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(Failure::usage(format!(
            "`{name}` is not a crate name: use letters, digits, `-` and `_`, starting with a letter"
        )));
    }
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from(name));
    if dir.exists() {
        return Err(Failure::usage(format!("{} already exists", dir.display())));
    }
    let sdk = sdk_path(args.sdk.as_deref())?;
    let crate_name = name.replace('-', "_");
    let replacements = [
        ("{{name}}", name.clone()),
        ("{{crate}}", crate_name.clone()),
        ("{{type}}", type_name(name)),
        (
            "{{sdk}}",
            format!("path = \"{}\"", toml_escape(&sdk.display().to_string())),
        ),
        ("{{wasm}}", format!("{crate_name}.wasm")),
    ];
    for (path, template) in FILES {
        let mut content = template.to_string();
        for (placeholder, value) in &replacements {
            content = content.replace(placeholder, value);
        }
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|error| {
                Failure::runtime(format!("cannot create {}: {error}", parent.display()))
            })?;
        }
        std::fs::write(&target, content).map_err(|error| {
            Failure::runtime(format!("cannot write {}: {error}", target.display()))
        })?;
    }
    println!("created plugin `{name}` in {}", dir.display());
    println!();
    println!("  cd {}", dir.display());
    println!("  cargo test                  # the golden-file test, natively");
    println!("  siemflow plugin build .     # -> {crate_name}.wasm");
    println!("  siemflow run pipeline.yaml  # -> out/{name}.leef");
    Ok(())
}

/// `--sdk`, else `$SIEMFLOW_PLUGIN_SDK`, else the SDK source this binary was built from.
fn sdk_path(given: Option<&Path>) -> Result<PathBuf, Failure> {
    let from_env = std::env::var_os("SIEMFLOW_PLUGIN_SDK").map(PathBuf::from);
    let candidate = given
        .map(Path::to_path_buf)
        .or(from_env)
        .unwrap_or_else(|| PathBuf::from(BUILT_WITH_SDK));
    let sdk = std::fs::canonicalize(&candidate).map_err(|error| {
        Failure::usage(format!(
            "the plugin SDK is not at {} ({error}); pass --sdk with the path of crates/siemflow-plugin-sdk \
             of a siemflow checkout",
            candidate.display()
        ))
    })?;
    if !sdk.join("Cargo.toml").is_file() {
        return Err(Failure::usage(format!(
            "{} holds no Cargo.toml: not the plugin SDK",
            sdk.display()
        )));
    }
    Ok(sdk)
}

/// `acme-map` -> `AcmeMap`.
fn type_name(name: &str) -> String {
    name.split(['-', '_'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn toml_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_rust_types() {
        assert_eq!(type_name("acme-map"), "AcmeMap");
        assert_eq!(type_name("my_cef__plugin"), "MyCefPlugin");
        assert_eq!(type_name("x"), "X");
    }
}
