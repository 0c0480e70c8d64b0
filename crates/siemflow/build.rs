//! Names the commit the binary was built from, for `siemflow --version`
//! (`0.1.0 (commit 1a2b3c4d5e6f)`): `SIEMFLOW_COMMIT` when set, else git's HEAD, else
//! `unknown` outside a git checkout.

use std::path::Path;
use std::process::Command;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let git = root.join(".git");
    // Rebuild when HEAD moves: the HEAD file names the branch, the branch's ref file its commit.
    println!("cargo:rerun-if-changed={}", git.join("HEAD").display());
    if let Ok(head) = std::fs::read_to_string(git.join("HEAD"))
        && let Some(reference) = head.trim().strip_prefix("ref: ")
    {
        println!("cargo:rerun-if-changed={}", git.join(reference).display());
    }
    println!(
        "cargo:rerun-if-changed={}",
        git.join("packed-refs").display()
    );
    // A build without the repository's history (a container build) is told the commit.
    println!("cargo:rerun-if-env-changed=SIEMFLOW_COMMIT");
    let given = std::env::var("SIEMFLOW_COMMIT")
        .ok()
        .filter(|commit| !commit.trim().is_empty() && commit.trim() != "unknown");
    let commit = given
        .map(|commit| commit.trim().to_string())
        .unwrap_or_else(|| {
            Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .current_dir(&root)
                .output()
                .ok()
                .filter(|output| output.status.success())
                .and_then(|output| String::from_utf8(output.stdout).ok())
                .map(|text| text.trim().to_string())
                .filter(|commit| !commit.is_empty())
                .unwrap_or_else(|| "unknown".into())
        });
    println!(
        "cargo:rustc-env=SIEMFLOW_VERSION={} (commit {commit})",
        env!("CARGO_PKG_VERSION")
    );
}
