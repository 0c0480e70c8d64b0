//! siemflow's integration tests, in one binary so they link once.
//!
//! Tests that need the `siemflow` command run the binary Cargo built for this test run; tests of
//! the engine's behaviour run pipelines in-process with extra test components. Each test works in
//! its own temporary directory.

#![allow(
    clippy::unwrap_used,
    reason = "a test helper that meets an unexpected error should fail the test"
)]

mod azure_blob;
mod backpressure;
mod bad_input;
mod cli;
mod crash_recovery;
mod dead_letter_replay;
mod defender_hunting;
mod defender_rest;
mod defender_scale;
mod degraded;
mod delivery;
mod disk_buffer;
mod event_hubs_balance;
mod event_hubs_emulator;
mod event_hubs_source;
mod file_source;
mod fuzz_corpora;
mod metrics;
mod normalize;
mod option_reference;
mod plugin_cli;
mod plugins;
mod reload;
mod secrets;
mod splunk_hec;
mod support;
mod syslog;
mod syslog_ng;
mod tap;
mod test_components;
mod validate;
mod validate_connect;
