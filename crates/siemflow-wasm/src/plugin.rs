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

static LOADED: OnceLock<Mutex<HashMap<String, Arc<LoadedPlugin>>>> = OnceLock::new();

/// Loads `builtin:NAME` or a `.wasm` component file. A plugin used by several pipelines is
/// compiled once per process (and once per machine with the cache).
pub fn load(reference: &str) -> Result<Arc<LoadedPlugin>, String> {
    let loaded = LOADED.get_or_init(Mutex::default);
    if let Some(plugin) = loaded
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(reference)
    {
        return Ok(plugin.clone());
    }
    let bytes: std::borrow::Cow<'static, [u8]> = match reference.strip_prefix("builtin:") {
        Some(name) => match builtin::find(name) {
            Some(bytes) => bytes.into(),
            None => {
                return Err(format!(
                    "unknown built-in plugin `{name}` (built in: {})",
                    match builtin::names().as_slice() {
                        [] => "none".to_string(),
                        names => names.join(", "),
                    }
                ));
            }
        },
        None => std::fs::read(Path::new(reference))
            .map_err(|error| format!("cannot read plugin `{reference}`: {error}"))?
            .into(),
    };
    let engine = engine()?;
    let component = Component::new(engine, &bytes)
        .map_err(|error| format!("plugin `{reference}` is not a valid component: {error:#}"))?;
    let mut linker: Linker<State> = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
        .map_err(|error| format!("cannot link WASI: {error:#}"))?;
    Transform::add_to_linker::<State, HasSelf<State>>(&mut linker, |state| state)
        .map_err(|error| format!("cannot link the host interface: {error:#}"))?;
    let instance_pre = linker.instantiate_pre(&component).map_err(|error| {
        format!("plugin `{reference}` needs imports siemflow does not offer: {error:#}")
    })?;
    let pre = TransformPre::new(instance_pre).map_err(|error| {
        format!(
            "plugin `{reference}` does not export the siemflow:plugin/transform world (init, process): {error:#}"
        )
    })?;
    let plugin = Arc::new(LoadedPlugin {
        name: reference.to_string(),
        pre,
    });
    loaded
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(reference.to_string(), plugin.clone());
    Ok(plugin)
}
