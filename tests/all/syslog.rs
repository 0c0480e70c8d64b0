//! The `syslog` sink against syslog-ng, a real receiver: TLS with octet counting, TCP with
//! newline framing and a receiver that comes up late, UDP.

use std::collections::HashMap;
use std::time::Duration;

use crate::support::{describe, free_port, lines, output, repo_root, siemflow, write};
use crate::syslog_ng::{Certificates, Listen, SyslogNg};

/// `count` Defender streaming records, each made unique (and awkward) through its device name.
fn records(count: usize) -> String {
    let sample =
        std::fs::read_to_string(repo_root().join("samples/quickstart/storage-PT1H.json")).unwrap();
    let templates: Vec<serde_json::Value> = sample
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let mut out = String::new();
    for n in 0..count {
        let mut record = templates[n % templates.len()].clone();
        record["properties"]["DeviceName"] = format!("host-{n}|a=b\\c ü").into();
        out.push_str(&record.to_string());
        out.push('\n');
    }
    out
}

fn leef_plugin() -> String {
    crate::support::guest("leef").display().to_string()
}

/// How often each line occurs.
fn counted<'a>(lines: impl IntoIterator<Item = &'a str>) -> HashMap<&'a str, usize> {
    let mut counts = HashMap::new();
    for line in lines {
        *counts.entry(line).or_default() += 1;
    }
    counts
}

#[test]
fn a_hundred_thousand_cef_and_leef_messages_over_tls_arrive_whole_and_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let certificates = Certificates::create(dir.path());
    let receiver = SyslogNg::start(
        &dir.path().join("syslog-ng"),
        Listen::Tls,
        free_port(),
        Some(&certificates),
    );
    write(&dir.path().join("in.json"), records(50_000));
    write(
        &dir.path().join("p.yaml"),
        format!(
            r#"id: tls100k
sources:
  in: {{ type: file, path: in.json }}
transforms:
  cef: {{ type: wasm, inputs: [in], plugin: "builtin:defender-cef" }}
  leef: {{ type: wasm, inputs: [in], plugin: "{leef}" }}
sinks:
  siem:
    type: syslog
    inputs: [cef, leef]
    address: 127.0.0.1:{port}
    transport: tls
    tls: {{ ca_file: "{ca}" }}
  cef_copy: {{ type: file, inputs: [cef], path: cef.txt }}
  leef_copy: {{ type: file, inputs: [leef], path: leef.txt }}
"#,
            leef = leef_plugin(),
            port = receiver.port,
            ca = certificates.ca_file.display()
        ),
    );
    let run = output(siemflow(dir.path()).args(["run", "p.yaml", "--data-dir", "data"]));
    assert_eq!(run.status.code(), Some(0), "{}", describe(&run));

    let received = receiver.received(100_000, Duration::from_secs(120));
    assert_eq!(
        received.len(),
        100_000,
        "none lost, none split, none doubled; syslog-ng counters:\n{}",
        receiver.counters()
    );
    let mut messages = Vec::with_capacity(received.len());
    for entry in &received {
        // Parsed as RFC 5424: the app name and the structured data came through as fields.
        assert_eq!(entry["PROGRAM"], "siemflow", "{entry}");
        assert_eq!(
            entry["_SDATA"]["siemflow@32473"]["pipeline"], "tls100k",
            "{entry}"
        );
        messages.push(entry["MESSAGE"].as_str().unwrap().to_string());
    }
    let sent: Vec<String> = lines(&dir.path().join("cef.txt"))
        .into_iter()
        .chain(lines(&dir.path().join("leef.txt")))
        .collect();
    assert_eq!(sent.len(), 100_000);
    assert_eq!(
        counted(messages.iter().map(String::as_str)),
        counted(sent.iter().map(String::as_str)),
        "syslog-ng received exactly the CEF and LEEF lines the plugins made"
    );
    assert_eq!(
        messages.iter().filter(|m| m.starts_with("CEF:0|")).count(),
        50_000
    );
    assert_eq!(
        messages
            .iter()
            .filter(|m| m.starts_with("LEEF:2.0|"))
            .count(),
        50_000
    );
}

