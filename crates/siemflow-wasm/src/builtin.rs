//! Built-in plugins: the crates in `plugins/`, compiled by `build.rs` and embedded in the binary.

include!(concat!(env!("OUT_DIR"), "/builtin_plugins.rs"));

/// The component bytes of `builtin:NAME`.
pub fn find(name: &str) -> Option<&'static [u8]> {
    BUILTINS
        .iter()
        .find(|(builtin, _)| *builtin == name)
        .map(|(_, bytes)| *bytes)
}

/// Names of the built-in plugins.
pub fn names() -> Vec<&'static str> {
    BUILTINS.iter().map(|(name, _)| *name).collect()
}

/// Where `build.rs` put every compiled guest, test plugins included (for tests and benchmarks).
pub fn guest_dir() -> &'static str {
    env!("SIEMFLOW_GUEST_DIR")
}
