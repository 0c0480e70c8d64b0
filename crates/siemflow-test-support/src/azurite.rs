//! Azurite, Microsoft's Blob Storage emulator, started for a test: installed by
//! `scripts/test-peers` into `target/test-peers/azurite`, run on a free port with its data in memory
//! (from a temporary directory), and stopped when dropped.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::tls::Certificates;

/// A running Azurite blob service.
#[derive(Debug)]
pub struct Azurite {
    child: Child,
    port: u16,
    /// The CA the HTTPS endpoint's certificate chains to, when it serves HTTPS.
    ca_file: Option<PathBuf>,
    _data: tempfile::TempDir,
}

/// The repository's root.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

impl Azurite {
    /// Starts Azurite's blob service on a free port; panics with what to run when it is missing.
    pub fn start() -> Self {
        Self::launch(None)
    }

    /// Starts it over HTTPS with `certificates`, taking Entra bearer tokens as well as SharedKey
    /// (`--oauth basic`: it checks a token's issuer, audience and lifetime, not its signature).
    pub fn start_oauth(certificates: &Certificates) -> Self {
        Self::launch(Some(certificates))
    }

    fn launch(tls: Option<&Certificates>) -> Self {
        let program = repo_root().join("target/test-peers/azurite/node_modules/.bin/azurite-blob");
        assert!(
            program.exists(),
            "Azurite is not installed: run scripts/test-peers (it installs {})",
            program.display()
        );
        let data =
            tempfile::tempdir().unwrap_or_else(|error| panic!("temporary directory: {error}"));
        let port = free_port();
        let mut command = Command::new(&program);
        if let Some(certificates) = tls {
            command
                .args(["--oauth", "basic", "--cert"])
                .arg(&certificates.cert_file)
                .arg("--key")
                .arg(&certificates.key_file);
        }
        let child = command
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
            ca_file: tls.map(|certificates| certificates.ca_file.clone()),
            _data: data,
        }
    }

    /// The blob endpoint, `http://127.0.0.1:PORT/devstoreaccount1` (`https` when started so).
    pub fn blob_endpoint(&self) -> String {
        format!(
            "{}://127.0.0.1:{}/devstoreaccount1",
            self.scheme(),
            self.port
        )
    }

    fn scheme(&self) -> &'static str {
        if self.ca_file.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// A connection string with the well-known development account key.
    pub fn connection_string(&self) -> String {
        format!(
            "DefaultEndpointsProtocol={};AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint={};",
            self.scheme(),
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
        let mut command = Command::new(python);
        if let Some(ca_file) = &self.ca_file {
            // azure-core sends through requests, which trusts this bundle.
            command.env("REQUESTS_CA_BUNDLE", ca_file);
        }
        let mut child = command
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
