//! `/metrics` read by the official Python client's OpenMetrics parser: every family with the
//! labels it is documented with, and a removed pipeline's series gone.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use siemflow_test_support::azurite::Azurite;
use siemflow_test_support::defender::resources::Kind;
use siemflow_test_support::defender::{DefenderApi, DefenderApiOptions, Faults};
use siemflow_test_support::event_hubs::{EventHubsEmulator, HubSpec};

use crate::azure_blob::{append_rows, container};
use crate::defender_rest::{CLIENT, SECRET, TENANT, graph_alert, template};
use crate::support::{
    Service, describe, lines, numbered_lines, output, repo_root, siemflow, wait_within, write,
};

const COMPONENT_LABELS: [&str; 4] = [
    "pipeline",
    "component_id",
    "component_kind",
    "component_type",
];

/// One parsed sample.
#[derive(Debug)]
struct Sample {
    family: String,
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Scrapes `/metrics` and parses the body with `prometheus_client.openmetrics.parser`.
fn scrape(service: &Service) -> Vec<Sample> {
    let response = service.get("/metrics");
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let mut child = Command::new(repo_root().join("target/test-peers/prometheus/bin/python"))
        .arg(repo_root().join("tests/oracles/openmetrics_parse.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the prometheus venv is installed by scripts/test-peers");
    // Small enough for the pipe buffer; the parser reads it all before printing.
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), body.as_bytes()).unwrap();
    let status = wait_within(&mut child, Duration::from_secs(60));
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(
        status.success(),
        "the parser refused the exposition: {err}\n{body}"
    );
    out.lines()
        .map(|line| {
            let sample: Value = serde_json::from_str(line).unwrap();
            Sample {
                family: sample["family"].as_str().unwrap().to_string(),
                name: sample["name"].as_str().unwrap().to_string(),
                labels: serde_json::from_value(sample["labels"].clone()).unwrap(),
                value: sample["value"].as_f64().unwrap(),
            }
        })
        .collect()
}

/// The samples of `family` whose labels include every pair of `with`.
fn find<'a>(samples: &'a [Sample], family: &str, with: &[(&str, &str)]) -> Vec<&'a Sample> {
    samples
        .iter()
        .filter(|s| s.family == family)
        .filter(|s| {
            with.iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect()
}

/// The four component labels of one component.
fn component<'a>(
    pipeline: &'a str,
    id: &'a str,
    kind: &'a str,
    kind_type: &'a str,
) -> [(&'static str, &'a str); 4] {
    [
        ("pipeline", pipeline),
        ("component_id", id),
        ("component_kind", kind),
        ("component_type", kind_type),
    ]
}

