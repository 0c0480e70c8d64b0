//! Transforms: what happens to events between sources and sinks.

pub mod dedupe;
pub mod filter;
pub mod route;
