//! Trouble that lasts shows: a SIEM that refuses connections makes its pipeline `degraded` in
//! `/health` (with the sink and its last error, HTTP 200 so nothing restarts the process), in
//! `siemflow_component_degraded`, `siemflow_pipeline_oldest_unacked_seconds` and `top`, within
//! the default `--degraded-after`; the alert rules of `docs/operations.md` fire on it; all of it
//! clears once the SIEM takes the events.

use std::io::Read;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Service, describe, output, repo_root, siemflow, write};

/// The value of `name` for the sample whose labels contain `with`, from the text exposition.
fn sample(metrics: &str, name: &str, with: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|line| line.starts_with(&format!("{name}{{")) && line.contains(with))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

/// The documented rules whose expression is a plain `metric{labels} OP number`, as `(alert,
/// metric, labels, op, threshold)`.
fn simple_rules() -> Vec<(String, String, String, String, f64)> {
    let doc = std::fs::read_to_string(repo_root().join("docs/operations.md")).unwrap();
    let block = doc
        .split("```yaml\ngroups:")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the alert rules in docs/operations.md");
    let mut rules = Vec::new();
    let mut alert = String::new();
    for line in block.lines() {
        let line = line.split(" #").next().unwrap_or("").trim();
        if let Some(name) = line.strip_prefix("- alert:") {
            alert = name.trim().to_string();
        } else if let Some(expr) = line.strip_prefix("expr:") {
            let words: Vec<&str> = expr.split_whitespace().collect();
            let [selector, op, threshold] = words[..] else {
                continue;
            };
            if selector.contains('(') {
                continue;
            }
            let (metric, labels) = match selector.split_once('{') {
                Some((metric, labels)) => (metric, labels.trim_end_matches('}')),
                None => (selector, ""),
            };
            rules.push((
                alert.clone(),
                metric.to_string(),
                labels.to_string(),
                op.to_string(),
                threshold.parse().unwrap(),
            ));
        }
    }
    rules
}

/// The alerts among the simple rules that fire on this exposition.
fn firing(metrics: &str, rules: &[(String, String, String, String, f64)]) -> Vec<String> {
    let mut fired = Vec::new();
    for (alert, metric, labels, op, threshold) in rules {
        let hit = metrics
            .lines()
            .filter(|line| line.starts_with(&format!("{metric}{{")))
            .filter(|line| {
                labels
                    .split(',')
                    .filter(|l| !l.is_empty())
                    .all(|l| line.contains(l))
            })
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .any(|value| match op.as_str() {
                ">" => value > *threshold,
                "==" => value == *threshold,
                "<" => value < *threshold,
                other => panic!("operator {other} in the rules"),
            });
        if hit {
            fired.push(alert.clone());
        }
    }
    fired
}