fn until(what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{what}: not within 60 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Messages waiting in the hub for woodgrove, one event each.
const HUB_MESSAGES: usize = 400;

/// The Defender API's alerts for northwind.
const ALERTS: usize = 20;

/// Export rows waiting in the storage account for tailspin.
const ROWS: u64 = 300;

fn tenants(root: &Path, emulator: &EventHubsEmulator, api: &DefenderApi, azurite: &Azurite) {
    let d = root.display();
    write(
        &root.join("tenants/contoso.yaml"),
        format!(
            "id: contoso\nsources:\n  in: {{ type: file, path: {d}/in.json, follow: true, poll_interval: 50ms, commit_interval: 100ms }}\ntransforms:\n  cef: {{ type: wasm, inputs: [in], plugin: \"builtin:defender-cef\" }}\nsinks:\n  out: {{ type: file, inputs: [cef], path: {d}/out.txt }}\n"
        ),
    );
    // Its sink cannot create its directory while a plain file is in the way: it fails and restarts.
    write(&root.join("blocked"), "");
    write(
        &root.join("tenants/fabrikam.yaml"),
        format!(
            "id: fabrikam\nsources:\n  in: {{ type: file, path: {d}/in.json }}\nsinks:\n  out: {{ type: file, inputs: [in], path: {d}/blocked/out.json }}\n"
        ),
    ); // Its SIEM is down: the hub backs up behind a sink that cannot connect.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}/ingest", closed.local_addr().unwrap());
    drop(closed);
    write(
        &root.join("tenants/woodgrove.yaml"),
        format!(
            "id: woodgrove\nsources:\n  hub: {{ type: event_hubs, connection_string: \"{}\", prefetch: 5, batch_size: 5, lag_interval: 1s }}\nsinks:\n  siem: {{ type: http, inputs: [hub], endpoint: \"{endpoint}\", batch: {{ max_events: 5 }}, buffer: {{ max_events: 5 }} }}\n",
            emulator.connection_string("defender")
        ),
    );
    // Its alerts come from an API that answers every other call 429.
    write(
        &root.join("tenants/northwind.yaml"),
        format!(
            "id: northwind\nsources:\n  rest:\n    type: defender_alerts\n    api: graph\n    tenant_id: {TENANT}\n    client_id: {CLIENT}\n    client_secret: \"{SECRET}\"\n    authority_host: {url}\n    api_base_url: {url}\n    interval: 300ms\n    start_time: 1d\nsinks:\n  out: {{ type: file, inputs: [rest], path: {d}/northwind.jsonl }}\n",
            url = api.url()
        ),
    );
    // Its SIEM is down too: the export blob stays behind.
    write(
        &root.join("tenants/tailspin.yaml"),
        format!(
            "id: tailspin\nsources:\n  export: {{ type: azure_blob, connection_string: \"{}\", start_time: 6h, poll_interval: 200ms, grace_period: 4h, batch_size: 5 }}\nsinks:\n  siem: {{ type: http, inputs: [export], endpoint: \"{endpoint}\", batch: {{ max_events: 5 }}, buffer: {{ max_events: 5 }} }}\n",
            azurite.connection_string()
        ),
    );
}

/// A Defender API with `ALERTS` alerts that throttles half the calls.
fn throttling_api() -> DefenderApi {
    let api = DefenderApi::start(DefenderApiOptions {
        faults: Faults {
            seed: 11,
            throttle_rate: 0.5,
            retry_after: Duration::from_secs(1),
            ..Faults::default()
        },
        ..DefenderApiOptions::default()
    });
    api.add_secret_client(TENANT, CLIENT, SECRET);
    let template = template("alertWebUrl");
    api.with(Kind::GraphAlerts, |alerts| {
        for n in 0..ALERTS {
            alerts.upsert(graph_alert(&template, n));
        }
    });
    api
}

/// An Azurite account holding one export blob of `ROWS` rows; returns the blob's size.
fn export_account(azurite: &Azurite) -> u64 {
    let table = "DeviceProcessEvents";
    let mut ops = vec![json!({"op": "container", "name": container(table)})];
    let mut next = 0;
    let (_, rows) = append_rows(table, 0, ROWS, &mut next, &mut ops);
    azurite.python_sdk(&Value::Array(ops));
    rows.iter().map(|(_, bytes)| bytes).sum()
}

#[test]
fn every_documented_metric_parses_with_its_labels_and_a_removed_pipeline_leaves() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut input = numbered_lines(0..100, 64);
    // Two process records, each with a column Microsoft's schema does not list (yet).
    for n in 0..2 {
        input.extend_from_slice(
            format!("{{\"category\":\"AdvancedHunting-DeviceProcessEvents\",\"properties\":{{\"Timestamp\":\"2026-11-24T08:00:00Z\",\"DeviceName\":\"wks-{n}\",\"ActionType\":\"ProcessCreated\",\"FutureColumn2027\":{n}}}}}\n")
                .as_bytes(),
        );
    }
    input.extend_from_slice(b"{not json\n");
    write(&root.join("in.json"), &input);
    let emulator = EventHubsEmulator::start(&[HubSpec::new("defender", 2)], 0);
    for n in 0..HUB_MESSAGES {
        emulator
            .publish("defender", format!("{{\"n\":{n}}}").into_bytes())
            .unwrap();
    }
    let api = throttling_api();
    let azurite = Azurite::start();
    let blob_size = export_account(&azurite);
    tenants(root, &emulator, &api, &azurite);

    let service = Service::start(root, "tenants");
    until("contoso delivered", || {
        lines(&root.join("out.txt")).len() == 102
    });
    until("fabrikam restarted", || {
        service.get("/health").contains("\"restarts\": 1")
    });
    write(
        &root.join("tenants/contoso.yaml"),
        "id: contoso\nsources: [\n",
    );
    until("the invalid edit refused", || {
        service.get("/health").contains("\"refused_change\"")
    });

    // The hub's lag is what woodgrove has not read: both agree once its source is held back.
    let hub = component("woodgrove", "hub", "source", "event_hubs");
    until("woodgrove held back, its lag reported", || {
        let samples = scrape(&service);
        let lags = find(&samples, "siemflow_source_lag_events", &hub);
        let read = find(&samples, "siemflow_component_received_events", &hub);
        let behind: f64 = lags.iter().map(|s| s.value).sum();
        lags.len() == 2
            && read.len() == 1
            && behind > 0.0
            && behind + read[0].value == HUB_MESSAGES as f64
    });

    // Northwind's API throttles it; it still gets every alert and reports its high-water mark.
    let rest = component("northwind", "rest", "source", "defender_alerts");
    let mut retry_after = rest.to_vec();
    retry_after.push(("reason", "retry_after"));
    until("northwind throttled, its alerts delivered", || {
        let samples = scrape(&service);
        let throttled = find(&samples, "siemflow_component_throttled", &retry_after);
        throttled.len() == 1
            && throttled[0].value > 0.0
            && lines(&root.join("northwind.jsonl")).len() == ALERTS
    });

    // Tailspin's blob is listed, not delivered: what is left of it is its lag in bytes.
    let export = component("tailspin", "export", "source", "azure_blob");
    until("tailspin's blob reported behind", || {
        let samples = scrape(&service);
        let lag = find(&samples, "siemflow_source_lag_bytes", &export);
        lag.len() == 1 && lag[0].value > 0.0
    });

    let samples = scrape(&service);
    let source = component("contoso", "in", "source", "file");
    let plugin = component("contoso", "cef", "transform", "wasm");
    let sink = component("contoso", "out", "sink", "file");
    let value = |family: &str, with: &[(&str, &str)]| -> f64 {
        let found = find(&samples, family, with);
        assert_eq!(
            found.len(),
            1,
            "one {family} sample with {with:?}: {found:?}"
        );
        found[0].value
    };
    assert_eq!(value("siemflow_component_received_events", &source), 102.0);
    assert!(value("siemflow_component_received_bytes", &source) >= input.len() as f64);
    assert_eq!(value("siemflow_component_sent_events", &source), 102.0);
    assert_eq!(value("siemflow_component_sent_events", &sink), 102.0);
    assert!(value("siemflow_component_sent_bytes", &sink) > 100.0 * 64.0);
    assert_eq!(value("siemflow_component_received_events", &plugin), 102.0);
    assert!(value("siemflow_transform_processing_seconds", &plugin) > 0.0);
    assert_eq!(value("siemflow_component_unmapped_events", &plugin), 100.0);
    // Records of a shape the mapping does not know are counted by table (here the generic one).
    let mut unknown_table = plugin.to_vec();
    unknown_table.push(("table", "Unknown"));
    assert_eq!(value("siemflow_mapping_unknown", &unknown_table), 100.0);
    // Values in columns a known table's schema does not list are counted by the plugin (host.count).
    let mut new_columns = plugin.to_vec();
    new_columns.extend([("name", "unknown-column"), ("key", "DeviceProcessEvents")]);
    assert_eq!(value("siemflow_plugin_counter", &new_columns), 2.0);
    let mut malformed = source.to_vec();
    malformed.push(("reason", "malformed JSON"));
    assert_eq!(value("siemflow_dead_letter_events", &malformed), 1.0);
    assert_eq!(value("siemflow_buffer_events", &sink), 0.0);
    assert_eq!(value("siemflow_source_pending_events", &source), 0.0);
    let age = value("siemflow_source_checkpoint_age_seconds", &source);
    assert!(
        (0.0..30.0).contains(&age),
        "a live source's checkpoint is recent: {age}"
    );
    assert_eq!(
        value(
            "siemflow_pipeline_state",
            &[("pipeline", "contoso"), ("state", "running")]
        ),
        1.0
    );
    assert_eq!(
        value(
            "siemflow_pipeline_state",
            &[("pipeline", "contoso"), ("state", "failed")]
        ),
        0.0
    );
    assert_eq!(
        value(
            "siemflow_pipeline_reloads",
            &[("pipeline", "contoso"), ("outcome", "refused")]
        ),
        1.0
    );
    assert!(value("siemflow_pipeline_restarts", &[("pipeline", "fabrikam")]) >= 1.0);
    for partition in ["0", "1"] {
        let mut labels = hub.to_vec();
        labels.push(("partition", partition));
        assert_eq!(
            find(&samples, "siemflow_source_lag_events", &labels).len(),
            1
        );
    }
    let throttled_for = value("siemflow_component_throttled_seconds", &retry_after);
    assert!(
        throttled_for >= 1.0,
        "each 429 asked for 1 s: {throttled_for}"
    );
    let mark_age = value("siemflow_source_high_water_mark_age_seconds", &rest);
    assert!(
        (0.0..86_400.0).contains(&mark_age),
        "the newest alert is from this test: {mark_age}"
    );
    let poll_age = value("siemflow_source_poll_age_seconds", &rest);
    assert!(
        (0.0..60.0).contains(&poll_age),
        "polls complete through the 429s: {poll_age}"
    );
    assert_eq!(
        value("siemflow_component_degraded", &rest),
        0.0,
        "throttled, not stalled"
    );
    let behind = value("siemflow_source_lag_bytes", &export);
    assert!(
        behind <= blob_size as f64,
        "at most the whole blob ({blob_size} bytes) is behind: {behind}"
    );
    let siem = component("woodgrove", "siem", "sink", "http");
    assert!(!find(&samples, "siemflow_component_errors", &siem).is_empty());
    let failed_sink = component("fabrikam", "out", "sink", "file");
    assert!(!find(&samples, "siemflow_component_errors", &failed_sink).is_empty());

    // Every component family carries the four component labels, counters end in `_total`.
    for sample in samples
        .iter()
        .filter(|s| s.family.starts_with("siemflow_component_"))
    {
        for label in COMPONENT_LABELS {
            assert!(
                sample.labels.contains_key(label),
                "{sample:?} lacks {label}"
            );
        }
    }
    for counter in [
        "siemflow_component_sent_bytes",
        "siemflow_pipeline_restarts",
    ] {
        assert!(
            samples
                .iter()
                .any(|s| s.family == counter && s.name == format!("{counter}_total")),
            "{counter} is a counter"
        );
    }

    // `siemflow top` reads the same endpoint: a line per component, the hub's lag in events.
    let top = output(siemflow(root).args([
        "top",
        "--metrics",
        &service.metrics,
        "--interval",
        "300ms",
        "--once",
    ]));
    assert!(top.status.success(), "{}", describe(&top));
    let table = String::from_utf8_lossy(&top.stdout);
    let row = |pipeline: &str, id: &str| -> Vec<String> {
        table
            .lines()
            .map(|line| {
                line.split_whitespace()
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .find(|cells| cells.len() > 4 && cells[0] == pipeline && cells[2] == id)
            .unwrap_or_else(|| panic!("no line for {pipeline}/{id} in\n{table}"))
    };
    assert!(table.contains("PIPELINE"), "{table}");
    assert_eq!(
        row("contoso", "out")[1..5],
        ["running", "out", "sink", "file"]
    );
    let woodgrove = row("woodgrove", "hub");
    let behind: f64 = find(&samples, "siemflow_source_lag_events", &hub)
        .iter()
        .map(|s| s.value)
        .sum();
    assert_eq!(
        woodgrove[woodgrove.len() - 3],
        format!("{behind:.0}"),
        "{table}"
    );
    assert_eq!(woodgrove[woodgrove.len() - 2], "ev", "{table}");

    std::fs::remove_file(root.join("tenants/fabrikam.yaml")).unwrap();
    until("fabrikam removed", || {
        !service.get("/health").contains("\"fabrikam\"")
    });
    let after = scrape(&service);
    let left: Vec<&Sample> = after
        .iter()
        .filter(|s| s.labels.get("pipeline").map(String::as_str) == Some("fabrikam"))
        .collect();
    assert!(
        left.is_empty(),
        "a removed pipeline's series stay: {left:?}"
    );
    assert_eq!(
        find(&after, "siemflow_component_sent_events", &sink)[0].value,
        102.0,
        "the other pipeline's series stay"
    );
    // Woodgrove's SIEM never came back: its events are not delivered, and the exit says so.
    let (code, log) = service.stop();
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("woodgrove"), "{log}");
}
