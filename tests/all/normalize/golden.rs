//! The golden cases: every sample file through every plugin with its default config, and the
//! awkward samples again with each plugin's options set. Each case's expected output is a file
//! in `tests/golden/<plugin>/`, one line per input record, checked with `siemflow plugin test`
//! (the plugin in its sandbox, as a pipeline runs it).

use std::path::PathBuf;

use crate::support::{describe, output, repo_root, siemflow};

/// The sample files, in `samples/defender/`: the storage export's and an Event Hubs message's
/// records, records of the tables those lack plus unknown ones, the tables added to the stream
/// since, and the REST resources.
pub const INPUTS: [&str; 5] = [
    "streaming-storage-PT1H.json",
    "streaming-eventhub-message.jsonl",
    "streaming-extra.jsonl",
    "streaming-2026.jsonl",
    "rest.jsonl",
];

/// The inputs also run with options set.
const VARIANT_INPUTS: [&str; 2] = ["streaming-extra.jsonl", "rest.jsonl"];

/// Each plugin's options case: `(name, config)`.
const VARIANTS: [(&str, &str, &str); 4] = [
    (
        "defender-cef",
        "cef1",
        r#"{"cef_version":1,"vendor":"Contoso MSSP","product":"Defender","severity_map":{"high":10,"medium":6},"fields":{"customer":"contoso"}}"#,
    ),
    (
        "defender-leef",
        "leef1",
        r#"{"leef_version":"1.0","vendor":"Contoso MSSP","severity_map":{"high":10},"fields":{"customer":"contoso"}}"#,
    ),
    (
        "defender-splunk",
        "options",
        r#"{"vendor":"Contoso MSSP","severity_map":{"high":"critical"},"fields":{"customer":"contoso"}}"#,
    ),
    (
        "defender-ocsf",
        "options",
        r#"{"product":"Defender","severity_map":{"high":5},"fields":{"metadata.log_provider":"siemflow-contoso"}}"#,
    ),
];

/// One plugin over one sample file with one config.
#[derive(Debug, Clone)]
pub struct Case {
    pub plugin: &'static str,
    pub input: &'static str,
    /// The options case's name, when not the default config.
    pub variant: Option<&'static str>,
    pub config: &'static str,
}

impl Case {
    pub fn input_path(&self) -> PathBuf {
        repo_root().join("samples/defender").join(self.input)
    }

    pub fn expected_path(&self) -> PathBuf {
        let stem = self.input.split('.').next().unwrap_or(self.input);
        let name = match self.variant {
            Some(variant) => format!("{stem}.{variant}.txt"),
            None => format!("{stem}.txt"),
        };
        repo_root()
            .join("tests/golden")
            .join(self.plugin)
            .join(name)
    }

    /// The expected lines.
    pub fn expected(&self) -> Vec<String> {
        let path = self.expected_path();
        std::fs::read_to_string(&path)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
            .lines()
            .map(str::to_string)
            .collect()
    }
}

/// Every case of a plugin.
pub fn cases(plugin: &'static str) -> Vec<Case> {
    let mut cases: Vec<Case> = INPUTS
        .iter()
        .map(|input| Case {
            plugin,
            input,
            variant: None,
            config: "{}",
        })
        .collect();
    for (name, variant, config) in VARIANTS {
        if name == plugin {
            cases.extend(VARIANT_INPUTS.iter().map(|input| Case {
                plugin,
                input,
                variant: Some(variant),
                config,
            }));
        }
    }
    cases
}

/// Runs every case of a plugin through `siemflow plugin test`.
fn check(plugin: &'static str) {
    let update = std::env::var_os("SIEMFLOW_UPDATE_GOLDEN").is_some();
    let dir = tempfile::tempdir().unwrap();
    for case in cases(plugin) {
        if update {
            std::fs::create_dir_all(case.expected_path().parent().unwrap()).unwrap();
        }
        let mut command = siemflow(dir.path());
        command
            .args(["plugin", "test", &format!("builtin:{plugin}"), "--input"])
            .arg(case.input_path())
            .arg("--expect")
            .arg(case.expected_path())
            .args(["--config", case.config]);
        if update {
            command.arg("--update");
        }
        let result = output(&mut command);
        assert_eq!(
            result.status.code(),
            Some(0),
            "{case:?}\n{}",
            describe(&result)
        );
        let records = case.expected().len();
        assert!(records > 0, "{case:?} has outputs");
    }
}

#[test]
fn defender_cef_outputs_match_the_golden_files() {
    check("defender-cef");
}

#[test]
fn defender_leef_outputs_match_the_golden_files() {
    check("defender-leef");
}

#[test]
fn defender_splunk_outputs_match_the_golden_files() {
    check("defender-splunk");
}

#[test]
fn defender_ocsf_outputs_match_the_golden_files() {
    check("defender-ocsf");
}
