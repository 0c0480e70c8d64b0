//! Disk buffers against a SIEM that goes away: down for 60 s then back, a disk buffer lets the
//! source read on (and checkpoint) up to the buffer's bound and loses nothing, while a memory
//! buffer holds the source back; after a kill -9, what the disk buffer held is delivered by the
//! next run.

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use siemflow_test_support::hec::{HecOptions, HecServer};

use crate::splunk_hec::{committed_offset, indexed_counts};
use crate::support::{describe, free_port, http_get, numbered_lines, output, siemflow, write};

const LINE_BYTES: usize = 200;
/// The disk buffer's bound in the outage test: a small part of the input.
const DISK_BYTES: u64 = 4 << 20;

fn down_server() -> HecServer {
    let server = HecServer::start(HecOptions::default());
    server.set_available(false);
    server
}

fn pipeline(server: &HecServer, id: &str, buffer: &str) -> String {
    format!(
        r#"id: {id}
sources:
  in: {{ type: file, path: in.json, commit_interval: 100ms }}
sinks:
  splunk:
    type: splunk_hec
    inputs: [in]
    endpoint: {url}
    token: "{token}"
    health_check: false
    batch: {{ max_events: 500, timeout: 100ms }}
    acknowledgements: {{ poll_interval: 100ms }}
    buffer: {buffer}
"#,
        url = server.url(),
        token = server.token()
    )
}

/// A run in its own directory with `events` numbered lines, serving metrics.
struct Run {
    dir: tempfile::TempDir,
    id: &'static str,
    metrics: String,
    child: Child,
}

