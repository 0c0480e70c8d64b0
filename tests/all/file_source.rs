//! The file source's checkpoints across runs: resumed, replaced and truncated files, several files.

use siemflow_core::telemetry::Telemetry;

use crate::support::{compile, numbered_lines, numbers, run_in_process, write};
use crate::test_components::registry;

async fn run_once(dir: &std::path::Path) {
    let pipeline = compile(&dir.join("p.yaml"), &registry());
    run_in_process(&pipeline, &dir.join("data"), &Telemetry::new())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_unchanged_files_and_rereads_replaced_or_truncated_ones() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(&d.join("in/a.json"), numbered_lines(0..100, 50));
    write(&d.join("in/b.json"), numbered_lines(100..200, 50));
    write(&d.join("in/c.json"), numbered_lines(200..300, 50));
    write(&d.join("in/e.json"), numbered_lines(500..510, 50));
    write(
        &d.join("p.yaml"),
        format!(
            "id: files\nsources:\n  in: {{ type: file, path: \"{}/in/*.json\" }}\nsinks:\n  out: {{ type: file, inputs: [in], path: {}/out.log }}\n",
            d.display(),
            d.display()
        ),
    );
    run_once(d).await;
    let mut first: Vec<u64> = (0..300).collect();
    first.extend(500..510);
    assert_eq!(numbers(&d.join("out.log")), first, "files in name order");

    // a.json grows: only the new lines are read.
    let mut grown = std::fs::read(d.join("in/a.json")).unwrap();
    grown.extend(numbered_lines(1000..1010, 50));
    std::fs::write(d.join("in/a.json"), grown).unwrap();
    // b.json is replaced by a new file (new inode): read from the start.
    write(&d.join("in/b.new"), numbered_lines(2000..2005, 50));
    std::fs::rename(d.join("in/b.new"), d.join("in/b.json")).unwrap();
    // c.json is truncated and rewritten shorter: read from the start.
    std::fs::write(d.join("in/c.json"), numbered_lines(3000..3003, 50)).unwrap();
    // d.json appears; e.json is truncated in place and rewritten *longer* than before (same
    // inode, size past the old offset): its first bytes differ, so it is read from the start.
    write(&d.join("in/d.json"), numbered_lines(4000..4002, 50));
    let inode =
        std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(d.join("in/e.json")).unwrap());
    std::fs::write(d.join("in/e.json"), numbered_lines(5000..5020, 50)).unwrap();
    assert_eq!(
        std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(d.join("in/e.json")).unwrap()),
        inode,
        "rewritten in place"
    );
    std::fs::remove_file(d.join("out.log")).unwrap();
    run_once(d).await;
    let mut expected: Vec<u64> = (1000..1010).collect();
    expected.extend(2000..2005);
    expected.extend(3000..3003);
    expected.extend(4000..4002);
    expected.extend(5000..5020);
    assert_eq!(numbers(&d.join("out.log")), expected);

    // Nothing changed: nothing is read.
    std::fs::remove_file(d.join("out.log")).unwrap();
    run_once(d).await;
    assert!(numbers(&d.join("out.log")).is_empty());
}

/// A path that matches nothing fails a finite run (it would end as if it had read
/// everything), unless `allow_missing` says it is expected; a followed path only warns.
#[test]
fn a_path_matching_nothing_fails_a_finite_run_unless_allowed() {
    use crate::support::{describe, output, siemflow};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = |source: &str| {
        write(
            &d.join("p.yaml"),
            format!(
                "id: files\nsources:\n  in: {{ type: file, path: \"nowhere/*.json\"{source} }}\nsinks:\n  out: {{ type: file, inputs: [in], path: out.log }}\n"
            ),
        );
        output(
            siemflow(d)
                .args(["run", "p.yaml", "--drain-timeout", "1s"])
                .env("SIEMFLOW_LOG", "info"),
        )
    };
    let failed = run("");
    assert_eq!(failed.status.code(), Some(1), "{}", describe(&failed));
    let log = String::from_utf8_lossy(&failed.stderr);
    assert!(
        log.contains("source `in`")
            && log.contains("no file matches `nowhere/*.json`")
            && log.contains(&d.display().to_string())
            && log.contains("allow_missing: true"),
        "{log}"
    );
    let allowed = run(", allow_missing: true");
    assert_eq!(allowed.status.code(), Some(0), "{}", describe(&allowed));
    assert!(
        String::from_utf8_lossy(&allowed.stderr).contains("no file matches `nowhere/*.json`"),
        "{}",
        describe(&allowed)
    );
}