fn health(service: &Service) -> (String, Value) {
    let response = service.get("/health");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or_default();
    (
        head.lines().next().unwrap_or("").to_string(),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

#[test]
fn a_siem_that_refuses_connections_degrades_its_pipeline_until_it_takes_events() {
    let port = crate::support::free_port();
    let dir = tempfile::tempdir().unwrap();
    let lines: String = (0..200)
        .map(|n| format!("{{\"category\":\"AdvancedHunting-DeviceProcessEvents\",\"properties\":{{\"ReportId\":{n}}}}}\n"))
        .collect();
    write(&dir.path().join("in.jsonl"), lines);
    write(
        &dir.path().join("pipelines/p.yaml"),
        format!(
            "id: contoso\nsources:\n  in: {{ type: file, path: ../in.jsonl, follow: true }}\nsinks:\n  siem: {{ type: syslog, inputs: [in], address: \"127.0.0.1:{port}\", transport: tcp }}\n"
        ),
    );
    let rules = simple_rules();
    assert!(rules.len() >= 4, "{rules:?}");
    let service = Service::start(dir.path(), "pipelines");
    let started = Instant::now();
    let degraded = loop {
        let (status, health) = health(&service);
        if health["pipelines"]["contoso"]["status"] == "degraded" {
            assert!(status.contains(" 200 "), "degraded answers 200: {status}");
            break health;
        }
        let now = &health["pipelines"]["contoso"]["status"];
        assert!(now.is_null() || now == "ok", "{health}");
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "not degraded within 40 s: {health}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(25),
        "not before --degraded-after: {took:?}"
    );
    assert_eq!(degraded["status"], "degraded");
    let trouble = &degraded["pipelines"]["contoso"]["degraded"][0];
    assert_eq!(trouble["component"], "siem");
    assert_eq!(trouble["reason"], "connect_failed");
    let error = trouble["error"].as_str().unwrap();
    assert!(
        error.contains(&format!("cannot connect to 127.0.0.1:{port}"))
            && error.contains("no delivery for"),
        "{error}"
    );
    let metrics = service.get("/metrics");
    assert_eq!(
        sample(
            &metrics,
            "siemflow_component_degraded",
            "component_id=\"siem\""
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &metrics,
            "siemflow_component_degraded",
            "component_id=\"in\""
        ),
        Some(0.0)
    );
    let waiting = sample(
        &metrics,
        "siemflow_pipeline_oldest_unacked_seconds",
        "pipeline=\"contoso\"",
    )
    .unwrap();
    assert!(
        waiting >= 25.0,
        "the first batch has waited since the start: {waiting}"
    );
    let top = output(siemflow(dir.path()).args([
        "top",
        "--metrics",
        &service.metrics,
        "--interval",
        "300ms",
        "--once",
    ]));
    assert!(top.status.success(), "{}", describe(&top));
    let table = String::from_utf8_lossy(&top.stdout);
    assert!(
        table
            .lines()
            .any(|line| line.contains("degraded") && line.contains("siem")),
        "{table}"
    );

    // The documented alerts fire: degraded now, events waiting once a minute has passed.
    assert!(firing(&metrics, &rules).contains(&"SiemflowDegraded".to_string()));
    let metrics = loop {
        let metrics = service.get("/metrics");
        if firing(&metrics, &rules).contains(&"SiemflowEventsWaiting".to_string()) {
            break metrics;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "{metrics}");
        std::thread::sleep(Duration::from_millis(500));
    };
    let fired = firing(&metrics, &rules);
    assert!(
        !fired.contains(&"SiemflowPipelineFailed".to_string()),
        "degraded, not failed: {fired:?}"
    );

    // The SIEM comes back: everything is delivered and the trouble clears.
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let receiver = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut received = Vec::new();
        let mut chunk = [0u8; 65536];
        while received
            .windows(14)
            .filter(|w| w == b"\"ReportId\":199")
            .count()
            == 0
        {
            let read = stream.read(&mut chunk).unwrap();
            assert!(read > 0, "the connection closed early");
            received.extend_from_slice(&chunk[..read]);
        }
        received
    });
    let received = receiver.join().unwrap();
    let text = String::from_utf8_lossy(&received);
    assert_eq!(text.matches("\"ReportId\":").count(), 200);
    let back = Instant::now();
    loop {
        let (_, health) = health(&service);
        let metrics = service.get("/metrics");
        if health["status"] == "ok"
            && sample(
                &metrics,
                "siemflow_component_degraded",
                "component_id=\"siem\"",
            ) == Some(0.0)
            && sample(
                &metrics,
                "siemflow_pipeline_oldest_unacked_seconds",
                "pipeline=\"contoso\"",
            ) == Some(0.0)
        {
            assert!(
                firing(&metrics, &rules).is_empty(),
                "{:?}",
                firing(&metrics, &rules)
            );
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(30),
            "{health}\n{metrics}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (code, log) = service.stop();
    assert_eq!(code, Some(0));
    assert!(log.contains("delivering again"), "{log}");
}
