//! The `siemflow` command end to end: quickstart, `test`, exit codes, graceful drain.

use std::time::{Duration, Instant};

use crate::support::{
    Service, describe, free_port, http_get, lines, output, repo_root, send_signal, siemflow, write,
};

#[test]
fn quickstart_writes_one_line_per_sample_record() {
    let dir = tempfile::tempdir().unwrap();
    let root = repo_root();
    let samples = root.join("samples/quickstart");
    let mut expected = 0;
    for entry in std::fs::read_dir(&samples).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            expected += match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(document) => document["records"].as_array().unwrap().len(),
                Err(_) => text.lines().filter(|l| !l.trim().is_empty()).count(),
            };
        }
    }
    assert_eq!(expected, 12);
    // The repository's layout in a temporary directory, run from another working directory:
    // the pipeline's paths are taken from its own folder.
    std::fs::create_dir_all(dir.path().join("samples")).unwrap();
    std::os::unix::fs::symlink(&samples, dir.path().join("samples/quickstart")).unwrap();
    std::fs::create_dir_all(dir.path().join("pipelines")).unwrap();
    let pipeline = dir.path().join("pipelines/quickstart.yaml");
    std::fs::copy(root.join("pipelines/quickstart.yaml"), &pipeline).unwrap();
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let run = output(siemflow(&elsewhere).arg("run").arg(&pipeline));
    assert_eq!(run.status.code(), Some(0), "{}", describe(&run));
    // The run ends with what it moved.
    let log = String::from_utf8_lossy(&run.stderr);
    let summary = log
        .lines()
        .find(|line| line.contains("pipeline finished after"))
        .unwrap_or_else(|| panic!("no summary line:\n{log}"));
    assert!(
        summary.contains(&format!("{expected} events in;"))
            && summary.contains(&format!("arcsight {expected},"))
            && summary.contains("; 0 dead-lettered"),
        "{summary}"
    );
    let out = dir.path().join("out/quickstart");
    assert_eq!(lines(&out.join("events.jsonl")).len(), expected);
    let routed: usize = ["endpoint", "alerts", "other"]
        .iter()
        .map(|name| lines(&out.join(format!("{name}.jsonl"))).len())
        .sum();
    assert_eq!(
        routed, expected,
        "every record lands in exactly one table output"
    );
    let cef = lines(&out.join("events.cef"));
    assert_eq!(
        cef.len(),
        expected,
        "builtin:defender-cef maps every record"
    );
    assert!(
        cef.iter().all(|line| line.starts_with("CEF:0|Microsoft|")),
        "{cef:?}"
    );
    // Exact bytes: the 2^53 + 1 ReportId survives.
    assert!(
        std::fs::read_to_string(out.join("events.jsonl"))
            .unwrap()
            .contains("\"ReportId\":9007199254740993")
    );

    let again = output(siemflow(&elsewhere).arg("run").arg(&pipeline));
    assert_eq!(again.status.code(), Some(0), "{}", describe(&again));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("pipeline finished after"),
        "{}",
        describe(&again)
    );
    assert_eq!(
        lines(&out.join("events.jsonl")).len(),
        expected,
        "a second run resumes from the checkpoint and reads nothing new"
    );
}

#[test]
fn pipeline_tests_pass_and_failures_are_reported() {
    let root = repo_root();
    let passing = output(siemflow(&root).args(["test", "pipelines"]));
    assert_eq!(passing.status.code(), Some(0), "{}", describe(&passing));
    assert!(String::from_utf8_lossy(&passing.stdout).contains("4 passed, 0 failed"));

    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("p.yaml"),
        r#"id: p
sources:
  in: { type: stdin }
transforms:
  keep: { type: filter, inputs: [in], condition: "$.keep == true" }
sinks:
  out: { type: console, inputs: [keep] }
tests:
  - name: wrong expectation
    input: { component: keep, events: [{ keep: true, v: 1 }, { keep: false, v: 2 }] }
    expect: { component: keep, count: 2, contains: ["\"v\":2"] }
"#,
    );
    let failing = output(siemflow(dir.path()).args(["test", "p.yaml"]));
    assert_eq!(failing.status.code(), Some(1), "{}", describe(&failing));
    let stdout = String::from_utf8_lossy(&failing.stdout);
    assert!(
        stdout.contains("expected 2 output event(s), got 1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("no output contains \"\\\"v\\\":2\""),
        "{stdout}"
    );
    assert!(stdout.contains("0 passed, 1 failed"), "{stdout}");
}

