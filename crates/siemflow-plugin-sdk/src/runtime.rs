//! What [`crate::export_plugin!`] calls: keeps the plugin instance and runs batches through it.

use std::any::Any;
use std::cell::RefCell;

use crate::Plugin;
use crate::bindings::siemflow::plugin::types as abi;
use crate::event::{Event, Outcome};

thread_local! {
    static INSTANCE: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

/// Reads the config and creates the plugin.
pub fn init<P: Plugin>(config: &str) -> Result<(), String> {
    // One line per panic on stderr: the host puts the last stderr line in the dead-letter reason.
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_string());
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("panicked{location}: {message}");
    }));
    let plugin = create::<P>(config)?;
    INSTANCE.with(|instance| *instance.borrow_mut() = Some(Box::new(plugin)));
    Ok(())
}

/// Parses the config (JSON text; empty means `{}`) and calls [`Plugin::new`].
pub fn create<P: Plugin>(config: &str) -> Result<P, String> {
    let config: P::Config = serde_json::from_str(if config.trim().is_empty() {
        "{}"
    } else {
        config
    })
    .map_err(|error| format!("invalid plugin config: {error}"))?;
    P::new(config).map_err(|failure| failure.into_reason())
}

/// Maps a batch, one outcome per event.
pub fn process<P: Plugin>(events: Vec<abi::Event>) -> Vec<abi::Outcome> {
    INSTANCE.with(|instance| {
        let mut instance = instance.borrow_mut();
        let Some(plugin) = instance.as_mut().and_then(|p| p.downcast_mut::<P>()) else {
            let failed = abi::Outcome::Failed("the plugin was not initialised".into());
            return events.iter().map(|_| failed.clone()).collect();
        };
        events
            .into_iter()
            .map(|raw| Outcome::into_abi(plugin.process(&Event { raw })))
            .collect()
    })
}
