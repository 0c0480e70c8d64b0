//! The siemflow engine.
//!
//! An event enters at a source, travels in batches through transforms to sinks, and its
//! acknowledgement travels back so the source can move its checkpoint. The modules follow that
//! path:
//!
//! - [`config`] reads pipeline files (positions, interpolation) and [`compile`] types and checks
//!   them against a [`registry::Registry`] of component types;
//! - [`codec`] cuts input bytes into JSON records; [`event`] is what travels, with its
//!   [`event::EventFinalizer`] back to the source batch;
//! - [`component`] is the contract a source, transform or sink implements; [`topology`] wires and
//!   runs them with bounded [`topology::buffer`]s;
//! - [`acks`] and [`checkpoint`] let a source commit only what was delivered;
//! - [`dead_letter`] takes what cannot be processed; [`telemetry`] counts everything;
//!   [`backoff`] is the one retry policy;
//! - [`unit_test`] runs the `tests:` block of pipeline files.
//!
//! `docs/ARCHITECTURE.md` follows one event through these files.

pub mod acks;
pub mod backoff;
pub mod checkpoint;
pub mod codec;
pub mod compile;
pub mod component;
pub mod condition;
pub mod config;
pub mod dead_letter;
pub mod event;
pub mod fuzzing;
pub mod registry;
pub mod secret;
pub mod tap;
pub mod telemetry;
pub mod topology;
pub mod unit_test;

pub use compile::{Pipeline, compile, load_and_compile};
