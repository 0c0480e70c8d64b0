//! A large tenant, for the REST sources' scale test and backfill benchmark: many alert and
//! incident changes inside one polling window, a few incidents with hundreds of alerts, runs of
//! changes that share one `lastUpdateDateTime` (a bulk update), and updates going on while a
//! client pages, made only to versions the server has already answered with, so that every
//! version that ever existed could have been read by a correct client.

use std::collections::HashMap;
use std::io::{BufRead, Seek};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::DefenderApi;
use super::odata::format_time;
use super::resources::Kind;
use crate::server::Dice;

/// What to create.
#[derive(Debug, Clone)]
pub struct Scale {
    /// Graph alerts (one change each).
    pub alerts: usize,
    /// Graph incidents (one change each).
    pub incidents: usize,
    /// Alerts of the incidents that have many (the oldest ones, as long-running incidents are);
    /// the others have one to three.
    pub big_incidents: Vec<usize>,
    /// How many changes in a row share one `lastUpdateDateTime`, once among the alerts and once
    /// among the incidents.
    pub tie: usize,
}

impl Scale {
    /// How many alerts incident `n` has, if it is one of the big ones.
    pub fn big(&self, n: usize) -> Option<usize> {
        let from_end = self.incidents.checked_sub(n + 1)?;
        self.big_incidents.get(from_end).copied()
    }
}

/// The id of Graph alert number `n` of the scenario.
pub fn alert_id(n: usize) -> String {
    format!("da638{n:015}_{n}")
}

/// The id of Graph incident number `n` of the scenario.
pub fn incident_id(n: usize) -> String {
    (200_000 + n).to_string()
}

/// Creates the alerts and incidents from a Graph alert and a Graph incident template (as in
/// `samples/defender/rest.jsonl`), all changed within the last minute.
pub fn seed(
    server: &DefenderApi,
    scale: &Scale,
    alert_template: &Value,
    incident_template: &Value,
) {
    let now = SystemTime::now();
    let created = |n: usize| format_time(now - Duration::from_secs(3600 + n as u64));
    let tied = format_time(now - Duration::from_secs(30));
    let alert = |n: usize, incident: &str| {
        let mut alert = alert_template.clone();
        alert["id"] = json!(alert_id(n));
        alert["incidentId"] = json!(incident);
        alert["status"] = json!("new");
        alert["createdDateTime"] = json!(created(n));
        alert["lastUpdateDateTime"] = json!(format_time(SystemTime::now()));
        alert
    };
    server.with(Kind::GraphAlerts, |alerts| {
        for n in 0..scale.alerts {
            let mut item = alert(n, &incident_id(n % scale.incidents.max(1)));
            if (1000..1000 + scale.tie).contains(&n) {
                item["lastUpdateDateTime"] = json!(tied);
            }
            alerts.upsert(item);
        }
    });
    server.with(Kind::GraphIncidents, |incidents| {
        let mut next_alert = 1_000_000;
        for n in 0..scale.incidents {
            let id = incident_id(n);
            let count = scale.big(n).unwrap_or(1 + n % 3);
            let members: Vec<Value> = (0..count)
                .map(|_| {
                    next_alert += 1;
                    alert(next_alert, &id)
                })
                .collect();
            let mut incident = incident_template.clone();
            incident["id"] = json!(id);
            incident["displayName"] = json!(format!("Incident {n} on multiple endpoints"));
            incident["status"] = json!("active");
            incident["createdDateTime"] = json!(created(n));
            incident["lastUpdateDateTime"] = json!(format_time(SystemTime::now()));
            if (100..100 + scale.tie).contains(&n) {
                incident["lastUpdateDateTime"] = json!(tied);
            }
            incident["alerts"] = Value::Array(members);
            incidents.upsert(incident);
        }
    });
}

/// Updates made while a client reads; [`Mutations::stop`] ends them and says how many were made.
#[derive(Debug)]
pub struct Mutations {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<(usize, usize)>>,
}

