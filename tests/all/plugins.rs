//! The `wasm` transform with real plugins: mapping, and plugins that misbehave on purpose.

use std::path::Path;

use crate::support::{describe, guest, lines, numbered_lines, output, siemflow, write};

fn dead_letters(dir: &Path, pipeline: &str) -> Vec<serde_json::Value> {
    lines(&dir.join(format!("data/dead-letter/{pipeline}.jsonl")))
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn wasm_pipeline(id: &str, plugin: &str, config: &str, limits: &str, batch_size: usize) -> String {
    format!(
        "id: {id}\nsources:\n  in: {{ type: file, path: {id}.json, batch_size: {batch_size} }}\ntransforms:\n  map:\n    type: wasm\n    inputs: [in]\n    plugin: {}\n    config: {config}\n    limits: {limits}\nsinks:\n  out: {{ type: file, inputs: [map], path: {id}.out }}\n",
        guest(plugin).display()
    )
}

#[test]
fn a_plugin_maps_drops_splits_and_fails_events() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("tag.json"),
        "{\"n\":1,\"category\":\"A\"}\n{\"n\":2,\"drop\":true}\n{\"n\":3,\"fail\":\"no mapping\"}\n{\"n\":4,\"split\":2,\"category\":\"B\"}\n",
    );
    write(
        &dir.path().join("p.yaml"),
        wasm_pipeline(
            "tag",
            "tag",
            "{ prefix: ACME }",
            "{ memory: 16MiB, time_per_batch: 1s }",
            500,
        ),
    );
    let result = output(siemflow(dir.path()).args(["run", "p.yaml", "--data-dir", "data"]));
    assert_eq!(result.status.code(), Some(0), "{}", describe(&result));
    assert_eq!(
        lines(&dir.path().join("tag.out")),
        vec!["ACME|A|1|0", "ACME|B|4|0", "ACME|B|4|1"]
    );
    let letters = dead_letters(dir.path(), "tag");
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0]["reason"], "plugin: no mapping");
    assert_eq!(letters[0]["component"], "map");
    assert!(
        std::fs::read_dir(dir.path().join("data/plugin-cache"))
            .unwrap()
            .next()
            .is_some(),
        "compiled code is cached under the data directory"
    );
}

#[test]
fn validate_reports_a_plugin_that_rejects_its_config_or_does_not_load() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("tag.json"), "{}\n");
    write(
        &dir.path().join("p.yaml"),
        wasm_pipeline("tag", "tag", "{ prefix: \"\" }", "{}", 500),
    );
    let result = output(siemflow(dir.path()).args(["validate", "p.yaml"]));
    assert_eq!(result.status.code(), Some(2), "{}", describe(&result));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("p.yaml:5:3: transforms.map: plugin"),
        "{stderr}"
    );
    assert!(
        stderr.contains("rejected its config: `prefix` cannot be empty"),
        "{stderr}"
    );

    write(&dir.path().join("not.wasm"), "not a component");
    write(
        &dir.path().join("p.yaml"),
        wasm_pipeline("tag", "tag", "{}", "{}", 500)
            .replace(&guest("tag").display().to_string(), "not.wasm"),
    );
    let result = output(siemflow(dir.path()).args(["validate", "p.yaml"]));
    assert_eq!(result.status.code(), Some(2), "{}", describe(&result));
    assert!(String::from_utf8_lossy(&result.stderr).contains("is not a valid component"));
}

/// One process, two tenants: one plugin loops forever on one event, the other pipeline flows.
#[test]
fn a_looping_plugin_is_stopped_and_only_its_batch_is_dead_lettered() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("spin.json"), numbered_lines(0..100, 40));
    write(&dir.path().join("good.json"), numbered_lines(0..20_000, 40));
    write(
        &dir.path().join("pipelines/spin.yaml"),
        wasm_pipeline(
            "spin",
            "misbehave",
            "{ mode: spin, at: 55 }",
            "{ time_per_batch: 50ms }",
            10,
        )
        .replace("path: ", "path: ../"),
    );
    write(
        &dir.path().join("pipelines/good.yaml"),
        wasm_pipeline("good", "tag", "{ prefix: OK }", "{}", 500).replace("path: ", "path: ../"),
    );
    let result = output(siemflow(dir.path()).args(["run", "pipelines", "--data-dir", "data"]));
    assert_eq!(result.status.code(), Some(0), "{}", describe(&result));

    // The looping pipeline: the batch of events 50..60 is dead-lettered, the rest delivered.
    let delivered = lines(&dir.path().join("spin.out"));
    let expected: Vec<String> = (0..100)
        .filter(|n| !(50..60).contains(n))
        .map(|n| format!("ok|{n}"))
        .collect();
    assert_eq!(delivered, expected);
    let letters = dead_letters(dir.path(), "spin");
    assert_eq!(letters.len(), 10);
    for letter in &letters {
        assert!(
            letter["reason"].as_str().unwrap().starts_with("timeout"),
            "{letter}"
        );
    }
    // The other tenant is untouched.
    assert_eq!(lines(&dir.path().join("good.out")).len(), 20_000);
    assert!(dead_letters(dir.path(), "good").is_empty());
}

