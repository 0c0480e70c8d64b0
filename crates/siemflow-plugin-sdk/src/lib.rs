//! Write siemflow transform plugins in Rust.
//!
//! A plugin is a type implementing [`Plugin`]: created once from the pipeline's `config:`, then
//! asked to map one event at a time. [`export_plugin!`] turns it into the WebAssembly component
//! siemflow loads; batching, the ABI and error plumbing are handled here.
//!
//! ```
//! use siemflow_plugin_sdk::cef::{Cef, CefHeader, CefVersion};
//! use siemflow_plugin_sdk::{Event, Failure, Outcome, Plugin, export_plugin};
//!
//! #[derive(serde::Deserialize)]
//! struct Config { vendor: String }
//!
//! struct Acme { vendor: String }
//!
//! impl Plugin for Acme {
//!     type Config = Config;
//!
//!     fn new(config: Config) -> Result<Self, Failure> {
//!         Ok(Acme { vendor: config.vendor })
//!     }
//!
//!     fn process(&mut self, event: &Event) -> Result<Outcome, Failure> {
//!         let record = event.record()?;
//!         let table = record.table().ok_or("not a streaming record")?;
//!         let mut cef = Cef::new(CefVersion::V0, &CefHeader {
//!             vendor: &self.vendor,
//!             product: "Defender",
//!             version: "1.0",
//!             class_id: &table,
//!             name: &table,
//!             severity: 3,
//!         });
//!         cef.ext_opt("dhost", record.text("DeviceName"));
//!         Ok(Outcome::text(cef.finish()))
//!     }
//! }
//!
//! export_plugin!(Acme);
//! ```
//!
//! What the SDK gives a mapping:
//!
//! - [`Event`] and [`record::Record`]: the event as received, and a tolerant Defender model
//!   (unknown fields kept, numbers exact at any size, stringified JSON parsed on demand);
//! - [`cef`] and [`leef`]: strict encoders that escape, clean and limit values the way the
//!   formats require; [`timestamp`] for the date forms they accept;
//! - [`Outcome`] and [`Failure`]: outputs, a deliberate drop, or a dead letter with a reason;
//! - [`log`]: lines in siemflow's log; [`testing`]: golden-file tests with `cargo test`.
//!
//! Build with `siemflow plugin build DIR` (or `cargo build --release --target wasm32-wasip2`).
//! `docs/plugins.md` in the siemflow repository is the tutorial and the ABI reference.

pub mod cef;
mod event;
pub mod json;
pub mod leef;
pub mod log;
#[doc(hidden)]
pub mod metrics;
pub mod parse;
pub mod record;
pub mod runtime;
pub mod testing;
pub mod timestamp;
pub mod value;

pub use event::{Event, Failure, Outcome, Output, OutputParts, UNMAPPED_ROUTE};

/// The generated bindings of `wit/siemflow-plugin.wit` (world `transform`).
#[doc(hidden)]
#[allow(unsafe_code, reason = "wit-bindgen generates the canonical ABI glue")]
#[allow(missing_debug_implementations, reason = "generated types")]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "transform",
        pub_export_macro: true,
        export_macro_name: "__export_transform",
        default_bindings_module: "siemflow_plugin_sdk::bindings",
    });
}

/// A transform plugin.
pub trait Plugin: Sized + 'static {
    /// The plugin's options, read from the `config:` of the pipeline's `wasm` transform.
    type Config: serde::de::DeserializeOwned;

    /// Creates the plugin; an error rejects the pipeline's configuration (`siemflow validate`
    /// reports it).
    fn new(config: Self::Config) -> Result<Self, Failure>;

    /// Maps one event: outputs, a drop, or a failure that dead-letters the event with its reason.
    fn process(&mut self, event: &Event) -> Result<Outcome, Failure>;
}

/// Exports a [`Plugin`] type as the component's `init` and `process` functions.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        #[doc(hidden)]
        struct __SiemflowPluginExport;

        impl $crate::bindings::Guest for __SiemflowPluginExport {
            fn init(config: ::std::string::String) -> ::std::result::Result<(), ::std::string::String> {
                $crate::runtime::init::<$plugin>(&config)
            }

            fn process(
                events: ::std::vec::Vec<$crate::bindings::siemflow::plugin::types::Event>,
            ) -> ::std::vec::Vec<$crate::bindings::siemflow::plugin::types::Outcome> {
                $crate::runtime::process::<$plugin>(events)
            }
        }

        $crate::bindings::__export_transform!(__SiemflowPluginExport with_types_in $crate::bindings);
    };
}
