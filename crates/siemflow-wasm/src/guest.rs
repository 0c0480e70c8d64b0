//! How plugins are compiled: the flags shared by the built-in plugins and `siemflow plugin build`.

mod flags {
    include!("guest_flags.rs");
}

/// The rustc flags for a `wasm32-wasip2` plugin (see `crates/siemflow-wasm/guest-rustflags` for
/// why each is there).
pub fn rustflags() -> String {
    flags::flags_of(include_str!("../guest-rustflags"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn comments_and_blank_lines_are_not_flags() {
        assert_eq!(
            super::flags::flags_of("# why\n\n-C a=1\n  -C b=2  \n"),
            "-C a=1 -C b=2"
        );
        assert!(super::rustflags().starts_with("-C "));
    }
}
