//! A plugin built against ABI 0.1.0 (`wit/v0.1.0`), as plugins compiled before 0.2.0 were:
//! siemflow must keep loading it. It passes each event through, typed `legacy-v0-1`, and logs
//! once per batch through the 0.1.0 host interface.

#![allow(unsafe_code, reason = "wit-bindgen generates the canonical ABI glue")]

wit_bindgen::generate!({
    path: "../../../wit/v0.1.0",
    world: "transform",
});

use siemflow::plugin::host::{Level, log};
use siemflow::plugin::types::Output;

struct Legacy;

impl Guest for Legacy {
    fn init(_config: String) -> Result<(), String> {
        Ok(())
    }

    fn process(events: Vec<Event>) -> Vec<Outcome> {
        log(
            Level::Info,
            &format!("legacy plugin: {} event(s)", events.len()),
        );
        events
            .into_iter()
            .map(|event| {
                Outcome::Outputs(vec![Output {
                    body: event.body,
                    format: event.format,
                    event_type: Some("legacy-v0-1".to_string()),
                    siem_event_id: None,
                    sourcetype: None,
                    route: None,
                }])
            })
            .collect()
    }
}

export!(Legacy);
