//! The WebAssembly plugin host: the sandboxed `wasm` transform.
//!
//! A plugin is a component built for `wasm32-wasip2` against `wit/siemflow-plugin.wit`. The host
//! follows three phases:
//!
//! - **engine** ([`engine`]): one per process, with epoch interruption ticking every
//!   [`engine::EPOCH_TICK`] and the compiled-code cache under `--data-dir`;
//! - **load** ([`plugin`]): a `builtin:NAME` or a `.wasm` path is compiled (or fetched from the
//!   cache) and linked: the `host` interface (a log) and a WASI that grants nothing;
//! - **instance** ([`instance`]): one `Store` per (pipeline, transform), with its own memory limit
//!   and time budget per batch. A trap, a timeout or running out of memory fails that batch only,
//!   and the instance is created again for the next.
//!
//! [`transform`] is the `wasm` transform built from those pieces.

pub mod builtin;
pub mod engine;
pub mod guest;
pub mod instance;
mod output;
pub mod plugin;
pub mod transform;

/// The generated host bindings of the `transform` world, in the current ABI version.
mod bindings {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "transform",
    });
}

/// The host side of ABI 0.1.0 (`wit/v0.1.0`), linked too so that plugins built against it still
/// load. Its exports have the same shapes as the current version's, which calls them.
mod bindings_v0_1 {
    wasmtime::component::bindgen!({
        path: "../../wit/v0.1.0",
        world: "transform",
    });
}

pub use transform::WasmTransformConfig;

/// The ABI's types (`siemflow:plugin/types`), for callers of [`instance::PluginInstance`].
pub use bindings::siemflow::plugin::types as abi;
