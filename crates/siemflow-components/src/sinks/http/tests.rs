use std::time::Duration;

use serde_json::{Value, json};
use siemflow_core::config::WhenFull;
use siemflow_core::event::BatchStatus;
use siemflow_core::topology::buffer::channel;
use siemflow_test_support::collector::{Collector, CollectorFaults, CollectorOptions};

use super::*;
use crate::test_util::json_batch;

fn config(collector: &Collector, extra: Value) -> HttpSinkConfig {
    let mut value = json!({
        "endpoint": collector.url(),
        "batch": { "max_events": 10, "timeout": "50ms" },
    });
    for (key, extra) in extra.as_object().into_iter().flatten() {
        value[key] = extra.clone();
    }
    let config: HttpSinkConfig = serde_json::from_value(value).unwrap();
    config.check().unwrap();
    config
}

/// Runs the sink over one batch; returns the batch's status, the dead letters and the metrics.
async fn deliver(
    config: &HttpSinkConfig,
    bodies: &[&str],
) -> (BatchStatus, Vec<String>, ComponentContext) {
    let component = ComponentContext::detached("test", "out", "http");
    let (sender, input) = channel(1000, WhenFull::Block, component.metrics.clone());
    let (events, status) = json_batch(bodies);
    let task = config
        .build(SinkContext {
            component: component.clone(),
            input,
        })
        .unwrap();
    sender.send(events).await.unwrap();
    drop(sender);
    tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .expect("the sink finishes")
        .unwrap();
    let letters = component.dead_letters.memory_lines();
    (status.await, letters, component)
}

fn numbered(count: usize, pad: usize) -> Vec<String> {
    (0..count)
        .map(|n| format!("{{\"n\":{n},\"pad\":\"{}\"}}", "x".repeat(pad)))
        .collect()
}

fn numbers(collector: &Collector) -> Vec<u64> {
    let mut numbers: Vec<u64> = collector
        .received()
        .iter()
        .map(|event| event["n"].as_u64().unwrap())
        .collect();
    numbers.sort_unstable();
    numbers
}

#[tokio::test]
async fn ndjson_with_a_bearer_token_and_gzip_arrives_whole() {
    let collector = Collector::start(CollectorOptions {
        authorization: Some("Bearer s3cret".into()),
        ..CollectorOptions::default()
    });
    let config = config(
        &collector,
        json!({ "auth": { "strategy": "bearer", "token": "s3cret" }, "compression": "gzip" }),
    );
    let bodies = numbered(95, 10);
    let bodies: Vec<&str> = bodies.iter().map(String::as_str).collect();
    let (status, letters, _) = deliver(&config, &bodies).await;
    assert_eq!(status, BatchStatus::Delivered, "{letters:?}");
    assert_eq!(numbers(&collector), (0..95).collect::<Vec<_>>());
    let stats = collector.stats();
    assert_eq!(stats.accepted, 10, "95 events in requests of 10: {stats:?}");
    assert_eq!(stats.gzip, 10);
    assert_eq!(stats.content_types.get("application/x-ndjson"), Some(&10));
}

#[tokio::test]
async fn a_json_array_put_with_basic_auth_carries_text_as_strings() {
    let collector = Collector::start(CollectorOptions {
        authorization: Some("Basic dXNlcjpwYXNz".into()),
        ..CollectorOptions::default()
    });
    let config = config(
        &collector,
        json!({
            "auth": { "strategy": "basic", "user": "user", "password": "pass" },
            "encoding": "json_array",
            "method": "put",
        }),
    );
    let (status, letters, _) = deliver(&config, &["{\"n\":1}", "CEF:0|Microsoft|a=b\\|c|"]).await;
    assert_eq!(status, BatchStatus::Delivered, "{letters:?}");
    assert_eq!(
        collector.received(),
        vec![json!({"n": 1}), json!("CEF:0|Microsoft|a=b\\|c|")]
    );
    let stats = collector.stats();
    assert_eq!(stats.methods.get("PUT"), Some(&1));
    assert_eq!(stats.content_types.get("application/json"), Some(&1));
}

#[tokio::test]
async fn busy_throttling_and_resets_are_retried_until_every_event_is_taken_once() {
    let collector = Collector::start(CollectorOptions {
        faults: CollectorFaults {
            unavailable: 0.3,
            throttled: 0.2,
            reset: 0.1,
            seed: 11,
            ..CollectorFaults::default()
        },
        ..CollectorOptions::default()
    });
    let config = config(&collector, json!({ "concurrency": 4 }));
    let bodies = numbered(200, 10);
    let bodies: Vec<&str> = bodies.iter().map(String::as_str).collect();
    let (status, letters, component) = deliver(&config, &bodies).await;
    assert_eq!(status, BatchStatus::Delivered, "{letters:?}");
    assert_eq!(
        numbers(&collector),
        (0..200).collect::<Vec<_>>(),
        "once each"
    );
    let stats = collector.stats();
    assert!(
        stats.refused.get(&503).is_some_and(|n| *n > 0)
            && stats.refused.get(&429).is_some_and(|n| *n > 0)
            && stats.resets > 0,
        "{stats:?}"
    );
    let errors = component.metrics.snapshot();
    assert_eq!(errors.sent_events, 200);
}

