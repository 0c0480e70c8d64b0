//! The Defender REST sources on a large tenant: 20,000 Graph alert changes and 2,000 incident
//! changes inside one polling window (three incidents with 200 alerts each, runs of changes that
//! share one `lastUpdateDateTime`), read by `defender_alerts` and `defender_incidents` from the
//! test server behaving like Graph at scale (`$top` capped at 1,000 for alerts and 50 for
//! incidents, paging cut at 6,000 items, `$expand=alerts` with `$filter` answering 500 for
//! incidents with more than 150 alerts), while alerts and incidents keep changing. Reports how
//! many versions were delivered, how many twice, the requests made and the time taken.
//!
//! ```text
//! cargo bench -p siemflow --bench rest_backfill
//! ```
//!
//! `SIEMFLOW_BENCH_ALERTS`, `SIEMFLOW_BENCH_INCIDENTS` set the sizes (default 20000 and 2000),
//! `SIEMFLOW_BENCH_LIMIT` the seconds to wait for every version (default 300). The API's call
//! budget is lifted (`rate_limit`), so the figures are the paging's own cost; at Graph's 150
//! calls a minute, divide the requests by 150 for the minutes a real tenant takes. Results go
//! in docs/performance.md.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use siemflow_core::telemetry::Telemetry;
use siemflow_core::topology::{RunOptions, run};
use siemflow_test_support::defender::resources::Kind;
use siemflow_test_support::defender::scenario::{
    self, DeliveredVersions, Mutations, Scale, Version,
};
use siemflow_test_support::defender::{DefenderApi, DefenderApiOptions};
use tokio_util::sync::CancellationToken;

const TENANT: &str = "4f6d8a2e-1c3b-4d5e-9a7f-0b1c2d3e4f50";
const CLIENT: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

