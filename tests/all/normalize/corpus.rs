//! The generated corpus (every 2026 streaming table and ActionType, typed from Microsoft's
//! schema docs, `siemflow_test_support::defender_corpus`) through a built-in plugin in its
//! sandbox, as a pipeline runs it.

use std::path::Path;

use serde_json::Value;
use siemflow_defender_mapping::catalog;
use siemflow_test_support::defender_corpus;

use crate::support::{describe, output, siemflow};

/// Rows per (table, ActionType): each of the four shapes six times.
const ROWS: usize = 24;

/// The corpus's records, with every ActionType the mapping table lists added to the
/// documented ones, so that every mapped event type is exercised.
pub fn records() -> Vec<Value> {
    defender_corpus::corpus(
        |table| {
            catalog::streaming_table(table)
                .map(|table| {
                    table
                        .actions
                        .iter()
                        .map(|action| action.value.to_string())
                        .collect()
                })
                .unwrap_or_default()
        },
        ROWS,
        2026,
    )
}

/// Runs the corpus through a plugin with a config; the input records and one output line per
/// record (`!failed REASON` when the plugin failed one).
pub fn run(plugin: &str, config: &str, dir: &Path) -> (Vec<Value>, Vec<String>) {
    let records = records();
    let input = dir.join("corpus.jsonl");
    let text: String = records.iter().map(|record| format!("{record}\n")).collect();
    std::fs::write(&input, text).unwrap();
    let expect = dir.join(format!("{plugin}.txt"));
    let result = output(
        siemflow(dir)
            .args(["plugin", "test", &format!("builtin:{plugin}"), "--input"])
            .arg(&input)
            .arg("--expect")
            .arg(&expect)
            .args(["--config", config, "--update"]),
    );
    assert_eq!(result.status.code(), Some(0), "{}", describe(&result));
    let lines: Vec<String> = std::fs::read_to_string(&expect)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(lines.len(), records.len(), "one outcome per record");
    let failed: Vec<&String> = lines.iter().filter(|line| line.starts_with('!')).collect();
    assert!(
        failed.is_empty(),
        "{plugin}: {} record(s) not mapped, e.g. {:?}",
        failed.len(),
        failed.first()
    );
    (records, lines)
}
