//! Builds every WebAssembly guest (the built-in plugins in `plugins/` and the test plugins in
//! `tests/plugins/`) for `wasm32-wasip2` in one cargo invocation, and embeds the built-in ones.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest_dir.join("../..");
    let guests = root.join("plugins");
    for watched in [
        "plugins",
        "tests/plugins",
        "wit",
        "crates/siemflow-plugin-sdk",
        "crates/siemflow-defender-mapping",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    println!(
        "cargo:rerun-if-changed={}",
        manifest_dir.join("guest-rustflags").display()
    );
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("wasm-plugins");

    // The guests build with the host build's toolchain, unless `SIEMFLOW_GUEST_TOOLCHAIN` names
    // another (the fuzz build runs on a nightly that may have no `wasm32-wasip2` target).
    println!("cargo:rerun-if-env-changed=SIEMFLOW_GUEST_TOOLCHAIN");
    let mut command = match std::env::var("SIEMFLOW_GUEST_TOOLCHAIN") {
        Ok(toolchain) => {
            let mut command = Command::new("rustup");
            command
                .args(["run", &toolchain, "cargo"])
                .env_remove("RUSTUP_TOOLCHAIN")
                .env_remove("RUSTC")
                .env_remove("RUSTDOC");
            command
        }
        Err(_) => Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())),
    };
    let status = command
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            "wasm32-wasip2",
        ])
        .arg("--manifest-path")
        .arg(guests.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        // The host build's flags and wrappers (clippy, coverage) are not for the guests.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_TARGET_DIR")
        .env(
            "CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS",
            guest_rustflags(&manifest_dir),
        )
        .status();
    match status {
        Ok(status) if status.success() => {}
        Ok(status) => fail(&format!(
            "building the WebAssembly plugins in plugins/ failed ({status}); the compiler's \
             messages are above. If the wasm32-wasip2 target is missing, run \
             `rustup target add wasm32-wasip2` (scripts/setup does)."
        )),
        Err(error) => fail(&format!(
            "cannot run cargo to build the WebAssembly plugins: {error}"
        )),
    }

    let out = target_dir.join("wasm32-wasip2/release");
    println!("cargo:rustc-env=SIEMFLOW_GUEST_DIR={}", out.display());
    let mut entries = String::from(
        "/// `(name, component bytes)` of every built-in plugin.\npub static BUILTINS: &[(&str, &[u8])] = &[\n",
    );
    for name in builtin_names(&guests) {
        let wasm = out.join(format!("{}.wasm", name.replace('-', "_")));
        entries.push_str(&format!(
            "    ({name:?}, include_bytes!({:?})),\n",
            wasm.display().to_string()
        ));
    }
    entries.push_str("];\n");
    let generated =
        PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("builtin_plugins.rs");
    std::fs::write(generated, entries).expect("write the built-in plugin list");
}

// `flags_of`, shared with the library (`guest::rustflags`, for `siemflow plugin build`).
include!("src/guest_flags.rs");

/// The compiler flags every guest is built with.
fn guest_rustflags(manifest_dir: &Path) -> String {
    match std::fs::read_to_string(manifest_dir.join("guest-rustflags")) {
        Ok(text) => flags_of(&text),
        Err(error) => fail(&format!(
            "cannot read crates/siemflow-wasm/guest-rustflags: {error}"
        )),
    }
}

/// Stops the build with a message and no backtrace.
fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}

/// Crates directly under `plugins/` are built-in plugins.
fn builtin_names(guests: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(guests)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|entry| entry.path().join("Cargo.toml").is_file())
                .filter_map(|entry| entry.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
