//! Keeps one reader running per partition this instance reads: every partition with the file
//! store, the partitions the [`Balancer`] claims with the blob store (stopping those it loses).
//! A partition taken by another receiver (`amqp:link:stolen`) is tried again after
//! `stolen_retry`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use siemflow_core::backoff::Backoff;
use siemflow_core::component::ComponentContext;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::balance::Balancer;
use super::checkpoint::{PartitionPosition, Position};
use super::partition::{Ended, PartitionReader, ReaderSettings};
use crate::azure::event_hubs::namespace::{AmqpFailure, FailureKind};
use crate::sources::json_stream::ReadBatch;

/// Who decides which partitions this instance reads.
#[derive(Debug)]
pub enum Assignment {
    /// Every partition, from these positions.
    All(BTreeMap<String, PartitionPosition>),
    /// The share the balancer claims, worked out every interval.
    Balanced(Balancer, Duration),
}

/// Reading partitions, each with its own stop.
struct Readers {
    settings: Arc<ReaderSettings>,
    component: ComponentContext,
    batches: mpsc::Sender<ReadBatch<Position>>,
    shutdown: CancellationToken,
    set: JoinSet<(String, u64, Ended, Option<PartitionPosition>)>,
    running: HashMap<String, (u64, CancellationToken)>,
    generation: u64,
}

impl Readers {
    fn start(&mut self, id: String, from: Option<PartitionPosition>, wait: Duration) {
        self.generation += 1;
        let generation = self.generation;
        let stop = self.shutdown.child_token();
        let reader = PartitionReader::new(
            self.settings.clone(),
            &id,
            from,
            self.component.clone(),
            self.batches.clone(),
            stop.clone(),
        );
        self.running.insert(id.clone(), (generation, stop.clone()));
        self.set
            .spawn(tracing::Instrument::in_current_span(async move {
                tokio::select! {
                    () = stop.cancelled() => return (id, generation, Ended::Stopped, None),
                    () = tokio::time::sleep(wait) => {}
                }
                let (ended, last) = reader.run().await;
                (id, generation, ended, last)
            }));
    }

    fn stop(&mut self, id: &str) {
        if let Some((_, stop)) = self.running.remove(id) {
            stop.cancel();
        }
    }

    /// A reader ended: restarts it if it was stolen while still wanted; the namespace's refusal
    /// of the credentials, which ends the source.
    fn ended(
        &mut self,
        id: String,
        generation: u64,
        ended: Ended,
        last: Option<PartitionPosition>,
    ) -> Option<AmqpFailure> {
        let current = self
            .running
            .get(&id)
            .is_some_and(|(running, _)| *running == generation);
        if !current {
            return None;
        }
        self.running.remove(&id);
        match ended {
            Ended::Stolen if !self.shutdown.is_cancelled() => {
                let wait = self.settings.stolen_retry;
                self.start(id, last, wait);
                None
            }
            Ended::Refused(failure) => Some(failure),
            Ended::Stolen | Ended::Stopped => None,
        }
    }

    /// Stops every reader.
    fn stop_all(&mut self) {
        for (_, (_, stop)) in self.running.drain() {
            stop.cancel();
        }
    }
}

/// How the readers ended: the balancer (to give the partitions up once the last checkpoint is
/// written), and the namespace's refusal of the credentials if that is why.
#[derive(Debug)]
pub struct Supervised {
    /// The balancer, with the blob store.
    pub balancer: Option<Balancer>,
    /// Why the source must stop, if the namespace refused the credentials.
    pub refused: Option<AmqpFailure>,
}

