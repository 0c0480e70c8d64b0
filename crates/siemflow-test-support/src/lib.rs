//! Test servers that behave like the real services siemflow talks to, written from their public
//! documentation, for tests and benchmarks that cannot reach the real thing.
//!
//! - [`hec`]: a Splunk HTTP Event Collector with indexer acknowledgement and fault injection.
//!
//! Each server runs on its own thread with its own runtime, so synchronous tests (which start
//! `siemflow` as a child process) and async ones use it alike.

pub mod hec;