#[test]
fn a_receiver_that_comes_up_late_gets_everything_over_tcp_with_newline_framing() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    write(&dir.path().join("in.json"), records(2_000));
    write(
        &dir.path().join("p.yaml"),
        format!(
            r#"id: late
sources:
  in: {{ type: file, path: in.json }}
transforms:
  cef: {{ type: wasm, inputs: [in], plugin: "builtin:defender-cef" }}
sinks:
  siem:
    type: syslog
    inputs: [cef]
    address: 127.0.0.1:{port}
    format: rfc3164
    framing: newline
    hostname: bridge-01
  copy: {{ type: file, inputs: [cef], path: cef.txt }}
"#
        ),
    );
    let mut run = siemflow(dir.path())
        .args(["run", "p.yaml", "--data-dir", "data"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Nobody listens yet: the sink retries with backoff, the source waits behind it. Wait for
    // the sink to say so (however long a loaded machine takes to get there), then start one.
    let stderr = run.stderr.take().unwrap();
    let (said, logged) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut text = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("cannot connect to 127.0.0.1") {
                let _ = said.send(line.clone());
            }
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    let refused = logged.recv_timeout(Duration::from_secs(120));
    assert!(refused.is_ok(), "the failed attempts are logged");
    assert!(
        run.try_wait().unwrap().is_none(),
        "the run waits for the receiver"
    );
    let receiver = SyslogNg::start(
        &dir.path().join("syslog-ng"),
        Listen::TcpNewline,
        port,
        None,
    );
    let finished = run.wait_with_output().unwrap();
    let stderr = reader.join().unwrap();
    assert_eq!(
        finished.status.code(),
        Some(0),
        "{}\n{stderr}",
        describe(&finished)
    );

    let received = receiver.received(2_000, Duration::from_secs(60));
    let sent = lines(&dir.path().join("cef.txt"));
    // RFC 3164 has no app name, so syslog-ng reads `CEF:` as the tag: put the line together again.
    let messages: Vec<String> = received
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["PROGRAM"].as_str().unwrap(),
                e["MESSAGE"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        counted(messages.iter().map(String::as_str)),
        counted(sent.iter().map(String::as_str))
    );
    assert!(
        received.iter().all(|e| e["HOST"] == "bridge-01"),
        "RFC 3164 header parsed"
    );
}

#[test]
fn udp_sends_one_datagram_per_message() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = SyslogNg::start(
        &dir.path().join("syslog-ng"),
        Listen::Udp,
        free_port(),
        None,
    );
    write(&dir.path().join("in.json"), records(200));
    write(
        &dir.path().join("p.yaml"),
        format!(
            r#"id: udp
sources:
  in: {{ type: file, path: in.json }}
transforms:
  cef: {{ type: wasm, inputs: [in], plugin: "builtin:defender-cef" }}
sinks:
  siem: {{ type: syslog, inputs: [cef], address: "127.0.0.1:{port}", transport: udp }}
  copy: {{ type: file, inputs: [cef], path: cef.txt }}
"#,
            port = receiver.port
        ),
    );
    let run = output(siemflow(dir.path()).args(["run", "p.yaml", "--data-dir", "data"]));
    assert_eq!(run.status.code(), Some(0), "{}", describe(&run));
    // Best effort: a receiver that cannot keep up drops datagrams (it did here, a few in ten, at
    // full speed). What arrives is whole: one parsed RFC 5424 message per datagram.
    let received = receiver.received(200, Duration::from_secs(10));
    assert!(
        !received.is_empty() && received.len() <= 200,
        "{}",
        received.len()
    );
    let sent = lines(&dir.path().join("cef.txt"));
    for entry in &received {
        assert_eq!(entry["PROGRAM"], "siemflow", "{entry}");
        assert!(
            sent.iter().any(|line| entry["MESSAGE"] == line.as_str()),
            "{entry}"
        );
    }
}

#[test]
fn validate_reports_syslog_mistakes() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("p.yaml"),
        r#"id: wrong
sources:
  in: { type: stdin }
