//! One event per line: the encoding shared by the `file` and `console` sinks.

use siemflow_core::event::Event;

/// Appends each event as one line: formatted text as is, JSON on one line (pretty-printed
/// documents are minified; their bytes are otherwise untouched).
pub(crate) fn encode(events: &[Event], buffer: &mut Vec<u8>) {
    for event in events {
        buffer.extend_from_slice(&event.to_line());
        buffer.push(b'\n');
    }
}
