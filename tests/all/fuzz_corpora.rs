//! The fuzz targets of `fuzz/` on the stable toolchain: every committed corpus file (the
//! minimized corpora and the inputs of every crash found) replayed through its target's function,
//! and the seeds taken from the samples run through them too.
//!
//! `SIEMFLOW_WRITE_FUZZ_SEEDS=1 cargo test -p siemflow --test all fuzz_corpora` also writes the
//! seeds to `fuzz/seeds/<target>/` for a fuzzing run (`fuzz/README.md`).

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use siemflow_components::fuzzing as components;
use siemflow_core::fuzzing as core;
use siemflow_defender_mapping::fuzzing as mapping;

use crate::support::repo_root;

/// A fuzz target's name and the function its binary calls.
type Target = (&'static str, fn(&[u8]));

/// Each target of `fuzz/fuzz_targets/`.
const TARGETS: &[Target] = &[
    ("api_answers", components::api_answers),
    ("conditions", core::conditions),
    ("encoders", mapping::encoders),
    ("event_hubs_message", components::event_hubs_message),
    ("framing_records", core::framing_and_records),
    ("hec_answers", components::hec_answers),
    ("mappings", mapping::mappings),
    ("pipeline_yaml", components::pipeline_yaml),
    ("storage_listing", components::storage_listing),
    ("syslog_messages", components::syslog_messages),
];

fn fuzz_dir() -> PathBuf {
    repo_root().join("fuzz")
}

/// Runs `input` through `target`, returning the panic message if it panics.
fn run(target: fn(&[u8]), input: &[u8]) -> Option<String> {
    let outcome = catch_unwind(AssertUnwindSafe(|| target(input)));
    outcome.err().map(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}

#[test]
fn every_fuzz_target_is_replayed_here_and_has_a_corpus() {
    let binaries: BTreeSet<String> = std::fs::read_dir(fuzz_dir().join("fuzz_targets"))
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            path.file_stem().unwrap().to_string_lossy().into_owned()
        })
        .collect();
    let listed: BTreeSet<String> = TARGETS.iter().map(|(name, _)| name.to_string()).collect();
    assert_eq!(
        binaries, listed,
        "fuzz/fuzz_targets and this test's list differ"
    );
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    for (name, _) in TARGETS {
        let source =
            std::fs::read_to_string(fuzz_dir().join("fuzz_targets").join(format!("{name}.rs")))
                .unwrap();
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "{name} is not a [[bin]] of fuzz/Cargo.toml"
        );
        let called = TARGETS
            .iter()
            .filter(|(other, _)| source.contains(&format!("::{}(data)", function_name(other))))
            .count();
        assert_eq!(
            called, 1,
            "fuzz_targets/{name}.rs calls an unexpected function"
        );
        assert!(
            corpus_files(name).len() >= 5,
            "fuzz/corpus/{name} has fewer than 5 inputs"
        );
    }
}

/// The library function a target's binary calls.
fn function_name(target: &str) -> &str {
    match target {
        "framing_records" => "framing_and_records",
        other => other,
    }
}

