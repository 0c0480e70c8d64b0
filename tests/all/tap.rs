//! `siemflow tap`: live events of a running instance, from its `--metrics-addr`, without slowing
//! delivery when a viewer stops reading.

use std::io::Write as _;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::{
    describe, free_port, http_get, lines, output, send_signal, siemflow, wait_for_count, write,
};

fn record(n: usize) -> String {
    format!(
        r#"{{"time":"2026-11-24T08:00:00Z","category":"AdvancedHunting-DeviceProcessEvents","properties":{{"Timestamp":"2026-11-24T08:00:00Z","DeviceName":"wks-{n}","ActionType":"ProcessCreated","ProcessId":{n},"FileName":"a.exe","ReportId":{n}}}}}"#
    )
}

fn append(path: &std::path::Path, range: std::ops::Range<usize>) {
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    let text: String = range.map(|n| record(n) + "\n").collect();
    file.write_all(text.as_bytes()).unwrap();
}

fn wait_ready(address: &str, child: &mut Child) {
    let start = Instant::now();
    while std::net::TcpStream::connect(address).is_err()
        || !http_get(address, "/ready").starts_with("HTTP/1.1 200")
    {
        assert!(child.try_wait().unwrap().is_none(), "siemflow exited");
        assert!(start.elapsed() < Duration::from_secs(30), "not ready");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn tap_shows_a_components_events_and_a_stalled_viewer_does_not_slow_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(&d.join("in/a.jsonl"), "");
    write(
        &d.join("p.yaml"),
        "id: tapped\nsources:\n  in: { type: file, path: \"in/*.jsonl\", follow: true, poll_interval: 50ms }\ntransforms:\n  cef: { type: wasm, inputs: [in], plugin: \"builtin:defender-cef\" }\nsinks:\n  out: { type: file, inputs: [cef], path: out.cef }\n",
    );
    let address = format!("127.0.0.1:{}", free_port());
    let mut run = siemflow(d)
        .args(["run", "p.yaml", "--metrics-addr", &address])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_ready(&address, &mut run);

    // Unknown targets are refused.
    let refused = output(siemflow(d).args(["tap", "--metrics", &address, "tapped.nothing"]));
    assert_eq!(refused.status.code(), Some(1), "{}", describe(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("no component `nothing`"),
        "{}",
        describe(&refused)
    );

    // A viewer that asks and never reads.
    let mut stalled = std::net::TcpStream::connect(&address).unwrap();
    write!(
        stalled,
        "GET /tap?pipeline=tapped&component=in HTTP/1.1\r\nHost: test\r\n\r\n"
    )
    .unwrap();
    let viewer = |target: &str, limit: &str| {
        siemflow(d)
            .args(["tap", "--metrics", &address, target, "--limit", limit])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let cef_viewer = viewer("tapped.cef", "3");
    let source_viewer = viewer("tapped", "1");
    std::thread::sleep(Duration::from_millis(500));

    let total = 20_000;
    append(&d.join("in/a.jsonl"), 0..total);
    wait_for_count(
        &mut run,
        total,
        Duration::from_secs(120),
        "CEF lines",
        || lines(&d.join("out.cef")).len(),
    );

    let cef = cef_viewer.wait_with_output().unwrap();
    assert_eq!(cef.status.code(), Some(0), "{}", describe(&cef));
    let shown: Vec<serde_json::Value> = String::from_utf8_lossy(&cef.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(shown.len(), 3, "{shown:?}");
    for event in &shown {
        assert_eq!(event["pipeline"], "tapped");
        assert_eq!(event["component"], "cef");
        assert_eq!(event["event_type"], "AdvancedHunting-DeviceProcessEvents");
        assert!(
            event["body"]
                .as_str()
                .is_some_and(|body| body.starts_with("CEF:0|Microsoft|")),
            "{event}"
        );
        assert_eq!(event["id"].as_str().map(str::len), Some(32));
    }
    let source = source_viewer.wait_with_output().unwrap();
    assert_eq!(source.status.code(), Some(0), "{}", describe(&source));
    let first: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&source.stdout).trim()).unwrap();
    assert_eq!(first["component"], "in");
    assert_eq!(first["body"]["properties"]["DeviceName"], "wks-0");

    drop(stalled);
    assert_eq!(send_signal(run.id(), libc::SIGTERM), 0);
    let ended = run.wait_with_output().unwrap();
    assert_eq!(ended.status.code(), Some(0), "{}", describe(&ended));
    assert_eq!(
        lines(&d.join("out.cef")).len(),
        total,
        "every event delivered once"
    );
}
