//! Relative paths in a pipeline file are relative to the file's folder.
//!
//! A pipeline file names other files: a `file` source's pattern, a `file` sink's output, a
//! plugin, CA and client certificates, a service principal's certificate. A relative one is taken
//! from the folder of the pipeline file, as `${file:...}` and `tests:` inputs are, so a pipeline
//! means the same from any working directory (a systemd unit or a container sets none). Absolute
//! paths are kept as written.

use std::path::{Path, PathBuf};

/// Makes `path` relative to `base` when it is relative.
pub fn resolve(base: &Path, path: &mut PathBuf) {
    if path.is_relative() && !base.as_os_str().is_empty() {
        *path = base.join(&*path);
    }
}

/// [`resolve`] for an optional path.
pub fn resolve_opt(base: &Path, path: &mut Option<PathBuf>) {
    if let Some(path) = path {
        resolve(base, path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_move_to_the_folder_and_absolute_ones_stay() {
        let mut relative = PathBuf::from("certs/ca.pem");
        resolve(Path::new("/etc/siemflow"), &mut relative);
        assert_eq!(relative, Path::new("/etc/siemflow/certs/ca.pem"));
        let mut absolute = Some(PathBuf::from("/var/ca.pem"));
        resolve_opt(Path::new("/etc/siemflow"), &mut absolute);
        assert_eq!(absolute.unwrap(), Path::new("/var/ca.pem"));
        let mut here = PathBuf::from("a.json");
        resolve(Path::new(""), &mut here);
        assert_eq!(here, Path::new("a.json"));
    }
}
