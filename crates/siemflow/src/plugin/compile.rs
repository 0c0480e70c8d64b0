//! `siemflow plugin build DIR`: cargo to a `wasm32-wasip2` component, then a check that siemflow
//! can load it, which also precompiles it into the data directory's plugin cache.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::Failure;

const TARGET: &str = "wasm32-wasip2";
const FLAGS_VARIABLE: &str = "CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS";

/// Builds the crate in `dir`; returns the component's path.
pub fn build(dir: &Path, output: Option<&Path>, data_dir: &Path) -> Result<PathBuf, Failure> {
    let manifest = dir.join("Cargo.toml");
    let manifest = std::fs::canonicalize(&manifest).map_err(|error| {
        Failure::usage(format!(
            "{} is not a plugin crate: {error}",
            manifest.display()
        ))
    })?;
    ensure_target()?;
    let built = cargo_build(&manifest)?;
    let crate_dir = manifest.parent().unwrap_or(Path::new("."));
    let output = match output {
        Some(output) => output.to_path_buf(),
        None => crate_dir.join(built.file_name().unwrap_or_default()),
    };
    std::fs::copy(&built, &output).map_err(|error| {
        Failure::runtime(format!(
            "cannot copy {} to {}: {error}",
            built.display(),
            output.display()
        ))
    })?;
    siemflow_wasm::engine::set_cache_dir(&data_dir.join("plugin-cache"));
    let reference = output.display().to_string();
    siemflow_wasm::plugin::load(&reference).map_err(Failure::runtime)?;
    let size = std::fs::metadata(&output).map(|m| m.len()).unwrap_or(0);
    println!(
        "built {} ({} KiB); it loads, and its compiled code is cached in {}",
        output.display(),
        size.div_ceil(1024),
        data_dir.join("plugin-cache").display()
    );
    Ok(output)
}

/// Installs the `wasm32-wasip2` target with rustup when it is missing.
fn ensure_target() -> Result<(), Failure> {
    let Ok(listed) = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
    else {
        // No rustup: the toolchain manages its targets some other way; cargo will say.
        return Ok(());
    };
    if String::from_utf8_lossy(&listed.stdout)
        .lines()
        .any(|line| line.trim() == TARGET)
    {
        return Ok(());
    }
    eprintln!("installing the {TARGET} target: rustup target add {TARGET}");
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .map_err(|error| Failure::runtime(format!("cannot run rustup: {error}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Failure::runtime(format!(
            "`rustup target add {TARGET}` failed ({status})"
        )))
    }
}

/// Runs cargo; the compiler's messages go to stderr, the artifact list is read from stdout.
fn cargo_build(manifest: &Path) -> Result<PathBuf, Failure> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    // The flags the built-in plugins are built with, unless the user chose their own.
    if std::env::var_os("RUSTFLAGS").is_none() && std::env::var_os(FLAGS_VARIABLE).is_none() {
        command.env(FLAGS_VARIABLE, siemflow_wasm::guest::rustflags());
    }
    let output = command
        .args([
            "build",
            "--release",
            "--target",
            TARGET,
            "--message-format",
            "json-render-diagnostics",
        ])
        .arg("--manifest-path")
        .arg(manifest)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|error| Failure::runtime(format!("cannot run cargo: {error}")))?;
    if !output.status.success() {
        return Err(Failure::runtime(format!(
            "cargo build failed ({})",
            output.status
        )));
    }
    component_of(&String::from_utf8_lossy(&output.stdout), manifest).ok_or_else(|| {
        Failure::runtime(format!(
            "cargo built no .wasm for {}: is `crate-type = [\"cdylib\"]` in its [lib]?",
            manifest.display()
        ))
    })
}

/// The `.wasm` of the crate's cdylib, from cargo's JSON messages.
fn component_of(messages: &str, manifest: &Path) -> Option<PathBuf> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter(|message| message["manifest_path"].as_str().map(Path::new) == Some(manifest))
        .filter(|message| {
            message["target"]["crate_types"]
                .as_array()
                .is_some_and(|types| types.iter().any(|t| t == "cdylib"))
        })
        .flat_map(|message| {
            message["filenames"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|name| name.as_str().map(PathBuf::from))
        })
        .find(|path| path.extension().is_some_and(|ext| ext == "wasm"))
}