#[test]
fn a_memory_bomb_fails_at_its_limit_and_a_panic_is_a_trap() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("bomb.json"), numbered_lines(0..30, 40));
    write(&dir.path().join("trap.json"), numbered_lines(0..30, 40));
    write(
        &dir.path().join("pipelines/bomb.yaml"),
        wasm_pipeline(
            "bomb",
            "misbehave",
            "{ mode: allocate, at: 12 }",
            "{ memory: 16MiB }",
            10,
        )
        .replace("path: ", "path: ../"),
    );
    write(
        &dir.path().join("pipelines/trap.yaml"),
        wasm_pipeline("trap", "misbehave", "{ mode: panic, at: 25 }", "{}", 10)
            .replace("path: ", "path: ../"),
    );
    let result = output(siemflow(dir.path()).args(["run", "pipelines", "--data-dir", "data"]));
    assert_eq!(result.status.code(), Some(0), "{}", describe(&result));
    for (pipeline, failed_batch, reason) in [
        (
            "bomb",
            10..20,
            "memory: the plugin exceeded its memory limit (16777216 bytes)",
        ),
        (
            "trap",
            20..30,
            "trap: wasm `unreachable` instruction executed (plugin stderr: ",
        ),
    ] {
        let delivered = lines(&dir.path().join(format!("{pipeline}.out")));
        let expected: Vec<String> = (0..30)
            .filter(|n| !failed_batch.contains(n))
            .map(|n| format!("ok|{n}"))
            .collect();
        assert_eq!(delivered, expected, "{pipeline}");
        let letters = dead_letters(dir.path(), pipeline);
        assert_eq!(letters.len(), 10, "{pipeline}");
        assert!(
            letters[0]["reason"].as_str().unwrap().starts_with(reason),
            "{}",
            letters[0]
        );
    }
    let trap = &dead_letters(dir.path(), "trap")[0]["reason"];
    assert!(
        trap.as_str()
            .unwrap()
            .contains("deliberate panic on event 25"),
        "{trap}"
    );
}

#[test]
fn a_plugin_cannot_read_files_or_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("secret.txt"), "top secret");
    write(&dir.path().join("snoop.json"), "{\"n\":1}\n");
    let config = format!(
        "{{ mode: snoop, path: \"{}\" }}",
        dir.path().join("secret.txt").display()
    );
    write(
        &dir.path().join("p.yaml"),
        wasm_pipeline("snoop", "misbehave", &config, "{}", 500),
    );
    let result = output(
        siemflow(dir.path())
            .env("HOME", "/home/should-not-leak")
            .args(["run", "p.yaml", "--data-dir", "data"]),
    );
    assert_eq!(result.status.code(), Some(0), "{}", describe(&result));
    let report = lines(&dir.path().join("snoop.out")).join("\n");
    assert!(report.starts_with("file: error: "), "{report}");
    assert!(
        report.contains("env: error: environment variable not found"),
        "{report}"
    );
    assert!(report.ends_with("vars: 0"), "{report}");
    assert!(!report.contains("top secret") && !report.contains("should-not-leak"));
}

/// A plugin built against ABI 0.1.0 (before `host.count`) still loads and runs, its log line
/// tagged with the pipeline and component.
#[test]
fn a_plugin_built_against_abi_0_1_0_still_runs() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("legacy.json"), numbered_lines(0..50, 40));
    write(
        &dir.path().join("p.yaml"),
        wasm_pipeline(
            "legacy",
            "legacy_v0_1",
            "{}",
            "{ memory: 32MiB, time_per_batch: 1s }",
            10,
        ),
    );
    let run = output(siemflow(dir.path()).args(["run", "p.yaml"]));
    assert_eq!(run.status.code(), Some(0), "{}", describe(&run));
    let out = lines(&dir.path().join("legacy.out"));
    assert_eq!(out.len(), 50, "{}", describe(&run));
    assert!(out[0].starts_with("{\"n\":0,"), "{}", out[0]);
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("legacy plugin: 10 event(s)"),
        "{}",
        describe(&run)
    );
}
