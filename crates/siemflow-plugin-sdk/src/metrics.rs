//! Counting from a plugin: `count("unknown-column", "DeviceProcessEvents", 1)` shows in
//! siemflow's metrics as `siemflow_plugin_counter_total{name="unknown-column",
//! key="DeviceProcessEvents"}`, with the pipeline and component labels.
//!
//! Counts are summed per batch by the host. Keep keys few (a table, an event type, a reason):
//! past 200 distinct (name, key) pairs per plugin instance, further keys count under `other`. Outside
//! WebAssembly (a plugin's own `cargo test`), counts are kept per thread and read with
//! [`take_native`].

#[cfg(not(target_arch = "wasm32"))]
thread_local! {
    static NATIVE: std::cell::RefCell<std::collections::BTreeMap<(String, String), u64>> =
        std::cell::RefCell::default();
}

/// Adds `value` to the counter `name` for `key`.
pub fn count(name: &str, key: &str, value: u64) {
    #[cfg(target_arch = "wasm32")]
    crate::bindings::siemflow::plugin::host::count(name, key, value);
    #[cfg(not(target_arch = "wasm32"))]
    NATIVE.with(|counts| {
        let mut counts = counts.borrow_mut();
        let total = counts
            .entry((name.to_string(), key.to_string()))
            .or_default();
        *total = total.saturating_add(value);
    });
}

/// Outside WebAssembly: what this thread counted since the last call, by (name, key).
#[cfg(not(target_arch = "wasm32"))]
pub fn take_native() -> std::collections::BTreeMap<(String, String), u64> {
    NATIVE.with(|counts| std::mem::take(&mut *counts.borrow_mut()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_add_up_per_name_and_key_and_are_taken_once() {
        super::count("unknown-column", "DeviceProcessEvents", 2);
        super::count("unknown-column", "DeviceProcessEvents", 1);
        super::count("cut", "msg", 1);
        let counts = super::take_native();
        assert_eq!(
            counts.get(&("unknown-column".into(), "DeviceProcessEvents".into())),
            Some(&3)
        );
        assert_eq!(counts.len(), 2);
        assert!(super::take_native().is_empty());
    }
}
