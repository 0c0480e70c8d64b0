//! `siemflow dead-letters list|show|replay` on a real pipeline: letters written by a failing
//! mapping go back through the fixed one and reach the sink; the letters that fail again take the
//! new reason, and the letters of other components stay.

use serde_json::Value;

use crate::support::{describe, guest, lines, output, siemflow, write};

fn pipeline(map: &str) -> String {
    format!(
        r#"
id: tenant-a
sources:
  in: {{ type: file, path: input.jsonl, follow: false }}
transforms:
  map:
    type: wasm
    inputs: [in]
    {map}
sinks:
  out: {{ type: file, inputs: [map], path: out.txt }}
"#
    )
}

fn failing_mapping() -> String {
    format!(
        "plugin: {}\n    config: {{ prefix: v1 }}",
        guest("tag").display()
    )
}

fn fixed_mapping() -> String {
    format!(
        "plugin: {}\n    config: {{ mode: panic, at: 999 }}",
        guest("misbehave").display()
    )
}

fn letters(dir: &std::path::Path) -> Vec<Value> {
    lines(&dir.join("data/dead-letter/tenant-a.jsonl"))
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn dead_letters_are_listed_shown_and_replayed_into_the_fixed_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    write(
        &dir.join("input.jsonl"),
        concat!(
            "{\"category\":\"c\",\"n\":1}\n",
            "{\"category\":\"c\",\"n\":2,\"fail\":\"no mapping for n=2\"}\n",
            "{\"category\":\"c\",\"n\":3}\n",
            "{\"category\":\"c\",\"n\":4,\"fail\":\"no mapping for n=4\"}\n",
            "{not json\n",
        ),
    );
    write(&dir.join("v1.yaml"), pipeline(&failing_mapping()));
    write(&dir.join("v2.yaml"), pipeline(&fixed_mapping()));

    let run = output(siemflow(dir).args(["run", "v1.yaml"]));
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(lines(&dir.join("out.txt")), ["v1|c|1|0", "v1|c|3|0"]);
    let before = letters(dir);
    assert_eq!(before.len(), 3, "{before:#?}");
    let source_letter = before
        .iter()
        .find(|letter| letter["component"] == "in")
        .unwrap()
        .clone();

    let list = output(siemflow(dir).args(["dead-letters", "list"]));
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(list.status.success(), "{}", describe(&list));
    assert!(
        text.contains("tenant-a: 3 dead letter(s), 3 replayable"),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.contains("map") && l.contains(" 2 ")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.contains("in") && l.contains(" 1 ")),
        "{text}"
    );

    let show =
        output(siemflow(dir).args(["dead-letters", "show", "tenant-a", "--component", "map"]));
    let text = String::from_utf8_lossy(&show.stdout);
    assert!(show.status.success(), "{}", describe(&show));
    assert!(
        text.contains("no mapping for n=2") && text.contains("no mapping for n=4"),
        "{text}"
    );
    assert!(!text.contains("not json"), "{text}");

    // The mapping is fixed: its letters go back through it; the source's letter stays.
    let replay =
        output(siemflow(dir).args(["dead-letters", "replay", "v2.yaml", "--component", "map"]));
    let text = String::from_utf8_lossy(&replay.stdout);
    assert!(replay.status.success(), "{}", describe(&replay));
    assert!(
        text.contains("replayed 2 dead letter(s): 2 delivered, 0 dead-lettered again, 0 not delivered (kept); 1 not replayed (kept)"),
        "{}",
        describe(&replay)
    );
    assert_eq!(
        lines(&dir.join("out.txt")),
        ["v1|c|1|0", "v1|c|3|0", "ok|2", "ok|4"],
        "the letters reached the sink, and the input was not read again"
    );
    let after = letters(dir);
    assert_eq!(after.len(), 1, "{after:#?}");
    assert_eq!(
        after[0], source_letter,
        "the other component's letter stays as it was"
    );
    assert!(
        !dir.join("data/dead-letter/tenant-a.replaying.jsonl")
            .exists()
    );

    // Replayed through the old mapping, the source's malformed line fails again, with the
    // mapping's reason.
    let again = output(siemflow(dir).args(["dead-letters", "replay", "v1.yaml"]));
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "{}", describe(&again));
    assert!(
        text.contains("replayed 1 dead letter(s): 0 delivered, 1 dead-lettered again"),
        "{text}"
    );
    let last = letters(dir);
    assert_eq!(last.len(), 1, "{last:#?}");
    assert_eq!(last[0]["component"], "map");
    assert_eq!(last[0]["body"], "{not json");
    assert_ne!(last[0]["reason"], source_letter["reason"]);
    assert_eq!(lines(&dir.join("out.txt")).len(), 4);
}

#[test]
fn a_pipeline_that_is_running_is_not_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    write(&dir.join("input.jsonl"), "{\"n\":1,\"fail\":\"x\"}\n");
    write(
        &dir.join("p.yaml"),
        pipeline(&failing_mapping()).replace("follow: false", "follow: true"),
    );
    let mut running = siemflow(dir)
        .args(["run", "p.yaml"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let letters_path = dir.join("data/dead-letter/tenant-a.jsonl");
    let started = std::time::Instant::now();
    while lines(&letters_path).is_empty() {
        assert!(
            started.elapsed() < crate::support::PROCESS_LIMIT,
            "no dead letter"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let replay = output(siemflow(dir).args(["dead-letters", "replay", "p.yaml"]));
    running.kill().unwrap();
    running.wait().unwrap();
    assert!(!replay.status.success(), "{}", describe(&replay));
    assert!(
        String::from_utf8_lossy(&replay.stderr).contains("another siemflow process is running it"),
        "{}",
        describe(&replay)
    );
    assert_eq!(lines(&letters_path).len(), 1, "the letter is still there");
}
