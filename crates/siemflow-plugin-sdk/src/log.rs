//! Writing to siemflow's log from a plugin.
//!
//! Lines are tagged with the pipeline and component by the host. Prefer a few lines per batch to
//! one per event: the host keeps at most 20 lines per batch. Outside WebAssembly (a plugin's own
//! `cargo test`), lines go to stderr.

use crate::bindings::siemflow::plugin::host::Level;

fn log(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::bindings::siemflow::plugin::host::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("{level:?}: {message}");
}

/// Logs at error level.
pub fn error(message: &str) {
    log(Level::Error, message);
}

/// Logs at warn level.
pub fn warn(message: &str) {
    log(Level::Warn, message);
}

/// Logs at info level.
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// Logs at debug level.
pub fn debug(message: &str) {
    log(Level::Debug, message);
}