#[test]
fn exit_codes_follow_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let usage = output(siemflow(dir.path()).arg("frobnicate"));
    assert_eq!(usage.status.code(), Some(2), "{}", describe(&usage));
    let missing = output(siemflow(dir.path()).args(["run", "nope.yaml"]));
    assert_eq!(missing.status.code(), Some(2), "{}", describe(&missing));
    assert!(
        String::from_utf8_lossy(&missing.stderr)
            .contains("nope.yaml:1:1: no such file or directory")
    );
    let help = output(siemflow(dir.path()).args(["run", "--help"]));
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("--data-dir"));

    // A sink that cannot open its file is a runtime failure: exit 1.
    write(&dir.path().join("in.json"), "{\"a\":1}\n");
    write(
        &dir.path().join("blocker"),
        "a file where a directory is needed",
    );
    write(
        &dir.path().join("p.yaml"),
        "id: p\nsources:\n  in: { type: file, path: in.json }\nsinks:\n  out: { type: file, inputs: [in], path: blocker/out.log }\n",
    );
    let failed = output(siemflow(dir.path()).args(["run", "p.yaml"]));
    assert_eq!(failed.status.code(), Some(1), "{}", describe(&failed));
}

#[test]
fn stdin_to_console_passes_events_through() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("p.yaml"),
        "id: p\nsources:\n  in: { type: stdin }\nsinks:\n  out: { type: console, inputs: [in] }\n",
    );
    let mut child = siemflow(dir.path())
        .args(["run", "p.yaml"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"{\"records\":[{\"a\":1},{\"b\":2}]}\n{\"c\":3}\n")
        .unwrap();
    drop(stdin);
    let result = child.wait_with_output().unwrap();
    assert_eq!(result.status.code(), Some(0), "{}", describe(&result));
    assert_eq!(
        String::from_utf8_lossy(&result.stdout),
        "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n"
    );
}

