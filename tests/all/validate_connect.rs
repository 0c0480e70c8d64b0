//! `siemflow validate --connect` against real and protocol-faithful peers: the Defender identity
//! and API test server, the HEC test server, syslog-ng over TLS, Azurite and the Event Hubs
//! emulator. Each source and sink gets one line; a refused credential, a closed port, an
//! untrusted certificate, a missing file and a silent server each fail with their reason, and no
//! secret is printed.

use std::path::Path;

use siemflow_test_support::azurite::Azurite;
use siemflow_test_support::defender::resources::Kind;
use siemflow_test_support::defender::{DefenderApi, DefenderApiOptions};
use siemflow_test_support::event_hubs::{EventHubsEmulator, HubSpec};
use siemflow_test_support::hec::{HecOptions, HecServer};
use siemflow_test_support::tls::Certificates;

use crate::defender_rest::{CLIENT, SECRET, TENANT, graph_alert, template};
use crate::support::{describe, free_port, output, siemflow, write};
use crate::syslog_ng::{Listen, SyslogNg};

/// The printed line of component `name` (`sources.x`), failing the test without one.
fn line<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout
        .lines()
        .find(|line| line.split_whitespace().nth(1) == Some(name))
        .unwrap_or_else(|| panic!("no line for {name}:\n{stdout}"))
}

fn assert_line(stdout: &str, name: &str, status: &str, needles: &[&str]) {
    let found = line(stdout, name);
    assert_eq!(
        found.split_whitespace().next(),
        Some(status),
        "{name}: {found}"
    );
    for needle in needles {
        assert!(found.contains(needle), "{name}: `{needle}` not in: {found}");
    }
}

fn defender_app(server: &DefenderApi, secret: &str) -> String {
    format!(
        "tenant_id: {TENANT}, client_id: {CLIENT}, client_secret: \"{secret}\", authority_host: {url}, api_base_url: {url}",
        url = server.url()
    )
}

/// syslog-ng listening over TLS in `dir/syslog-ng`, with its certificates in `dir`.
fn syslog_ng_over_tls(dir: &Path) -> (Certificates, SyslogNg) {
    let certificates = Certificates::create(dir);
    let receiver = SyslogNg::start(
        &dir.join("syslog-ng"),
        Listen::Tls,
        free_port(),
        Some(&certificates),
    );
    (certificates, receiver)
}

fn validate_connect(dir: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let done = output(
        siemflow(dir)
            .args(["validate", "--connect", "p.yaml"])
            .args(extra),
    );
    let stdout = String::from_utf8_lossy(&done.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&done.stderr).into_owned();
    assert!(
        stdout.starts_with("1 pipeline(s) valid\n"),
        "{}",
        describe(&done)
    );
    (done.status.code(), stdout, stderr)
}

