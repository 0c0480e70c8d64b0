//! The `defender_alerts` and `defender_incidents` sources against the identity and Defender API
//! test server: every change exactly once through throttling, server errors, slow answers,
//! missing nextLinks and expiring tokens; a restart resumes from the stored high-water mark;
//! certificate and v1.0 token forms; a wrong secret stops the source with one clear error.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use siemflow_test_support::defender::odata::format_time;
use siemflow_test_support::defender::resources::Kind;
use siemflow_test_support::defender::{DefenderApi, DefenderApiOptions, Faults, Quota};
use siemflow_test_support::tls::{Certificates, ClientCertificate};

use crate::support::{describe, lines, repo_root, send_signal, siemflow, write};

pub(crate) const TENANT: &str = "4f6d8a2e-1c3b-4d5e-9a7f-0b1c2d3e4f50";
pub(crate) const CLIENT: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
pub(crate) const SECRET: &str = "Qx8~s3cr3t.with_special+chars/=";

/// The first sample record of `samples/defender/rest.jsonl` that has the property `marker`.
pub(crate) fn template(marker: &str) -> Value {
    let text = std::fs::read_to_string(repo_root().join("samples/defender/rest.jsonl")).unwrap();
    text.lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .find(|record| record.get(marker).is_some())
        .unwrap_or_else(|| panic!("no sample record with `{marker}`"))
}

/// A Graph alert numbered `n`, last updated now.
pub(crate) fn graph_alert(template: &Value, n: usize) -> Value {
    let mut alert = template.clone();
    alert["id"] = json!(format!("da63867{n:013}_{n}"));
    alert["status"] = json!("new");
    alert["lastUpdateDateTime"] = json!(format_time(SystemTime::now()));
    alert
}

/// An MDE alert numbered `n`, last updated now.
fn mde_alert(template: &Value, n: usize) -> Value {
    let mut alert = template.clone();
    alert["id"] = json!(format!("da63867{n:013}_-{n}"));
    alert["lastUpdateTime"] = json!(format_time(SystemTime::now()));
    alert
}

struct Source<'a> {
    kind: &'a str,
    api: &'a str,
    credentials: String,
    extra: &'a str,
}

fn pipeline(server: &DefenderApi, source: &Source<'_>) -> String {
    format!(
        r#"id: contoso
sources:
  rest:
    type: {kind}
    api: {api}
    tenant_id: {TENANT}
    client_id: {CLIENT}
{credentials}
    authority_host: {url}
    api_base_url: {url}
    interval: 300ms
    overlap: 2s
    start_time: 1d
{extra}
sinks:
  out: {{ type: file, inputs: [rest], path: out.jsonl }}
"#,
        kind = source.kind,
        api = source.api,
        credentials = source.credentials,
        url = server.url(),
        extra = source.extra,
    )
}

fn secret() -> String {
    "    client_secret: ${CONTOSO_SECRET}".into()
}

fn start(dir: &Path) -> Child {
    start_with(dir, &[])
}

