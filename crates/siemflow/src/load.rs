//! Finding, reading and compiling pipeline files, collecting every error.

use std::path::{Path, PathBuf};

use siemflow_core::Pipeline;
use siemflow_core::config::{ConfigError, ConfigErrors, yaml::Mark};
use siemflow_core::load_and_compile;
use siemflow_core::registry::Registry;

/// Loads every pipeline under `paths`; all errors of all files at once.
pub fn pipelines(paths: &[PathBuf], registry: &Registry) -> Result<Vec<Pipeline>, ConfigErrors> {
    let mut errors = Vec::new();
    let mut files = Vec::new();
    for path in paths {
        match expand(path, false) {
            Ok(found) => files.extend(found),
            Err(error) => errors.push(error),
        }
    }
    let mut pipelines: Vec<Pipeline> = Vec::new();
    for file in files {
        match load_and_compile(&file, registry) {
            Ok(pipeline) => {
                if let Some(other) = pipelines.iter().find(|p| p.id() == pipeline.id()) {
                    errors.push(ConfigError::new(
                        &pipeline.file.path,
                        pipeline.file.id_mark,
                        format!(
                            "pipeline id `{}` is already used by {}",
                            pipeline.id(),
                            other.file.path.display()
                        ),
                    ));
                } else {
                    pipelines.push(pipeline);
                }
            }
            Err(found) => errors.extend(found.0),
        }
    }
    if errors.is_empty() {
        Ok(pipelines)
    } else {
        Err(ConfigErrors(errors))
    }
}

/// A file as is; a directory as its `*.yaml` and `*.yml` files, in name order. An empty directory
/// is an error unless `allow_empty` (a watched directory may start empty).
pub fn expand(path: &Path, allow_empty: bool) -> Result<Vec<PathBuf>, ConfigError> {
    let failed =
        |message: String| ConfigError::new(&path.into(), Mark { line: 1, column: 1 }, message);
    if !path.is_dir() {
        if !path.exists() {
            return Err(failed("no such file or directory".into()));
        }
        return Ok(vec![path.to_path_buf()]);
    }
    let entries = std::fs::read_dir(path)
        .map_err(|error| failed(format!("cannot list directory: {error}")))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.is_file()
                && matches!(
                    path.extension().and_then(|e| e.to_str()),
                    Some("yaml" | "yml")
                )
        })
        .collect();
    files.sort();
    if files.is_empty() && !allow_empty {
        return Err(failed(
            "no *.yaml or *.yml pipeline files in this directory".into(),
        ));
    }
    Ok(files)
}
