//! An Event Hubs namespace over AMQP 1.0, built from the public protocol docs, for tests and
//! local demos: enough of the service for the official SDKs and siemflow's source.
//!
//! - SASL ANONYMOUS, then claims-based security on `$cbs` ([`cbs`]): SAS tokens are checked
//!   against the namespace's keys; links to an entity need a granted token covering it.
//! - `$management` READ of `com.microsoft:eventhub` and `com.microsoft:partition`.
//! - Send links to a hub (partition by key or round robin) or to `hub/Partitions/N`, single
//!   messages and SDK batches (message format `0x80013700`).
//! - Receive links on `hub/ConsumerGroups/<group>/Partitions/N` starting at the selector filter
//!   ([`selector`]), delivering with `x-opt-sequence-number`, `x-opt-offset`,
//!   `x-opt-enqueued-time` (and `x-opt-partition-key`), credit-paced by the client.
//! - Faults: drop every connection, answer the next receive attaches with
//!   `com.microsoft:server-busy`, steal a partition's receivers (`amqp:link:stolen`).
//!
//! Retention is in memory and unbounded; there are no epochs, no offsets across geo-replicas,
//! no Kafka endpoint, no TLS (the real emulator has none either: `UseDevelopmentEmulator=true`).

pub mod cbs;
mod links;
mod readers;
mod sasl;
pub mod selector;
pub mod store;
mod websocket;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use self::readers::ReaderCounts;
pub use self::readers::Readers;
use self::store::Store;

/// The emulator's shared key name, as the real emulator's.
pub const KEY_NAME: &str = "RootManageSharedAccessKey";
/// Its key.
pub const KEY: &str = "SAS_KEY_VALUE";

/// Hubs to create: name, partition count, consumer groups besides `$Default`.
#[derive(Debug, Clone)]
pub struct HubSpec {
    /// The hub's name.
    pub name: String,
    /// How many partitions.
    pub partitions: usize,
    /// Extra consumer groups.
    pub consumer_groups: Vec<String>,
}

impl HubSpec {
    /// A hub with `partitions` and only `$Default`.
    pub fn new(name: &str, partitions: usize) -> Self {
        Self {
            name: name.into(),
            partitions,
            consumer_groups: Vec::new(),
        }
    }
}

/// What happened, for assertions.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counters {
    /// Put-token requests.
    pub put_tokens: u64,
    /// Of those, refused.
    pub refused_tokens: u64,
    /// Receive links that started delivering.
    pub receivers: u64,
    /// TCP connections accepted.
    pub connections: u64,
    /// Receive links detached with `amqp:link:stolen`.
    pub stolen: u64,
    /// Connections upgraded to AMQP over WebSockets.
    pub websockets: u64,
}

/// State the connections share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) store: Arc<Store>,
    pub(crate) keys: Vec<(String, String)>,
    counters: Mutex<Counters>,
    server_busy: AtomicU32,
    /// The last `(hub, partition)` whose receivers were stolen.
    pub(crate) stolen: tokio::sync::watch::Sender<Option<(String, usize)>>,
    /// Bumped when every connection is dropped.
    pub(crate) dropped: tokio::sync::watch::Sender<u64>,
    sockets: Mutex<Vec<std::net::TcpStream>>,
    pub(crate) readers: Arc<ReaderCounts>,
}

impl Shared {
    pub(crate) fn count(&self, update: impl FnOnce(&mut Counters)) {
        update(
            &mut self
                .counters
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
    }

    pub(crate) fn take_server_busy(&self) -> bool {
        self.server_busy
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok()
    }
}

/// A running emulator on 127.0.0.1; stopped when dropped.
#[derive(Debug)]
pub struct EventHubsEmulator {
    address: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    tls: bool,
}

impl EventHubsEmulator {
    /// Starts with `hubs` on `port` (0 for a free one), without TLS, as the development
    /// emulator listens.
    pub fn start(hubs: &[HubSpec], port: u16) -> Self {
        Self::start_with(hubs, port, None)
    }

    /// Starts with `hubs` on a free port behind TLS with `certificates`' server certificate
    /// (for `127.0.0.1` and `localhost`), as the service listens on 5671.
    pub fn start_tls(hubs: &[HubSpec], certificates: &crate::tls::Certificates) -> Self {
        Self::start_with(hubs, 0, Some(certificates.server_config()))
    }

