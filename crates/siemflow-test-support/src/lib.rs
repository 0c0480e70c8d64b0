//! Test servers that behave like the real services siemflow talks to, written from their public
//! documentation, for tests and benchmarks that cannot reach the real thing.
//!
//! - [`hec`]: a Splunk HTTP Event Collector with indexer acknowledgement and fault injection.
//! - [`azurite`]: Microsoft's Blob Storage emulator, started per test.
//! - [`collector`]: a generic HTTP log collector (NDJSON, JSON arrays, text) for the `http` sink.
//! - [`ocsf`]: an OCSF event validator written from the official compiled 1.5.0 schema.
//! - [`proxy`]: a TCP proxy that can play dead, to make a real server unreachable for a while.
//! - [`defender_corpus`]: generated streaming records of every 2026 Defender table and ActionType,
//!   typed from Microsoft's schema docs.
//! - [`defender`]: the Microsoft identity platform's token endpoint and the Defender for Endpoint,
//!   Defender XDR and Graph security alert and incident APIs, with quotas and fault injection.
//!
//! [`bench_input`] writes the 1 KiB records the throughput benchmarks read.
//!
//! [`server`] holds what they share: the thread, hyper, TLS, gzip bodies, fault dice; [`tls`]
//! makes test certificates.
//!
//! Each server runs on its own thread with its own runtime, so synchronous tests (which start
//! `siemflow` as a child process) and async ones use it alike.

pub mod azurite;
pub mod bench_input;
pub mod collector;
pub mod defender;
pub mod defender_corpus;
pub mod event_hubs;
pub mod hec;
pub mod ocsf;
pub mod proxy;
pub mod server;
pub mod tls;
