//! Two instances of the `event_hubs` source sharing a hub's partitions through a blob ownership
//! and checkpoint store on Azurite: they split the partitions, read each once at a time in
//! steady state, and the survivor takes over what a killed instance owned, losing nothing. The
//! Azure SDK's own checkpoint store (`azure-eventhub-checkpointstoreblob`) reads the records back.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use siemflow_test_support::azurite::Azurite;
use siemflow_test_support::event_hubs::{EventHubsEmulator, HubSpec};

use crate::event_hubs_source::{PARTITIONS, RECORDS, generate, python_sdk};
use crate::support::{describe, report_ids, send_signal, siemflow, write};

const CONTAINER: &str = "siemflow-checkpoints";
const EXPIRY: Duration = Duration::from_secs(6);

/// One siemflow process with its own directory, output and log.
struct Instance {
    dir: tempfile::TempDir,
    child: Child,
}

impl Instance {
    fn start(azurite: &Azurite, emulator: &EventHubsEmulator) -> Self {
        let dir = tempfile::tempdir().unwrap();
        write(
            &dir.path().join("p.yaml"),
            format!(
                r#"id: contoso
sources:
  stream:
    type: event_hubs
    connection_string: "{hub}"
    commit_interval: 50ms
    batch_size: 100
    checkpoints:
      type: blob
      connection_string: "{storage}"
      container: {CONTAINER}
      balance_interval: 1s
      ownership_expiry: {expiry}s
sinks:
  out: {{ type: file, inputs: [stream], path: out.jsonl }}
"#,
                hub = emulator.connection_string("defender"),
                storage = azurite.connection_string(),
                expiry = EXPIRY.as_secs(),
            ),
        );
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let child = siemflow(dir.path())
            .args(["run", "p.yaml"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        Self { dir, child }
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("out.jsonl")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// The partitions this instance reads, from its log of claims and losses.
    fn owned(&self) -> BTreeSet<String> {
        owned(&self.log())
    }

    fn alive(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("siemflow exited ({status}):\n{}", self.log());
        }
    }
}

/// Replays a log's "partition claimed" and "partition taken by another instance" lines.
fn owned(log: &str) -> BTreeSet<String> {
    let mut owned = BTreeSet::new();
    for line in log.lines() {
        let claimed = line.contains("partition claimed");
        if !claimed && !line.contains("partition taken by another instance") {
            continue;
        }
        let Some(at) = line.rfind("partition=") else {
            continue;
        };
        let id: String = line[at + "partition=".len()..]
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        if claimed {
            owned.insert(id);
        } else {
            owned.remove(&id);
        }
    }
    owned
}

/// Polls `done` every 50 ms; fails after `limit` with `what` and the instances' logs.
fn wait_until(
    instances: &mut [&mut Instance],
    limit: Duration,
    what: &str,
    mut done: impl FnMut(&[&mut Instance]) -> bool,
) -> Duration {
    let start = Instant::now();
    loop {
        if done(instances) {
            return start.elapsed();
        }
        for instance in instances.iter_mut() {
            instance.alive();
        }
        if start.elapsed() > limit {
            let logs: Vec<String> = instances.iter().map(|i| i.log()).collect();
            panic!("{what}: not after {limit:?}\n{}", logs.join("\n-----\n"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every record's delivery count across the instances' outputs.
fn delivered(outputs: &[&Path]) -> HashMap<u64, usize> {
    let mut all = HashMap::new();
    for out in outputs {
        for (id, count) in report_ids(out) {
            *all.entry(id).or_default() += count;
        }
    }
    all
}

fn all_records(outputs: &[&Path], range: std::ops::Range<u64>) -> bool {
    let got = delivered(outputs);
    range.clone().all(|id| got.contains_key(&id))
}

#[test]
fn two_instances_split_four_partitions_and_the_survivor_takes_over_a_killed_ones() {
    let azurite = Azurite::start();
    let emulator = EventHubsEmulator::start(&[HubSpec::new("defender", PARTITIONS)], 0);
    let batch = 4_000;
    let records = |batches: u64| batches * batch * RECORDS;
    generate(&emulator, 0, batch);

    let mut a = Instance::start(&azurite, &emulator);
    let a_out = a.out();
    wait_until(
        &mut [&mut a],
        Duration::from_secs(120),
        "the first instance claims every partition and reads the first batch",
        |i| i[0].owned().len() == PARTITIONS && all_records(&[&a_out], 0..records(1)),
    );

    let mut b = Instance::start(&azurite, &emulator);
    let b_out = b.out();
    let split = wait_until(
        &mut [&mut a, &mut b],
        Duration::from_secs(60),
        "the instances split the partitions 2/2, one receiver each",
        |i| {
            let (x, y) = (i[0].owned(), i[1].owned());
            x.len() == 2
                && y.len() == 2
                && x.is_disjoint(&y)
                && emulator
                    .readers("defender", "$default")
                    .iter()
                    .all(|readers| readers.now == 1)
        },
    );
    let (a_owned, b_owned) = (a.owned(), b.owned());

    // Steady state: every partition has one reader, and every record of a new batch arrives once.
    emulator.reset_reader_peaks();
    generate(&emulator, batch, batch);
    wait_until(
        &mut [&mut a, &mut b],
        Duration::from_secs(120),
        "the second batch arrives",
        |_| all_records(&[&a_out, &b_out], 0..records(2)),
    );
    let readers = emulator.readers("defender", "$default");
    assert!(
        readers.iter().all(|r| r.peak == 1),
        "one reader per partition at a time in steady state: {readers:?}"
    );
    let got = delivered(&[&a_out, &b_out]);
    let repeated: Vec<u64> = (records(1)..records(2))
        .filter(|id| got.get(id) != Some(&1))
        .collect();
    assert!(
        repeated.is_empty(),
        "{} records of the steady batch came more than once",
        repeated.len()
    );
    assert_eq!(
        (a.owned(), b.owned()),
        (a_owned.clone(), b_owned.clone()),
        "no rebalance"
    );

    // Kill -9 the second instance: its ownership expires and the first takes its partitions.
    b.child.kill().unwrap();
    b.child.wait().unwrap();
    let killed = Instant::now();
    generate(&emulator, 2 * batch, batch);
    wait_until(
        &mut [&mut a],
        EXPIRY * 5,
        "the survivor claims the killed instance's partitions",
        |i| i[0].owned().len() == PARTITIONS,
    );
    let takeover = killed.elapsed();
    wait_until(
        &mut [&mut a],
        Duration::from_secs(120),
        "every record of the three batches arrives",
        |_| all_records(&[&a_out, &b_out], 0..records(3)),
    );
    assert_eq!(send_signal(a.child.id(), libc::SIGTERM), 0);
    let output = a.child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));

    let got = delivered(&[&a_out, &b_out]);
    let duplicates: usize = got.values().map(|count| count - 1).sum();
    assert_eq!(got.len() as u64, records(3), "no record lost");

    // The SDK's checkpoint store reads what siemflow wrote: every partition checkpointed at its
    // last event, and every ownership given up on the clean stop.
    let store: Value = serde_json::from_str(&python_sdk(&[
        &azurite.connection_string(),
        "store",
        CONTAINER,
        &emulator.address().ip().to_string(),
        "defender",
        "$default",
    ]))
    .unwrap();
    let mut checkpoints: Vec<(String, i64)> = store["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["partition_id"].as_str().unwrap().to_string(),
                c["sequence_number"].as_i64().unwrap(),
            )
        })
        .collect();
    checkpoints.sort();
    let last = (3 * batch / PARTITIONS as u64 - 1) as i64;
    let expected: Vec<(String, i64)> = (0..PARTITIONS).map(|p| (p.to_string(), last)).collect();
    assert_eq!(checkpoints, expected, "{store}");
    // An empty owner id comes back from Azurite's listing as an empty element: None in Python.
    let given_up = store["ownership"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["owner_id"].is_null() || o["owner_id"] == "")
        .count();
    assert_eq!(given_up, PARTITIONS, "{store}");

    eprintln!(
        "split 2/2 ({a_owned:?} and {b_owned:?}) {split:?} after the second instance started; \
         after kill -9 the survivor owned all {PARTITIONS} partitions in {takeover:?} \
         (ownership expiry {EXPIRY:?}); {} records, {duplicates} delivered twice",
        records(3)
    );
}