sinks:
  a: { type: syslog, inputs: [in], address: "no-port" }
  b: { type: syslog, inputs: [in], address: "h:514", transport: udp, framing: newline }
  c: { type: syslog, inputs: [in], address: "h:6514", tls: { ca_file: ca.pem } }
  d: { type: syslog, inputs: [in], address: "h:514", facility: local9 }
"#,
    );
    let result = output(siemflow(dir.path()).args(["validate", "p.yaml"]));
    assert_eq!(result.status.code(), Some(2), "{}", describe(&result));
    let stderr = String::from_utf8_lossy(&result.stderr);
    // Each at the value of the option it is about.
    for expected in [
        "p.yaml:5:45: sinks.a: `address`: `no-port` is not `host:port`",
        "p.yaml:6:79: sinks.b: `framing` is for TCP and TLS",
        "p.yaml:7:60: sinks.c: `tls` options need `transport: tls`",
        "unknown facility `local9`",
    ] {
        assert!(stderr.contains(expected), "{expected}: {stderr}");
    }
    assert!(stderr.contains("4 error(s)"), "{stderr}");
}

/// A self-signed certificate made the usual way (`openssl req -x509`: CA:TRUE), as SIEM
/// receivers ship them: `(certificate, key)` files in `dir`.
fn self_signed(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    let made = output(
        std::process::Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
            ])
            .args(["-subj", &format!("/CN={name}.siem.example")])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert),
    );
    assert!(made.status.success(), "{}", describe(&made));
    let text = output(
        std::process::Command::new("openssl")
            .args(["x509", "-noout", "-text", "-in"])
            .arg(&cert),
    );
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("CA:TRUE"),
        "openssl marks it a CA"
    );
    (cert, key)
}

#[test]
fn a_pinned_self_signed_receiver_certificate_is_trusted_and_another_is_refused_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let (qradar, key) = self_signed(dir.path(), "qradar");
    let (other, _) = self_signed(dir.path(), "other");
    let receiver = SyslogNg::start_with(
        &dir.path().join("syslog-ng"),
        Listen::Tls,
        free_port(),
        Some((qradar.clone(), key)),
    );
    write(&dir.path().join("in.json"), records(2_000));
    let pipeline = |ca: &std::path::Path| {
        format!(
            "id: pinned\nsources:\n  in: {{ type: file, path: in.json }}\ntransforms:\n  cef: {{ type: wasm, inputs: [in], plugin: \"builtin:defender-cef\" }}\nsinks:\n  qradar:\n    type: syslog\n    inputs: [cef]\n    address: 127.0.0.1:{}\n    transport: tls\n    tls: {{ ca_file: {} }}\n",
            receiver.port,
            ca.display()
        )
    };
    write(&dir.path().join("p.yaml"), pipeline(&qradar));
    let run = output(siemflow(dir.path()).args(["run", "p.yaml"]));
    assert_eq!(run.status.code(), Some(0), "{}", describe(&run));
    let received = receiver.received(2_000, Duration::from_secs(60));
    assert_eq!(received.len(), 2_000, "{}", receiver.counters());
    assert!(
        received.iter().all(|event| event["MESSAGE"]
            .as_str()
            .is_some_and(|message| message.starts_with("CEF:0|Microsoft|"))),
        "{}",
        received[0]
    );

    // Another self-signed certificate pinned: refused, and said so with the fix.
    let wrong = dir.path().join("wrong");
    write(&wrong.join("in.json"), records(10));
    write(&wrong.join("p.yaml"), pipeline(&other));
    let mut run = siemflow(&wrong)
        .args(["run", "p.yaml"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = run.stderr.take().unwrap();
    let said = std::thread::spawn(move || {
        use std::io::BufRead;
        std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .find(|line| line.contains("invalid server certificate"))
    });
    let line = said.join().unwrap().expect("the refusal is logged");
    let _ = run.kill();
    let _ = run.wait();
    assert!(
        line.contains("presents a CA certificate as its own")
            && line.contains("put exactly that certificate in `tls.ca_file` to pin it"),
        "{line}"
    );
    assert_eq!(
        receiver.received(2_000, Duration::from_millis(500)).len(),
        2_000,
        "nothing more got through"
    );
}
