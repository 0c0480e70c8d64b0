//! Kill -9 in the middle of a million lines: every line at least once, no restart from zero.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::support::{describe, numbered_lines, output, siemflow, write};

const LINES: u64 = 1_000_000;

fn count_lines(path: &std::path::Path) -> usize {
    std::fs::read(path)
        .map(|bytes| bytes.iter().filter(|b| **b == b'\n').count())
        .unwrap_or(0)
}

#[test]
fn sigkill_mid_run_then_restart_delivers_every_line_at_least_once() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("in.json"), numbered_lines(0..LINES, 100));
    write(
        &dir.path().join("p.yaml"),
        "id: crash\nsources:\n  in: { type: file, path: in.json }\nsinks:\n  out: { type: file, inputs: [in], path: out.log }\n",
    );
    let out = dir.path().join("out.log");
    let mut child = siemflow(dir.path())
        .args(["run", "p.yaml", "--data-dir", "data"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while count_lines(&out) < 200_000 {
        assert!(started.elapsed() < Duration::from_secs(120), "no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run must still be going when killed"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let at_kill = count_lines(&out);
    assert!(
        at_kill < LINES as usize,
        "killed mid-run ({at_kill} lines written)"
    );
    let checkpoint = std::fs::read_to_string(dir.path().join("data/checkpoints/crash/in.json"))
        .expect("a checkpoint was committed before the kill");

    let rerun = output(siemflow(dir.path()).args(["run", "p.yaml", "--data-dir", "data"]));
    assert_eq!(rerun.status.code(), Some(0), "{}", describe(&rerun));
    assert!(
        String::from_utf8_lossy(&rerun.stderr).contains("resuming from checkpoint"),
        "{}",
        describe(&rerun)
    );

    let text = std::fs::read_to_string(&out).unwrap();
    let mut distinct = HashSet::new();
    let mut total = 0usize;
    for line in text.lines() {
        // A kill can cut the last line written; such a fragment is not an event.
        let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        distinct.insert(value["n"].as_u64().unwrap());
        total += 1;
    }
    assert_eq!(
        distinct.len() as u64,
        LINES,
        "every line delivered at least once"
    );
    let duplicates = total - distinct.len();
    // Positions are committed every 100 ms while lines flow: far fewer come again than were
    // written (when commits starved behind the acknowledgements, every one of them came again).
    assert!(
        duplicates < at_kill / 2,
        "the restart resumed from a checkpoint close behind the kill ({checkpoint}): {duplicates} duplicates, {at_kill} lines before the kill"
    );
}
