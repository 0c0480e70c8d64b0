//! Helpers shared by the integration tests.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use siemflow_core::Pipeline;
use siemflow_core::config::load_file;
use siemflow_core::registry::Registry;
use siemflow_core::telemetry::Telemetry;
use siemflow_core::topology::{RunError, RunOptions};
use tokio_util::sync::CancellationToken;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A compiled guest plugin (built-in or test plugin) by crate name, e.g. `tag`.
pub fn guest(name: &str) -> PathBuf {
    Path::new(siemflow_wasm::builtin::guest_dir()).join(format!("{name}.wasm"))
}

/// A `siemflow` command running in `dir`.
pub fn siemflow(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_siemflow"));
    command.current_dir(dir).env("SIEMFLOW_LOG", "info");
    command
}

/// The longest any process of a test may run: a hang fails the test instead of stalling the
/// suite (a limit on being stuck, far above any expected duration, not a measurement).
pub const PROCESS_LIMIT: Duration = Duration::from_secs(600);

/// Runs a command to completion and returns its output; fails the test after [`PROCESS_LIMIT`].
pub fn output(command: &mut Command) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    let read = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = read(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = read(child.stderr.take().map(|p| Box::new(p) as _));
    let status = wait_within(&mut child, PROCESS_LIMIT);
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Waits for `child` to exit; kills it and fails the test when that takes longer than `limit`.
pub fn wait_within(child: &mut Child, limit: Duration) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("process {} did not exit within {limit:?}", child.id());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Text of stdout and stderr, for assertion messages.
pub fn describe(output: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Writes a file, creating its directory.
pub fn write(path: &Path, content: impl AsRef<[u8]>) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, content).unwrap();
}

/// Lines of a file (empty when it does not exist).
pub fn lines(path: &Path) -> Vec<String> {
    match std::fs::read_to_string(path) {
        Ok(text) => text.lines().map(str::to_string).collect(),
        Err(_) => Vec::new(),
    }
}

/// `properties.ReportId` of every line of a file sink's output (one Defender record per line),
/// with how many times it came.
pub fn report_ids(out: &Path) -> HashMap<u64, usize> {
    let mut counts = HashMap::new();
    for line in lines(out) {
        let value: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|error| panic!("a delivered line is not JSON ({error}): {line}"));
        let n = value["properties"]["ReportId"]
            .as_u64()
            .unwrap_or_else(|| panic!("one record per line, with a ReportId: {line}"));
        *counts.entry(n).or_default() += 1;
    }
    counts
}

/// Polls `count` until it reaches `expected`; fails if `child` exits first or `limit` passes.
pub fn wait_for_count(
    child: &mut Child,
    expected: usize,
    limit: Duration,
    what: &str,
    count: impl Fn() -> usize,
) {
    let start = Instant::now();
    loop {
        let got = count();
        if got >= expected {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("siemflow exited ({status}) with {got} of {expected} {what}");
        }
        assert!(
            start.elapsed() < limit,
            "{got} of {expected} {what} after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Loads and compiles one pipeline file with a registry.
pub fn compile(path: &Path, registry: &Registry) -> Pipeline {
    let file = load_file(path).unwrap_or_else(|errors| panic!("{errors}"));
    siemflow_core::compile(file, registry).unwrap_or_else(|errors| panic!("{errors}"))
}

/// Runs a pipeline in-process until it finishes.
pub async fn run_in_process(
    pipeline: &Pipeline,
    data_dir: &Path,
    telemetry: &Telemetry,
) -> Result<(), RunError> {
    let options = RunOptions {
        data_dir: data_dir.to_path_buf(),
        shutdown: CancellationToken::new(),
        drain_timeout: Duration::from_secs(30),
        telemetry: telemetry.clone(),
    };
    let run = siemflow_core::topology::run(pipeline, &options);
    tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("pipeline finishes within two minutes")
}

/// JSON lines `{"n":<i>,"pad":"..."}` for i in range, padded to about `size` bytes each.
pub fn numbered_lines(range: std::ops::Range<u64>, size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity((range.end - range.start) as usize * (size + 1));
    for n in range {
        let head = format!("{{\"n\":{n},\"pad\":\"");
        out.extend_from_slice(head.as_bytes());
        let pad = size.saturating_sub(head.len() + 2);
        out.extend(std::iter::repeat_n(b'x', pad));
        out.extend_from_slice(b"\"}\n");
    }
    out
}

/// The `n` field of every JSON line of a file.
pub fn numbers(path: &Path) -> Vec<u64> {
    lines(path)
        .iter()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            value["n"].as_u64().unwrap()
        })
        .collect()
}

/// A TCP port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plain HTTP/1.1 GET, returning the whole response.
pub fn http_get(address: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let limit = Some(Duration::from_secs(30));
    stream.set_read_timeout(limit).unwrap();
    stream.set_write_timeout(limit).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// Sends a signal with the `kill` command (the workspace denies `unsafe`).
pub fn send_signal(pid: u32, signal: i32) -> i32 {
    std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .map(|status| status.code().unwrap_or(-1))
        .unwrap_or(-1)
}

/// `siemflow run DIR --watch --metrics-addr ...` in `root`, logging to `root/siemflow.log`.
pub struct Service {
    /// The process.
    pub child: Child,
    /// The metrics address.
    pub metrics: String,
    log: PathBuf,
}

impl Service {
    /// Starts watching `pipelines` (relative to `root`) with the data directory `root/data`.
    pub fn start(root: &Path, pipelines: &str) -> Self {
        Self::start_with(root, pipelines, &[])
    }

    /// [`Service::start`] with more `siemflow run` arguments.
    pub fn start_with(root: &Path, pipelines: &str, extra: &[&str]) -> Self {
        let metrics = format!("127.0.0.1:{}", free_port());
        let log = root.join("siemflow.log");
        let child = siemflow(root)
            .args(["run", pipelines, "--watch", "--data-dir", "data"])
            .args(["--metrics-addr", &metrics])
            .args(extra)
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Self {
            child,
            metrics,
            log,
        }
    }

    /// The whole HTTP response to a GET of `path`, or "" while nothing listens.
    pub fn get(&self, path: &str) -> String {
        std::net::TcpStream::connect(&self.metrics)
            .map(|_| http_get(&self.metrics, path))
            .unwrap_or_default()
    }

    /// SIGTERM, then the exit code and the log.
    pub fn stop(mut self) -> (Option<i32>, String) {
        assert_eq!(send_signal(self.child.id(), 15), 0);
        let status = wait_within(&mut self.child, PROCESS_LIMIT);
        (status.code(), std::fs::read_to_string(&self.log).unwrap())
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
