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

#[test]
fn new_tables_and_columns_keep_flowing_and_are_warned_about_once_each() {
    let dir = tempfile::tempdir().unwrap();
    let record = |table: &str, extra: &str| {
        format!(
            r#"{{"time":"2026-11-24T08:00:00Z","tenantId":"t","category":"AdvancedHunting-{table}","properties":{{"Timestamp":"2026-11-24T08:00:00Z","DeviceName":"wks-01","ActionType":"ProcessCreated","ProcessId":4,"FileName":"a.exe"{extra}}}}}"#
        )
    };
    let input = [
        record("DeviceProcessEvents", r#","FutureColumn2027":"valeur «é»""#),
        record("DeviceProcessEvents", r#","FutureColumn2027":"autre""#),
        record("DeviceTvmFutureTable", ""),
        record("DeviceTvmFutureTable", ""),
    ]
    .join("\n");
    std::fs::write(dir.path().join("in.jsonl"), input + "\n").unwrap();
    for plugin in [
        "defender-cef",
        "defender-leef",
        "defender-splunk",
        "defender-ocsf",
    ] {
        let expect = dir.path().join(format!("{plugin}.txt"));
        let result = output(
            siemflow(dir.path())
                .args(["plugin", "test", &format!("builtin:{plugin}"), "--input"])
                .arg(dir.path().join("in.jsonl"))
                .arg("--expect")
                .arg(&expect)
                .arg("--update"),
        );
        assert_eq!(result.status.code(), Some(0), "{}", describe(&result));
        let log = String::from_utf8_lossy(&result.stderr);
        let column_warnings = log
            .matches("new column `FutureColumn2027` in `DeviceProcessEvents`")
            .count();
        let table_warnings = log.matches("no mapping for `DeviceTvmFutureTable").count();
        assert_eq!(
            (column_warnings, table_warnings),
            (1, 1),
            "{plugin}: one warning each:\n{log}"
        );
        let lines = std::fs::read_to_string(&expect).unwrap();
        let lines: Vec<&str> = lines.lines().collect();
        assert_eq!(lines.len(), 4, "{plugin}: every record flows on");
        assert!(
            lines[0].contains("FutureColumn2027") && lines[0].contains("valeur"),
            "{plugin}: the new column is in the catch-all: {}",
            lines[0]
        );
        assert!(
            lines[2].contains("DeviceTvmFutureTable"),
            "{plugin}: {}",
            lines[2]
        );
    }
}

#[test]
fn mappings_coverage_names_what_became_of_every_column_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus.jsonl");
    let text: String = records()
        .iter()
        .map(|record| format!("{record}\n"))
        .collect();
    std::fs::write(&corpus, text).unwrap();
    let drift = dir.path().join("drift.jsonl");
    std::fs::write(
        &drift,
        concat!(
            r#"{"time":"2026-11-24T08:00:00Z","category":"AdvancedHunting-DeviceProcessEvents","properties":{"Timestamp":"2026-11-24T08:00:00Z","DeviceName":"wks-01","ActionType":"ProcessCreated","ProcessCommandLine":"a.exe -x","FutureColumn2027":"v"}}"#,
            "\n",
            r#"{"time":"2026-11-24T08:00:00Z","category":"AdvancedHunting-DeviceTvmFutureTable","properties":{"Timestamp":"2026-11-24T08:00:00Z","Thing":"x"}}"#,
            "\nnot json\n"
        ),
    )
    .unwrap();
    let result = output(
        siemflow(dir.path())
            .args(["mappings", "coverage"])
            .arg(&corpus)
            .arg(&drift),
    );
    assert_eq!(result.status.code(), Some(0), "{}", describe(&result));
    let report = String::from_utf8_lossy(&result.stdout);
    let line = |table: &str, column: &str| -> Vec<String> {
        let section = report
            .split(&format!("\n{table}: "))
            .nth(1)
            .unwrap_or_else(|| panic!("no section for {table}:\n{report}"));
        let row = section
            .lines()
            .find(|row| row.trim_start().starts_with(&format!("{column} ")))
            .unwrap_or_else(|| panic!("no row for {table}.{column}:\n{section}"));
        row.split("  ")
            .map(str::trim)
            .filter(|cell| !cell.is_empty())
            .map(str::to_string)
            .collect()
    };
    let fates = |row: Vec<String>| row[row.len() - 4..].to_vec();
    // OCSF: the corpus's sparse rows lack what Process Activity needs and are Base Events,
    // whose catch-all keeps the command line.
    let command_line = fates(line("DeviceProcessEvents", "ProcessCommandLine"));
    assert_eq!(command_line[..3], ["mapped"; 3], "{report}");
    assert!(command_line[3].starts_with("mapped "), "{report}");
    assert_eq!(
        fates(line("DeviceProcessEvents", "FutureColumn2027 (new)")),
        ["catch-all"; 4],
        "{report}"
    );
    assert!(
        report.contains("\nDeviceTvmFutureTable: 1 record(s), NO MAPPING"),
        "{report}"
    );
    assert_eq!(
        fates(line("DeviceTvmFutureTable", "Thing")),
        ["catch-all"; 4],
        "{report}"
    );
    assert!(report.contains("  DeviceTvmFutureTable: 1\n"), "{report}");
    assert!(
        report.contains(&format!("{}:3: expected", drift.display())),
        "{report}"
    );
    let totals: Vec<&str> = report
        .split("values per format:\n")
        .nth(1)
        .unwrap_or_default()
        .lines()
        .take(4)
        .collect();
    assert_eq!(totals.len(), 4, "{report}");
    for line in totals {
        assert!(
            line.ends_with(" 0 DROPPED"),
            "no value is lost without being named: {line}\n{report}"
        );
        let cut = line.contains(" 0 cut,");
        assert!(
            cut || line.starts_with("  cef:"),
            "only CEF's catch-all has a size limit: {line}"
        );
    }
}
