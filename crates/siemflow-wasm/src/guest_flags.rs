/// The flags of a `guest-rustflags` file: its lines that are neither empty nor comments, joined
/// with spaces, as `CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS` takes them.
pub fn flags_of(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect::<Vec<_>>()
        .join(" ")
}
