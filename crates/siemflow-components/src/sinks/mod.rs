//! Sinks: where events leave a pipeline.

pub mod console;
pub mod defender_alert_update;
pub mod file;
pub mod http;
mod lines;
pub mod splunk_hec;
pub mod syslog;