#[tokio::test]
async fn a_refused_event_is_found_by_splitting_and_dead_lettered_alone() {
    let collector = Collector::start(CollectorOptions {
        faults: CollectorFaults {
            bad_marker: Some("poison".into()),
            ..CollectorFaults::default()
        },
        ..CollectorOptions::default()
    });
    let config = config(&collector, json!({}));
    let mut bodies = numbered(10, 1);
    bodies[6] = "{\"n\":6,\"pad\":\"poison\"}".into();
    bodies.push("{\"n\":".into());
    let bodies: Vec<&str> = bodies.iter().map(String::as_str).collect();
    let (status, letters, _) = deliver(&config, &bodies).await;
    assert_eq!(status, BatchStatus::Delivered, "dead letters count as done");
    assert_eq!(numbers(&collector), [0, 1, 2, 3, 4, 5, 7, 8, 9]);
    assert_eq!(letters.len(), 2, "{letters:?}");
    let all = letters.join("\n");
    assert!(
        all.contains("rejected: HTTP 400: event 0 is invalid"),
        "{all}"
    );
    assert!(
        all.contains("poison") && all.contains("malformed JSON"),
        "{all}"
    );
}

#[tokio::test]
async fn too_large_requests_are_split_and_an_event_too_large_alone_is_dead_lettered() {
    let collector = Collector::start(CollectorOptions {
        max_body: 1000,
        ..CollectorOptions::default()
    });
    let config = config(&collector, json!({}));
    let mut bodies = numbered(10, 280);
    bodies.push(format!("{{\"n\":10,\"pad\":\"{}\"}}", "y".repeat(2000)));
    let bodies: Vec<&str> = bodies.iter().map(String::as_str).collect();
    let (status, letters, _) = deliver(&config, &bodies).await;
    assert_eq!(status, BatchStatus::Delivered);
    assert_eq!(numbers(&collector), (0..10).collect::<Vec<_>>());
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert!(letters[0].contains("oversize: HTTP 413"), "{letters:?}");
}

#[tokio::test]
async fn a_wrong_credential_holds_the_events_and_reports_it() {
    let collector = Collector::start(CollectorOptions {
        authorization: Some("Bearer right".into()),
        ..CollectorOptions::default()
    });
    let config = config(
        &collector,
        json!({ "auth": { "strategy": "bearer", "token": "wrong" } }),
    );
    let delivered = deliver(&config, &["{\"n\":1}"]);
    let held = tokio::time::timeout(Duration::from_millis(800), delivered).await;
    assert!(
        held.is_err(),
        "nothing is delivered or dropped with a refused credential"
    );
    assert!(collector.received().is_empty());
    assert!(collector.stats().refused.get(&401).is_some_and(|n| *n >= 2));
}

#[test]
fn header_and_auth_mistakes_are_caught_by_check() {
    let collector = Collector::start(CollectorOptions::default());
    let check = |extra: Value| {
        let mut value = json!({ "endpoint": collector.url() });
        for (key, extra) in extra.as_object().into_iter().flatten() {
            value[key] = extra.clone();
        }
        serde_json::from_value::<HttpSinkConfig>(value)
            .map_err(|error| error.to_string())
            .and_then(|config| config.check())
    };
    assert!(
        check(json!({ "headers": { "bad name": "x" } }))
            .unwrap_err()
            .contains("bad name")
    );
    assert!(
        check(json!({
            "auth": { "strategy": "bearer", "token": "t" },
            "headers": { "authorization": "x" }
        }))
        .unwrap_err()
        .contains("not both")
    );
    assert!(check(json!({ "auth": { "strategy": "bearer", "token": " " } })).is_err());
    assert!(check(json!({ "auth": { "strategy": "digest" } })).is_err());
    assert!(check(json!({ "headers": { "X-Api-Key": "k" } })).is_ok());
}

#[tokio::test]
async fn https_with_the_collectors_ca_is_verified_and_without_it_nothing_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let certificates = siemflow_test_support::tls::Certificates::create(dir.path());
    let collector = Collector::start_tls(CollectorOptions::default(), certificates.server_config());
    assert!(collector.url().starts_with("https://127.0.0.1:"));
    let trusted = config(
        &collector,
        json!({ "tls": { "ca_file": certificates.ca_file.display().to_string() } }),
    );
    let (status, letters, _) = deliver(&trusted, &["{\"n\":1}", "{\"n\":2}"]).await;
    assert_eq!(status, BatchStatus::Delivered, "{letters:?}");
    assert_eq!(numbers(&collector), [1, 2]);

    // The system roots do not know the test CA: the handshake fails and the events are held.
    let untrusted = config(&collector, json!({}));
    let held = tokio::time::timeout(
        Duration::from_millis(800),
        deliver(&untrusted, &["{\"n\":3}"]),
    )
    .await;
    assert!(held.is_err(), "an unverified server gets nothing");
    assert_eq!(numbers(&collector), [1, 2]);
}
