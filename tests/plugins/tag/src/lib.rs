//! A well-behaved test plugin: `PREFIX|category|n` per event, with switches in the event to drop,
//! fail or split it.

use siemflow_plugin_sdk::{Event, Failure, Outcome, Output, Plugin, export_plugin, log};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    prefix: String,
}

struct Tag {
    prefix: String,
}

impl Plugin for Tag {
    type Config = Config;

    fn new(config: Config) -> Result<Self, Failure> {
        if config.prefix.is_empty() {
            return Err("`prefix` cannot be empty".into());
        }
        log::info(&format!("tag plugin ready with prefix {}", config.prefix));
        Ok(Tag {
            prefix: config.prefix,
        })
    }

    fn process(&mut self, event: &Event) -> Result<Outcome, Failure> {
        let record = event.json()?;
        if record["drop"] == true {
            return Ok(Outcome::Dropped);
        }
        if let Some(reason) = record["fail"].as_str() {
            return Err(reason.into());
        }
        let category = record["category"].as_str().unwrap_or("none");
        let n = &record["n"];
        let copies = record["split"].as_u64().unwrap_or(1);
        Ok(Outcome::Outputs(
            (0..copies)
                .map(|copy| {
                    Output::text(format!("{}|{category}|{n}|{copy}", self.prefix))
                        .siem_event_id(format!("{category}:{copy}"))
                })
                .collect(),
        ))
    }
}

export_plugin!(Tag);