#[test]
fn sigterm_drains_and_commits_then_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("in/a.json"),
        crate::support::numbered_lines(0..1000, 64),
    );
    write(
        &dir.path().join("p.yaml"),
        "id: p\nsources:\n  in: { type: file, path: \"in/*.json\", follow: true, poll_interval: 50ms }\nsinks:\n  out: { type: file, inputs: [in], path: out.log }\n",
    );
    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let child = siemflow(dir.path())
        .args([
            "run",
            "p.yaml",
            "--data-dir",
            "data",
            "--metrics-addr",
            &metrics_addr,
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = dir.path().join("out.log");
    let started = Instant::now();
    while lines(&out).len() < 1000 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "events never arrived"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Appended while running: a followed file is read as it grows.
    let mut more = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join("in/a.json"))
        .unwrap();
    std::io::Write::write_all(&mut more, &crate::support::numbered_lines(1000..1500, 64)).unwrap();
    while lines(&out).len() < 1500 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "appended events never arrived"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let health = http_get(&metrics_addr, "/health");
    assert!(
        health.starts_with("HTTP/1.1 200")
            && health.contains(r#""status": "ok""#)
            && health.contains(r#""state": "running""#),
        "{health}"
    );
    let metrics = http_get(&metrics_addr, "/metrics");
    assert!(
        metrics.contains("siemflow_component_sent_events_total{pipeline=\"p\",component_id=\"out\",component_kind=\"sink\",component_type=\"file\"} 1500"),
        "{metrics}"
    );
    assert!(
        metrics.contains("siemflow_source_pending_events{pipeline=\"p\",component_id=\"in\""),
        "{metrics}"
    );

    let sent = send_signal(child.id(), libc::SIGTERM);
    assert_eq!(sent, 0);
    let result = child.wait_with_output().unwrap();
    assert_eq!(result.status.code(), Some(0), "{}", describe(&result));
    let checkpoint =
        std::fs::read_to_string(dir.path().join("data/checkpoints/p/in.json")).unwrap();
    let size = std::fs::metadata(dir.path().join("in/a.json"))
        .unwrap()
        .len();
    assert!(
        checkpoint.contains(&format!("\"offset\":{size}")),
        "the whole file is committed on drain: {checkpoint}"
    );
}

#[test]
fn json_logs_are_one_object_per_line_naming_the_pipeline_and_component() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("in.json"), "{\"n\":1}\n{not json\n");
    write(
        &dir.path().join("p.yaml"),
        "id: acme\nsources:\n  in: { type: file, path: in.json }\ntransforms:\n  cef: { type: wasm, inputs: [in], plugin: \"builtin:defender-cef\" }\nsinks:\n  out: { type: file, inputs: [cef], path: out.txt }\n",
    );
    let run = output(siemflow(dir.path()).args([
        "--log-format",
        "json",
        "run",
        "p.yaml",
        "--data-dir",
        "data",
    ]));
    assert_eq!(run.status.code(), Some(0), "{}", describe(&run));
    let stderr = String::from_utf8_lossy(&run.stderr);
    let records: Vec<serde_json::Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}")))
        .collect();
    let field = |record: &serde_json::Value, name: &str| -> Option<String> {
        record["fields"][name]
            .as_str()
            .or_else(|| record["span"][name].as_str())
            .map(String::from)
    };
    for record in &records {
        assert!(
            record["timestamp"].is_string() && record["level"].is_string(),
            "{record}"
        );
        assert_eq!(
            field(record, "pipeline").as_deref(),
            Some("acme"),
            "{record}"
        );
    }
    let message = |component: &str, text: &str| {
        records.iter().any(|record| {
            field(record, "component").as_deref() == Some(component)
                && record["fields"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(text))
        })
    };
    assert!(message("in", "dead-lettered"), "{stderr}");
    assert!(message("cef", "no mapping"), "{stderr}");
    assert!(
        records
            .iter()
            .any(|r| r["fields"]["message"] == "pipeline started"),
        "{stderr}"
    );
}

#[test]
fn completions_complete_subcommands_in_bash_and_exist_for_every_shell() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let result = output(siemflow(dir.path()).args(["completions", shell]));
        assert_eq!(result.status.code(), Some(0), "{}", describe(&result));
        let script = String::from_utf8_lossy(&result.stdout);
        assert!(
            script.contains("splunk-addon") && script.contains("validate"),
            "{shell}: {script}"
        );
    }
    // Bash itself completes `siemflow mappings sp` with the script.
    let completed = std::process::Command::new("bash")
        .arg("-c")
        .arg(
            r#"source <("$0" completions bash) || exit 3
COMP_WORDS=(siemflow mappings sp); COMP_CWORD=2
COMP_LINE="siemflow mappings sp"; COMP_POINT=${#COMP_LINE}
_siemflow siemflow sp mappings
echo "${COMPREPLY[@]}""#,
        )
        .arg(env!("CARGO_BIN_EXE_siemflow"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&completed.stdout).trim(),
        "splunk-addon",
        "{}",
        String::from_utf8_lossy(&completed.stderr)
    );
}

