//! Azure Event Hubs over AMQP 1.0: what the `event_hubs` source (and any later Event Hubs
//! component) shares.
//!
//! - [`connection_string`]: the portal's and the emulator's connection strings.
//! - [`sas`]: shared access signature tokens signed from a key.
//! - [`namespace`]: a connection authorized on `$cbs`, `$management` reads, receive links, and
//!   the AMQP error conditions mapped to what a consumer does about them.
//! - [`receiver`]: a receive link and its credit window.

pub mod connection_string;
pub mod namespace;
pub mod receiver;
pub mod sas;
