//! One partition's reader: its own connection and receive link, started from the position
//! after the last event it handed on (or the configured start), re-authorized before its
//! token expires, and reconnected with backoff when the link or the connection fails.
//!
//! Flow control is the link credit: the reader only takes a message from the link when it can
//! hand its batch on, and the credit is refilled only as messages are taken, so a pipeline held
//! back by a full buffer stops the partition at the service.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use siemflow_core::backoff::Backoff;
use siemflow_core::codec::{EventTypes, OVERSIZE_PREFIX_BYTES};
use siemflow_core::component::ComponentContext;
use siemflow_core::dead_letter::DeadLetter;
use siemflow_core::event::{EventBatch, Origin};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use xxhash_rust::xxh3::xxh3_64;

use super::checkpoint::{PartitionPosition, Position};
use super::message;
use crate::azure::event_hubs::namespace::{
    AmqpFailure, FailureKind, Namespace, PartitionProperties,
};
use crate::sources::json_stream::{ReadBatch, decode_records};

/// Where a partition starts when it has no checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartPosition {
    /// The oldest retained event.
    Earliest,
    /// Only events enqueued after the reader attaches.
    Latest,
    /// Events enqueued after this time.
    EnqueuedAfter(SystemTime),
}

impl StartPosition {
    /// The selector filter that starts there.
    fn selector(&self) -> String {
        match self {
            StartPosition::Earliest => "amqp.annotation.x-opt-offset > '-1'".into(),
            StartPosition::Latest => "amqp.annotation.x-opt-offset > '@latest'".into(),
            StartPosition::EnqueuedAfter(time) => format!(
                "amqp.annotation.x-opt-enqueued-time > '{}'",
                time.duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |since| since.as_millis())
            ),
        }
    }
}

/// What every partition reader of a source shares.
#[derive(Debug, Clone)]
pub struct ReaderSettings {
    /// The namespace.
    pub namespace: Namespace,
    /// The hub.
    pub hub: String,
    /// The consumer group.
    pub consumer_group: String,
    /// Where to start without a checkpoint.
    pub start: StartPosition,
    /// Messages the service may send ahead of what the pipeline took.
    pub prefetch: u32,
    /// Events per batch.
    pub batch_size: usize,
    /// How long a partial batch waits for more events.
    pub batch_timeout: Duration,
    /// Message bodies larger than this are dead-lettered.
    pub max_event_bytes: usize,
    /// A prefix for AMQP container and link names.
    pub client_id: String,
    /// How long a stolen partition is left alone before it is tried again.
    pub stolen_retry: Duration,
    /// How often the partition's end is read from `$management` for the lag gauge.
    pub lag_interval: Duration,
}

/// Why a reader ended.
#[derive(Debug, Clone)]
pub enum Ended {
    /// Shutdown, or nobody takes batches any more.
    Stopped,
    /// Another receiver took the partition (`amqp:link:stolen`).
    Stolen,
    /// The namespace refused the credentials: trying again cannot help.
    Refused(AmqpFailure),
}

/// A partition's reader.
#[derive(Debug)]
pub struct PartitionReader {
    settings: Arc<ReaderSettings>,
    partition: Arc<str>,
    component: ComponentContext,
    origin: Arc<Origin>,
    identity: [u8; 8],
    types: EventTypes,
    batches: mpsc::Sender<ReadBatch<Position>>,
    shutdown: CancellationToken,
    /// The last event handed on: where a new link resumes.
    last: Option<PartitionPosition>,
}

/// What a link session ended with.
enum LinkEnd {
    Stopped,
    Failed(AmqpFailure),
}

impl PartitionReader {
    /// A reader of `partition` resuming after `checkpoint` (or at the configured start).
    pub fn new(
        settings: Arc<ReaderSettings>,
        partition: &str,
        checkpoint: Option<PartitionPosition>,
        component: ComponentContext,
        batches: mpsc::Sender<ReadBatch<Position>>,
        shutdown: CancellationToken,
    ) -> Self {
        let identity = xxh3_64(
            format!("{}/{}/{}", settings.namespace.host, settings.hub, partition)
                .to_ascii_lowercase()
                .as_bytes(),
        )
        .to_le_bytes();
        Self {
            origin: component.origin(),
            settings,
            partition: Arc::from(partition),
            component,
            identity,
            types: EventTypes::default(),
            batches,
            shutdown,
            last: checkpoint,
        }
    }

