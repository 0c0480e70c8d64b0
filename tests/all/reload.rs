//! `siemflow run DIR --watch`: pipeline files edited, added, broken and removed while running.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::support::{Service, guest, lines, numbered_lines, numbers, write};

/// How long any awaited change may take before the test gives up (a failure, not a measurement).
const LIMIT: Duration = Duration::from_secs(60);

fn tenant(dir: &Path, id: &str, out: &str) -> String {
    let d = dir.display();
    format!(
        "id: {id}\nsources:\n  in: {{ type: file, path: {d}/in-{id}.json, follow: true, poll_interval: 50ms }}\nsinks:\n  out: {{ type: file, inputs: [in], path: {d}/{out} }}\n"
    )
}

/// Polls until `done` holds; returns how long it took.
fn until(what: &str, done: impl Fn() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < LIMIT, "{what}: not within {LIMIT:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
    started.elapsed()
}

fn assert_exactly_once(mut got: Vec<u64>, written: u64, what: &str) {
    got.sort_unstable();
    let expected: Vec<u64> = (0..written).collect();
    assert!(
        got == expected,
        "{what}: {} lines delivered for {written} written (first difference at {:?})",
        got.len(),
        got.iter().zip(&expected).position(|(a, b)| a != b)
    );
}

#[test]
fn pipeline_files_changed_added_broken_and_removed_while_running_touch_no_other_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let tenants = root.join("tenants");
    for id in ["steady1", "steady2", "broken", "edited"] {
        write(&root.join(format!("in-{id}.json")), "");
        write(
            &tenants.join(format!("{id}.yaml")),
            tenant(root, id, &format!("out-{id}.json")),
        );
    }
    write(&root.join("in-removed.json"), numbered_lines(0..100, 64));
    write(
        &tenants.join("removed.yaml"),
        tenant(root, "removed", "out-removed.json"),
    );
    write(&root.join("in-added.json"), numbered_lines(0..100, 64));

    let service = Service::start(root, "tenants");
    let health = || service.get("/health");
    until("ready", || {
        service.get("/ready").starts_with("HTTP/1.1 200")
    });
    until("the removed tenant's file delivered", || {
        lines(&root.join("out-removed.json")).len() == 100
    });

    // Events flow into four pipelines for the whole test, in rounds of 10 lines per file.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let (stop, written, root) = (stop.clone(), written.clone(), root.to_path_buf());
        std::thread::spawn(move || {
            let mut files: Vec<std::fs::File> = ["steady1", "steady2", "broken", "edited"]
                .iter()
                .map(|id| {
                    std::fs::OpenOptions::new()
                        .append(true)
                        .open(root.join(format!("in-{id}.json")))
                        .unwrap()
                })
                .collect();
            while !stop.load(Ordering::Relaxed) {
                let from = written.load(Ordering::Relaxed);
                let round = numbered_lines(from..from + 10, 64);
                for file in &mut files {
                    std::io::Write::write_all(file, &round).unwrap();
                }
                written.store(from + 10, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    until("events flowing", || {
        lines(&root.join("out-steady1.json")).len() >= 100
    });

    // Edited: the sink moves to another file; the new version continues from the checkpoints.
    write(
        &tenants.join("edited.yaml"),
        tenant(root, "edited", "out-edited-v2.json"),
    );
    let edited = until("the edit applied", || {
        !lines(&root.join("out-edited-v2.json")).is_empty()
    });

    // Added: a new tenant starts and reads its file.
    write(
        &tenants.join("added.yaml"),
        tenant(root, "added", "out-added.json"),
    );
    let added = until("the added pipeline delivered", || {
        lines(&root.join("out-added.json")).len() == 100
    });

    // Broken: the edit is refused and the old version keeps delivering.
    write(&tenants.join("broken.yaml"), "id: broken\nsources: [\n");
    let refused = until("the invalid edit reported", || {
        health().contains("\"refused_change\": \"tenants/broken.yaml:")
    });
    let before = lines(&root.join("out-broken.json")).len();
    until(
        "the old version of the broken pipeline still delivers",
        || lines(&root.join("out-broken.json")).len() > before + 50,
    );

    // Removed: its pipeline drains and leaves `/health`.
    std::fs::remove_file(tenants.join("removed.yaml")).unwrap();
    let removed = until("the removed pipeline stopped", || {
        let health = health();
        health.contains("\"added\"") && !health.contains("\"removed\"")
    });

    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let written = written.load(Ordering::Relaxed);
    for out in ["out-steady1.json", "out-steady2.json", "out-broken.json"] {
        until(out, || lines(&root.join(out)).len() as u64 >= written);
    }
    until("the edited pipeline caught up", || {
        (lines(&root.join("out-edited.json")).len() + lines(&root.join("out-edited-v2.json")).len())
            as u64
            >= written
    });
    let health_now = health();
    assert!(
        health_now.starts_with("HTTP/1.1 200") && health_now.contains("\"status\": \"ok\""),
        "a refused change does not make the process unhealthy: {health_now}"
    );
    let (code, log) = service.stop();
    assert_eq!(code, Some(0), "{log}");

    for id in ["steady1", "steady2", "broken"] {
        assert_exactly_once(numbers(&root.join(format!("out-{id}.json"))), written, id);
    }
    let mut edited_all = numbers(&root.join("out-edited.json"));
    edited_all.extend(numbers(&root.join("out-edited-v2.json")));
    assert_exactly_once(edited_all, written, "edited, across both versions");
    assert_exactly_once(numbers(&root.join("out-added.json")), 100, "added");
    assert_exactly_once(numbers(&root.join("out-removed.json")), 100, "removed");
    for (untouched, changed) in [("steady1", "edited"), ("steady2", "added")] {
        let started = format!("pipeline started pipeline={untouched}");
        assert_eq!(
            log.matches(&started).count(),
            1,
            "{untouched} started once while {changed} changed: {log}"
        );
    }
    assert!(
        log.contains("the change is refused, the running version stays")
            && log.contains("tenants/broken.yaml:"),
        "{log}"
    );
    println!(
        "{written} events per running pipeline; applied after: edit {edited:?}, add {added:?}, \
         invalid edit reported {refused:?}, removal {removed:?}"
    );
}

#[test]
fn a_failing_pipeline_is_reported_and_started_again_while_the_others_run() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for id in ["healthy", "failing"] {
        write(
            &root.join(format!("in-{id}.json")),
            numbered_lines(0..100, 64),
        );
    }
    write(
        &root.join("tenants/healthy.yaml"),
        tenant(root, "healthy", "out-healthy.json"),
    );
    // Its sink cannot create its directory while a plain file is in the way.
    write(&root.join("blocked"), "");
    write(
        &root.join("tenants/failing.yaml"),
        tenant(root, "failing", "blocked/out-failing.json"),
    );
    let service = Service::start(root, "tenants");
    let get = |path: &str| service.get(path);
    until("the failure reported", || {
        let health = get("/health");
        health.starts_with("HTTP/1.1 503")
            && health.contains("\"status\": \"failing\"")
            && health.contains("cannot create the directory of")
    });
    assert!(get("/ready").starts_with("HTTP/1.1 503"));
    until("the healthy pipeline delivers meanwhile", || {
        lines(&root.join("out-healthy.json")).len() == 100
    });
    until("a restart", || get("/health").contains("\"restarts\": 1"));

    std::fs::remove_file(root.join("blocked")).unwrap();
    until("the failing pipeline recovered by itself", || {
        lines(&root.join("blocked/out-failing.json")).len() == 100
    });
    until("healthy and ready again", || {
        get("/health").starts_with("HTTP/1.1 200") && get("/ready").starts_with("HTTP/1.1 200")
    });
    let (code, log) = service.stop();
    assert_eq!(code, Some(0), "{log}");
    assert_eq!(
        log.matches("pipeline started pipeline=healthy").count(),
        1,
        "{log}"
    );
    assert!(
        log.contains("starting the pipeline again after a backoff pipeline=failing"),
        "{log}"
    );
    assert_exactly_once(numbers(&root.join("out-healthy.json")), 100, "healthy");
    assert_exactly_once(
        numbers(&root.join("blocked/out-failing.json")),
        100,
        "failing, once recovered",
    );
}

#[test]
fn a_rebuilt_plugin_runs_once_its_pipeline_file_changes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let plugin = root.join("plugin.wasm");
    let pipeline = |version: &str, config: &str| {
        let d = root.display();
        format!(
            "id: mapped\nsources:\n  in: {{ type: file, path: {d}/in-{version}.json, follow: true, poll_interval: 50ms }}\ntransforms:\n  map: {{ type: wasm, inputs: [in], plugin: {}, config: {config} }}\nsinks:\n  out: {{ type: file, inputs: [map], path: {d}/out-{version}.json }}\n",
            plugin.display()
        )
    };
    let event = "{\"n\":7,\"category\":\"A\"}\n";
    write(&root.join("in-v1.json"), event);
    write(&root.join("in-v2.json"), event);
    std::fs::copy(guest("tag"), &plugin).unwrap();
    write(
        &root.join("tenants/mapped.yaml"),
        pipeline("v1", "{ prefix: V1 }"),
    );
    let service = Service::start(root, "tenants");
    until("the first build delivered", || {
        !lines(&root.join("out-v1.json")).is_empty()
    });
    assert_eq!(lines(&root.join("out-v1.json")), vec!["V1|A|7|0"]);

    // The plugin is rebuilt (here: replaced by another one, with its own config) and the pipeline
    // file edited to use it.
    std::fs::copy(guest("misbehave"), &plugin).unwrap();
    write(
        &root.join("tenants/mapped.yaml"),
        pipeline("v2", "{ mode: panic, at: 0 }"),
    );
    until("the new version delivered", || {
        !lines(&root.join("out-v2.json")).is_empty()
    });
    let (code, log) = service.stop();
    assert_eq!(code, Some(0), "{log}");
    assert_eq!(
        lines(&root.join("out-v2.json")),
        vec!["ok|7"],
        "the new build's output: {log}"
    );
}

#[test]
fn sighup_applies_an_edit_without_watching() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("in-hup.json"), numbered_lines(0..100, 64));
    write(
        &root.join("tenants/hup.yaml"),
        tenant(root, "hup", "out-v1.json"),
    );
    let child = crate::support::siemflow(root)
        .args(["run", "tenants", "--data-dir", "data"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    until("the first version delivered", || {
        lines(&root.join("out-v1.json")).len() == 100
    });
    write(
        &root.join("tenants/hup.yaml"),
        tenant(root, "hup", "out-v2.json"),
    );
    assert_eq!(crate::support::send_signal(child.id(), 1), 0);
    // The new version's sink creates its file when it starts: from then on it reads the input.
    until("the edit applied on SIGHUP", || {
        root.join("out-v2.json").exists()
    });
    let mut input = std::fs::OpenOptions::new()
        .append(true)
        .open(root.join("in-hup.json"))
        .unwrap();
    std::io::Write::write_all(&mut input, &numbered_lines(100..200, 64)).unwrap();
    until("the new version delivered", || {
        lines(&root.join("out-v2.json")).len() == 100
    });
    assert_eq!(crate::support::send_signal(child.id(), 15), 0);
    let output = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{log}");
    assert!(log.contains("trigger=Hangup"), "{log}");
    let mut second = numbers(&root.join("out-v2.json"));
    second.iter_mut().for_each(|n| *n = n.wrapping_sub(100));
    assert_exactly_once(numbers(&root.join("out-v1.json")), 100, "before the SIGHUP");
    assert_exactly_once(second, 100, "after it, from the checkpoint");
}