/// Finds the partitions and runs the readers until shutdown, or until the namespace refuses the
/// credentials (then every reader stops and the refusal is returned).
pub async fn supervise(
    settings: Arc<ReaderSettings>,
    only: Option<Vec<String>>,
    mut assignment: Assignment,
    component: ComponentContext,
    batches: mpsc::Sender<ReadBatch<Position>>,
    shutdown: CancellationToken,
) -> Supervised {
    let balancer = |assignment: Assignment| match assignment {
        Assignment::Balanced(balancer, _) => Some(balancer),
        Assignment::All(_) => None,
    };
    let mut ids = match partition_ids(&settings, &component, &shutdown).await {
        Ok(Some(ids)) => ids,
        Ok(None) => {
            return Supervised {
                balancer: balancer(assignment),
                refused: None,
            };
        }
        Err(refused) => {
            return Supervised {
                balancer: balancer(assignment),
                refused: Some(refused),
            };
        }
    };
    if let Some(only) = &only {
        for id in only.iter().filter(|id| !ids.contains(id)) {
            component.metrics.error(
                "unknown_partition",
                &format_args!("the hub {} has no partition {id}", settings.hub),
            );
        }
        ids.retain(|id| only.contains(id));
    }
    let mut readers = Readers {
        settings: settings.clone(),
        component: component.clone(),
        batches,
        shutdown: shutdown.clone(),
        set: JoinSet::new(),
        running: HashMap::new(),
        generation: 0,
    };
    let mut rounds = match &mut assignment {
        Assignment::All(saved) => {
            tracing::info!(hub = %settings.hub, partitions = ?ids, "reading partitions");
            for id in &ids {
                let from = saved.get(id).cloned();
                readers.start(id.clone(), from, Duration::ZERO);
            }
            None
        }
        Assignment::Balanced(_, interval) => {
            tracing::info!(
                hub = %settings.hub,
                partitions = ?ids,
                "sharing partitions with the other instances of the consumer group"
            );
            let mut rounds = tokio::time::interval(*interval);
            rounds.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            Some(rounds)
        }
    };
    let mut refused = None;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = async { rounds.as_mut().expect("guarded").tick().await }, if rounds.is_some() => {
                let Assignment::Balanced(balancer, _) = &mut assignment else { continue };
                match balancer.round(&ids).await {
                    Ok(changes) => {
                        for id in &changes.lost {
                            tracing::info!(partition = %id, "partition taken by another instance");
                            readers.stop(id);
                        }
                        for (id, from) in changes.claimed {
                            tracing::info!(partition = %id, from = ?from.as_ref().map(|p| p.sequence_number), "partition claimed");
                            readers.start(id, from, Duration::ZERO);
                        }
                    }
                    Err(error) => {
                        component.metrics.error(
                            "ownership_failed",
                            &format_args!("cannot renew or claim partition ownership: {error}"),
                        );
                    }
                }
            }
            Some(joined) = readers.set.join_next(), if !readers.set.is_empty() => match joined {
                Ok((id, generation, ended, last)) => {
                    if let Some(failure) = readers.ended(id, generation, ended, last) {
                        refused = Some(failure);
                        break;
                    }
                }
                Err(error) => component.metrics.error(
                    "reader_failed",
                    &format_args!("a partition reader failed: {error}"),
                ),
            },
        }
    }
    readers.stop_all();
    while readers.set.join_next().await.is_some() {}
    Supervised {
        balancer: balancer(assignment),
        refused,
    }
}

/// The hub's partition ids, asked until the answer comes or the source stops (`None`); the
/// namespace's refusal of the credentials is not asked again.
async fn partition_ids(
    settings: &ReaderSettings,
    component: &ComponentContext,
    shutdown: &CancellationToken,
) -> Result<Option<Vec<String>>, AmqpFailure> {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(60));
    loop {
        let attempt = async {
            let mut connection = settings
                .namespace
                .connect(&format!("{}-management", settings.client_id))
                .await?;
            let ids = connection.partition_ids(&settings.hub).await;
            connection.close().await;
            ids
        };
        let failure = tokio::select! {
            () = shutdown.cancelled() => return Ok(None),
            answer = attempt => match answer {
                Ok(ids) => return Ok(Some(ids)),
                Err(failure) => failure,
            },
        };
        component.metrics.error(failure.kind().label(), &failure);
        if failure.kind() == FailureKind::Unauthorized {
            return Err(failure);
        }
        let delay = backoff.next_delay();
        tracing::warn!(retry_in = ?delay, "{failure}");
        tokio::select! {
            () = shutdown.cancelled() => return Ok(None),
            () = tokio::time::sleep(delay) => {}
        }
    }
}
