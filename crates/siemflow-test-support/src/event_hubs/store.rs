//! The hubs' partitions: events retained in memory with the sequence numbers, offsets and
//! enqueue times Event Hubs assigns, and a wake-up for receivers waiting at the end.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use fe2o3_amqp_types::messaging::{Body, Message};
use fe2o3_amqp_types::primitives::Value;
use tokio::sync::Notify;

/// One retained event.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// `x-opt-sequence-number`: 0, 1, 2... per partition.
    pub sequence_number: i64,
    /// `x-opt-offset`: the event's byte position in the partition, as Event Hubs' was (opaque).
    pub offset: i64,
    /// `x-opt-enqueued-time`, milliseconds since the epoch.
    pub enqueued_ms: i64,
    /// `x-opt-partition-key`, when the sender gave one.
    pub partition_key: Option<String>,
    /// The event as sent.
    pub message: Message<Body<Value>>,
}

/// One partition's log.
#[derive(Debug, Default)]
pub struct Partition {
    /// The events, in order.
    pub events: Vec<StoredEvent>,
    next_offset: i64,
}

/// A hub and its consumer groups.
#[derive(Debug)]
pub struct Hub {
    /// The hub's name.
    pub name: String,
    /// Consumer groups receivers may name (`$Default` always).
    pub consumer_groups: Vec<String>,
    /// Partitions `0..n`.
    pub partitions: Vec<Partition>,
    /// When it was "created", milliseconds since the epoch.
    pub created_ms: i64,
    next_partition: usize,
}

/// Every hub of the namespace, shared by the connections.
#[derive(Debug, Default)]
pub struct Store {
    hubs: Mutex<HashMap<String, Hub>>,
    /// Woken whenever an event is stored.
    pub appended: Notify,
}

/// What a hub and partition lookup can fail with (Event Hubs' error condition and text).
pub type LookupError = (&'static str, String);

impl Store {
    /// A store with `hubs`: `(name, partition count, extra consumer groups)`.
    pub fn new(hubs: &[(String, usize, Vec<String>)]) -> Arc<Self> {
        let now = now_ms();
        let store = Self::default();
        {
            let mut map = store.lock();
            for (name, partitions, groups) in hubs {
                let mut consumer_groups = vec!["$Default".to_string()];
                consumer_groups.extend(groups.iter().cloned());
                map.insert(
                    name.to_ascii_lowercase(),
                    Hub {
                        name: name.clone(),
                        consumer_groups,
                        partitions: (0..*partitions).map(|_| Partition::default()).collect(),
                        created_ms: now,
                        next_partition: 0,
                    },
                );
            }
        }
        Arc::new(store)
    }

    /// Runs `work` on the hubs.
    pub fn with<R>(&self, work: impl FnOnce(&mut HashMap<String, Hub>) -> R) -> R {
        work(&mut self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Hub>> {
        self.hubs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends `message` to `hub`, to `partition` or (with none) by partition key or round robin.
    pub fn append(
        &self,
        hub: &str,
        partition: Option<usize>,
        partition_key: Option<String>,
        message: Message<Body<Value>>,
        size: usize,
    ) -> Result<(), LookupError> {
        {
            let mut hubs = self.lock();
            let hub = hubs
                .get_mut(&hub.to_ascii_lowercase())
                .ok_or_else(|| not_found(hub))?;
            let count = hub.partitions.len();
            let index = match (partition, &partition_key) {
                (Some(index), _) if index < count => index,
                (Some(index), _) => return Err(out_of_range(&hub.name, index)),
                (None, Some(key)) => {
                    key.bytes().fold(0usize, |hash, byte| {
                        hash.wrapping_mul(31).wrapping_add(usize::from(byte))
                    }) % count
                }
                (None, None) => {
                    hub.next_partition = (hub.next_partition + 1) % count;
                    hub.next_partition
                }
            };
            let log = &mut hub.partitions[index];
            let sequence_number = log.events.len() as i64;
            let offset = log.next_offset;
            log.next_offset += size.max(1) as i64;
            log.events.push(StoredEvent {
                sequence_number,
                offset,
                enqueued_ms: now_ms(),
                partition_key,
                message,
            });
        }
        self.appended.notify_waiters();
        Ok(())
    }

    /// The events of a partition from index `from`, at most `limit`.
    pub fn read(
        &self,
        hub: &str,
        partition: usize,
        from: usize,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, LookupError> {
        let hubs = self.lock();
        let hub_entry = hubs
            .get(&hub.to_ascii_lowercase())
            .ok_or_else(|| not_found(hub))?;
        let log = hub_entry
            .partitions
            .get(partition)
            .ok_or_else(|| out_of_range(&hub_entry.name, partition))?;
        Ok(log.events.iter().skip(from).take(limit).cloned().collect())
    }
}

/// `com.microsoft:entity-not-found`.
pub fn not_found(hub: &str) -> LookupError {
    (
        "amqp:not-found",
        format!("The messaging entity '{hub}' could not be found."),
    )
}

/// `com.microsoft:argument-out-of-range` for a partition id.
pub fn out_of_range(hub: &str, partition: usize) -> LookupError {
    (
        "com.microsoft:argument-out-of-range",
        format!(
            "The specified partition is invalid for an EventHub partition sender or receiver. hub {hub}, partition {partition}"
        ),
    )
}

/// Now, in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}
