//! Sharing a hub's partitions between siemflow instances through the blob store's ownership
//! records, the way the Azure SDKs' event processors balance load.
//!
//! Every `balance_interval` each instance lists the records, renews its own (a conditional
//! write over the version it holds: losing that race means another instance took the
//! partition), and works out its fair share from the instances with a live record: `n / k`
//! partitions, one more for the first `n % k`. Below its share it claims partitions nobody
//! owns (never renewed within `ownership_expiry`, or given up), all it needs at once; when none
//! are free it takes one partition from an instance above its share. A killed instance's
//! records expire and the others claim them; one that stops cleanly gives its records up.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use xxhash_rust::xxh3::xxh3_64;

use super::blob_store::{BlobCheckpointStore, Ownership};
use super::checkpoint::PartitionPosition;
use crate::azure::storage::client::BlobError;

/// What one balancing round does.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Own records to renew: partition and the version held.
    pub renew: Vec<(String, String)>,
    /// Partitions to claim, over the version listed (`None`: no record yet).
    pub claim: Vec<(String, Option<String>)>,
}

/// The round for `me`, from the listed records. `seed` picks among equal candidates, so
/// instances starting together do not all go for the same partitions.
pub fn plan(
    partitions: &[String],
    listed: &[Ownership],
    me: &str,
    now: SystemTime,
    expiry: Duration,
    seed: u64,
) -> Plan {
    let listed: HashMap<&str, &Ownership> = listed
        .iter()
        .filter(|record| partitions.contains(&record.partition))
        .map(|record| (record.partition.as_str(), record))
        .collect();
    // A record from a clock ahead of ours is live too.
    let live = |record: &Ownership| {
        !record.owner.is_empty()
            && now
                .duration_since(record.modified)
                .map_or(true, |age| age < expiry)
    };
    let mut counts: BTreeMap<&str, Vec<&Ownership>> = BTreeMap::new();
    counts.entry(me).or_default();
    for record in listed.values().copied().filter(|record| live(record)) {
        counts
            .entry(record.owner.as_str())
            .or_default()
            .push(record);
    }
    let mine = &counts[me];
    let renew = mine
        .iter()
        .map(|record| (record.partition.clone(), record.etag.clone()))
        .collect();

    let n = partitions.len();
    let instances = counts.len();
    let min = n / instances;
    let extra = n % instances;
    let max = min + usize::from(extra > 0);
    let have = mine.len();
    let others_above_min = counts
        .iter()
        .filter(|(owner, owned)| **owner != me && owned.len() > min)
        .count();
    let target = min + usize::from(extra > 0 && others_above_min < extra);
    let wants = target.saturating_sub(have);
    let mut claim = Vec::new();
    if wants > 0 {
        let mut free: Vec<(String, Option<String>)> = partitions
            .iter()
            .filter(|partition| {
                listed
                    .get(partition.as_str())
                    .is_none_or(|record| !live(record))
            })
            .map(|partition| {
                let over = listed
                    .get(partition.as_str())
                    .map(|record| record.etag.clone());
                (partition.clone(), over)
            })
            .collect();
        rotate(&mut free, seed);
        if free.is_empty() {
            let above = |limit: usize| -> Vec<&Ownership> {
                counts
                    .iter()
                    .filter(|(owner, owned)| **owner != me && owned.len() > limit)
                    .flat_map(|(_, owned)| owned.iter().copied())
                    .collect()
            };
            let mut victims = above(max);
            if victims.is_empty() && have < min {
                victims = above(have + 1);
            }
            victims.sort_by(|a, b| a.partition.cmp(&b.partition));
            if !victims.is_empty() {
                let taken = victims[(seed % victims.len() as u64) as usize];
                claim.push((taken.partition.clone(), Some(taken.etag.clone())));
            }
        } else {
            free.truncate(wants);
            claim = free;
        }
    }
    Plan { renew, claim }
}

fn rotate<T>(items: &mut [T], seed: u64) {
    if !items.is_empty() {
        let by = (seed % items.len() as u64) as usize;
        items.rotate_left(by);
    }
}

