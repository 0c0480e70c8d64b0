//! From bytes to events: framing a stream into JSON frames and frames into records.
//!
//! Shared by every source that reads JSON (file, stdin, Event Hubs message bodies, blob lines) and
//! by `siemflow test` input files, so all of them split Defender envelopes and report bad input the
//! same way.

mod framing;
mod records;

pub use framing::{Frame, Framer, Framing, OVERSIZE_PREFIX_BYTES};
pub use records::{DecodeError, EventTypes, Record, decode};