impl Mutations {
    /// Every `every`, changes one alert and one incident whose current version the server has
    /// answered with (the alert's status; the incident's status, or one of its alerts), each item
    /// at most once, up to `alerts` and `incidents` changes. The incidents with many alerts are
    /// changed through one of their alerts first.
    pub fn start(
        server: Arc<DefenderApi>,
        scale: &Scale,
        alerts: usize,
        incidents: usize,
        every: Duration,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let scale = scale.clone();
        let thread = std::thread::spawn(move || {
            let mut dice = Dice::new(17);
            let mut alert_order: Vec<usize> = (0..scale.alerts).collect();
            let (mut big, mut incident_order): (Vec<usize>, Vec<usize>) =
                (0..scale.incidents).partition(|&n| scale.big(n).is_some());
            shuffle(&mut alert_order, &mut dice);
            shuffle(&mut incident_order, &mut dice);
            big.append(&mut incident_order);
            let mut incident_order = big;
            let (mut changed_alerts, mut changed_incidents) = (0, 0);
            while !stopping.load(Ordering::SeqCst)
                && (changed_alerts < alerts || changed_incidents < incidents)
            {
                std::thread::sleep(every);
                if changed_alerts < alerts
                    && let Some(position) = server.with(Kind::GraphAlerts, |collection| {
                        alert_order
                            .iter()
                            .position(|&n| collection.was_served(&alert_id(n)))
                    })
                {
                    let n = alert_order.remove(position);
                    server.with(Kind::GraphAlerts, |collection| {
                        collection.update(&alert_id(n), |alert| {
                            alert.insert("status".into(), json!("inProgress"));
                            alert.insert("assignedTo".into(), json!("soc-l1@contoso.example"));
                        })
                    });
                    changed_alerts += 1;
                }
                if changed_incidents < incidents
                    && let Some(position) = server.with(Kind::GraphIncidents, |collection| {
                        incident_order
                            .iter()
                            .position(|&n| collection.was_served(&incident_id(n)))
                    })
                {
                    let n = incident_order.remove(position);
                    let big = scale.big(n).is_some();
                    server.with(Kind::GraphIncidents, |collection| {
                        collection.update(&incident_id(n), |incident| {
                            if big {
                                if let Some(Value::Array(members)) = incident.get_mut("alerts")
                                    && let Some(first) = members.first_mut()
                                {
                                    first["status"] = json!("resolved");
                                    first["lastUpdateDateTime"] =
                                        json!(format_time(SystemTime::now()));
                                }
                            } else {
                                incident.insert("status".into(), json!("inProgress"));
                            }
                        })
                    });
                    changed_incidents += 1;
                }
            }
            (changed_alerts, changed_incidents)
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }

    /// Waits until every change was made (or `stop` was asked); `(alert changes, incident
    /// changes)`.
    pub fn finish(mut self) -> (usize, usize) {
        self.thread
            .take()
            .and_then(|thread| thread.join().ok())
            .unwrap_or_default()
    }

    /// Ends the changes now; how many were made.
    pub fn stop(self) -> (usize, usize) {
        self.stop.store(true, Ordering::SeqCst);
        self.finish()
    }
}

impl Drop for Mutations {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `(id, last-update time)`: one version of an item.
pub type Version = (String, String);

/// The versions a `file` sink has written so far (one JSON item per line), read incrementally
/// so that a large output is read once however often it is looked at.
#[derive(Debug)]
pub struct DeliveredVersions {
    path: PathBuf,
    offset: u64,
    id: &'static str,
    time: &'static str,
    counts: HashMap<Version, usize>,
    /// The lines read so far, as JSON, when kept (see [`DeliveredVersions::keeping`]).
    pub kept: Vec<Value>,
    keep: bool,
}

impl DeliveredVersions {
    /// Versions in `path`, identified by the properties `id` and `time`.
    pub fn new(path: PathBuf, id: &'static str, time: &'static str) -> Self {
        Self {
            path,
            offset: 0,
            id,
            time,
            counts: HashMap::new(),
            kept: Vec::new(),
            keep: false,
        }
    }

    /// Also keeps every line read, for checks beyond the versions.
    pub fn keeping(mut self) -> Self {
        self.keep = true;
        self
    }

    /// Reads what was written since the last call.
    pub fn read(&mut self) -> &mut Self {
        let Ok(mut file) = std::fs::File::open(&self.path) else {
            return self;
        };
        if file.seek(std::io::SeekFrom::Start(self.offset)).is_err() {
            return self;
        }
        let mut reader = std::io::BufReader::new(file);
        let mut line = String::new();
        while let Ok(read) = reader.read_line(&mut line) {
            if read == 0 || !line.ends_with('\n') {
                break;
            }
            self.offset += read as u64;
            if let Ok(value) = serde_json::from_str::<Value>(&line) {
                let id = match &value[self.id] {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                let time = value[self.time].as_str().unwrap_or_default().to_string();
                *self.counts.entry((id, time)).or_default() += 1;
                if self.keep {
                    self.kept.push(value);
                }
            }
            line.clear();
        }
        self
    }

    /// How many times each version came.
    pub fn counts(&self) -> &HashMap<Version, usize> {
        &self.counts
    }

    /// How many of `versions` have not come.
    pub fn missing(&self, versions: &[Version]) -> usize {
        versions
            .iter()
            .filter(|key| !self.counts.contains_key(*key))
            .count()
    }

    /// Versions that came more than once.
    pub fn repeated(&self) -> Vec<&Version> {
        self.counts
            .iter()
            .filter(|(_, count)| **count > 1)
            .map(|(version, _)| version)
            .collect()
    }
}

fn shuffle<T>(items: &mut [T], dice: &mut Dice) {
    for index in (1..items.len()).rev() {
        let other = (dice.draw() * (index + 1) as f64) as usize;
        items.swap(index, other.min(index));
    }
}