fn corpus_files(target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join("corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| entries.map(|entry| entry.unwrap().path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn committed_fuzz_corpora_replay_without_a_failure() {
    let mut failures = Vec::new();
    let mut replayed = 0;
    for (name, target) in TARGETS {
        for file in corpus_files(name) {
            // A fuzzer running on this corpus may have merged the file away since it was listed.
            let input = match std::fs::read(&file) {
                Ok(input) => input,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                Err(error) => panic!("{}: {error}", file.display()),
            };
            replayed += 1;
            if let Some(message) = run(*target, &input) {
                failures.push(format!("{}: {message}", file.display()));
            }
        }
    }
    eprintln!("replayed {replayed} corpus files");
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn the_samples_seed_every_fuzz_target_and_pass_it() {
    let seeds = seeds();
    let write = std::env::var_os("SIEMFLOW_WRITE_FUZZ_SEEDS").is_some();
    let mut failures = Vec::new();
    for (name, target) in TARGETS {
        let inputs = seeds
            .iter()
            .filter(|(target, _)| target == name)
            .map(|(_, input)| input)
            .collect::<Vec<_>>();
        assert!(inputs.len() >= 3, "only {} seeds for {name}", inputs.len());
        let dir = fuzz_dir().join("seeds").join(name);
        if write {
            std::fs::create_dir_all(&dir).unwrap();
        }
        for (index, input) in inputs.iter().enumerate() {
            if let Some(message) = run(*target, input) {
                failures.push(format!("{name} seed {index}: {message}"));
            }
            if write {
                std::fs::write(dir.join(format!("seed-{index:04}")), input).unwrap();
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The sample files, the REST answers last.
const SAMPLES: [&str; 5] = [
    "streaming-2026.jsonl",
    "streaming-eventhub-message.jsonl",
    "streaming-extra.jsonl",
    "streaming-storage-PT1H.json",
    "rest.jsonl",
];

/// Seed inputs per target, from the samples, the pipelines and the documented answers.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let root = repo_root();
    let samples = root.join("samples/defender");
    let mut seeds: Vec<(&'static str, Vec<u8>)> = Vec::new();
    let sample_files: Vec<Vec<u8>> = SAMPLES
        .iter()
        .map(|name| std::fs::read(samples.join(name)).unwrap())
        .collect();
    let records: Vec<Value> = sample_records(&samples);

    for (index, file) in sample_files.iter().enumerate() {
        let choice = index as u8;
        seeds.push(("framing_records", [&[choice * 3, 255][..], file].concat()));
        seeds.push((
            "framing_records",
            [&[choice * 3 + 1, 40][..], file].concat(),
        ));
        let first_line = file.split(|b| *b == b'\n').next().unwrap_or_default();
        seeds.push((
            "event_hubs_message",
            components::encode_event_hubs_message(first_line, index as i64),
        ));
    }
    for (index, record) in records.iter().enumerate() {
        let body = serde_json::to_vec(record).unwrap();
        seeds.push(("mappings", [&[index as u8 % 6][..], &body].concat()));
        if index % 4 == 0 {
            seeds.push((
                "syslog_messages",
                [&[index as u8, 80, 134, 40][..], &body].concat(),
            ));
            seeds.push(("conditions", condition_seed(record)));
            seeds.push(("encoders", encoder_seed(index as u8, record)));
        }
    }
    for pipeline in std::fs::read_dir(root.join("pipelines"))
        .unwrap()
        .chain(std::fs::read_dir(root.join("tests/validate")).unwrap())
    {
        let path = pipeline.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "yaml") {
            seeds.push(("pipeline_yaml", std::fs::read(path).unwrap()));
        }
    }
    for doc in [
        "README.md",
        "docs/pipelines.md",
        "docs/operations.md",
        "docs/plugins.md",
    ] {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        for block in text.split("```yaml\n").skip(1) {
            let yaml = block.split("```").next().unwrap_or_default();
            seeds.push(("pipeline_yaml", yaml.as_bytes().to_vec()));
        }
    }
    let rest: Vec<Value> = std::str::from_utf8(&sample_files[4])
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    for api in 0..4u8 {
        let page = json!({
            "value": rest,
            "@odata.nextLink": "https://api.example.test/v1.0/security/alerts_v2?$skip=4",
        });
        let last = json!({"value": []});
        let answers = [page.to_string(), last.to_string()].join("\n\n");
        seeds.push(("api_answers", [&[api][..], answers.as_bytes()].concat()));
    }
    let hunting = json!({"schema": [{"name": "Timestamp", "type": "DateTime"}], "results": records
        .iter()
        .filter_map(|record| record.get("properties"))
        .collect::<Vec<_>>()});
    seeds.push((
        "api_answers",
        [&[4][..], hunting.to_string().as_bytes()].concat(),
    ));
    for answer in [
        &b"\x05\x00{\"token_type\":\"Bearer\",\"expires_in\":3599,\"ext_expires_in\":3599,\"access_token\":\"eyJ0\"}"[..],
        b"\x05\x00{\"token_type\":\"Bearer\",\"expires_in\":\"3599\",\"access_token\":\"eyJ0\"}",
        b"\x05\x80{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client secret provided. Trace ID: 1\\r\\nCorrelation ID: 2\"}",
        b"\x06{\"error\":{\"code\":\"TooManyRequests\",\"message\":\"You can run queries again in 00:04:12.\"}}",
        b"\x07120.5",
        b"\x07Wed, 21 Oct 2015 07:28:00 GMT",
    ] {
        seeds.push(("api_answers", answer.to_vec()));
    }
    for (status, body) in [
        (200u16, &br#"{"text":"Success","code":0,"ackId":7}"#[..]),
        (
            400,
            br#"{"text":"Invalid data format","code":6,"invalid-event-number":2}"#,
        ),
        (403, br#"{"text":"Invalid token","code":4}"#),
        (503, br#"{"text":"Server is busy","code":9}"#),
        (200, br#"{"acks":{"0":true,"1":false,"7":true}}"#),
        (413, b"<html>Request Entity Too Large</html>"),
    ] {
        seeds.push(("hec_answers", [&status.to_be_bytes()[..], body].concat()));
    }
    for listing in [
        r#"<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="http://127.0.0.1:10000/devstoreaccount1/" ContainerName="insights-logs-advancedhunting-deviceevents"><Prefix>tenantId=1/</Prefix><Blobs><Blob><Name>tenantId=1/y=2026/m=11/d=24/h=08/m=00/PT1H.json</Name><Properties><Last-Modified>Tue, 24 Nov 2026 09:00:01 GMT</Last-Modified><Etag>0x8DCB</Etag><Content-Length>5120</Content-Length><BlobType>AppendBlob</BlobType></Properties><Metadata><siemflow>1</siemflow></Metadata></Blob><BlobPrefix><Name>tenantId=1/y=2026/</Name></BlobPrefix></Blobs><NextMarker>2!88!MDAw</NextMarker></EnumerationResults>"#,
        r#"<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="http://127.0.0.1:10000/devstoreaccount1/"><Containers><Container><Name>insights-logs-advancedhunting-alertinfo</Name><Properties><Etag>0x1</Etag></Properties></Container></Containers><NextMarker /></EnumerationResults>"#,
        "\u{feff}<EnumerationResults><Blobs /></EnumerationResults>",
    ] {
        seeds.push(("storage_listing", listing.as_bytes().to_vec()));
    }
    seeds
}

/// Every record of the streaming samples, and the REST alerts and incidents.
fn sample_records(samples: &Path) -> Vec<Value> {
    let mut records = Vec::new();
    for name in SAMPLES {
        let text = std::fs::read_to_string(samples.join(name)).unwrap();
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            let Ok(value) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            match value.get("records").and_then(Value::as_array) {
                Some(inner) => records.extend(inner.iter().cloned()),
                None => records.push(value),
            }
        }
    }
    records
}

/// A condition on the record's category, then the record.
fn condition_seed(record: &Value) -> Vec<u8> {
    let category = record["category"].as_str().unwrap_or("none");
    format!(
        "$.category == '{category}' && $.properties.ActionType != 'x' || match($.properties.FileName, '.*\\.exe')\n{record}"
    )
    .into_bytes()
}

/// Header fields and the first pairs of the record's properties, NUL-separated.
fn encoder_seed(choice: u8, record: &Value) -> Vec<u8> {
    let mut parts = vec![
        "Microsoft".to_string(),
        "Microsoft Defender XDR".to_string(),
        "1.0".to_string(),
        record["category"].as_str().unwrap_or("x").to_string(),
        "Name | with = and \\".to_string(),
    ];
    if let Some(properties) = record.get("properties").and_then(Value::as_object) {
        for (key, value) in properties.iter().take(12) {
            parts.push(key.clone());
            parts.push(match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            });
        }
    }
    [&[choice][..], parts.join("\0").as_bytes()].concat()
}
