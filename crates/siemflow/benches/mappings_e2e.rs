//! The four Defender mappings end to end, as a user runs them: `siemflow run` of
//! `file -> wasm builtin:defender-X -> file` on 200,000 records of 1 KiB, the whole process
//! timed (start-up, reading, mapping in the sandbox, writing, checkpoints, exit), with its CPU
//! time from the kernel's accounting of waited-for children (`/proc/self/stat`, so Linux only).
//!
//! ```text
//! cargo bench -p siemflow --bench mappings_e2e
//! ```
//!
//! Each format runs with one plugin instance (`workers: 1`) and with the default (one per core).
//! Compiled plugins are cached in the data directory, which is kept from run to run (its
//! checkpoints are not), so the runs measure a warm start as a service restart has; the first,
//! cold run of each format is reported apart. `SIEMFLOW_BENCH_EVENTS` sets the number of lines
//! (default 200000), `SIEMFLOW_BENCH_RUNS` the runs per scenario (default 3, median shown),
//! `SIEMFLOW_BENCH_ONLY` a part of the scenario names to run, `SIEMFLOW_BENCH_BINARY` another
//! `siemflow` binary to run (a copy of an earlier build, to compare before and after in one
//! sitting). Results go in docs/performance.md.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use siemflow_test_support::bench_input::{LINE_BYTES, write_defender_lines};

const FORMATS: [&str; 4] = ["cef", "leef", "splunk", "ocsf"];

fn main() {
    let events: usize = env_number("SIEMFLOW_BENCH_EVENTS", 200_000);
    let runs: usize = env_number("SIEMFLOW_BENCH_RUNS", 3);
    let only = std::env::var("SIEMFLOW_BENCH_ONLY").unwrap_or_default();
    let binary = std::env::var("SIEMFLOW_BENCH_BINARY")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_siemflow").to_string());
    let dir = tempfile::tempdir().expect("a temporary directory");
    let input = dir.path().join("in.json");
    write_defender_lines(&input, events).expect("input file");
    println!(
        "mappings end to end: {events} lines of {LINE_BYTES} bytes, `siemflow run` per run, {runs} warm runs per scenario, median shown"
    );
    for format in FORMATS {
        for workers in [Some(1), None] {
            let name = match workers {
                Some(n) => format!("{format}, workers {n}"),
                None => format!("{format}, workers default"),
            };
            if !name.contains(only.as_str()) {
                continue;
            }
            let work = dir
                .path()
                .join(format!("{format}-{}", workers.unwrap_or(0)));
            let data = work.join("data");
            let output = work.join("out.log");
            let pipeline = work.join("pipeline.yaml");
            std::fs::create_dir_all(&work).expect("run directory");
            let workers_option = workers
                .map(|n| format!(", workers: {n}"))
                .unwrap_or_default();
            std::fs::write(
                &pipeline,
                format!(
                    "id: e2e\nsources:\n  in: {{ type: file, path: \"{}\" }}\ntransforms:\n  map: {{ type: wasm, inputs: [in], plugin: \"builtin:defender-{format}\"{workers_option} }}\nsinks:\n  out: {{ type: file, inputs: [map], path: \"{}\" }}\n",
                    input.display(),
                    output.display()
                ),
            )
            .expect("pipeline file");
            let mut samples = Vec::new();
            let mut cold = None;
            for round in 0..=runs {
                reset(&data, &output);
                let sample = run_once(&binary, &pipeline, &data);
                let lines = std::fs::read(&output)
                    .map(|bytes| bytes.iter().filter(|&&b| b == b'\n').count())
                    .unwrap_or(0);
                assert_eq!(lines, events, "{name}: one output line per record");
                if round == 0 {
                    cold = Some(sample);
                } else {
                    samples.push(sample);
                }
            }
            samples.sort_by_key(|sample| sample.wall);
            let median = samples[samples.len() / 2];
            let cpu_per_event = median.cpu.as_secs_f64() * 1e6 / events as f64;
            println!(
                "{name:<26} median {:>7.1} ms  {:>8.0} events/s  CPU {:>6.2} s ({:.1} µs/event, {:.2} cores)  min {:.1} ms, max {:.1} ms; cold first run {:.1} ms",
                median.wall.as_secs_f64() * 1e3,
                events as f64 / median.wall.as_secs_f64(),
                median.cpu.as_secs_f64(),
                cpu_per_event,
                median.cpu.as_secs_f64() / median.wall.as_secs_f64(),
                samples[0].wall.as_secs_f64() * 1e3,
                samples[samples.len() - 1].wall.as_secs_f64() * 1e3,
                cold.map_or(0.0, |cold| cold.wall.as_secs_f64() * 1e3),
            );
        }
    }
}

/// One run: wall time, and the CPU time (user and system) the process used.
#[derive(Debug, Clone, Copy)]
struct Sample {
    wall: Duration,
    cpu: Duration,
}

/// Removes what a run leaves but the plugin cache, so the next run reads the input again.
fn reset(data: &Path, output: &Path) {
    let _ = std::fs::remove_file(output);
    let Ok(entries) = std::fs::read_dir(data) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name() != "plugin-cache" {
            let path = entry.path();
            let _ = std::fs::remove_dir_all(&path).or_else(|_| std::fs::remove_file(&path));
        }
    }
}

fn run_once(binary: &str, pipeline: &Path, data: &Path) -> Sample {
    let before = children_cpu();
    let started = Instant::now();
    let status = Command::new(binary)
        .arg("run")
        .arg("--data-dir")
        .arg(data)
        .arg(pipeline)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("siemflow starts");
    let wall = started.elapsed();
    assert!(status.success(), "siemflow run failed: {status}");
    Sample {
        wall,
        cpu: children_cpu().saturating_sub(before),
    }
}

/// User and system time of the waited-for children so far: `cutime` and `cstime` of
/// `/proc/self/stat`, in the kernel's fixed USER_HZ of 100 ticks a second.
fn children_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // The fields after the command name, which is in parentheses and may hold spaces.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<u64> = after
        .split_whitespace()
        .skip(1)
        .map(|field| field.parse().unwrap_or(0))
        .collect();
    // cutime and cstime are fields 16 and 17 of the line; with the state (field 3) skipped,
    // field 4 is at index 0.
    let ticks = fields.get(12).copied().unwrap_or(0) + fields.get(13).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}
