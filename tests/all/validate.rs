//! `siemflow validate`: every error, positioned, all at once; golden files in tests/validate.

use crate::support::{describe, guest, output, repo_root, siemflow};

fn check_golden(name: &str) {
    let dir = repo_root().join("tests/validate");
    let file = dir.join(format!("{name}.yaml"));
    let expected = std::fs::read_to_string(dir.join(format!("{name}.err"))).unwrap();
    let result = output(siemflow(&dir).arg("validate").arg(&file));
    assert_eq!(result.status.code(), Some(2), "{}", describe(&result));
    let stderr = String::from_utf8(result.stderr.clone()).unwrap();
    let expected = expected.replace("FILE", &file.display().to_string());
    let count = expected
        .lines()
        .filter(|line| line.contains(".yaml:"))
        .count();
    assert_eq!(
        stderr,
        format!("{expected}{count} error(s)\n"),
        "{}",
        describe(&result)
    );
}

#[test]
fn three_mistakes_give_three_positioned_errors() {
    check_golden("three-mistakes");
}

#[test]
fn graph_and_type_mistakes_are_all_reported() {
    check_golden("graph-mistakes");
}

#[test]
fn the_shipped_pipelines_are_valid() {
    let result = output(siemflow(&repo_root()).args(["validate", "pipelines"]));
    assert_eq!(result.status.code(), Some(0), "{}", describe(&result));
    assert!(String::from_utf8_lossy(&result.stdout).contains("pipeline(s) valid"));
}

#[test]
fn secrets_never_reach_validate_output() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.yaml");
    crate::support::write(
        &file,
        "id: p\nsources:\n  in: { type: file, path: a.json, framing: \"${SECRET_VALUE}\" }\nsinks:\n  out: { type: console, inputs: [in] }\n",
    );
    let result = output(
        siemflow(dir.path())
            .env("SECRET_VALUE", "hunter2-do-not-print")
            .args(["validate", "p.yaml"]),
    );
    assert_eq!(result.status.code(), Some(2), "{}", describe(&result));
    let all = describe(&result);
    assert!(!all.contains("hunter2"), "{all}");
    assert!(all.contains("<redacted>"), "{all}");
}

#[test]
fn credentials_written_once_in_an_x_block_are_merged_into_each_component() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = |app: &str| {
        format!(
            "x-app: &app\n{app}id: merged\nsources:\n  alerts:\n    type: defender_alerts\n    <<: *app\n  incidents:\n    type: defender_incidents\n    <<: *app\n    client_id: own-client\nsinks:\n  out:\n    type: console\n    inputs: [alerts, incidents]\n"
        )
    };
    let file = dir.path().join("merged.yaml");
    std::fs::write(
        &file,
        pipeline("  tenant_id: t\n  client_id: c\n  client_secret: s\n"),
    )
    .unwrap();
    let result = output(siemflow(dir.path()).arg("validate").arg(&file));
    assert_eq!(result.status.code(), Some(0), "{}", describe(&result));

    // Without the secret in the block, both components lack it: two positioned errors.
    std::fs::write(&file, pipeline("  tenant_id: t\n  client_id: c\n")).unwrap();
    let result = output(siemflow(dir.path()).arg("validate").arg(&file));
    assert_eq!(result.status.code(), Some(2), "{}", describe(&result));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(
        stderr.matches("client_secret").count(),
        2,
        "{}",
        describe(&result)
    );
    assert!(stderr.contains("merged.yaml:6:"), "{stderr}");
    assert!(stderr.contains("merged.yaml:9:"), "{stderr}");
}

