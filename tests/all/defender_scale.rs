//! The Defender REST sources on a large tenant, against the test server behaving like Graph at
//! scale: `$top` capped (1,000 for alerts, clamped; 50 for incidents, refused above), paging cut
//! at 6,000 items without a word, `$expand=alerts` with `$filter` answering 500 for incidents
//! with more than 150 alerts. Every version of every alert and incident, 20,000 and 2,000 of
//! them in one polling window and more made while the sources read, arrives once, with and
//! without the usual faults; a cursor that cannot move shows in the log, `/metrics` and
//! `/health`; a page that keeps failing is read in smaller pages.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use siemflow_test_support::defender::resources::Kind;
use siemflow_test_support::defender::scenario::{
    self, DeliveredVersions, Mutations, Scale, Version,
};
use siemflow_test_support::defender::{
    DefenderApi, DefenderApiOptions, FailureRule, Faults, Quota,
};

use crate::defender_rest::{CLIENT, SECRET, TENANT, assert_retry_after_respected, template};
use crate::support::{Service, write};

fn source(server: &DefenderApi, kind: &str, extra: &str) -> String {
    format!(
        "    type: {kind}\n    tenant_id: {TENANT}\n    client_id: {CLIENT}\n    client_secret: \"{SECRET}\"\n    authority_host: {url}\n    api_base_url: {url}\n    interval: 500ms\n    start_time: 1h\n    rate_limit: {{ per_minute: 100000, per_hour: 1000000 }}\n{extra}",
        url = server.url()
    )
}

/// `pipelines/p.yaml` in `root`: alerts and incidents (with their alerts) into two files.
fn write_pipeline(root: &Path, server: &DefenderApi) {
    write(
        &root.join("pipelines/p.yaml"),
        format!(
            "id: contoso\nsources:\n  alerts:\n{}  incidents:\n{}sinks:\n  alerts_out: {{ type: file, inputs: [alerts], path: ../alerts.jsonl }}\n  incidents_out: {{ type: file, inputs: [incidents], path: ../incidents.jsonl }}\n",
            source(server, "defender_alerts", ""),
            source(server, "defender_incidents", "    include_alerts: true\n"),
        ),
    );
}

/// The value of the first sample of `name` for `component`, from the text exposition.
fn sample(metrics: &str, name: &str, component: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|line| {
            line.starts_with(&format!("{name}{{"))
                && line.contains(&format!("component_id=\"{component}\""))
        })
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

fn histories(server: &DefenderApi) -> (Vec<Version>, Vec<Version>) {
    (
        server.with(Kind::GraphAlerts, |c| c.history().to_vec()),
        server.with(Kind::GraphIncidents, |c| c.history().to_vec()),
    )
}

