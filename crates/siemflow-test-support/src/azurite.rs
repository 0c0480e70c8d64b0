//! Azurite, Microsoft's Blob Storage emulator, started for a test: installed by
//! `scripts/test-peers` into `target/test-peers/azurite`, run on a free port with its data in memory
//! (from a temporary directory), and stopped when dropped.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running Azurite blob service.
#[derive(Debug)]
pub struct Azurite {
    child: Child,
    port: u16,
    _data: tempfile::TempDir,
}

/// The repository's root.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

impl Azurite {
    /// Starts Azurite's blob service on a free port; panics with what to run when it is missing.
    pub fn start() -> Self {
        let program = repo_root().join("target/test-peers/azurite/node_modules/.bin/azurite-blob");
        assert!(
            program.exists(),
            "Azurite is not installed: run scripts/test-peers (it installs {})",
            program.display()
        );
        let data =
            tempfile::tempdir().unwrap_or_else(|error| panic!("temporary directory: {error}"));
        let port = free_port();
        let child = Command::new(&program)
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .current_dir(data.path())
            .args([
                "--skipApiVersionCheck",
                "--loose",
                "--silent",
                "--inMemoryPersistence",
                "--disableTelemetry",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", program.display()));
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "Azurite did not listen on {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            port,
            _data: data,
        }
    }

    /// The blob endpoint, `http://127.0.0.1:PORT/devstoreaccount1`.
    pub fn blob_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/devstoreaccount1", self.port)
    }

    /// A connection string with the well-known development account key.
    pub fn connection_string(&self) -> String {
        format!(
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint={};",
            self.blob_endpoint()
        )
    }
}

impl Azurite {
    /// Runs `operations` through the official Python `azure-storage-blob` SDK
    /// (`tests/oracles/blob_writer.py`, installed by `scripts/test-peers`): the independent
    /// client that writes what siemflow reads. Returns each blob's size after its operation.
    pub fn python_sdk(&self, operations: &serde_json::Value) -> Vec<u64> {
        use std::io::Write;
        let root = repo_root();
        let python = root.join("target/test-peers/azure/bin/python");
        assert!(
            python.exists(),
            "run scripts/test-peers: {} is missing",
            python.display()
        );
        let mut child = Command::new(python)
            .arg(root.join("tests/oracles/blob_writer.py"))
            .arg(self.connection_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot run blob_writer.py: {error}"));
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(operations.to_string().as_bytes())
                .unwrap_or_else(|error| panic!("blob_writer.py input: {error}"));
        }
        let output = child
            .wait_with_output()
            .unwrap_or_else(|error| panic!("blob_writer.py: {error}"));
        assert!(output.status.success(), "blob_writer.py failed");
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|line| {
                line.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("blob_writer.py printed {line:?}"))
            })
            .collect()
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .unwrap_or_else(|error| panic!("no free port: {error}"))
}
