//! The identity and Defender API test server on a fixed port, for demos without an Azure
//! account: `cargo run -p siemflow-test-support --bin defender-api`.
//!
//! It registers one app (tenant `demo-tenant`, client `demo-client`, secret `demo-secret`),
//! loads the REST samples (`samples/defender/rest.jsonl`: MDE and Graph alerts, XDR and Graph
//! incidents, sorted by shape), and every few seconds moves one alert along its life (new, in
//! progress, resolved) and raises a new one, so a polling pipeline has changes to pick up.
//!
//! Options: `--port N` (default 8700), `--samples FILE`, `--every SECONDS` (default 5).

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use siemflow_test_support::defender::odata::format_time;
use siemflow_test_support::defender::resources::Kind;
use siemflow_test_support::defender::{DefenderApi, DefenderApiOptions};

fn main() {
    let mut port = 8700u16;
    let mut samples = String::from("samples/defender/rest.jsonl");
    let mut every = 5u64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next();
        match (arg.as_str(), value) {
            ("--port", Some(value)) => port = value.parse().unwrap_or_else(|_| usage()),
            ("--samples", Some(value)) => samples = value,
            ("--every", Some(value)) => every = value.parse().unwrap_or_else(|_| usage()),
            _ => usage(),
        }
    }
    let text = std::fs::read_to_string(&samples).unwrap_or_else(|error| {
        panic!("cannot read {samples}: {error} (run from the repository root or pass --samples)")
    });
    let server = DefenderApi::start_with(DefenderApiOptions::default(), None, port);
    server.add_secret_client("demo-tenant", "demo-client", "demo-secret");
    let mut templates: Vec<(Kind, Value)> = Vec::new();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let Ok(record) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let kind = if record.get("alertCreationTime").is_some() {
            Kind::MdeAlerts
        } else if record.get("alertWebUrl").is_some() {
            Kind::GraphAlerts
        } else if record.get("incidentName").is_some() {
            Kind::XdrIncidents
        } else if record.get("displayName").is_some() {
            Kind::GraphIncidents
        } else {
            continue;
        };
        let mut record = record;
        record[kind.time_field()] = json!(format_time(SystemTime::now()));
        server.with(kind, |collection| collection.upsert(record.clone()));
        templates.push((kind, record));
    }
    println!(
        "Defender API test server on {url}\n  login and API host: {url}\n  tenant_id: demo-tenant  client_id: demo-client  client_secret: demo-secret\n  {} sample items loaded; a change every {every}s. Ctrl-C to stop.",
        templates.len(),
        url = server.url()
    );
    let mut round = 0usize;
    let mut previous: Option<(Kind, String)> = None;
    loop {
        std::thread::sleep(Duration::from_secs(every.max(1)));
        round += 1;
        let Some((kind, template)) = templates
            .iter()
            .filter(|(kind, _)| matches!(kind, Kind::MdeAlerts | Kind::GraphAlerts))
            .nth(round % 8)
            .cloned()
        else {
            continue;
        };
        let mut alert = template;
        alert["id"] = json!(format!("demo-{round}"));
        alert[kind.time_field()] = json!(format_time(SystemTime::now()));
        let graph = kind == Kind::GraphAlerts;
        alert["status"] = json!(if graph { "new" } else { "New" });
        server.with(kind, |collection| collection.upsert(alert));
        if let Some((older_kind, older)) = previous.replace((kind, format!("demo-{round}"))) {
            let status = if older_kind == Kind::GraphAlerts {
                "inProgress"
            } else {
                "InProgress"
            };
            server.with(older_kind, |collection| {
                collection.update(&older, |alert| {
                    alert.insert("status".into(), json!(status));
                })
            });
            println!("round {round}: raised demo-{round}, took {older} in progress");
        }
    }
}

fn usage() -> ! {
    eprintln!("usage: defender-api [--port N] [--samples FILE] [--every SECONDS]");
    std::process::exit(2);
}