#[test]
fn every_source_and_sink_reaches_its_peer_and_says_what_answered() {
    let defender = DefenderApi::start(DefenderApiOptions::default());
    defender.add_secret_client(TENANT, CLIENT, SECRET);
    let alert = template("alertWebUrl");
    defender.with(Kind::GraphAlerts, |alerts| {
        alerts.upsert(graph_alert(&alert, 1));
    });
    let hec = HecServer::start(HecOptions::default());
    let azurite = Azurite::start();
    azurite.python_sdk(&serde_json::json!([
        {"op": "container", "name": "insights-logs-advancedhunting-deviceevents"},
        {"op": "block", "container": "insights-logs-advancedhunting-deviceevents",
         "blob": "tenantId=t/y=2026/m=12/d=07/h=10/m=00/PT1H.json", "data": "{}\n"},
    ]));
    let emulator = EventHubsEmulator::start(&[HubSpec::new("defender", 3)], 0);
    let dir = tempfile::tempdir().unwrap();
    let (certificates, receiver) = syslog_ng_over_tls(dir.path());
    let syslog_port = receiver.port;
    write(&dir.path().join("in.json"), "{}\n");
    let app = defender_app(&defender, SECRET);
    write(
        &dir.path().join("p.yaml"),
        format!(
            r#"id: contoso
sources:
  alerts: {{ type: defender_alerts, {app} }}
  hunting: {{ type: defender_hunting, query: DeviceEvents, {app} }}
  export: {{ type: azure_blob, connection_string: "{blob}" }}
  stream: {{ type: event_hubs, connection_string: "{hub}" }}
  local: {{ type: file, path: in.json }}
  typed: {{ type: stdin }}
sinks:
  splunk: {{ type: splunk_hec, inputs: [alerts], endpoint: "{hec}", token: "{hec_token}" }}
  qradar: {{ type: syslog, inputs: [export], address: "127.0.0.1:{syslog_port}", transport: tls, tls: {{ ca_file: "{ca}" }} }}
  webhook: {{ type: http, inputs: [stream], endpoint: "{hec}/services/collector/event", headers: {{ Authorization: "Splunk {hec_token}" }} }}
  triage: {{ type: defender_alert_update, inputs: [hunting], {app} }}
  archive: {{ type: file, inputs: [local], path: out/archive.jsonl }}
  screen: {{ type: console, inputs: [typed] }}
"#,
            blob = azurite.connection_string(),
            hub = emulator.connection_string("defender"),
            hec = hec.url(),
            hec_token = hec.token(),
            ca = certificates.ca_file.display(),
        ),
    );

    let (code, stdout, stderr) = validate_connect(dir.path(), &[]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let graph = format!(
        "{}/v1.0/security/alerts_v2?$top=1: 1 item(s)",
        defender.url()
    );
    assert_line(
        &stdout,
        "sources.alerts",
        "ok",
        &["token for https://graph.microsoft.com issued", &graph],
    );
    assert_line(
        &stdout,
        "sources.hunting",
        "ok",
        &[
            "token for https://graph.microsoft.com issued",
            "no query run",
        ],
    );
    assert_line(
        &stdout,
        "sources.export",
        "ok",
        &["listed 1 container(s) named `insights-logs-advancedhunting-*`"],
    );
    assert_line(
        &stdout,
        "sources.stream",
        "ok",
        &["hub `defender` has 3 partition(s) (0, 1, 2)"],
    );
    assert_line(
        &stdout,
        "sources.local",
        "ok",
        &["1 file(s) match", "can be opened"],
    );
    assert_line(
        &stdout,
        "sources.typed",
        "-",
        &["nothing outside the process"],
    );
    assert_line(
        &stdout,
        "sinks.splunk",
        "ok",
        &["health HTTP 200", "token taken"],
    );
    assert_line(
        &stdout,
        "sinks.qradar",
        "ok",
        &[
            "TLS connection to 127.0.0.1:",
            "certificate of `127.0.0.1` verified",
        ],
    );
    assert_line(
        &stdout,
        "sinks.webhook",
        "ok",
        &["a HEAD request was answered HTTP"],
    );
    assert_line(
        &stdout,
        "sinks.triage",
        "ok",
        &[&graph, "the write permission is tried by the first update"],
    );
    assert_line(&stdout, "sinks.archive", "ok", &["can be created"]);
    assert_line(
        &stdout,
        "sinks.screen",
        "-",
        &["nothing outside the process"],
    );
    assert!(
        stdout.ends_with("10 reached, 0 failed, 2 with nothing to reach\n"),
        "{stdout}"
    );
    // Nothing was read or sent: no event reached HEC, no file was written.
    assert!(hec.indexed().is_empty());
    assert!(!dir.path().join("out").exists());
    assert!(
        !stdout.contains(SECRET) && !stdout.contains(hec.token()),
        "{stdout}"
    );
}

#[test]
fn each_failure_is_a_line_with_its_reason_and_the_run_exits_1() {
    let defender = DefenderApi::start(DefenderApiOptions::default());
    defender.add_secret_client(TENANT, CLIENT, SECRET);
    let hec = HecServer::start(HecOptions::default());
    let azurite = Azurite::start();
    let emulator = EventHubsEmulator::start(&[HubSpec::new("defender", 2)], 0);
    let (_, hub_key) = emulator.key();
    let dir = tempfile::tempdir().unwrap();
    let (_, receiver) = syslog_ng_over_tls(dir.path());
    let syslog_port = receiver.port;
    std::fs::create_dir(dir.path().join("other")).unwrap();
    let strangers = Certificates::create(&dir.path().join("other"));
    // Takes connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = free_port();
    let wrong_secret = "Wrong~secret.for+the/test=";
    let wrong_key = "V3JvbmdLZXlGb3JUaGVUZXN0LXNpZW1mbG93LTI2Cg==";
    let account_key =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    write(
        &dir.path().join("p.yaml"),
        format!(
            r#"id: contoso
sources:
  alerts: {{ type: defender_alerts, {app} }}
  export: {{ type: azure_blob, connection_string: "{blob}" }}
  stream: {{ type: event_hubs, connection_string: "{hub}" }}
  local: {{ type: file, path: missing-*.json }}
sinks:
  splunk: {{ type: splunk_hec, inputs: [alerts], endpoint: "{hec}", token: "not-the-token" }}
  stuck: {{ type: splunk_hec, inputs: [export], endpoint: "http://{silent}", token: t }}
  untrusted: {{ type: syslog, inputs: [stream], address: "127.0.0.1:{syslog_port}", transport: tls, tls: {{ ca_file: "{strange_ca}" }} }}
  nobody: {{ type: syslog, inputs: [local], address: "127.0.0.1:{closed}", transport: tcp }}
  webhook: {{ type: http, inputs: [alerts], endpoint: "{hec}/services/collector/event" }}
"#,
            app = defender_app(&defender, wrong_secret),
            blob = azurite.connection_string().replace(account_key, wrong_key),
            hub = emulator
                .connection_string("defender")
                .replace(hub_key, wrong_key),
            hec = hec.url(),
            silent = silent.local_addr().unwrap(),
            strange_ca = strangers.ca_file.display(),
        ),
    );

    let (code, stdout, stderr) = validate_connect(dir.path(), &["--timeout", "2s"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert_line(
        &stdout,
        "sources.alerts",
        "FAIL",
        &[
            "no token for https://graph.microsoft.com",
            "refused the credentials",
            "AADSTS",
        ],
    );
    assert_line(&stdout, "sources.export", "FAIL", &["HTTP 403"]);
    assert_line(&stdout, "sources.stream", "FAIL", &["401"]);
    assert_line(
        &stdout,
        "sources.local",
        "FAIL",
        &["no file matches", "allow_missing"],
    );
    assert_line(&stdout, "sinks.splunk", "FAIL", &["refused the token"]);
    assert_line(&stdout, "sinks.stuck", "FAIL", &["no answer within 2s"]);
    assert_line(&stdout, "sinks.untrusted", "FAIL", &["certificate"]);
    assert_line(
        &stdout,
        "sinks.nobody",
        "FAIL",
        &["cannot connect", "refused"],
    );
    assert_line(
        &stdout,
        "sinks.webhook",
        "FAIL",
        &["refused the credentials", "HTTP 401"],
    );
    assert!(
        stdout.ends_with("0 reached, 9 failed, 0 with nothing to reach\n"),
        "{stdout}"
    );
    for secret in [wrong_secret, wrong_key, "not-the-token"] {
        assert!(!stdout.contains(secret), "`{secret}` printed:\n{stdout}");
    }
    assert_eq!(hec.stats().health_checks, 1, "{stdout}");
}

#[test]
fn timeout_needs_connect() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("p.yaml"),
        "id: p\nsources:\n  in: { type: stdin }\nsinks:\n  out: { type: console, inputs: [in] }\n",
    );
    let done = output(siemflow(dir.path()).args(["validate", "--timeout", "1s", "p.yaml"]));
    assert_eq!(done.status.code(), Some(2), "{}", describe(&done));
    assert!(
        String::from_utf8_lossy(&done.stderr).contains("--connect"),
        "{}",
        describe(&done)
    );
}
