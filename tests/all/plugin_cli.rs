//! `siemflow plugin new | build | test` as a plugin author uses them, with real cargo builds.

use std::path::Path;
use std::process::Command;

use crate::support::{describe, lines, output, repo_root, siemflow};

/// Cargo for the generated crate, sharing one target directory across runs so that its
/// dependencies compile once per machine, not once per test run.
fn cargo(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO"));
    command.current_dir(dir).env(
        "CARGO_TARGET_DIR",
        repo_root().join("target/plugin-scaffold"),
    );
    command
}

#[test]
fn a_new_plugin_builds_passes_its_tests_and_runs_in_a_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let created = output(siemflow(dir.path()).args(["plugin", "new", "acme-map"]));
    assert_eq!(created.status.code(), Some(0), "{}", describe(&created));
    let crate_dir = dir.path().join("acme-map");
    for file in [
        "Cargo.toml",
        "src/lib.rs",
        "samples/input.jsonl",
        "samples/expected.txt",
        "pipeline.yaml",
    ] {
        assert!(crate_dir.join(file).is_file(), "{file} is generated");
    }

    // Its own golden test passes natively, as generated.
    let tested = output(cargo(&crate_dir).args(["test", "--quiet"]));
    assert_eq!(tested.status.code(), Some(0), "{}", describe(&tested));

    // Built to a component, which siemflow loads and caches.
    let built = output(
        siemflow(&crate_dir)
            .env(
                "CARGO_TARGET_DIR",
                repo_root().join("target/plugin-scaffold"),
            )
            .args(["plugin", "build", "."]),
    );
    assert_eq!(built.status.code(), Some(0), "{}", describe(&built));
    assert!(crate_dir.join("acme_map.wasm").is_file());
    assert!(
        std::fs::read_dir(crate_dir.join("data/plugin-cache"))
            .unwrap()
            .next()
            .is_some()
    );

    // The same golden files pass in the sandbox...
    let golden = [
        "plugin",
        "test",
        "acme_map.wasm",
        "--input",
        "samples/input.jsonl",
        "--expect",
        "samples/expected.txt",
        "--config",
        r#"{"vendor": "ACME", "drop_tables": ["DeviceInfo"]}"#,
    ];
    let passed = output(siemflow(&crate_dir).args(golden));
    assert_eq!(passed.status.code(), Some(0), "{}", describe(&passed));
    assert!(String::from_utf8_lossy(&passed.stdout).contains("ok: 5 events, 5 lines match"));

    // ...and a wrong expectation fails with the line that differs.
    let expected = crate_dir.join("samples/expected.txt");
    let text = std::fs::read_to_string(&expected).unwrap();
    std::fs::write(
        &expected,
        text.replacen("cat=DeviceNetworkEvents", "cat=Wrong", 1),
    )
    .unwrap();
    let failed = output(siemflow(&crate_dir).args(golden));
    assert_eq!(failed.status.code(), Some(1), "{}", describe(&failed));
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.contains("line 2:") && stderr.contains("cat=Wrong"),
        "{stderr}"
    );

    // The generated pipeline runs it: three LEEF lines, one dropped table, one dead letter.
    let run = output(siemflow(&crate_dir).args(["run", "pipeline.yaml", "--data-dir", "data"]));
    assert_eq!(run.status.code(), Some(0), "{}", describe(&run));
    let leef = lines(&crate_dir.join("out/acme-map.leef"));
    assert_eq!(leef.len(), 3, "{leef:?}");
    assert!(
        leef.iter()
            .all(|line| line.starts_with("LEEF:2.0|ACME|Microsoft Defender XDR|1.0|"))
    );
    let letters = lines(&crate_dir.join("data/dead-letter/acme-map.jsonl"));
    assert_eq!(letters.len(), 1);
    assert!(
        letters[0].contains("not a Defender streaming record"),
        "{}",
        letters[0]
    );
}

#[test]
fn plugin_commands_refuse_bad_names_and_missing_crates() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["9lives", "with space", "semi;colon"] {
        let refused = output(siemflow(dir.path()).args(["plugin", "new", name]));
        assert_eq!(
            refused.status.code(),
            Some(2),
            "{name}: {}",
            describe(&refused)
        );
    }
    let missing = output(siemflow(dir.path()).args(["plugin", "build", "nowhere"]));
    assert_eq!(missing.status.code(), Some(2), "{}", describe(&missing));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("is not a plugin crate"));
    std::fs::create_dir(dir.path().join("taken")).unwrap();
    let taken = output(siemflow(dir.path()).args(["plugin", "new", "taken"]));
    assert_eq!(taken.status.code(), Some(2), "{}", describe(&taken));
}