fn main() {
    let scale = Scale {
        alerts: env_number("SIEMFLOW_BENCH_ALERTS", 20_000),
        incidents: env_number("SIEMFLOW_BENCH_INCIDENTS", 2_000),
        big_incidents: vec![200, 200, 200],
        tie: 300,
    };
    let limit = Duration::from_secs(env_number("SIEMFLOW_BENCH_LIMIT", 300) as u64);
    let server = Arc::new(DefenderApi::start(DefenderApiOptions::default()));
    server.add_secret_client(TENANT, CLIENT, "bench-secret");
    let samples = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/defender/rest.jsonl"),
    )
    .expect("samples/defender/rest.jsonl");
    let template = |marker: &str| -> Value {
        samples
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|record| record.get(marker).is_some())
            .expect("a sample with the marker")
    };
    scenario::seed(
        &server,
        &scale,
        &template("alertWebUrl"),
        &template("displayName"),
    );

    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("bench.yaml");
    let source = |kind: &str| {
        format!(
            "    type: {kind}\n    tenant_id: {TENANT}\n    client_id: {CLIENT}\n    client_secret: bench-secret\n    authority_host: {url}\n    api_base_url: {url}\n    interval: 1s\n    start_time: 1h\n    rate_limit: {{ per_minute: 1000000, per_hour: 10000000 }}\n",
            url = server.url()
        )
    };
    let yaml = format!(
        "id: bench\nsources:\n  alerts:\n{}  incidents:\n{}sinks:\n  alerts_out: {{ type: file, inputs: [alerts], path: {} }}\n  incidents_out: {{ type: file, inputs: [incidents], path: {} }}\n",
        source("defender_alerts"),
        source("defender_incidents"),
        dir.path().join("alerts.jsonl").display(),
        dir.path().join("incidents.jsonl").display(),
    );
    std::fs::write(&file, yaml).expect("pipeline file");
    let registry = siemflow_components::registry();
    let pipeline = siemflow_core::load_and_compile(&file, &registry)
        .unwrap_or_else(|errors| panic!("{errors}"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let shutdown = CancellationToken::new();
    let options = RunOptions {
        data_dir: dir.path().join("data"),
        shutdown: shutdown.clone(),
        drain_timeout: Duration::from_secs(30),
        telemetry: Telemetry::new(),
    };
    println!(
        "rest_backfill bench: {} alert and {} incident changes ({} big incidents), {} changes made while reading",
        scale.alerts,
        scale.incidents,
        scale.big_incidents.len(),
        134 + 129
    );
    let started = Instant::now();
    let running = runtime.spawn(async move { run(&pipeline, &options).await });
    let mutations = Mutations::start(server.clone(), &scale, 134, 129, Duration::from_millis(20));
    let mut alerts =
        DeliveredVersions::new(dir.path().join("alerts.jsonl"), "id", "lastUpdateDateTime");
    let mut incidents = DeliveredVersions::new(
        dir.path().join("incidents.jsonl"),
        "id",
        "lastUpdateDateTime",
    );
    let seeded_alerts: Vec<Version> =
        server.with(Kind::GraphAlerts, |c| c.history()[..scale.alerts].to_vec());
    let seeded_incidents: Vec<Version> = server.with(Kind::GraphIncidents, |c| {
        c.history()[..scale.incidents].to_vec()
    });
    let mut alerts_backfilled: Option<(Duration, HashMap<&str, usize>)> = None;
    let mut incidents_backfilled: Option<(Duration, HashMap<&str, usize>)> = None;
    let mut mutations = Some(mutations);
    loop {
        std::thread::sleep(Duration::from_millis(100));
        alerts.read();
        incidents.read();
        if alerts_backfilled.is_none() && alerts.missing(&seeded_alerts) == 0 {
            alerts_backfilled = Some((started.elapsed(), by_api(&server)));
        }
        if incidents_backfilled.is_none() && incidents.missing(&seeded_incidents) == 0 {
            incidents_backfilled = Some((started.elapsed(), by_api(&server)));
        }
        if started.elapsed() > Duration::from_secs(20)
            && let Some(running) = mutations.take()
        {
            running.stop();
        }
        let (alert_versions, incident_versions) = histories(&server);
        let missing = alerts.missing(&alert_versions) + incidents.missing(&incident_versions);
        if (missing == 0 && mutations.is_none()) || started.elapsed() > limit {
            break;
        }
    }
    let elapsed = started.elapsed();
    shutdown.cancel();
    let _ = runtime.block_on(running);
    let (alert_versions, incident_versions) = histories(&server);
    let backfill = |done: &Option<(Duration, HashMap<&str, usize>)>, apis: &[&str]| match done {
        Some((time, requests)) => format!(
            "backfilled in {:.1} s with {} requests ({})",
            time.as_secs_f64(),
            apis.iter()
                .map(|api| requests.get(api).copied().unwrap_or(0))
                .sum::<usize>(),
            apis.iter()
                .map(|api| format!("{api} {}", requests.get(api).copied().unwrap_or(0)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => "never backfilled".to_string(),
    };
    println!(
        "alerts:    {:>6} of {:>6} versions delivered, {} twice; the {} seeded changes {}",
        alert_versions.len() - alerts.missing(&alert_versions),
        alert_versions.len(),
        alerts.repeated().len(),
        scale.alerts,
        backfill(&alerts_backfilled, &["alerts_v2"]),
    );
    println!(
        "incidents: {:>6} of {:>6} versions delivered, {} twice; the {} seeded changes {}",
        incident_versions.len() - incidents.missing(&incident_versions),
        incident_versions.len(),
        incidents.repeated().len(),
        scale.incidents,
        backfill(
            &incidents_backfilled,
            &["incidents list", "incident + alerts"]
        ),
    );
    let requests = server.requests();
    let mut by_status: HashMap<u16, usize> = HashMap::new();
    for request in &requests {
        *by_status.entry(request.status).or_default() += 1;
    }
    let mut by_status: Vec<_> = by_status.into_iter().collect();
    by_status.sort();
    println!(
        "in all:    {} requests in {:.1} s (changes made until 20 s, polls every 1 s); by API {:?}; by status {:?}",
        requests.len(),
        elapsed.as_secs_f64(),
        by_api(&server),
        by_status
    );
}

/// Requests so far by API.
fn by_api(server: &DefenderApi) -> HashMap<&'static str, usize> {
    let mut counts = HashMap::new();
    for request in server.requests() {
        let api = if request.target.contains("oauth2") {
            "token"
        } else if request.target.starts_with("/v1.0/security/alerts_v2") {
            "alerts_v2"
        } else if request.target.starts_with("/v1.0/security/incidents?") {
            "incidents list"
        } else if request.target.starts_with("/v1.0/security/incidents/") {
            "incident + alerts"
        } else {
            "other"
        };
        *counts.entry(api).or_default() += 1;
    }
    counts
}

fn histories(server: &DefenderApi) -> (Vec<Version>, Vec<Version>) {
    (
        server.with(Kind::GraphAlerts, |c| c.history().to_vec()),
        server.with(Kind::GraphIncidents, |c| c.history().to_vec()),
    )
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}
