//! syslog-ng as a real syslog receiver for the tests: started on a free port, writing each
//! message it parsed as one JSON line, stopped when dropped. `scripts/setup` installs it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use siemflow_test_support::tls::Certificates;

/// A syslog-ng program: Debian puts them in /usr/sbin, which is not on every user's PATH.
pub fn program(name: &str) -> PathBuf {
    ["/usr/sbin", "/usr/bin"]
        .into_iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|path| path.exists())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// Which source syslog-ng listens with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    /// `syslog()` over TLS: RFC 5424 with octet counting.
    Tls,
    /// `syslog()` over UDP: RFC 5424 datagrams.
    Udp,
    /// `network()` over TCP: one message per line, RFC 3164 headers (`syslog()` on TCP takes
    /// octet counting only).
    TcpNewline,
}

/// A running syslog-ng.
pub struct SyslogNg {
    child: Option<Child>,
    dir: PathBuf,
    pub port: u16,
    listen: Listen,
    certificates: Option<(PathBuf, PathBuf)>,
}

impl SyslogNg {
    /// Starts syslog-ng in `dir` on `port` and waits until it listens.
    pub fn start(
        dir: &Path,
        listen: Listen,
        port: u16,
        certificates: Option<&Certificates>,
    ) -> Self {
        Self::start_with(
            dir,
            listen,
            port,
            certificates.map(|c| (c.cert_file.clone(), c.key_file.clone())),
        )
    }

    /// [`SyslogNg::start`] with a certificate and key file of one's own.
    pub fn start_with(
        dir: &Path,
        listen: Listen,
        port: u16,
        certificate: Option<(PathBuf, PathBuf)>,
    ) -> Self {
        let mut receiver = Self {
            child: None,
            dir: dir.to_path_buf(),
            port,
            listen,
            certificates: certificate,
        };
        receiver.launch();
        receiver
    }

    fn launch(&mut self) {
        std::fs::create_dir_all(&self.dir).unwrap();
        let (driver, transport) = match (self.listen, &self.certificates) {
            (Listen::TcpNewline, _) => ("network", "transport(\"tcp\")".to_string()),
            (Listen::Udp, _) => (
                "syslog",
                "transport(\"udp\") so-rcvbuf(8388608)".to_string(),
            ),
            (Listen::Tls, Some((cert, key))) => (
                "syslog",
                format!(
                    "transport(\"tls\") tls(cert-file(\"{}\") key-file(\"{}\") peer-verify(optional-untrusted))",
                    cert.display(),
                    key.display()
                ),
            ),
            (Listen::Tls, None) => panic!("TLS needs certificates"),
        };
        let stream_options = if self.listen == Listen::Udp {
            ""
        } else {
            "max-connections(50) log-iw-size(100000)"
        };
        let config = format!(
            r#"@version: 3.38
options {{ keep-hostname(yes); chain-hostnames(no); stats_freq(0); log-msg-size(65536); flush-lines(1); }};
source s_in {{ {driver}(ip("127.0.0.1") port({port}) {transport} {stream_options} log-msg-size(65536)); }};
destination d_out {{ file("{out}" template("$(format-json --key PROGRAM --key HOST --key MSGID --key .SDATA.* --key MESSAGE)\n")); }};
# Flow control: a destination that falls behind holds the senders back (TCP windows) instead
# of dropping messages, as a SIEM's receiver must.
log {{ source(s_in); destination(d_out); flags(flow-control); }};
"#,
            port = self.port,
            out = self.output().display(),
        );
        let config_file = self.dir.join("syslog-ng.conf");
        std::fs::write(&config_file, config).unwrap();
        let child = Command::new(program("syslog-ng"))
            .arg("-F")
            .arg("--no-caps")
            .arg("-f")
            .arg(&config_file)
            .arg("-p")
            .arg(self.dir.join("syslog-ng.pid"))
            .arg("-c")
            .arg(self.dir.join("syslog-ng.ctl"))
            .arg("-R")
            .arg(self.dir.join("syslog-ng.persist"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.dir.join("syslog-ng.log")).unwrap())
            .spawn()
            .expect("syslog-ng runs (scripts/setup installs it)");
        self.child = Some(child);
        let alive = |receiver: &mut Self| {
            let exited = receiver
                .child
                .as_mut()
                .and_then(|child| child.try_wait().ok().flatten());
            assert!(
                exited.is_none(),
                "syslog-ng exited ({exited:?}): {}",
                receiver.log()
            );
        };
        if self.listen != Listen::Udp {
            let deadline = Instant::now() + Duration::from_secs(20);
            while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
                alive(self);
                assert!(
                    Instant::now() < deadline,
                    "syslog-ng did not listen: {}",
                    self.log()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        } else {
            // No handshake to wait for: give it a moment to bind.
            std::thread::sleep(Duration::from_millis(500));
            alive(self);
        }
    }

    /// Stops syslog-ng (what it received stays in the output file).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn output(&self) -> PathBuf {
        self.dir.join("received.jsonl")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("syslog-ng.log")).unwrap_or_default()
    }

    /// syslog-ng's own counters of dropped and processed messages, to explain a short count.
    pub fn counters(&self) -> String {
        match Command::new(program("syslog-ng-ctl"))
            .arg("stats")
            .arg("-c")
            .arg(self.dir.join("syslog-ng.ctl"))
            .output()
        {
            Ok(out) => String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|line| line.contains("dropped") || line.contains("processed"))
                .filter(|line| !line.ends_with(";0"))
                .collect::<Vec<_>>()
                .join("\n"),
            Err(error) => format!("syslog-ng-ctl did not run: {error}"),
        }
    }

    /// The messages received so far, once at least `count` have arrived (or after `patience`).
    pub fn received(&self, count: usize, patience: Duration) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + patience;
        loop {
            let lines = crate::support::lines(&self.output());
            if lines.len() >= count || Instant::now() > deadline {
                return lines
                    .iter()
                    .map(|line| {
                        serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
                    })
                    .collect();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for SyslogNg {
    fn drop(&mut self) {
        self.stop();
    }
}
