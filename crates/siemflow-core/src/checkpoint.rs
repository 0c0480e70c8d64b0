//! Writing source positions so that a crash at any moment leaves either the old or the new one.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Reads a checkpoint; `Ok(None)` when there is none yet.
pub fn load<T: DeserializeOwned>(path: &Path) -> std::io::Result<Option<T>> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|error| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("checkpoint {} is corrupt: {error}", path.display()),
            )
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

/// Replaces a checkpoint atomically: write a temporary file, sync it, rename it over the old one,
/// and sync the directory.
pub fn store<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let directory = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(directory)?;
    let temporary = path.with_extension("json.tmp");
    {
        let mut file = File::create(&temporary)?;
        serde_json::to_writer(&mut file, value)?;
        file.write_all(b"\n")?;
        file.sync_all()?;
    }
    fs::rename(&temporary, path)?;
    File::open(directory)?.sync_all()
}

/// [`store`], with the error a component stops with: it names the file.
pub fn save<T: Serialize>(path: &Path, value: &T) -> Result<(), crate::component::ComponentError> {
    store(path, value).map_err(|error| {
        crate::component::ComponentError::io(
            format!("cannot write checkpoint {}", path.display()),
            error,
        )
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn round_trips_and_reports_corruption() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("a/b.json");
        assert_eq!(load::<BTreeMap<String, u64>>(&path).unwrap(), None);
        let value = BTreeMap::from([("x".to_string(), 7u64)]);
        store(&path, &value).unwrap();
        assert_eq!(load::<BTreeMap<String, u64>>(&path).unwrap(), Some(value));
        fs::write(&path, b"{").unwrap();
        let error = load::<BTreeMap<String, u64>>(&path).unwrap_err();
        assert!(error.to_string().contains("corrupt"));
    }
}
