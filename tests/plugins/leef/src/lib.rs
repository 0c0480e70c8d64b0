//! A test plugin: any Defender record to a LEEF 2.0 line (`^` between pairs), for the sink tests
//! until the built-in LEEF mapping exists.

use siemflow_plugin_sdk::leef::{Delimiter, Leef, LeefHeader, LeefVersion};
use siemflow_plugin_sdk::{Event, Failure, Outcome, Plugin, export_plugin};

struct ToLeef {
    version: LeefVersion,
}

impl Plugin for ToLeef {
    type Config = serde::de::IgnoredAny;

    fn new(_: Self::Config) -> Result<Self, Failure> {
        Ok(Self {
            version: LeefVersion::V2(Delimiter::parse("^")?),
        })
    }

    fn process(&mut self, event: &Event) -> Result<Outcome, Failure> {
        let record = event.record()?;
        let table = record.table().unwrap_or_default();
        let event_id = match record.text("ActionType") {
            Some(action) => format!("{table}.{action}"),
            None => table.to_string(),
        };
        let mut leef = Leef::new(
            &self.version,
            &LeefHeader {
                vendor: "Microsoft",
                product: "Defender XDR",
                version: "1.0",
                event_id: &event_id,
            },
        );
        leef.attr("cat", &*table)
            .attr_opt("devTime", record.timestamp().map(|t| t.unix_millis()))
            .attr_opt("identHostName", record.value("DeviceName"))
            .attr_opt("usrName", record.value("AccountName"))
            .attr_opt("n", record.value("n"))
            .attr_opt("cmd", record.value("ProcessCommandLine"));
        Ok(Outcome::text(leef.finish()))
    }
}

export_plugin!(ToLeef);