/// Every complete pipeline (a YAML block with an `id:` and no `...`) in the README and docs
/// validates, with the environment variables it names set.
#[test]
fn the_complete_pipelines_in_the_docs_are_valid() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for doc in [
        "README.md",
        "docs/pipelines.md",
        "docs/operations.md",
        "docs/plugins.md",
    ] {
        let text = std::fs::read_to_string(repo_root().join(doc)).unwrap();
        for (index, block) in text.split("```yaml\n").skip(1).enumerate() {
            let block = block.split("```").next().unwrap_or_default();
            // A schematic (`sources: { ... }`) is not a pipeline.
            if !block.lines().any(|line| line.starts_with("id:")) || block.contains("...") {
                continue;
            }
            let work = dir.path().join(format!("example-{checked}"));
            std::fs::create_dir_all(&work).unwrap();
            // A plugin the example builds first (`plugin new`) is stood in for by a built-in
            // one that takes the same common options.
            for path in block.lines().filter_map(|line| {
                let value = line.trim().strip_prefix("plugin:")?.trim();
                let value = value.split_whitespace().next()?;
                value.ends_with(".wasm").then_some(value)
            }) {
                let target = work.join(path);
                std::fs::create_dir_all(target.parent().unwrap()).unwrap();
                std::fs::copy(guest("defender_leef"), &target).unwrap();
            }
            let file = work.join("example.yaml");
            std::fs::write(&file, block).unwrap();
            let mut command = siemflow(&work);
            command.arg("validate").arg(&file);
            for name in block.split("${").skip(1).filter_map(|rest| {
                let name = rest.split(['}', ':']).next()?;
                (!name.is_empty() && name != "file").then_some(name)
            }) {
                command.env(name, "example-value");
            }
            let result = output(&mut command);
            assert_eq!(
                result.status.code(),
                Some(0),
                "{doc}, YAML block {}:\n{block}\n{}",
                index + 1,
                describe(&result)
            );
            checked += 1;
        }
    }
    assert!(checked >= 4, "complete examples checked: {checked}");
}

#[test]
fn a_repeated_id_is_one_error_not_a_missing_sink_too() {
    check_golden("repeated-id");
}

#[test]
fn a_tab_is_named_in_plain_words_at_its_line() {
    check_golden("syntax-tab");
}

/// Checks read no certificate and build no client: files a component needs to connect are read
/// when it starts, so `validate` passes where `run` then says which file is missing.
#[test]
fn validate_opens_no_certificate_and_builds_no_client() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = dir.path().join("p.yaml");
    std::fs::write(
        &pipeline,
        r#"id: p
x-app: &app
  tenant_id: 00000000-0000-0000-0000-000000000001
  client_id: 00000000-0000-0000-0000-000000000002
  client_certificate: { path: missing-client.pem }
sources:
  export:
    type: azure_blob
    account_url: https://contoso.blob.core.windows.net
    entra: *app
    ca_file: missing-ca.pem
  hub:
    type: event_hubs
    connection_string: "Endpoint=sb://contoso.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=a2V5;EntityPath=defender"
    checkpoints:
      type: blob
      account_url: https://contoso.blob.core.windows.net
      entra: *app
      container: checkpoints
      ca_file: missing-ca.pem
sinks:
  out: { type: console, inputs: [export, hub] }
"#,
    )
    .unwrap();
    let validate = output(siemflow(dir.path()).arg("validate").arg(&pipeline));
    assert_eq!(validate.status.code(), Some(0), "{}", describe(&validate));
    let run = output(siemflow(dir.path()).arg("run").arg(&pipeline));
    assert_ne!(run.status.code(), Some(0), "{}", describe(&run));
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("missing-ca.pem"),
        "{}",
        describe(&run)
    );
}

#[test]
fn start_times_are_read_when_the_file_is_and_wrong_ones_point_at_their_value() {
    check_golden("typed-values");
}

/// Each source and sink of the pipeline reference shows one complete pipeline using it (which
/// `the_complete_pipelines_in_the_docs_are_valid` validates).
#[test]
fn every_source_and_sink_section_has_a_complete_example() {
    let text = std::fs::read_to_string(repo_root().join("docs/pipelines.md")).unwrap();
    let registry = siemflow_components::registry();
    let mut missing = Vec::new();
    for (part, names) in [
        ("\n## Sources\n", registry.source_names()),
        ("\n## Sinks\n", registry.sink_names()),
    ] {
        let start = text.find(part).unwrap();
        let body = &text[start + part.len()..];
        let body = &body[..body.find("\n## ").unwrap_or(body.len())];
        for name in names {
            let complete = body.split("\n### ").any(|section| {
                let title = section.lines().next().unwrap_or_default();
                title.contains(&format!("`{name}`"))
                    && section.split("```yaml\n").skip(1).any(|block| {
                        let block = block.split("```").next().unwrap_or_default();
                        block.lines().any(|line| line.starts_with("id:"))
                            && block.contains(&format!("type: {name}"))
                    })
            });
            if !complete {
                missing.push(name);
            }
        }
    }
    assert!(missing.is_empty(), "no complete example for {missing:?}");
}