#[test]
fn the_version_names_the_commit_it_was_built_from() {
    let dir = tempfile::tempdir().unwrap();
    let result = output(siemflow(dir.path()).arg("--version"));
    assert_eq!(result.status.code(), Some(0), "{}", describe(&result));
    let version = String::from_utf8_lossy(&result.stdout).trim().to_string();
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(repo_root())
        .output()
        .unwrap();
    let expected = match String::from_utf8_lossy(&head.stdout).trim() {
        "" => "unknown".to_string(),
        commit => commit.to_string(),
    };
    assert_eq!(
        version,
        format!("siemflow {} (commit {expected})", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn the_shipped_systemd_unit_is_the_documented_one_and_systemd_accepts_it() {
    let unit = std::fs::read_to_string(repo_root().join("packaging/siemflow.service")).unwrap();
    let docs = std::fs::read_to_string(repo_root().join("docs/operations.md")).unwrap();
    assert!(
        docs.contains(&format!("```ini\n{unit}```")),
        "docs/operations.md shows packaging/siemflow.service as it is"
    );
    let dir = tempfile::tempdir().unwrap();
    let verify = |text: &str| {
        let path = dir.path().join("siemflow.service");
        std::fs::write(&path, text).unwrap();
        let result = std::process::Command::new("systemd-analyze")
            .arg("verify")
            .arg(&path)
            .output()
            .expect("systemd-analyze (systemd) checks the unit");
        format!(
            "{}{}",
            String::from_utf8_lossy(&result.stdout),
            String::from_utf8_lossy(&result.stderr)
        )
    };
    // The binary path is this build's, so that verify can check it is executable.
    let local = unit.replace("/usr/local/bin/siemflow", env!("CARGO_BIN_EXE_siemflow"));
    assert_eq!(
        verify(&local).trim(),
        "",
        "systemd-analyze verify complains"
    );
    assert!(
        verify(&local.replace("KillSignal=", "KillSignalz=")).contains("Unknown key"),
        "systemd-analyze verify reports mistakes here"
    );
}

/// The instructions of the Dockerfile's last stage (the image that ships), continuation lines
/// joined.
fn final_stage(dockerfile: &str) -> Vec<String> {
    let joined = dockerfile
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("\\\n", " ");
    let instructions: Vec<String> = joined
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect();
    let last_from = instructions
        .iter()
        .rposition(|line| line.starts_with("FROM "))
        .expect("a FROM");
    instructions[last_from..].to_vec()
}

#[test]
fn the_container_image_runs_unprivileged_keeps_its_data_in_a_volume_and_checks_health() {
    let dockerfile = std::fs::read_to_string(repo_root().join("packaging/Dockerfile")).unwrap();
    let froms = dockerfile
        .lines()
        .filter(|line| line.starts_with("FROM "))
        .count();
    assert!(
        froms >= 2,
        "a multi-stage build: the toolchain stays out of the image"
    );
    let image = final_stage(&dockerfile);
    let instruction = |name: &str| -> String {
        image
            .iter()
            .find_map(|line| line.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("the image has {name}"))
            .trim()
            .to_string()
    };
    let user = instruction("USER");
    assert!(
        !matches!(user.split(':').next(), Some("root" | "0")),
        "not root: {user}"
    );
    let args: Vec<String> = serde_json::from_str(&instruction("CMD")).expect("CMD in JSON form");
    let after = |flag: &str| {
        args.iter()
            .position(|arg| arg == flag)
            .and_then(|at| args.get(at + 1))
            .unwrap_or_else(|| panic!("CMD sets {flag}"))
            .clone()
    };
    let volumes: Vec<String> = serde_json::from_str(&instruction("VOLUME")).unwrap();
    assert_eq!(
        volumes,
        [after("--data-dir")],
        "the data directory is the volume"
    );
    let port = after("--metrics-addr")
        .rsplit_once(':')
        .map(|(_, port)| port.to_string())
        .unwrap();
    assert_eq!(instruction("EXPOSE"), port);
    let check = instruction("HEALTHCHECK");
    let command: Vec<String> = serde_json::from_str(
        check
            .split_once("CMD ")
            .map(|(_, command)| command)
            .expect("HEALTHCHECK CMD"),
    )
    .expect("the health check in JSON form");
    assert!(command.iter().any(|part| part.contains("/health")));

    // The health check itself, run here against a service on a free port in place of the
    // image's: 0 while healthy, not 0 when a pipeline fails or nothing listens.
    let run_check = |address: &str| {
        let local: Vec<String> = command
            .iter()
            .map(|part| part.replace(&format!("127.0.0.1/{port}"), &address.replace(':', "/")))
            .collect();
        std::process::Command::new(&local[0])
            .args(&local[1..])
            .status()
            .expect("the health check's shell")
            .code()
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("in.json"), "{\"n\":1}\n");
    let pipeline = |out: &str| {
        format!(
            "id: p\nsources:\n  in: {{ type: file, path: {}/in.json, follow: true, poll_interval: 50ms }}\nsinks:\n  out: {{ type: file, inputs: [in], path: {}/{out} }}\n",
            root.display(),
            root.display()
        )
    };
    write(&root.join("healthy/p.yaml"), pipeline("out.json"));
    let service = Service::start(root, "healthy");
    let started = Instant::now();
    while run_check(&service.metrics) != Some(0) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "healthy within 60 s: {}",
            service.get("/health")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(service);
    // Its sink cannot create its directory while a plain file is in the way.
    write(&root.join("blocked"), "");
    write(&root.join("failing/p.yaml"), pipeline("blocked/out.json"));
    let service = Service::start(root, "failing");
    let started = Instant::now();
    while !service.get("/health").starts_with("HTTP/1.1 503") {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "failing within 60 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_ne!(
        run_check(&service.metrics),
        Some(0),
        "a failing pipeline is unhealthy"
    );
    let address = service.metrics.clone();
    drop(service);
    assert_ne!(
        run_check(&address),
        Some(0),
        "nothing listening is unhealthy"
    );
}

#[test]
fn relative_paths_in_a_pipeline_file_are_taken_from_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        &d.join("exports/[x] a.json"),
        "{\"category\":\"c\",\"n\":1}\n",
    );
    std::fs::create_dir_all(d.join("conf [1]/plugins")).unwrap();
    std::fs::copy(
        crate::support::guest("tag"),
        d.join("conf [1]/plugins/tag.wasm"),
    )
    .unwrap();
    let pipeline = d.join("conf [1]/p.yaml");
    write(
        &pipeline,
        r#"id: p
sources:
  in: { type: file, path: "../exports/[[]x] *.json", follow: false }
transforms:
  map: { type: wasm, inputs: [in], plugin: plugins/tag.wasm, config: { prefix: rel } }
sinks:
  out: { type: file, inputs: [map], path: out/events.txt }
  siem:
    type: syslog
    inputs: [map]
    address: "127.0.0.1:1"
    transport: tls
    tls: { ca_file: certs/ca.pem, cert_file: /abs/client.pem, key_file: certs/client.key }
"#,
    );
    // Every path option, as compiled: relative ones moved under the file's folder.
    let compiled = crate::support::compile(&pipeline, &siemflow_components::registry());
    let shown = format!("{:?}", compiled.components);
    let folder = d.join("conf [1]");
    for expected in [
        folder.join("certs/ca.pem"),
        folder.join("certs/client.key"),
        folder.join("out/events.txt"),
        folder.join("plugins/tag.wasm"),
    ] {
        assert!(
            shown.contains(&*expected.to_string_lossy()),
            "{expected:?} in {shown}"
        );
    }
    assert!(
        shown.contains("\"/abs/client.pem\""),
        "absolute paths stay: {shown}"
    );

    // Run from another folder, without the syslog sink (nothing listens there).
    let text = std::fs::read_to_string(&pipeline).unwrap();
    let without_siem = text.split("  siem:").next().unwrap().to_string();
    write(&pipeline, without_siem);
    let elsewhere = d.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let run = output(siemflow(&elsewhere).arg("run").arg(&pipeline));
    assert!(run.status.success(), "{}", describe(&run));
    assert_eq!(lines(&folder.join("out/events.txt")), ["rel|c|1|0"]);
}