/// Which partitions this instance owns, and the highest position known to be in the store for
/// each: shared by the balancer and the checkpoint writer, which writes only positions of
/// owned partitions beyond what the store has.
#[derive(Debug, Default)]
pub struct Owned {
    /// Partition id to the version of its ownership record.
    pub partitions: HashMap<String, String>,
    /// Partition id to the highest sequence number known stored.
    pub stored: HashMap<String, i64>,
}

/// What a round changed.
#[derive(Debug, Default)]
pub struct Changes {
    /// Partitions claimed, with the checkpoint to resume after.
    pub claimed: Vec<(String, Option<PartitionPosition>)>,
    /// Partitions lost to another instance.
    pub lost: Vec<String>,
}

/// One instance's side of the balancing.
#[derive(Debug)]
pub struct Balancer {
    store: BlobCheckpointStore,
    me: String,
    expiry: Duration,
    owned: Arc<Mutex<Owned>>,
    rounds: u64,
}

impl Balancer {
    /// The balancer of instance `me`.
    pub fn new(store: BlobCheckpointStore, me: String, expiry: Duration) -> Self {
        Self {
            store,
            me,
            expiry,
            owned: Arc::default(),
            rounds: 0,
        }
    }

    /// The state shared with the checkpoint writer.
    pub fn owned(&self) -> Arc<Mutex<Owned>> {
        self.owned.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Owned> {
        self.owned
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// One round over `partitions`.
    pub async fn round(&mut self, partitions: &[String]) -> Result<Changes, BlobError> {
        self.rounds += 1;
        let listed = self.store.ownerships().await?;
        let seed = xxh3_64(format!("{}/{}", self.me, self.rounds).as_bytes());
        let plan = plan(
            partitions,
            &listed,
            &self.me,
            SystemTime::now(),
            self.expiry,
            seed,
        );
        let mut held = HashMap::new();
        let mut failure = None;
        for (partition, etag) in &plan.renew {
            match self.store.claim(partition, &self.me, Some(etag)).await {
                Ok(Some(renewed)) => {
                    held.insert(partition.clone(), renewed);
                }
                Ok(None) => {}
                Err(error) => {
                    // Keep it for now: the record may well still be ours; the next round
                    // tells.
                    held.insert(partition.clone(), etag.clone());
                    failure = Some(error);
                }
            }
        }
        let mut claimed = Vec::new();
        for (partition, over) in &plan.claim {
            match self.store.claim(partition, &self.me, over.as_deref()).await {
                Ok(Some(etag)) => {
                    held.insert(partition.clone(), etag);
                    claimed.push(partition.clone());
                }
                Ok(None) => {}
                Err(error) => failure = Some(error),
            }
        }
        let checkpoints = if claimed.is_empty() {
            BTreeMap::new()
        } else {
            match self.store.checkpoints().await {
                Ok(checkpoints) => checkpoints,
                Err(error) => {
                    // Without the checkpoint the partition cannot start at the right place:
                    // give the claims up and try again next round.
                    for partition in &claimed {
                        if let Some(etag) = held.remove(partition) {
                            let _ = self.store.claim(partition, "", Some(&etag)).await;
                        }
                    }
                    claimed.clear();
                    failure = Some(error);
                    BTreeMap::new()
                }
            }
        };
        let mut owned = self.lock();
        let lost: Vec<String> = owned
            .partitions
            .keys()
            .filter(|partition| !held.contains_key(*partition))
            .cloned()
            .collect();
        let mut changes = Changes {
            lost,
            claimed: Vec::new(),
        };
        for partition in claimed {
            // Renewing a record this instance already reads is not a new claim.
            if owned.partitions.contains_key(&partition) {
                continue;
            }
            let position = checkpoints.get(&partition).cloned();
            if let Some(position) = &position {
                owned
                    .stored
                    .insert(partition.clone(), position.sequence_number);
            } else {
                owned.stored.remove(&partition);
            }
            changes.claimed.push((partition, position));
        }
        owned.partitions = held;
        drop(owned);
        match (
            failure,
            changes.claimed.is_empty() && changes.lost.is_empty(),
        ) {
            (Some(error), true) => Err(error),
            _ => Ok(changes),
        }
    }

    /// Gives every owned partition up, so other instances take them at once.
    pub async fn relinquish(&self) {
        let owned: Vec<(String, String)> = self.lock().partitions.drain().collect();
        for (partition, etag) in owned {
            if let Err(error) = self.store.claim(&partition, "", Some(&etag)).await {
                tracing::warn!(%partition, "cannot give the partition up: {error}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXPIRY: Duration = Duration::from_secs(60);

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|id| id.to_string()).collect()
    }

    fn record(partition: usize, owner: &str, age: u64, now: SystemTime) -> Ownership {
        Ownership {
            partition: partition.to_string(),
            owner: owner.into(),
            modified: now - Duration::from_secs(age),
            etag: format!("e{partition}"),
        }
    }

    /// Runs rounds for `instances` against one in-memory set of records until nothing changes.
    fn settle(instances: &[&str], n: usize, records: &mut Vec<Ownership>, now: SystemTime) {
        for round in 0..50u64 {
            let mut changed = false;
            for me in instances {
                let plan = plan(&ids(n), records, me, now, EXPIRY, round);
                for (partition, _) in plan.claim {
                    records.retain(|record| record.partition != partition);
                    records.push(record(partition.parse().unwrap(), me, 0, now));
                    changed = true;
                }
            }
            if !changed {
                return;
            }
        }
        panic!("the balance never settled: {records:?}");
    }

    fn shares(records: &[Ownership]) -> BTreeMap<String, usize> {
        let mut shares = BTreeMap::new();
        for record in records {
            *shares.entry(record.owner.clone()).or_default() += 1;
        }
        shares
    }

    #[test]
    fn a_lone_instance_claims_every_free_partition_in_one_round() {
        let now = SystemTime::now();
        let plan = plan(&ids(4), &[], "a", now, EXPIRY, 7);
        assert!(plan.renew.is_empty());
        let mut claimed: Vec<_> = plan
            .claim
            .into_iter()
            .map(|(id, over)| (id, over.is_none()))
            .collect();
        claimed.sort();
        assert_eq!(
            claimed,
            vec![
                ("0".into(), true),
                ("1".into(), true),
                ("2".into(), true),
                ("3".into(), true)
            ]
        );
    }

    #[test]
    fn a_newcomer_takes_one_partition_a_round_until_the_split_is_even() {
        let now = SystemTime::now();
        let mut records: Vec<_> = (0..4).map(|p| record(p, "a", 5, now)).collect();
        let first = plan(&ids(4), &records, "b", now, EXPIRY, 0);
        assert_eq!(first.claim.len(), 1, "one steal per round: {first:?}");
        assert_eq!(
            first.claim[0].1.as_deref(),
            Some("e0"),
            "over the listed version"
        );
        settle(&["a", "b"], 4, &mut records, now);
        assert_eq!(
            shares(&records),
            BTreeMap::from([("a".into(), 2), ("b".into(), 2)])
        );
        let steady = plan(&ids(4), &records, "a", now, EXPIRY, 3);
        assert_eq!(steady.renew.len(), 2);
        assert!(steady.claim.is_empty());
    }

    #[test]
    fn records_of_a_dead_instance_expire_and_go_to_the_living() {
        let now = SystemTime::now();
        let mut records = vec![
            record(0, "a", 5, now),
            record(1, "a", 5, now),
            record(2, "dead", 61, now),
            record(3, "dead", 61, now),
        ];
        let plan_a = plan(&ids(4), &records, "a", now, EXPIRY, 1);
        assert_eq!(plan_a.claim.len(), 2, "{plan_a:?}");
        assert!(plan_a.claim.iter().all(|(_, over)| over.is_some()));
        settle(&["a"], 4, &mut records, now);
        assert_eq!(shares(&records), BTreeMap::from([("a".into(), 4)]));
    }

    #[test]
    fn uneven_counts_settle_within_one_of_each_other() {
        let now = SystemTime::now();
        let mut records = Vec::new();
        settle(&["a", "b", "c"], 32, &mut records, now);
        let shares = shares(&records);
        assert_eq!(shares.values().sum::<usize>(), 32);
        assert!(
            shares.values().all(|count| *count == 10 || *count == 11),
            "{shares:?}"
        );
        let given_up = vec![record(0, "", 1, now)];
        assert_eq!(plan(&ids(1), &given_up, "a", now, EXPIRY, 0).claim.len(), 1);
    }
}