/// Runs the large tenant: 20,000 alert and 2,000 incident changes (3 incidents with 200
/// alerts, 300 changes sharing one time in each), 134 alert and 129 incident changes made while
/// the sources read. `faults` adds the usual faults and an expiry of every token mid-run.
fn large_tenant(faults: Option<Faults>) {
    let faulty = faults.is_some();
    let server = Arc::new(DefenderApi::start(DefenderApiOptions {
        faults: faults.unwrap_or_default(),
        quota: faulty.then_some(Quota {
            per_minute: 6_000,
            per_hour: 1_000_000,
        }),
        ..DefenderApiOptions::default()
    }));
    server.add_secret_client(TENANT, CLIENT, SECRET);
    let scale = Scale {
        alerts: 20_000,
        incidents: 2_000,
        big_incidents: vec![200, 200, 200],
        tie: 300,
    };
    scenario::seed(
        &server,
        &scale,
        &template("alertWebUrl"),
        &template("displayName"),
    );
    let dir = tempfile::tempdir().unwrap();
    write_pipeline(dir.path(), &server);
    let service = Service::start(dir.path(), "pipelines");
    let mutations = Mutations::start(server.clone(), &scale, 134, 129, Duration::from_millis(20));
    let mut alerts =
        DeliveredVersions::new(dir.path().join("alerts.jsonl"), "id", "lastUpdateDateTime");
    let mut incidents = DeliveredVersions::new(
        dir.path().join("incidents.jsonl"),
        "id",
        "lastUpdateDateTime",
    )
    .keeping();
    let limit = Duration::from_secs(if faulty { 420 } else { 240 });
    let started = Instant::now();
    if faulty {
        // Every token dies once the backfill is under way.
        while alerts.read().counts().len() < 5_000 {
            assert!(
                started.elapsed() < limit,
                "no progress before the tokens expire"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server.expire_tokens();
    }
    let made = mutations.finish();
    assert_eq!(
        made,
        (134, 129),
        "every change was made to a served version"
    );
    let (alert_versions, incident_versions) = histories(&server);
    assert_eq!(
        (alert_versions.len(), incident_versions.len()),
        (20_134, 2_129)
    );
    loop {
        alerts.read();
        incidents.read();
        let missing = (
            alerts.missing(&alert_versions),
            incidents.missing(&incident_versions),
        );
        if missing == (0, 0) {
            break;
        }
        assert!(
            started.elapsed() < limit,
            "after {limit:?}, {} of {} alert and {} of {} incident versions not delivered",
            missing.0,
            alert_versions.len(),
            missing.1,
            incident_versions.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // A few more polls, for a late duplicate to show.
    let calls = server.requests().len();
    while server.requests().len() < calls + 20 {
        std::thread::sleep(Duration::from_millis(100));
    }
    let metrics = service.get("/metrics");
    let health = service.get("/health");
    let (code, log) = service.stop();
    assert_eq!(code, Some(0), "{log}");
    alerts.read();
    incidents.read();
    assert!(
        alerts.repeated().is_empty() && incidents.repeated().is_empty(),
        "delivered twice: {:?} {:?}",
        &alerts.repeated()[..alerts.repeated().len().min(5)],
        &incidents.repeated()[..incidents.repeated().len().min(5)]
    );
    let invented = |delivered: &DeliveredVersions, versions: &[Version]| {
        let known: std::collections::HashSet<&Version> = versions.iter().collect();
        delivered
            .counts()
            .keys()
            .filter(|key| !known.contains(key))
            .count()
    };
    assert_eq!(invented(&alerts, &alert_versions), 0);
    assert_eq!(invented(&incidents, &incident_versions), 0);

    // Each incident carries its alerts: the big ones all 200 of them, read one incident at a
    // time, never through a list that combines $expand and $filter.
    for incident in &incidents.kept {
        assert!(
            incident.get("alerts@siemflow.error").is_none(),
            "{}",
            incident["alerts@siemflow.error"]
        );
        let n = incident["id"]
            .as_str()
            .and_then(|id| id.parse::<usize>().ok())
            .unwrap()
            - 200_000;
        let expected = scale.big(n).unwrap_or(1 + n % 3);
        assert_eq!(
            incident["alerts"].as_array().map(Vec::len),
            Some(expected),
            "incident {n}"
        );
    }
    let requests = server.requests();
    let listed = |r: &&siemflow_test_support::defender::RequestRecord| {
        r.target.starts_with("/v1.0/security/incidents?")
    };
    assert!(
        !requests
            .iter()
            .filter(listed)
            .any(|r| r.target.contains("%24expand")),
        "the incident list is never expanded"
    );
    assert!(
        requests
            .iter()
            .filter(|r| r.target.contains("oauth2") || r.status == 200)
            .count()
            > 0
    );
    let refused: Vec<_> = requests
        .iter()
        .filter(|r| r.status == 400 || (r.status == 500 && !faulty))
        .map(|r| format!("{} {}", r.status, r.target))
        .collect();
    assert!(
        refused.is_empty(),
        "no request runs into Graph's limits: {:?}",
        &refused[..refused.len().min(5)]
    );
    assert!(
        requests
            .iter()
            .filter(|r| r.target.starts_with("/v1.0/security/alerts_v2?"))
            .all(|r| !r.target.contains("%24skip=") || r.target.contains("+lt+")),
        "alerts are never paged by a deep $skip (only within one microsecond's ties)"
    );
    let scans = requests
        .iter()
        .filter(|r| {
            r.target.contains("%24skip=") && r.target.starts_with("/v1.0/security/incidents?")
        })
        .count();
    assert!(
        scans > 0,
        "300 incidents changed in one instant, more than a page of 50: read by $skip within it"
    );
    if faulty {
        let status = |code: u16| requests.iter().filter(|r| r.status == code).count();
        assert!(assert_retry_after_respected(&server) > 0, "429s came");
        assert!(status(500) > 0 && status(0) > 0, "500s and resets came");
        assert!(status(401) > 0, "expired tokens were refused");
    }
    for source in ["alerts", "incidents"] {
        let age = sample(&metrics, "siemflow_source_poll_age_seconds", source);
        assert!(
            age.is_some_and(|age| age < 30.0),
            "{source} completes polls: {age:?}\n{metrics}"
        );
        assert_eq!(
            sample(&metrics, "siemflow_component_degraded", source),
            Some(0.0)
        );
    }
    assert!(health.contains("\"status\": \"ok\""), "{health}");
}

#[test]
fn twenty_thousand_alert_and_two_thousand_incident_changes_arrive_once_past_graphs_limits() {
    large_tenant(None);
}

#[test]
fn the_large_tenant_arrives_once_through_throttling_errors_resets_and_expiring_tokens() {
    large_tenant(Some(Faults {
        seed: 23,
        throttle_rate: 0.02,
        retry_after: Duration::from_secs(1),
        error_rate: 0.03,
        slow_rate: 0.02,
        slow: Duration::from_millis(300),
        reset_rate: 0.01,
        omit_next_link_rate: 0.25,
    }));
}

fn failing(
    rule: impl Fn(&str) -> Option<(u16, &'static str, String)> + Send + 'static,
) -> Option<FailureRule> {
    Some(Box::new(rule))
}

/// Waits until `/health` satisfies `check`, failing after a minute.
fn health_until(service: &Service, check: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let response = service.get("/health");
        if let Some((_, body)) = response.split_once("\r\n\r\n")
            && let Ok(health) = serde_json::from_str::<Value>(body)
            && check(&health)
        {
            return health;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "/health never got there: {response}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_cursor_that_cannot_move_shows_in_the_log_metrics_and_health_until_it_moves() {
    let server = DefenderApi::start(DefenderApiOptions::default());
    server.add_secret_client(TENANT, CLIENT, SECRET);
    scenario::seed(
        &server,
        &Scale {
            alerts: 50,
            incidents: 0,
            big_incidents: Vec::new(),
            tie: 0,
        },
        &template("alertWebUrl"),
        &template("displayName"),
    );
    server.set_failing(failing(|target| {
        target.starts_with("/v1.0/security/alerts_v2?").then(|| {
            (
                400,
                "BadRequest",
                "Invalid filter clause: the property 'lastUpdateDateTime' cannot be compared here."
                    .to_string(),
            )
        })
    }));
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("pipelines/p.yaml"),
        format!(
            "id: contoso\nsources:\n  alerts:\n{}sinks:\n  out: {{ type: file, inputs: [alerts], path: ../out.jsonl }}\n",
            source(&server, "defender_alerts", "")
        ),
    );
    let service = Service::start(dir.path(), "pipelines");
    let health = health_until(&service, |health| health["status"] == "degraded");
    let pipeline = &health["pipelines"]["contoso"];
    assert_eq!(pipeline["status"], "degraded");
    let degraded = &pipeline["degraded"][0];
    assert_eq!(degraded["component"], "alerts");
    assert_eq!(degraded["reason"], "poll_stalled");
    let error = degraded["error"].as_str().unwrap();
    assert!(
        error.contains("GET /v1.0/security/alerts_v2?$filter=lastUpdateDateTime ge ")
            && error.contains(
                "HTTP 400 BadRequest: Invalid filter clause: the property 'lastUpdateDateTime' cannot be compared here."
            ),
        "the failing request and Microsoft's answer: {error}"
    );
    assert!(
        service.get("/health").starts_with("HTTP/1.1 200"),
        "degraded is not failing: no restart loop"
    );
    let metrics = service.get("/metrics");
    assert_eq!(
        sample(&metrics, "siemflow_component_degraded", "alerts"),
        Some(1.0)
    );
    let age = sample(&metrics, "siemflow_source_poll_age_seconds", "alerts").unwrap();
    assert!(
        age >= 1.5,
        "three 500 ms intervals without a completed poll: {age}"
    );

    // Microsoft answers again: the source catches up and the trouble clears.
    server.set_failing(None);
    health_until(&service, |health| health["status"] == "ok");
    let out = dir.path().join("out.jsonl");
    let started = Instant::now();
    while DeliveredVersions::new(out.clone(), "id", "lastUpdateDateTime")
        .read()
        .counts()
        .len()
        < 50
    {
        assert!(started.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(100));
    }
    let metrics = service.get("/metrics");
    assert_eq!(
        sample(&metrics, "siemflow_component_degraded", "alerts"),
        Some(0.0)
    );
    let (code, log) = service.stop();
    assert_eq!(code, Some(0));
    assert!(
        log.contains("error_type=\"request_refused\"")
            && log.contains("GET /v1.0/security/alerts_v2?$filter=")
            && log.contains("HTTP 400 BadRequest: Invalid filter clause")
            && log.contains("degraded")
            && log.contains("recovered"),
        "{log}"
    );
}

#[test]
fn a_page_that_keeps_failing_is_read_in_smaller_pages_and_unreadable_alerts_are_named() {
    let server = DefenderApi::start(DefenderApiOptions::default());
    server.add_secret_client(TENANT, CLIENT, SECRET);
    let scale = Scale {
        alerts: 450,
        incidents: 20,
        big_incidents: vec![3],
        tie: 0,
    };
    scenario::seed(
        &server,
        &scale,
        &template("alertWebUrl"),
        &template("displayName"),
    );
    // Pages of more than 100 alerts always fail; one incident's alerts can never be read.
    let poisoned = scenario::incident_id(19);
    let poison = poisoned.clone();
    server.set_failing(failing(move |target| {
        let big_page = target.starts_with("/v1.0/security/alerts_v2?")
            && target
                .split('&')
                .find_map(|pair| pair.strip_prefix("$top="))
                .and_then(|top| top.parse::<usize>().ok())
                .is_some_and(|top| top > 100);
        let unreadable = target.starts_with(&format!("/v1.0/security/incidents/{poison}?"));
        (big_page || unreadable).then(|| {
            (
                500,
                "InternalServerError",
                "An internal server error occurred while processing the request.".to_string(),
            )
        })
    }));
    let dir = tempfile::tempdir().unwrap();
    write_pipeline(dir.path(), &server);
    std::fs::write(
        dir.path().join("pipelines/p.yaml"),
        std::fs::read_to_string(dir.path().join("pipelines/p.yaml"))
            .unwrap()
            .replace(
                "    type: defender_alerts\n",
                "    type: defender_alerts\n    page_size: 200\n",
            ),
    )
    .unwrap();
    let service = Service::start(dir.path(), "pipelines");
    let (alert_versions, incident_versions) = histories(&server);
    let mut alerts =
        DeliveredVersions::new(dir.path().join("alerts.jsonl"), "id", "lastUpdateDateTime");
    let mut incidents = DeliveredVersions::new(
        dir.path().join("incidents.jsonl"),
        "id",
        "lastUpdateDateTime",
    )
    .keeping();
    let started = Instant::now();
    while alerts.read().missing(&alert_versions) + incidents.read().missing(&incident_versions) > 0
    {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "{} alerts and {} incidents missing",
            alerts.missing(&alert_versions),
            incidents.missing(&incident_versions)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let metrics = service.get("/metrics");
    let (code, log) = service.stop();
    assert_eq!(code, Some(0));
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.status == 200 && r.target.contains("%24top=100")),
        "the page of 200 was asked again as a page of 100"
    );
    assert!(
        log.contains("asking again with pages of 100"),
        "the log says why: {log}"
    );
    let marked: Vec<&Value> = incidents
        .kept
        .iter()
        .filter(|incident| incident["id"] == poisoned.as_str())
        .collect();
    assert_eq!(marked.len(), 1);
    let error = marked[0]["alerts@siemflow.error"]
        .as_str()
        .unwrap_or_default();
    assert!(
        error.contains(&format!(
            "GET /v1.0/security/incidents/{poisoned}?$expand=alerts"
        )) && error.contains("HTTP 500 InternalServerError"),
        "{}",
        marked[0]
    );
    assert!(
        metrics
            .lines()
            .any(|line| line.starts_with("siemflow_component_errors_total{")
                && line.contains("reason=\"incident_alerts_unavailable\"")),
        "{metrics}"
    );
    assert!(
        incidents
            .kept
            .iter()
            .filter(|incident| incident["id"] != poisoned.as_str())
            .all(|incident| incident["alerts"].is_array())
    );
}
