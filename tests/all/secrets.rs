//! No secret in any output: a marker value given through `${VAR}`, `${file:...}` and secret-typed
//! options goes through every error path the tests can reach (validation errors that quote an
//! option, a start that fails, a SIEM that cannot be resolved or reached, a refused app, a
//! degraded pipeline, `/health`, `/metrics`, the dead-letter file, text and JSON logs) and
//! appears nowhere; the errors still name the option and what is wrong with it.

use std::process::Stdio;
use std::time::{Duration, Instant};

use siemflow_test_support::defender::{DefenderApi, DefenderApiOptions};

use crate::support::{free_port, http_get, send_signal, siemflow, wait_within, write};

const MARKER: &str = "Mk7-marker-secret-9Q2x";

fn assert_clean(what: &str, text: &str) {
    assert!(
        !text.contains(MARKER),
        "the marker leaked into {what}:\n{text}"
    );
}

#[test]
fn a_marker_secret_appears_in_no_error_log_health_or_metric() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("secret.txt"), format!("{MARKER}\n"));

    // Validation errors that would quote the option's value.
    let mistakes = dir.path().join("mistakes");
    let files = [
        (
            "syslog.yaml",
            "id: a\nsources:\n  in: { type: file, path: in.json }\nsinks:\n  sys: { type: syslog, inputs: [in], address: \"bad host:${MARKER}\" }\n",
            "`address`",
        ),
        (
            "file.yaml",
            "id: b\nsources:\n  in: { type: file, path: in.json }\nsinks:\n  sys: { type: syslog, inputs: [in], address: \"${file:../secret.txt}\" }\n",
            "`address`",
        ),
        (
            "http.yaml",
            "id: c\nsources:\n  in: { type: file, path: in.json }\nsinks:\n  web: { type: http, inputs: [in], endpoint: \"${MARKER}\" }\n",
            "`endpoint`",
        ),
        (
            "hec.yaml",
            "id: d\nsources:\n  in: { type: file, path: in.json }\nsinks:\n  hec: { type: splunk_hec, inputs: [in], endpoint: \"ftp://${MARKER}\", token: \"${MARKER}\" }\n",
            "`endpoint`",
        ),
        (
            "defender.yaml",
            "id: e\nsources:\n  rest: { type: defender_alerts, tenant_id: t, client_id: c, client_secret: \"${MARKER}\", start_time: \"${MARKER}\", api_base_url: \"no url ${MARKER}\" }\nsinks:\n  out: { type: console, inputs: [rest] }\n",
            "`start_time`",
        ),
        (
            "blob.yaml",
            "id: f\nsources:\n  export: { type: azure_blob, connection_string: \"AccountName=x;${MARKER}\" }\nsinks:\n  out: { type: console, inputs: [export] }\n",
            "connection",
        ),
        (
            "hub.yaml",
            "id: g\nsources:\n  hub: { type: event_hubs, connection_string: \"Endpoint=${MARKER}\" }\nsinks:\n  out: { type: console, inputs: [hub] }\n",
            "connection",
        ),
        (
            "server.yaml",
            "id: h\nsources:\n  hook: { type: http_server, address: \"${MARKER}\", auth_token: \"${MARKER}\" }\nsinks:\n  out: { type: console, inputs: [hook] }\n",
            "`address`",
        ),
        (
            "plugin.yaml",
            "id: i\nsources:\n  in: { type: file, path: in.json }\ntransforms:\n  map: { type: wasm, inputs: [in], plugin: \"${MARKER}.wasm\" }\nsinks:\n  out: { type: console, inputs: [map] }\n",
            "plugin",
        ),
        (
            "id.yaml",
            "id: ${MARKER}\nsources:\n  in: { type: file, path: in.json }\nsinks:\n  out: { type: console, inputs: [in] }\n",
            "pipeline id",
        ),
    ];
    for (name, yaml, _) in &files {
        write(&mistakes.join(name), yaml);
    }
    let validated = siemflow(dir.path())
        .args(["validate", "mistakes"])
        .env("MARKER", MARKER)
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&validated.stdout),
        String::from_utf8_lossy(&validated.stderr)
    );
    assert_eq!(validated.status.code(), Some(2), "{printed}");
    assert_clean("validate", &printed);
    for (name, _, option) in &files {
        let line = printed
            .lines()
            .find(|line| line.contains(&format!("mistakes/{name}:")))
            .unwrap_or_else(|| panic!("no error for {name}:\n{printed}"));
        assert!(line.contains(option), "{name}: the option is named: {line}");
    }

    // A run whose components fail at start, and at run time, with values from the environment.
    let identity = DefenderApi::start(DefenderApiOptions::default());
    identity.add_secret_client("t1", "app", "the-right-secret");
    let run = dir.path().join("run");
    write(&run.join("in.json"), "{\"n\":1}\n{\"n\":2}\n");
    write(
        &run.join("pipelines/siem.yaml"),
        "id: siem\nsources:\n  in: { type: file, path: ../in.json, follow: true }\nsinks:\n  sys: { type: syslog, inputs: [in], address: \"${MARKER}.invalid:514\", transport: tcp }\n  web: { type: http, inputs: [in], endpoint: \"http://127.0.0.1:1/${MARKER}\" }\n",
    );
    write(
        &run.join("pipelines/start.yaml"),
        "id: start\nsources:\n  in: { type: file, path: ../in.json, follow: true }\nsinks:\n  out: { type: file, inputs: [in], path: \"/proc/nonexistent-${MARKER}/out.log\" }\n",
    );
    write(
        &run.join("pipelines/app.yaml"),
        format!(
            "id: app\nsources:\n  rest: {{ type: defender_alerts, tenant_id: t1, client_id: app, client_secret: \"${{file:../../secret.txt}}\", authority_host: {url}, api_base_url: {url} }}\nsinks:\n  out: {{ type: console, inputs: [rest] }}\n",
            url = identity.url()
        ),
    );
    for format in ["text", "json"] {
        let metrics = format!("127.0.0.1:{}", free_port());
        let log = run.join(format!("siemflow-{format}.log"));
        let mut child = siemflow(&run)
            .args(["run", "pipelines", "--watch", "--degraded-after", "2s"])
            .args(["--drain-timeout", "1s"])
            .args(["--metrics-addr", &metrics, "--log-format", format])
            .env("MARKER", MARKER)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let health = loop {
            let health = std::net::TcpStream::connect(&metrics)
                .map(|_| http_get(&metrics, "/health"))
                .unwrap_or_default();
            let body: serde_json::Value =
                serde_json::from_str(health.split("\r\n\r\n").nth(1).unwrap_or_default())
                    .unwrap_or_default();
            let pipeline = |id: &str| {
                body["pipelines"][id]["status"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            };
            let settled = pipeline("app") == "failing"
                && pipeline("siem") == "degraded"
                && pipeline("start") != "ok"
                && !pipeline("start").is_empty();
            if settled {
                break health;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "no degraded and failed pipelines to look at: {}",
                health.split("\r\n\r\n").nth(1).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        };
        let scraped = http_get(&metrics, "/metrics");
        assert_eq!(send_signal(child.id(), libc::SIGTERM), 0);
        wait_within(&mut child, Duration::from_secs(60));
        let logged = std::fs::read_to_string(&log).unwrap();
        assert_clean("/health", &health);
        assert_clean("/metrics", &scraped);
        assert_clean(&format!("the {format} log"), &logged);
        assert!(
            logged.contains("cannot connect to <redacted>.invalid:514")
                && logged.contains("/proc/nonexistent-<redacted>/out.log")
                && logged.contains("AADSTS7000215"),
            "the errors are still there, with the secret replaced:\n{logged}"
        );
        assert!(health.contains("<redacted>"), "{health}");
    }
    let dead = std::fs::read_to_string(run.join("data/dead-letter/siem.jsonl")).unwrap_or_default();
    assert_clean("the dead letters", &dead);
}