fn start_with(dir: &Path, extra: &[&str]) -> Child {
    siemflow(dir)
        .args(["run", "p.yaml"])
        .args(extra)
        .env("CONTOSO_SECRET", SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Stops a run with SIGTERM, checks it drained cleanly; its log.
fn stop(child: Child) -> String {
    assert_eq!(send_signal(child.id(), libc::SIGTERM), 0);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// What an exited child wrote to standard error.
fn stderr_of(child: &mut Child) -> String {
    use std::io::Read;
    let mut text = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        let _ = stderr.read_to_string(&mut text);
    }
    text
}

/// `(id, last update)` of every line the sink wrote, with how many times each came.
fn delivered(out: &Path, id: &str, time: &str) -> HashMap<(String, String), usize> {
    let mut counts = HashMap::new();
    for line in lines(out) {
        let Ok(value) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let key = (
            value[id]
                .as_str()
                .map_or_else(|| value[id].to_string(), str::to_string),
            value[time].as_str().unwrap_or_default().to_string(),
        );
        *counts.entry(key).or_default() += 1;
    }
    counts
}

/// Waits until the sink has every change in `expected`, failing after `limit`.
fn wait_for(
    out: &Path,
    expected: &HashSet<(String, String)>,
    id: &str,
    time: &str,
    limit: Duration,
    child: &mut Child,
) {
    let start = Instant::now();
    loop {
        let got = delivered(out, id, time);
        let missing = expected
            .iter()
            .filter(|key| !got.contains_key(*key))
            .count();
        if missing == 0 {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "siemflow exited ({status}) with {missing} change(s) not delivered:\n{}",
                stderr_of(child)
            );
        }
        assert!(
            start.elapsed() < limit,
            "{missing} of {} change(s) not delivered after {limit:?}",
            expected.len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every change of the collection as it is now.
fn changes(server: &DefenderApi, kind: Kind, id: &str, time: &str) -> HashSet<(String, String)> {
    server.with(kind, |collection| {
        collection
            .items()
            .iter()
            .map(|item| {
                (
                    item[id]
                        .as_str()
                        .map_or_else(|| item[id].to_string(), str::to_string),
                    item[time].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    })
}

/// How long a request may have been on its way when a 429 was answered: a client that sends
/// several requests at once cannot call back those already sent. On a 2-core CI machine running
/// the whole suite, requests already past the budget were seen arriving 278 and 297 ms later; a
/// client that ignored the wait would keep calling through the rest of it.
const IN_FLIGHT: Duration = Duration::from_millis(500);

/// Every 429 answered with a Retry-After was respected: no call of that app arrived between the
/// time the 429 could have reached it and the end of the wait; the number of such 429s.
pub(crate) fn assert_retry_after_respected(server: &DefenderApi) -> usize {
    let requests = server.requests();
    let mut throttled = 0;
    for request in &requests {
        let (429, Some(wait)) = (request.status, request.retry_after) else {
            continue;
        };
        throttled += 1;
        let early = requests.iter().find(|later| {
            later.client_id == request.client_id
                && !later.target.contains("oauth2")
                && later.at > request.answered + IN_FLIGHT
                && later.at < request.answered + wait
        });
        if let Some(early) = early {
            panic!(
                "a call came {:?} after a 429 whose Retry-After was {wait:?}: {} then {}",
                early.at.duration_since(request.answered),
                request.target,
                early.target
            );
        }
    }
    throttled
}

#[test]
fn two_thousand_alerts_changing_arrive_once_each_through_faults_and_expiring_tokens() {
    // Tokens live an hour, so the client never renews one early on its own: after
    // `expire_tokens` below, its next request carries a dead token and must be refused (a short
    // lifetime would let an early renewal win that race now and then).
    let server = DefenderApi::start(DefenderApiOptions {
        token_lifetime: Duration::from_secs(3599),
        quota: Some(Quota {
            per_minute: 600,
            per_hour: 100_000,
        }),
        faults: Faults {
            seed: 7,
            throttle_rate: 0.04,
            retry_after: Duration::from_secs(1),
            error_rate: 0.05,
            slow_rate: 0.05,
            slow: Duration::from_millis(300),
            reset_rate: 0.02,
            omit_next_link_rate: 0.25,
        },
        ..DefenderApiOptions::default()
    });
    server.add_secret_client(TENANT, CLIENT, SECRET);
    let template = template("alertWebUrl");
    server.with(Kind::GraphAlerts, |alerts| {
        for n in 0..1000 {
            alerts.upsert(graph_alert(&template, n));
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let source = Source {
        kind: "defender_alerts",
        api: "graph",
        credentials: secret(),
        extra: "    page_size: 100\n    rate_limit: { per_minute: 600, per_hour: 100000 }",
    };
    write(&dir.path().join("p.yaml"), pipeline(&server, &source));
    let out = dir.path().join("out.jsonl");
    let metrics = format!("127.0.0.1:{}", crate::support::free_port());
    let mut child = start_with(dir.path(), &["--metrics-addr", &metrics]);
    let (id, time) = ("id", "lastUpdateDateTime");
    let limit = Duration::from_secs(120);

    let mut expected = changes(&server, Kind::GraphAlerts, id, time);
    wait_for(&out, &expected, id, time, limit, &mut child);

    // Round 2: 500 new alerts, 400 taken in hand, and every token expires mid-run.
    server.expire_tokens();
    server.with(Kind::GraphAlerts, |alerts| {
        for n in 1000..1500 {
            alerts.upsert(graph_alert(&template, n));
        }
        for n in 0..400 {
            let id = format!("da63867{n:013}_{n}");
            alerts.update(&id, |alert| {
                alert.insert("status".into(), json!("inProgress"));
                alert.insert("assignedTo".into(), json!("soc-l1@contoso.example"));
            });
        }
    });
    expected.extend(changes(&server, Kind::GraphAlerts, id, time));
    wait_for(&out, &expected, id, time, limit, &mut child);

    // Round 3: 500 more, 600 resolved.
    server.with(Kind::GraphAlerts, |alerts| {
        for n in 1500..2000 {
            alerts.upsert(graph_alert(&template, n));
        }
        for n in 200..800 {
            let id = format!("da63867{n:013}_{n}");
            alerts.update(&id, |alert| {
                alert.insert("status".into(), json!("resolved"));
                alert.insert("classification".into(), json!("truePositive"));
            });
        }
    });
    expected.extend(changes(&server, Kind::GraphAlerts, id, time));
    wait_for(&out, &expected, id, time, limit, &mut child);

    // A few more polls, for any late duplicate to show.
    let calls = server.requests().len();
    while server.requests().len() < calls + 10 {
        std::thread::sleep(Duration::from_millis(100));
    }
    let scraped = crate::support::http_get(&metrics, "/metrics");
    stop(child);
    let counter = |name: &str, reason: &str| -> u64 {
        scraped
            .lines()
            .find(|line| {
                line.starts_with(name)
                    && line.contains("component_id=\"rest\"")
                    && line.contains(&format!("reason=\"{reason}\""))
            })
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|value| value.parse::<f64>().ok())
            .map_or(0, |value| value as u64)
    };
    assert!(
        counter("siemflow_component_throttled_total{", "retry_after") > 0,
        "429s are counted: {scraped}"
    );
    assert!(
        counter(
            "siemflow_component_discarded_events_total{",
            "already_delivered"
        ) > 0,
        "changes read again in the overlap are counted as dropped"
    );

    let gauge = |name: &str| -> Option<f64> {
        scraped
            .lines()
            .find(|line| line.starts_with(name) && line.contains("component_id=\"rest\""))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|value| value.parse::<f64>().ok())
    };
    // The newest change was made during round 3, well under the test's own limits ago.
    let mark_age = gauge("siemflow_source_high_water_mark_age_seconds{");
    assert!(
        mark_age.is_some_and(|age| age > 0.0 && age < limit.as_secs_f64() * 3.0),
        "the high-water mark's age is exported: {mark_age:?}\n{scraped}"
    );
    let checkpoint_age = gauge("siemflow_source_checkpoint_age_seconds{");
    assert!(
        checkpoint_age.is_some_and(|age| age < 60.0),
        "the poller checkpoints each poll: {checkpoint_age:?}"
    );

    assert_eq!(expected.len(), 3000, "2,000 alerts, 400 + 600 changes");
    let got = delivered(&out, id, time);
    let repeated: Vec<_> = got.iter().filter(|(_, count)| **count > 1).collect();
    assert!(
        repeated.is_empty(),
        "changes delivered twice: {:?}",
        &repeated[..repeated.len().min(5)]
    );
    let unexpected: Vec<_> = got.keys().filter(|key| !expected.contains(*key)).collect();
    assert!(
        unexpected.is_empty(),
        "changes that never happened: {unexpected:?}"
    );
    assert_eq!(got.len(), 3000);

    let requests = server.requests();
    let status = |code: u16| requests.iter().filter(|r| r.status == code).count();
    let throttled = assert_retry_after_respected(&server);
    assert!(throttled > 0, "the faults included 429s");
    assert!(
        status(500) > 0 && status(0) > 0,
        "the faults included 500s and resets"
    );
    assert!(status(401) > 0, "expired tokens were refused at least once");
    let (v1, v2) = server.tokens_issued();
    assert_eq!(v1, 0);
    assert!(v2 >= 2, "tokens were renewed ({v2} issued)");
    let lists: Vec<_> = requests
        .iter()
        .filter(|r| r.target.starts_with("/v1.0/security/alerts_v2?"))
        .collect();
    assert!(
        lists.len() > 20
            && lists.iter().all(|r| {
                r.target.contains("%24orderby=lastUpdateDateTime+asc")
                    && !r.target.contains("skiptoken")
            }),
        "Graph is walked by time, so the quarter of pages without a nextLink change nothing"
    );
}

#[test]
fn a_restart_resumes_from_the_stored_high_water_mark() {
    let server = DefenderApi::start(DefenderApiOptions::default());
    server.add_secret_client(TENANT, CLIENT, SECRET);
    let template = template("alertCreationTime");
    server.with(Kind::MdeAlerts, |alerts| {
        for n in 0..300 {
            alerts.upsert(mde_alert(&template, n));
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let source = Source {
        kind: "defender_alerts",
        api: "mde",
        credentials: secret(),
        extra: "    page_size: 100",
    };
    write(&dir.path().join("p.yaml"), pipeline(&server, &source));
    let out = dir.path().join("out.jsonl");
    let (id, time) = ("id", "lastUpdateTime");
    let limit = Duration::from_secs(60);

    let mut child = start(dir.path());
    let mut expected = changes(&server, Kind::MdeAlerts, id, time);
    wait_for(&out, &expected, id, time, limit, &mut child);
    let log = stop(child);
    // Each poll and the run's end say what they moved.
    assert!(
        log.lines().any(|line| line.contains("poll done in")
            && line.contains("300 item(s), 300 new change(s) delivered")),
        "{log}"
    );
    assert!(
        log.lines()
            .any(|line| line.contains("pipeline stopped after")
                && line.contains("; 0 dead-lettered")),
        "{log}"
    );
    let checkpoint: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("data/checkpoints/contoso/rest.json")).unwrap(),
    )
    .unwrap();
    let mark = checkpoint["high_water_mark"].as_str().unwrap().to_string();

    // Changes while siemflow is down: 100 updated, 50 new.
    std::thread::sleep(Duration::from_millis(20));
    server.with(Kind::MdeAlerts, |alerts| {
        for n in 0..100 {
            alerts.update(&format!("da63867{n:013}_-{n}"), |alert| {
                alert.insert("status".into(), json!("Resolved"));
            });
        }
        for n in 300..350 {
            alerts.upsert(mde_alert(&template, n));
        }
    });
    expected.extend(changes(&server, Kind::MdeAlerts, id, time));
    let requests_before = server.requests().len();
    let mut child = start(dir.path());
    wait_for(&out, &expected, id, time, limit, &mut child);
    stop(child);

    let got = delivered(&out, id, time);
    let repeated: Vec<_> = got.iter().filter(|(_, count)| **count > 1).collect();
    assert!(
        repeated.is_empty(),
        "re-emitted after the restart: {:?}",
        &repeated[..repeated.len().min(5)]
    );
    assert_eq!(got.len(), 450);
    let first_list = server.requests()[requests_before..]
        .iter()
        .find(|r| r.target.starts_with("/api/alerts"))
        .unwrap()
        .target
        .clone();
    let since =
        humantime::parse_rfc3339_weak(mark.trim_end_matches('Z')).unwrap() - Duration::from_secs(2);
    let expected_filter = humantime::format_rfc3339_micros(since)
        .to_string()
        .replace(':', "%3A");
    assert!(
        first_list.contains(&expected_filter) && first_list.contains("%24expand=evidence"),
        "the second run starts at the stored mark ({mark}) minus the overlap: {first_list}"
    );
}

#[test]
fn certificates_and_the_v1_token_form_work_for_incidents() {
    let dir = tempfile::tempdir().unwrap();
    let tls = Certificates::create(dir.path());
    let server = DefenderApi::start_tls(DefenderApiOptions::default(), tls.server_config());
    let certificate = ClientCertificate::create(dir.path(), "siemflow test app");
    server.add_certificate_client(
        TENANT,
        CLIENT,
        &certificate.public_key_pem,
        &certificate.thumbprint_s256,
    );
    let xdr = template("incidentName");
    let graph = template("displayName");
    server.with(Kind::XdrIncidents, |incidents| {
        for n in 0..120 {
            let mut incident = xdr.clone();
            incident["incidentId"] = json!(50_000 + n);
            incident["lastUpdateTime"] = json!(format_time(SystemTime::now()));
            incidents.upsert(incident);
        }
    });
    server.with(Kind::GraphIncidents, |incidents| {
        for n in 0..60 {
            let mut incident = graph.clone();
            incident["id"] = json!(format!("{}", 60_000 + n));
            incident["lastUpdateDateTime"] = json!(format_time(SystemTime::now()));
            incidents.upsert(incident);
        }
    });
    let cases = [
        (
            "xdr",
            format!(
                "    client_certificate: {{ path: {} }}\n    token_version: v1",
                certificate.pem_file.display()
            ),
            Kind::XdrIncidents,
            ("incidentId", "lastUpdateTime"),
        ),
        (
            "graph",
            format!(
                "    client_certificate: {{ path: {}, password: \"{}\" }}",
                certificate.encrypted_pem_file.display(),
                certificate.password
            ),
            Kind::GraphIncidents,
            ("id", "lastUpdateDateTime"),
        ),
    ];
    for (api, credentials, kind, (id, time)) in cases {
        let run = dir.path().join(api);
        let source = Source {
            kind: "defender_incidents",
            api,
            credentials,
            extra: &format!("    ca_file: {}", tls.ca_file.display()),
        };
        write(&run.join("p.yaml"), pipeline(&server, &source));
        let mut child = start(&run);
        let expected = changes(&server, kind, id, time);
        wait_for(
            &run.join("out.jsonl"),
            &expected,
            id,
            time,
            Duration::from_secs(60),
            &mut child,
        );
        stop(child);
        assert_eq!(
            delivered(&run.join("out.jsonl"), id, time).len(),
            expected.len()
        );
    }
    let (v1, v2) = server.tokens_issued();
    assert!(v1 >= 1 && v2 >= 1, "both forms were used: v1 {v1}, v2 {v2}");
    assert_eq!(server.token_refusals(), 0);
    let requests = server.requests();
    let graph_lists: Vec<_> = requests
        .iter()
        .filter(|r| r.target.starts_with("/v1.0/security/incidents?"))
        .collect();
    assert!(
        graph_lists.len() >= 2
            && graph_lists
                .iter()
                .all(|r| !r.target.contains("%24expand") && r.target.contains("%24top=50")),
        "Graph incidents are listed 50 at a time, never expanded"
    );
    let expanded = requests
        .iter()
        .filter(|r| {
            r.target.starts_with("/v1.0/security/incidents/")
                && r.target.ends_with("?%24expand=alerts")
        })
        .count();
    assert_eq!(expanded, 60, "each incident's alerts read on their own");
}

#[test]
fn a_wrong_secret_stops_the_source_with_one_clear_error() {
    let server = DefenderApi::start(DefenderApiOptions::default());
    server.add_secret_client(TENANT, CLIENT, "the-right-secret");
    let dir = tempfile::tempdir().unwrap();
    let source = Source {
        kind: "defender_alerts",
        api: "graph",
        credentials: secret(),
        extra: "",
    };
    write(&dir.path().join("p.yaml"), pipeline(&server, &source));
    let child = start(dir.path());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(
        stderr.contains("pipeline `contoso`")
            && stderr.contains("source `rest`")
            && stderr.contains("AADSTS7000215")
            && stderr.contains(CLIENT),
        "{stderr}"
    );
    assert!(
        !stderr.contains(SECRET),
        "the secret must not be logged: {stderr}"
    );
    assert_eq!(
        server.token_refusals(),
        1,
        "one token request, no retry storm"
    );
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.target.contains("oauth2")),
        "no API call without a token"
    );
}

/// POSTs `body` to `http://address/path` with the bearer token; the status and body.
fn post_to(address: &str, path: &str, token: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

/// POSTs to `/triage`.
fn post(address: &str, token: &str, body: &str) -> (u16, String) {
    post_to(address, "/triage", token, body)
}

/// Waits until something listens on `address`.
fn wait_listening(address: &str, child: &mut Child) {
    let start = Instant::now();
    while std::net::TcpStream::connect(address).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "siemflow exited ({status}) before listening:\n{}",
                stderr_of(child)
            );
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "nothing listens on {address}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_triage_webhook_becomes_one_patch_with_only_the_changed_fields() {
    let server = DefenderApi::start(DefenderApiOptions {
        faults: Faults {
            throttle_rate: 0.2,
            error_rate: 0.1,
            ..Faults::default()
        },
        ..DefenderApiOptions::default()
    });
    server.add_secret_client(TENANT, CLIENT, SECRET);
    let mut alert = graph_alert(&template("alertWebUrl"), 1);
    alert["status"] = json!("inProgress");
    alert["assignedTo"] = Value::Null;
    alert["classification"] = Value::Null;
    alert["determination"] = Value::Null;
    alert["comments"] = json!([]);
    let alert_id = alert["id"].as_str().unwrap().to_string();
    let mut refused = alert.clone();
    refused["id"] = json!("da638000000000000000_refused");
    let refused_id = "da638000000000000000_refused".to_string();
    server.with(Kind::GraphAlerts, |alerts| {
        alerts.upsert(alert);
        alerts.upsert(refused);
    });
    let mut mde = mde_alert(&template("alertCreationTime"), 2);
    mde["status"] = json!("New");
    mde["comments"] = json!([]);
    let mde_id = mde["id"].as_str().unwrap().to_string();
    server.with(Kind::MdeAlerts, |alerts| alerts.upsert(mde));

    let dir = tempfile::tempdir().unwrap();
    let address = format!("127.0.0.1:{}", crate::support::free_port());
    let mde_address = format!("127.0.0.1:{}", crate::support::free_port());
    let slow_address = format!("127.0.0.1:{}", crate::support::free_port());
    write(
        &dir.path().join("p.yaml"),
        format!(
            r#"id: contoso
sources:
  triage: {{ type: http_server, address: "{address}", path: /triage, auth_token: hook-token }}
  triage_mde: {{ type: http_server, address: "{mde_address}", path: /mde, auth_token: hook-token }}
  triage_slow: {{ type: http_server, address: "{slow_address}", path: /slow, auth_token: hook-token, response_timeout: 300ms }}
sinks:
  defender_mde:
    type: defender_alert_update
    inputs: [triage_mde]
    api: mde
    tenant_id: {TENANT}
    client_id: {CLIENT}
    client_secret: ${{CONTOSO_SECRET}}
    authority_host: {url}
    api_base_url: {url}
  defender:
    type: defender_alert_update
    inputs: [triage, triage_slow]
    api: graph
    tenant_id: {TENANT}
    client_id: {CLIENT}
    client_secret: ${{CONTOSO_SECRET}}
    authority_host: {url}
    api_base_url: {url}
"#,
            url = server.url()
        ),
    );
    let mut child = start(dir.path());
    wait_listening(&address, &mut child);

    let decision = json!({
        "alert_id": alert_id,
        "status": "In Progress",
        "assigned_to": "soc-l2@contoso.example",
        "classification": "TruePositive",
        "determination": "Malware",
        "comment": "Résolu par le SIEM | ticket=INC-4711\nAction: isolement",
    });
    let (status, body) = post(&address, "hook-token", &decision.to_string());
    assert_eq!((status, body.as_str()), (200, r#"{"accepted":1}"#));
    let (status, body) = post(&address, "hook-token", r#"{"alert_id": "x", "status": "#);
    assert_eq!(status, 400);
    assert!(
        body.contains("not JSON") && body.contains("column"),
        "{body}"
    );
    let (status, _) = post(&address, "wrong-token", &decision.to_string());
    assert_eq!(status, 401);
    // Refused decisions are answered with why, so the SIEM's alert action knows: an alert
    // Defender does not know (404, Microsoft's message), a value Defender does not take (422),
    // an update Defender refuses (422, Microsoft's code and message).
    let (status, body) = post(
        &address,
        "hook-token",
        r#"{"alert_id": "da000000000000000000_0", "status": "resolved"}"#,
    );
    assert_eq!(status, 404, "{body}");
    assert!(
        body.contains("alert_not_found")
            && body.contains(
                "Resource not found for the segment 'alerts_v2' with id 'da000000000000000000_0'"
            ),
        "{body}"
    );
    let (status, body) = post(
        &address,
        "hook-token",
        &json!({"alert_id": alert_id, "status": "bogus"}).to_string(),
    );
    assert_eq!(status, 422, "{body}");
    assert!(
        body.contains("`status` `bogus` is not New, InProgress or Resolved"),
        "{body}"
    );
    let merged = format!("/v1.0/security/alerts_v2/{refused_id}?");
    server.set_failing(Some(Box::new(move |target: &str| {
        target.starts_with(&merged).then(|| {
            (
                400,
                "BadRequest",
                "The alert belongs to an incident that was merged; update the target incident's alerts."
                    .to_string(),
            )
        })
    })));
    let (status, body) = post(
        &address,
        "hook-token",
        &json!({"alert_id": refused_id, "status": "resolved"}).to_string(),
    );
    server.set_failing(None);
    assert_eq!(status, 422, "{body}");
    assert!(
        body.contains("update_refused")
            && body
                .contains("HTTP 400 BadRequest: The alert belongs to an incident that was merged"),
        "{body}"
    );
    // A decision whose outcome takes longer than `response_timeout` is answered 202, and still
    // written back.
    server.set_faults(Faults {
        slow_rate: 1.0,
        slow: Duration::from_millis(1_500),
        ..Faults::default()
    });
    let (status, body) = post_to(
        &slow_address,
        "/slow",
        "hook-token",
        &json!({"alert_id": refused_id, "assigned_to": "soc-l3@contoso.example"}).to_string(),
    );
    assert_eq!(
        (status, body.as_str()),
        (202, r#"{"accepted":1,"pending":true}"#)
    );
    let started = Instant::now();
    while server.with(Kind::GraphAlerts, |alerts| {
        alerts.get(&refused_id).unwrap()["assignedTo"] != "soc-l3@contoso.example"
    }) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never written back"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server.set_faults(Faults::default());
    wait_listening(&mde_address, &mut child);
    let mde_decision = json!({
        "id": mde_id,
        "status": "in_progress",
        "classification": "Informational, expected activity",
        "determination": "confirmedUserActivity",
        "comment": "benign: admin script",
    });
    let (status, body) = post_to(
        &mde_address,
        "/mde",
        "hook-token",
        &mde_decision.to_string(),
    );
    assert_eq!((status, body.as_str()), (200, r#"{"accepted":1}"#));
    let log = stop(child);
    assert!(
        log.lines()
            .any(|line| line.contains("write-back: updated") && line.contains(alert_id.as_str())),
        "each write-back is logged: {log}"
    );
    assert!(
        !log.contains("benign: admin script"),
        "comments are not logged: {log}"
    );

    let requests = server.requests();
    let patches: Vec<_> = requests
        .iter()
        .filter(|r| {
            r.method == "PATCH"
                && r.status == 200
                && r.target.starts_with("/v1.0/")
                && !r.target.ends_with(&refused_id)
        })
        .collect();
    assert_eq!(
        patches.len(),
        1,
        "exactly one PATCH of the first alert went through: {patches:?}"
    );
    assert_eq!(
        patches[0].target,
        format!("/v1.0/security/alerts_v2/{alert_id}")
    );
    assert_eq!(
        patches[0].body.as_ref().unwrap(),
        &json!({
            "assignedTo": "soc-l2@contoso.example",
            "classification": "truePositive",
            "determination": "malware",
        }),
        "only the changed fields, in Graph's spelling (the status was already inProgress)"
    );
    let mde_patches: Vec<_> = requests
        .iter()
        .filter(|r| r.method == "PATCH" && r.status == 200 && r.target.starts_with("/api/alerts/"))
        .collect();
    assert_eq!(mde_patches.len(), 1);
    assert_eq!(
        mde_patches[0].body.as_ref().unwrap(),
        &json!({
            "status": "InProgress",
            "classification": "InformationalExpectedActivity",
            "determination": "ConfirmedActivity",
            "comment": "benign: admin script",
        }),
        "MDE's spelling, the comment in the PATCH"
    );
    let comments: Vec<_> = requests
        .iter()
        .filter(|r| r.method == "POST" && r.target.ends_with("/comments") && r.status == 200)
        .collect();
    assert_eq!(comments.len(), 1);
    let stored = server.with(Kind::GraphAlerts, |alerts| {
        alerts.get(&alert_id).cloned().unwrap()
    });
    assert_eq!(stored["determination"], "malware");
    assert_eq!(
        stored["comments"][0]["comment"],
        "Résolu par le SIEM | ticket=INC-4711\nAction: isolement"
    );
    assert_retry_after_respected(&server);

    let dead = lines(&dir.path().join("data/dead-letter/contoso.jsonl"));
    let reasons: Vec<String> = dead
        .iter()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap()["reason"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(
        reasons[0].starts_with("alert_not_found:")
            && reasons[0].contains(
                "Resource not found for the segment 'alerts_v2' with id 'da000000000000000000_0'"
            ),
        "the API's own message: {reasons:?}"
    );
    assert!(reasons[1].starts_with("invalid_update:"), "{reasons:?}");
    assert!(reasons[2].starts_with("update_refused:"), "{reasons:?}");
}