    fn start_with(hubs: &[HubSpec], port: u16, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap_or_else(|error| {
            panic!("event hubs emulator: cannot listen on {port}: {error}")
        });
        listener
            .set_nonblocking(true)
            .unwrap_or_else(|error| panic!("event hubs emulator: {error}"));
        let address = listener
            .local_addr()
            .unwrap_or_else(|error| panic!("event hubs emulator: {error}"));
        let specs: Vec<(String, usize, Vec<String>)> = hubs
            .iter()
            .map(|hub| {
                (
                    hub.name.clone(),
                    hub.partitions,
                    hub.consumer_groups.clone(),
                )
            })
            .collect();
        let shared = Arc::new(Shared {
            store: Store::new(&specs),
            keys: vec![(KEY_NAME.to_string(), KEY.to_string())],
            counters: Mutex::default(),
            server_busy: AtomicU32::new(0),
            stolen: tokio::sync::watch::Sender::new(None),
            dropped: tokio::sync::watch::Sender::new(0),
            sockets: Mutex::default(),
            readers: Arc::default(),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let serving = shared.clone();
        let with_tls = tls.is_some();
        let thread = std::thread::Builder::new()
            .name("event-hubs-emulator".into())
            .spawn(move || run(listener, serving, tls, stopped))
            .unwrap_or_else(|error| panic!("event hubs emulator thread: {error}"));
        Self {
            address,
            shared,
            stop: Some(stop),
            thread: Some(thread),
            tls: with_tls,
        }
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// A connection string for `hub`, in the form the SDKs take for the emulator
    /// (`UseDevelopmentEmulator=true` without TLS).
    pub fn connection_string(&self, hub: &str) -> String {
        let emulator = if self.tls {
            ""
        } else {
            "UseDevelopmentEmulator=true;"
        };
        format!(
            "Endpoint=sb://{};SharedAccessKeyName={KEY_NAME};SharedAccessKey={KEY};{emulator}EntityPath={hub}",
            self.address
        )
    }

    /// The shared access key's name and the key, for SASL PLAIN.
    pub fn key(&self) -> (&'static str, &'static str) {
        (KEY_NAME, KEY)
    }

    /// Events stored per partition of `hub`.
    pub fn partition_sizes(&self, hub: &str) -> Vec<usize> {
        self.shared.store.with(|hubs| {
            hubs.get(&hub.to_ascii_lowercase())
                .map(|entry| {
                    entry
                        .partitions
                        .iter()
                        .map(|log| log.events.len())
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    /// Appends one event with `body` as its single data section to `hub`, round robin over the
    /// partitions (what a producer without a partition key gets); for demos and tests that do
    /// not need an independent sender.
    pub fn publish(&self, hub: &str, body: Vec<u8>) -> Result<(), String> {
        use fe2o3_amqp_types::messaging::{Body, Data, Message};
        use fe2o3_amqp_types::primitives::Binary;
        let size = body.len();
        let message = Message::builder()
            .body(Body::Data(vec![Data(Binary::from(body))].into()))
            .build();
        self.shared
            .store
            .append(hub, None, None, message, size)
            .map_err(|(condition, message)| format!("{condition}: {message}"))
    }

    /// The counters so far.
    pub fn counters(&self) -> Counters {
        *self
            .shared
            .counters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Closes every connection's socket at once, as a network failure would.
    pub fn drop_connections(&self) {
        let sockets = std::mem::take(
            &mut *self
                .shared
                .sockets
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        for socket in sockets {
            let _ = socket.shutdown(std::net::Shutdown::Both);
        }
        self.shared
            .dropped
            .send_modify(|generation| *generation += 1);
    }

    /// Answers the next `count` receive-link attaches with `com.microsoft:server-busy`.
    pub fn server_busy(&self, count: u32) {
        self.shared.server_busy.store(count, Ordering::SeqCst);
    }

    /// The receivers delivering from each partition of `hub` in `consumer_group` (lower case).
    pub fn readers(&self, hub: &str, consumer_group: &str) -> Vec<Readers> {
        let hub = hub.to_ascii_lowercase();
        let partitions = self.partition_sizes(&hub).len();
        self.shared
            .readers
            .get(&hub, &consumer_group.to_ascii_lowercase(), partitions)
    }

    /// Starts the peaks [`readers`](Self::readers) reports again from the receivers delivering now.
    pub fn reset_reader_peaks(&self) {
        self.shared.readers.reset_peaks();
    }

    /// Detaches the receivers of a partition with `amqp:link:stolen`.
    pub fn steal(&self, hub: &str, partition: usize) {
        self.shared
            .stolen
            .send_replace(Some((hub.to_ascii_lowercase(), partition)));
    }
}

impl Drop for EventHubsEmulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.drop_connections();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    tls: Option<Arc<rustls::ServerConfig>>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let tls = tls.map(tokio_rustls::TlsAcceptor::from);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|error| panic!("event hubs emulator runtime: {error}"));
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)
            .unwrap_or_else(|error| panic!("event hubs emulator listener: {error}"));
        loop {
            tokio::select! {
                _ = &mut stopped => return,
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let _ = stream.set_nodelay(true);
                    let Ok(std_stream) = stream.into_std() else { continue };
                    if let Ok(clone) = std_stream.try_clone() {
                        shared
                            .sockets
                            .lock()
                            .unwrap_or_else(|poisoned| poisoned.into_inner())
                            .push(clone);
                    }
                    let Ok(stream) = tokio::net::TcpStream::from_std(std_stream) else { continue };
                    shared.count(|counters| counters.connections += 1);
                    let shared = shared.clone();
                    match tls.clone() {
                        None => {
                            tokio::spawn(websocket::serve(shared, stream));
                        }
                        Some(acceptor) => {
                            tokio::spawn(async move {
                                if let Ok(stream) = acceptor.accept(stream).await {
                                    websocket::serve(shared, stream).await;
                                }
                            });
                        }
                    }
                }
            }
        }
    });
    runtime.shutdown_background();
}