impl Run {
    fn start(server: &HecServer, id: &'static str, buffer: &str, events: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        write(
            &dir.path().join("in.json"),
            numbered_lines(0..events, LINE_BYTES),
        );
        write(&dir.path().join("p.yaml"), pipeline(server, id, buffer));
        let metrics = format!("127.0.0.1:{}", free_port());
        let child = spawn(dir.path(), &metrics);
        Self {
            dir,
            id,
            metrics,
            child,
        }
    }

    /// A metric of one component, 0 when it is not there (yet).
    fn metric(&self, name: &str, component: &str) -> f64 {
        let text = http_get(&self.metrics, "/metrics");
        let labels = format!(
            "{name}{{pipeline=\"{}\",component_id=\"{component}\"",
            self.id
        );
        text.lines()
            .find(|line| line.starts_with(&labels))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|value| value.parse().ok())
            .unwrap_or(0.0)
    }

    /// Events the file source has read.
    fn read_events(&self) -> u64 {
        self.metric("siemflow_component_received_events_total", "in") as u64
    }

    /// Lines the file source's checkpoint covers.
    fn committed_lines(&self) -> u64 {
        let path = self
            .dir
            .path()
            .join(format!("data/checkpoints/{}/in.json", self.id));
        committed_offset(&path).unwrap_or(0) / (LINE_BYTES as u64 + 1)
    }

    fn wait_for_metrics(&self) {
        let started = Instant::now();
        while std::net::TcpStream::connect(&self.metrics).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{} never served metrics",
                self.id
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_for_exit(&mut self, limit: Duration) {
        let started = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            assert!(
                started.elapsed() < limit,
                "{} did not finish within {limit:?} of the SIEM coming back",
                self.id
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{} failed: {status:?}", self.id);
    }
}

fn spawn(dir: &Path, metrics: &str) -> Child {
    siemflow(dir)
        .args([
            "run",
            "p.yaml",
            "--data-dir",
            "data",
            "--metrics-addr",
            metrics,
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

fn assert_indexed_exactly_once(server: &HecServer, events: u64, what: &str) {
    let counts = indexed_counts(server);
    let missing: Vec<u64> = (0..events).filter(|n| !counts.contains_key(n)).collect();
    assert!(
        missing.is_empty(),
        "{what}: {} events lost (first: {:?})",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    let twice = counts.values().filter(|c| **c > 1).count();
    assert_eq!(twice, 0, "{what}: {twice} events indexed more than once");
}

#[test]
fn a_siem_down_for_60_s_fills_a_disk_buffer_to_its_bound_and_holds_a_memory_buffer_back() {
    const EVENTS: u64 = 100_000;
    let disk_server = down_server();
    let memory_server = down_server();
    let mut disk = Run::start(
        &disk_server,
        "outage-disk",
        &format!("{{ type: disk, max_bytes: {DISK_BYTES} }}"),
        EVENTS,
    );
    let mut memory = Run::start(
        &memory_server,
        "outage-memory",
        "{ max_events: 1000 }",
        EVENTS,
    );
    disk.wait_for_metrics();
    memory.wait_for_metrics();
    let outage = Instant::now();

    std::thread::sleep(Duration::from_secs(50));
    let (disk_read_50, memory_read_50) = (disk.read_events(), memory.read_events());
    std::thread::sleep(Duration::from_secs(60) - outage.elapsed().min(Duration::from_secs(60)));
    let (disk_read, memory_read) = (disk.read_events(), memory.read_events());
    let disk_bytes = disk.metric("siemflow_buffer_bytes", "splunk") as u64;
    let (disk_committed, memory_committed) = (disk.committed_lines(), memory.committed_lines());
    assert!(disk_server.indexed().is_empty() && memory_server.indexed().is_empty());

    // Disk: the source read on while the SIEM was away, and its checkpoint moved, because every
    // event it read was on disk; it stopped where the buffer's bound is.
    let on_disk_at_least = DISK_BYTES / 2 / (LINE_BYTES as u64 + 100);
    assert!(
        disk_committed >= on_disk_at_least && disk_read >= disk_committed,
        "disk buffer: the source read {disk_read} and committed {disk_committed} events, expected at least {on_disk_at_least}"
    );
    assert!(disk_read < EVENTS, "the source stopped at the bound");
    assert_eq!(
        disk_read_50, disk_read,
        "the source was held at the bound from 50 s to 60 s"
    );
    assert!(
        disk_bytes > DISK_BYTES / 2 && disk_bytes <= DISK_BYTES,
        "{disk_bytes} bytes on disk with a bound of {DISK_BYTES}"
    );
    // Memory: backpressure; nothing delivered so nothing committed, and the source read only
    // what the buffers hold.
    assert_eq!(
        memory_committed, 0,
        "memory buffer: nothing may be committed"
    );
    assert_eq!(memory_read_50, memory_read, "the source was held");
    assert!(
        memory_read <= 10_000 && memory_read * 2 < disk_read,
        "memory buffer: the source read {memory_read} events while the SIEM was down (disk: {disk_read})"
    );

    disk_server.set_available(true);
    memory_server.set_available(true);
    disk.wait_for_exit(Duration::from_secs(240));
    memory.wait_for_exit(Duration::from_secs(240));
    assert_indexed_exactly_once(&disk_server, EVENTS, "disk buffer");
    assert_indexed_exactly_once(&memory_server, EVENTS, "memory buffer");
}

#[test]
fn kill_9_with_a_disk_buffer_holding_events_then_a_restart_delivers_them() {
    const EVENTS: u64 = 30_000;
    let server = down_server();
    let mut run = Run::start(
        &server,
        "killed",
        "{ type: disk, max_bytes: 64MiB }",
        EVENTS,
    );
    run.wait_for_metrics();
    let started = Instant::now();
    while run.committed_lines() < EVENTS {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the source never committed the whole file into the disk buffer"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(run.child.try_wait().unwrap().is_none(), "still running");
    run.child.kill().unwrap(); // SIGKILL
    run.child.wait().unwrap();
    assert!(server.indexed().is_empty(), "the SIEM was down throughout");

    // The source has committed every line: whatever reaches the SIEM now comes from the buffer.
    server.set_available(true);
    let rerun = output(siemflow(run.dir.path()).args(["run", "p.yaml", "--data-dir", "data"]));
    assert_eq!(rerun.status.code(), Some(0), "{}", describe(&rerun));
    let stderr = String::from_utf8_lossy(&rerun.stderr);
    assert!(
        stderr.contains("disk buffer holds events from an earlier run")
            && stderr.contains(&format!("events={EVENTS}")),
        "{stderr}"
    );
    assert_indexed_exactly_once(&server, EVENTS, "after the restart");
}
