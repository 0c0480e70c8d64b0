//! Write siemflow transform plugins in Rust.
//!
//! A plugin is a type implementing [`Plugin`]: it is created once from the pipeline's `config:`
//! and then maps one event at a time. [`export_plugin!`] turns it into the WebAssembly component
//! siemflow loads; batching, the ABI and error plumbing are handled here.
//!
//! ```ignore
//! use siemflow_plugin_sdk::{Event, Outcome, Output, Plugin, export_plugin};
//!
//! #[derive(serde::Deserialize)]
//! struct Config { vendor: String }
//!
//! struct Tag { vendor: String }
//!
//! impl Plugin for Tag {
//!     type Config = Config;
//!
//!     fn new(config: Config) -> Result<Self, String> {
//!         Ok(Tag { vendor: config.vendor })
//!     }
//!
//!     fn process(&mut self, event: &Event) -> Outcome {
//!         let record = match event.json() {
//!             Ok(record) => record,
//!             Err(error) => return Outcome::Failed(error),
//!         };
//!         let category = record["category"].as_str().unwrap_or("unknown");
//!         Outcome::output(Output::text(format!("{}|{category}", self.vendor)))
//!     }
//! }
//!
//! export_plugin!(Tag);
//! ```
//!
//! Build with `cargo build --release --target wasm32-wasip2` (or `siemflow plugin build`).

mod event;
pub mod log;
#[doc(hidden)]
pub mod runtime;

pub use event::{Event, Outcome, Output};

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

    /// Creates the plugin; an error rejects the pipeline's configuration.
    fn new(config: Self::Config) -> Result<Self, String>;

    /// Maps one event.
    fn process(&mut self, event: &Event) -> Outcome;
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
