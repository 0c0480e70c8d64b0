//! Loading a plugin: finding its bytes, compiling (or reading the cache), linking.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use wasmtime::component::{Component, HasSelf, Linker};

use crate::bindings::{Transform, TransformPre};
use crate::builtin;
use crate::engine::engine;
use crate::instance::State;

/// A plugin compiled and linked, ready to be instantiated any number of times.
pub struct LoadedPlugin {
    /// `builtin:NAME` or the path it was loaded from.
    pub name: String,
    pub(crate) pre: TransformPre<State>,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("name", &self.name)
            .finish()
    }
}

/// A compiled plugin with the digest of the bytes it was compiled from.
type Compiled = (u128, Arc<LoadedPlugin>);

/// Every plugin compiled in this process, by reference.
static LOADED: OnceLock<Mutex<HashMap<String, Compiled>>> = OnceLock::new();

/// Loads `builtin:NAME` or a `.wasm` component file. A plugin used by several pipelines is
/// compiled once per process (and once per machine with the cache); a file rebuilt since it was
/// last loaded is compiled again, so a pipeline started after the rebuild runs the new code.
pub fn load(reference: &str) -> Result<Arc<LoadedPlugin>, String> {
    let bytes = component_bytes(reference)?;
    let digest = xxhash_rust::xxh3::xxh3_128(&bytes);
    let loaded = LOADED.get_or_init(Mutex::default);
    if let Some((compiled_from, plugin)) = loaded
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(reference)
        && *compiled_from == digest
    {
        return Ok(plugin.clone());
    }
    let plugin = Arc::new(compile(reference, &bytes)?);
    loaded
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(reference.to_string(), (digest, plugin.clone()));
    Ok(plugin)
}

/// The component a reference names: embedded for `builtin:NAME`, else read from the file.
fn component_bytes(reference: &str) -> Result<std::borrow::Cow<'static, [u8]>, String> {
    match reference.strip_prefix("builtin:") {
        Some(name) => builtin::find(name).map(Into::into).ok_or_else(|| {
            format!(
                "unknown built-in plugin `{name}` (built in: {})",
                match builtin::names().as_slice() {
                    [] => "none".to_string(),
                    names => names.join(", "),
                }
            )
        }),
        None => std::fs::read(Path::new(reference))
            .map(Into::into)
            .map_err(|error| format!("cannot read plugin `{reference}`: {error}")),
    }
}

/// Compiles (or reads from the cache) and links one component.
fn compile(reference: &str, bytes: &[u8]) -> Result<LoadedPlugin, String> {
    let engine = engine()?;
    let component = Component::new(engine, bytes)
        .map_err(|error| format!("plugin `{reference}` is not a valid component: {error:#}"))?;
    let mut linker: Linker<State> = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
        .map_err(|error| format!("cannot link WASI: {error:#}"))?;
    Transform::add_to_linker::<State, HasSelf<State>>(&mut linker, |state| state)
        .map_err(|error| format!("cannot link the host interface: {error:#}"))?;
    crate::bindings_v0_1::Transform::add_to_linker::<State, HasSelf<State>>(&mut linker, |state| {
        state
    })
    .map_err(|error| format!("cannot link the host interface 0.1.0: {error:#}"))?;
    let instance_pre = linker.instantiate_pre(&component).map_err(|error| {
        format!("plugin `{reference}` needs imports siemflow does not offer: {error:#}")
    })?;
    let pre = TransformPre::new(instance_pre).map_err(|error| {
        format!(
            "plugin `{reference}` does not export the siemflow:plugin/transform world (init, process): {error:#}"
        )
    })?;
    Ok(LoadedPlugin {
        name: reference.to_string(),
        pre,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guest(name: &str) -> std::path::PathBuf {
        Path::new(builtin::guest_dir()).join(format!("{name}.wasm"))
    }

    #[test]
    fn a_file_is_compiled_once_until_it_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plugin.wasm");
        let reference = path.display().to_string();
        std::fs::copy(guest("tag"), &path).unwrap();
        let first = load(&reference).unwrap();
        let again = load(&reference).unwrap();
        assert!(
            Arc::ptr_eq(&first, &again),
            "same bytes: the compiled plugin is shared"
        );

        std::fs::copy(guest("misbehave"), &path).unwrap();
        let rebuilt = load(&reference).unwrap();
        assert!(!Arc::ptr_eq(&first, &rebuilt), "new bytes: compiled again");
        assert!(Arc::ptr_eq(&rebuilt, &load(&reference).unwrap()));
    }
}
