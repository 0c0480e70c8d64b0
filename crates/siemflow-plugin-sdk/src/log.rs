//! Writing to siemflow's log from a plugin.
//!
//! Lines are tagged with the pipeline and component by the host. Prefer a few lines per batch to
//! one per event: the host rate-limits plugin logs.

use crate::bindings::siemflow::plugin::host::{Level, log};

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