    fn address(&self) -> String {
        format!(
            "{}/ConsumerGroups/{}/Partitions/{}",
            self.settings.hub, self.settings.consumer_group, self.partition
        )
    }

    fn selector(&self) -> String {
        match &self.last {
            Some(position) => format!(
                "amqp.annotation.x-opt-sequence-number > '{}'",
                position.sequence_number
            ),
            None => self.settings.start.selector(),
        }
    }

    /// Reads until shutdown or until the partition is taken by another receiver; returns why,
    /// and the last event handed on. The partition's lag gauge goes with it: another reader
    /// (here or in another instance) reports it from then on.
    pub async fn run(self) -> (Ended, Option<PartitionPosition>) {
        let metrics = self.component.metrics.clone();
        let partition = self.partition.clone();
        let ended = self.read().await;
        metrics.forget_lag_events(&partition);
        ended
    }

    async fn read(mut self) -> (Ended, Option<PartitionPosition>) {
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(60));
        loop {
            if self.shutdown.is_cancelled() || self.batches.is_closed() {
                return (Ended::Stopped, self.last);
            }
            let before = self.last.as_ref().map(|last| last.sequence_number);
            let failure = match self.link().await {
                LinkEnd::Stopped => return (Ended::Stopped, self.last),
                LinkEnd::Failed(failure) => failure,
            };
            let kind = failure.kind();
            if self.last.as_ref().map(|last| last.sequence_number) != before {
                // The link worked for a while: start the delays over.
                backoff.reset();
            }
            let mut delay = backoff.next_delay();
            match kind {
                FailureKind::Stolen => {
                    tracing::warn!(partition = %self.partition, "{failure}; giving the partition up");
                    self.component.metrics.error(kind.label(), &failure);
                    return (Ended::Stolen, self.last);
                }
                FailureKind::Unauthorized => {
                    self.component.metrics.error(kind.label(), &failure);
                    return (Ended::Refused(failure), self.last);
                }
                FailureKind::Throttled => {
                    // The service asks for a few seconds; do not hammer a throttled namespace.
                    delay = delay.max(Duration::from_secs(4));
                    self.component.metrics.throttled(kind.label(), delay);
                }
                _ => {}
            }
            self.component.metrics.error(kind.label(), &failure);
            tracing::warn!(
                partition = %self.partition,
                retry_in = ?delay,
                "{failure}"
            );
            tokio::select! {
                () = self.shutdown.cancelled() => return (Ended::Stopped, self.last),
                () = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// One connection and link, until it fails or the reader stops.
    async fn link(&mut self) -> LinkEnd {
        let settings = self.settings.clone();
        let name = format!("{}-{}", settings.client_id, self.partition);
        let mut connection = tokio::select! {
            () = self.shutdown.cancelled() => return LinkEnd::Stopped,
            connected = settings.namespace.connect(&name) => match connected {
                Ok(connection) => connection,
                Err(failure) => return LinkEnd::Failed(failure),
            },
        };
        let audience = format!(
            "{}/ConsumerGroups/{}",
            settings.hub, settings.consumer_group
        );
        let end = self.receive(&mut connection, &name, &audience).await;
        connection.close().await;
        end
    }

    async fn receive(
        &mut self,
        connection: &mut crate::azure::event_hubs::namespace::NamespaceConnection,
        name: &str,
        audience: &str,
    ) -> LinkEnd {
        let mut expires = match connection.authorize(audience).await {
            Ok(expires) => expires,
            Err(failure) => return LinkEnd::Failed(failure),
        };
        let address = self.address();
        let selector = self.selector();
        let mut receiver = match connection
            .receiver(name, &address, &selector, self.settings.prefetch)
            .await
        {
            Ok(receiver) => receiver,
            Err(failure) => return LinkEnd::Failed(failure),
        };
        tracing::debug!(partition = %self.partition, %selector, "receiving");
        let mut lag_at = tokio::time::Instant::now();
        let mut batch: EventBatch = Vec::new();
        let mut batch_end: Option<PartitionPosition> = None;
        let mut batch_deadline = tokio::time::Instant::now();
        let mut dead_letter_failed = false;
        loop {
            let renew_in = renewal_delay(expires);
            tokio::select! {
                biased;
                () = self.shutdown.cancelled() => {
                    receiver.close().await;
                    return LinkEnd::Stopped;
                }
                () = tokio::time::sleep(renew_in) => {
                    match connection.authorize(audience).await {
                        Ok(renewed) => expires = renewed,
                        Err(failure) => return LinkEnd::Failed(failure),
                    }
                }
                () = tokio::time::sleep_until(lag_at) => {
                    self.report_lag(connection).await;
                    lag_at = tokio::time::Instant::now() + self.settings.lag_interval;
                }
                () = tokio::time::sleep_until(batch_deadline), if batch_end.is_some() => {
                    if !self.flush(&mut batch, &mut batch_end, &mut dead_letter_failed, connection, &mut lag_at).await {
                        return LinkEnd::Stopped;
                    }
                }
                received = receiver.recv() => {
                    let received = match received {
                        Ok(received) => received,
                        Err(failure) => {
                            // What was read so far is handed on before reconnecting.
                            if !self.flush(&mut batch, &mut batch_end, &mut dead_letter_failed, connection, &mut lag_at).await {
                                return LinkEnd::Stopped;
                            }
                            return LinkEnd::Failed(failure);
                        }
                    };
                    let event = message::read(received);
                    let Some(sequence_number) = event.sequence_number else {
                        return LinkEnd::Failed(AmqpFailure {
                            what: format!("receive from {address}"),
                            condition: None,
                            message: "a message without x-opt-sequence-number".into(),
                        });
                    };
                    if batch_end.is_none() {
                        batch_deadline = tokio::time::Instant::now() + self.settings.batch_timeout;
                    }
                    if !self.add(&event, sequence_number, &mut batch) {
                        dead_letter_failed = true;
                    }
                    batch_end = Some(PartitionPosition {
                        sequence_number,
                        offset: event.offset,
                        enqueued_ms: event.enqueued_ms,
                    });
                    if batch.len() >= self.settings.batch_size
                        && !self.flush(&mut batch, &mut batch_end, &mut dead_letter_failed, connection, &mut lag_at).await
                    {
                        return LinkEnd::Stopped;
                    }
                    // Credit is granted only once the message is in a batch that was handed on
                    // or is still open, so a held-back pipeline stops the service.
                    if let Err(failure) = receiver.taken().await {
                        if !self.flush(&mut batch, &mut batch_end, &mut dead_letter_failed, connection, &mut lag_at).await {
                            return LinkEnd::Stopped;
                        }
                        return LinkEnd::Failed(failure);
                    }
                }
            }
        }
    }

    /// Reads how far the partition goes and sets the lag gauge: the events enqueued after the
    /// last one handed on. A failed read is logged and tried again at the next interval; it
    /// does not end the link.
    async fn report_lag(
        &self,
        connection: &mut crate::azure::event_hubs::namespace::NamespaceConnection,
    ) {
        match connection
            .partition_properties(&self.settings.hub, &self.partition)
            .await
        {
            Ok(properties) => {
                let read = self.last.as_ref().map(|last| last.sequence_number);
                if let Some(lag) = events_behind(&properties, read, &self.settings.start) {
                    self.component.metrics.lag_events(&self.partition, lag);
                }
            }
            Err(failure) => {
                tracing::debug!(partition = %self.partition, "lag not measured: {failure}");
            }
        }
    }

    /// Splits a message into events; dead-letters what cannot be read. `false` when a dead
    /// letter could not be written (the batch must then fail).
    fn add(
        &mut self,
        event: &message::ReceivedEvent,
        sequence_number: i64,
        batch: &mut EventBatch,
    ) -> bool {
        let body = match &event.body {
            Ok(body) => body,
            Err(reason) => return self.dead_letter(reason, &[], 0, sequence_number),
        };
        self.component.metrics.received(0, body.len());
        if body.len() > self.settings.max_event_bytes {
            let reason = format!(
                "oversize: message of {} bytes exceeds max_event_bytes",
                body.len()
            );
            let prefix = &body[..body.len().min(OVERSIZE_PREFIX_BYTES)];
            return self.dead_letter(&reason, prefix, body.len(), sequence_number);
        }
        let sequence = sequence_number.to_le_bytes();
        match decode_records(
            body,
            &mut self.types,
            &self.origin,
            [&self.identity, &sequence],
            batch,
        ) {
            Ok(()) => true,
            Err(error) => self.dead_letter(&error.to_string(), body, body.len(), sequence_number),
        }
    }

    fn dead_letter(&self, reason: &str, body: &[u8], size: usize, sequence_number: i64) -> bool {
        let position = format!("partition {} sequence {sequence_number}", self.partition);
        self.component.dead_letters.raw(DeadLetter {
            reason,
            body,
            size,
            event_id: None,
            event_type: None,
            position: Some(&position),
            text: false,
            labels: None,
        })
    }

    /// Hands the batch on (waiting while the pipeline is full); `false` once nobody takes it.
    async fn flush(
        &mut self,
        batch: &mut EventBatch,
        end: &mut Option<PartitionPosition>,
        dead_letter_failed: &mut bool,
        connection: &mut crate::azure::event_hubs::namespace::NamespaceConnection,
        lag_at: &mut tokio::time::Instant,
    ) -> bool {
        let Some(position) = end.take() else {
            return true;
        };
        let events = std::mem::take(batch);
        let count = events.len();
        let read = ReadBatch::new(
            events,
            Position {
                partition: self.partition.clone(),
                position: position.clone(),
            },
            std::mem::take(dead_letter_failed),
        );
        let send = self.batches.send(read);
        tokio::pin!(send);
        loop {
            tokio::select! {
                () = self.shutdown.cancelled() => return false,
                // A held-back pipeline is when the lag matters most: keep measuring it.
                () = tokio::time::sleep_until(*lag_at) => {
                    self.report_lag(connection).await;
                    *lag_at = tokio::time::Instant::now() + self.settings.lag_interval;
                }
                sent = &mut send => {
                    if sent.is_ok() {
                        // Counted with the position moving, so the lag and the count agree.
                        self.component.metrics.received(count, 0);
                        self.last = Some(position);
                    }
                    return sent.is_ok();
                }
            }
        }
    }
}

/// Events in the partition after the last one read (`read`, a sequence number), or when none
/// was read yet, ahead of where the reader starts (unknown for a start at an enqueued time).
fn events_behind(
    partition: &PartitionProperties,
    read: Option<i64>,
    start: &StartPosition,
) -> Option<i64> {
    if partition.is_empty {
        return Some(0);
    }
    let last = partition.last_enqueued_sequence_number;
    match (read, start) {
        (Some(read), _) => Some((last - read).max(0)),
        (None, StartPosition::Earliest) => {
            Some((last - partition.begin_sequence_number + 1).max(0))
        }
        (None, StartPosition::Latest) => Some(0),
        (None, StartPosition::EnqueuedAfter(_)) => None,
    }
}

/// When to put the token again: at 80% of its remaining life, at least a second from now.
fn renewal_delay(expires: SystemTime) -> Duration {
    expires
        .duration_since(SystemTime::now())
        .map_or(Duration::ZERO, |left| left.mul_f64(0.8))
        .max(Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partition(begin: i64, last: i64) -> PartitionProperties {
        PartitionProperties {
            begin_sequence_number: begin,
            last_enqueued_sequence_number: last,
            is_empty: false,
        }
    }

    #[test]
    fn lag_counts_the_events_after_the_last_one_read() {
        assert_eq!(
            events_behind(&partition(0, 99), Some(89), &StartPosition::Earliest),
            Some(10)
        );
        assert_eq!(
            events_behind(&partition(0, 99), Some(99), &StartPosition::Latest),
            Some(0)
        );
    }

    #[test]
    fn before_the_first_read_lag_depends_on_the_start() {
        let retained = partition(40, 99);
        assert_eq!(
            events_behind(&retained, None, &StartPosition::Earliest),
            Some(60)
        );
        assert_eq!(
            events_behind(&retained, None, &StartPosition::Latest),
            Some(0)
        );
        assert_eq!(
            events_behind(
                &retained,
                None,
                &StartPosition::EnqueuedAfter(SystemTime::UNIX_EPOCH)
            ),
            None
        );
        let empty = PartitionProperties {
            is_empty: true,
            ..partition(100, 99)
        };
        assert_eq!(
            events_behind(&empty, None, &StartPosition::Earliest),
            Some(0)
        );
    }
}
