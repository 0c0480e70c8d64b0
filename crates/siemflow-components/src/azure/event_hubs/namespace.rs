//! One AMQP 1.0 connection to an Event Hubs namespace, authorized the way the service wants it
//! (Service Bus AMQP protocol guide): SASL ANONYMOUS, then a token put on the `$cbs` node for
//! each entity within 20 seconds, re-put before it expires; `$management` READ requests for the
//! hub's partitions; receive links on `<hub>/ConsumerGroups/<group>/Partitions/<id>`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use fe2o3_amqp::connection::ConnectionHandle;
use fe2o3_amqp::link::receiver::CreditMode;
use fe2o3_amqp::sasl_profile::SaslProfile;
use fe2o3_amqp::session::SessionHandle;
use fe2o3_amqp::types::definitions::{ErrorCondition, ReceiverSettleMode, SenderSettleMode};
use fe2o3_amqp::types::messaging::{ApplicationProperties, Message, Source};
use fe2o3_amqp::types::primitives::{Symbol, Timestamp, Value};
use fe2o3_amqp::{Connection, Receiver, Session};
use fe2o3_amqp_cbs::client::CbsClient;
use fe2o3_amqp_cbs::token::CbsToken;
use fe2o3_amqp_management::client::MgmtClient;
use fe2o3_amqp_management::request::Request;
use fe2o3_amqp_management::response::Response;
use siemflow_core::secret::SecretString;
use tokio::net::TcpStream;

use super::receiver::EventReceiver;
use super::sas;
use crate::azure::token::{AuthError, TokenProvider};

/// What AMQP runs over: TCP, TLS, or a WebSocket on either.
trait Transport:
    tokio::io::AsyncRead + tokio::io::AsyncWrite + std::fmt::Debug + Send + Unpin + 'static
{
}

impl<T> Transport for T where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + std::fmt::Debug + Send + Unpin + 'static
{
}

/// The resource Entra tokens for Event Hubs are issued for.
pub const EVENT_HUBS_RESOURCE: &str = "https://eventhubs.azure.net";

/// How long connecting, opening and each request may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// How the client proves itself on `$cbs`.
#[derive(Debug, Clone)]
pub enum NamespaceAuth {
    /// A shared access key: SAS tokens are signed here, valid for `lifetime`.
    Key {
        /// The policy name.
        name: String,
        /// The key.
        key: SecretString,
        /// How long each token lives.
        lifetime: Duration,
    },
    /// A ready-made SAS token (it cannot be renewed).
    Signature(SecretString),
    /// An Entra ID app with a data-plane role on the hub (`jwt` tokens).
    Entra(TokenProvider),
}

/// Where the namespace is and how to reach it.
#[derive(Debug, Clone)]
pub struct Namespace {
    /// The namespace host, e.g. `contoso.servicebus.windows.net`.
    pub host: String,
    /// The AMQP port (5671 with TLS, 5672 without).
    pub port: u16,
    /// TLS settings; `None` for plain TCP (the development emulator).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// AMQP over WebSockets (`/$servicebus/websocket`, port 443 with TLS), for networks that
    /// only let HTTPS out.
    pub websockets: bool,
    /// Credentials.
    pub auth: NamespaceAuth,
}

/// Why an Event Hubs operation failed, with the AMQP error condition when the service gave one.
#[derive(Debug, Clone)]
pub struct AmqpFailure {
    /// What was being done (`connect to contoso.servicebus.windows.net:5671`).
    pub what: String,
    /// The AMQP condition, e.g. `com.microsoft:server-busy`, `amqp:link:stolen`.
    pub condition: Option<String>,
    /// The details.
    pub message: String,
}

impl std::fmt::Display for AmqpFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.condition {
            Some(condition) if !self.message.contains(condition.as_str()) => {
                write!(f, "{}: {condition}: {}", self.what, self.message)
            }
            _ => write!(f, "{}: {}", self.what, self.message),
        }
    }
}

impl std::error::Error for AmqpFailure {}

impl AmqpFailure {
    /// A failure without a condition from the service.
    pub(super) fn new(what: impl Into<String>, error: impl std::fmt::Display) -> Self {
        Self {
            what: what.into(),
            condition: None,
            message: error.to_string(),
        }
    }

    /// A failure carrying the service's condition and description.
    pub fn with_condition(
        what: impl Into<String>,
        error: &fe2o3_amqp::types::definitions::Error,
    ) -> Self {
        Self {
            what: what.into(),
            condition: Some(condition_name(&error.condition)),
            message: error
                .description
                .clone()
                .unwrap_or_else(|| condition_name(&error.condition)),
        }
    }

    /// A `$cbs` or `$management` reply with an HTTP-like status other than the expected one.
    fn from_status(what: String, status: &fe2o3_amqp_management::error::StatusError) -> Self {
        let code = status.code.0.get();
        Self {
            what,
            condition: Some(match code {
                401 | 403 => "amqp:unauthorized-access".to_string(),
                404 => "amqp:not-found".to_string(),
                503 => "com.microsoft:server-busy".to_string(),
                code => format!("status {code}"),
            }),
            message: format!(
                "{code} {}",
                status.description.as_deref().unwrap_or_default()
            ),
        }
    }

    /// What the consumer should do about it.
    pub fn kind(&self) -> FailureKind {
        match self.condition.as_deref() {
            Some("com.microsoft:server-busy") | Some("amqp:resource-limit-exceeded") => {
                FailureKind::Throttled
            }
            Some("amqp:link:stolen") => FailureKind::Stolen,
            Some("amqp:unauthorized-access") => FailureKind::Unauthorized,
            Some("amqp:not-found") | Some("com.microsoft:argument-out-of-range") => {
                FailureKind::Rejected
            }
            _ => FailureKind::Transient,
        }
    }
}

/// How a failure is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The namespace is throttling: wait longer before trying again.
    Throttled,
    /// Another receiver took the partition.
    Stolen,
    /// The credentials do not grant access.
    Unauthorized,
    /// The request names something that does not exist or is out of range.
    Rejected,
    /// Network and service hiccups: reconnect with backoff.
    Transient,
}

impl FailureKind {
    /// The label used in metrics.
    pub fn label(self) -> &'static str {
        match self {
            FailureKind::Throttled => "server_busy",
            FailureKind::Stolen => "link_stolen",
            FailureKind::Unauthorized => "unauthorized",
            FailureKind::Rejected => "rejected",
            FailureKind::Transient => "connection",
        }
    }
}

/// The symbolic name of an AMQP error condition.
pub fn condition_name(condition: &ErrorCondition) -> String {
    let symbol = match condition {
        ErrorCondition::AmqpError(error) => Symbol::from(error),
        ErrorCondition::ConnectionError(error) => Symbol::from(error),
        ErrorCondition::SessionError(error) => Symbol::from(error),
        ErrorCondition::LinkError(error) => Symbol::from(error),
        ErrorCondition::Custom(symbol) => symbol.clone(),
    };
    symbol.0
}

async fn step<T, E: std::fmt::Display>(
    what: &str,
    future: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, AmqpFailure> {
    match tokio::time::timeout(STEP_TIMEOUT, future).await {
        Ok(result) => result.map_err(|error| AmqpFailure::new(what, error)),
        Err(_) => Err(AmqpFailure::new(what, "timed out")),
    }
}

/// An open connection with one session and a CBS client on it.
#[derive(Debug)]
pub struct NamespaceConnection {
    namespace: Namespace,
    connection: ConnectionHandle<()>,
    session: SessionHandle<()>,
    cbs: CbsClient,
}

impl Namespace {
    /// `sb://<host>/<path>`: the audience a token is put for.
    pub fn audience(&self, path: &str) -> String {
        format!("sb://{}/{path}", self.host)
    }

    /// Connects, negotiates SASL ANONYMOUS, begins a session and attaches the CBS links.
    pub async fn connect(&self, container_id: &str) -> Result<NamespaceConnection, AmqpFailure> {
        let address = format!("{}:{}", self.host, self.port);
        let what = format!("connect to {address}");
        let tcp = step(&what, TcpStream::connect((self.host.as_str(), self.port))).await?;
        let _ = tcp.set_nodelay(true);
        let builder = Connection::builder()
            .container_id(container_id)
            .hostname(self.host.as_str())
            .scheme("amqp")
            .sasl_profile(SaslProfile::Anonymous)
            .idle_time_out(120_000u32);
        let stream: Box<dyn Transport> = match &self.tls {
            Some(config) => {
                let name = rustls::pki_types::ServerName::try_from(self.host.clone())
                    .map_err(|error| AmqpFailure::new(&what, error))?;
                let handshake = async {
                    tokio_rustls::TlsConnector::from(config.clone())
                        .connect(name, tcp)
                        .await
                        .map_err(|error| {
                            crate::tls::explain(&error).unwrap_or_else(|| error.to_string())
                        })
                };
                Box::new(step(&what, handshake).await?)
            }
            None => Box::new(tcp),
        };
        let stream: Box<dyn Transport> = if self.websockets {
            let scheme = if self.tls.is_some() { "wss" } else { "ws" };
            let url = format!("{scheme}://{address}/$servicebus/websocket");
            Box::new(
                step(
                    &format!("open a WebSocket to {url}"),
                    fe2o3_amqp_ws::WebSocketStream::connect_with_stream(&url, stream),
                )
                .await?,
            )
        } else {
            stream
        };
        let mut connection = step(&what, builder.open_with_stream(stream)).await?;
        let mut session = step(
            &format!("begin a session on {address}"),
            Session::builder()
                .handle_max(1024u32)
                .begin(&mut connection),
        )
        .await?;
        let cbs = step(
            &format!("attach to $cbs on {address}"),
            CbsClient::attach(&mut session),
        )
        .await?;
        Ok(NamespaceConnection {
            namespace: self.clone(),
            connection,
            session,
            cbs,
        })
    }
}

impl NamespaceConnection {
    /// Puts a token for `path` (e.g. `defender/ConsumerGroups/$Default`) on `$cbs` and returns
    /// when it expires, to be put again before then.
    pub async fn authorize(&mut self, path: &str) -> Result<SystemTime, AmqpFailure> {
        let audience = self.namespace.audience(path);
        let what = format!("authorize {audience} on $cbs");
        let (token, token_type, expires) = match &self.namespace.auth {
            NamespaceAuth::Key {
                name,
                key,
                lifetime,
            } => {
                let signed = sas::sign(&audience, name, key.expose(), SystemTime::now(), *lifetime);
                (
                    signed.token,
                    "servicebus.windows.net:sastoken",
                    signed.expires,
                )
            }
            NamespaceAuth::Signature(token) => (
                token.expose().to_string(),
                "servicebus.windows.net:sastoken",
                sas::expiry(token.expose())
                    .unwrap_or_else(|| SystemTime::now() + Duration::from_secs(3600)),
            ),
            NamespaceAuth::Entra(tokens) => {
                // Refused credentials are the app's problem for good; an identity platform that
                // cannot be reached is a hiccup like any other.
                let token =
                    tokens
                        .token(EVENT_HUBS_RESOURCE)
                        .await
                        .map_err(|error| AmqpFailure {
                            what: what.clone(),
                            condition: matches!(error, AuthError::Rejected { .. })
                                .then(|| "amqp:unauthorized-access".into()),
                            message: error.to_string(),
                        })?;
                let expires = SystemTime::now() + token.remaining();
                (token.secret().to_string(), "jwt", expires)
            }
        };
        let expires_ms = expires
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |since| since.as_millis() as i64);
        let put = CbsToken::new(
            token,
            token_type,
            Some(Timestamp::from_milliseconds(expires_ms)),
        );
        match tokio::time::timeout(STEP_TIMEOUT, self.cbs.put_token(audience.clone(), put)).await {
            Ok(Ok(())) => Ok(expires),
            Ok(Err(fe2o3_amqp_management::error::Error::Status(status))) => {
                Err(AmqpFailure::from_status(what, &status))
            }
            Ok(Err(error)) => Err(AmqpFailure::new(what, error)),
            Err(_) => Err(AmqpFailure::new(what, "timed out")),
        }
    }

    /// The hub's partition ids, from a `$management` READ of `com.microsoft:eventhub`.
    pub async fn partition_ids(&mut self, hub: &str) -> Result<Vec<String>, AmqpFailure> {
        let what = format!("read the partitions of {hub} from $management");
        let read = ReadEntity {
            entity_type: "com.microsoft:eventhub",
            properties: vec![("name", hub.to_string())],
        };
        let hub_properties: HubProperties = self.read(hub, &what, read).await?;
        Ok(hub_properties.partition_ids)
    }

    /// Where a partition's retained events begin and end, from a `$management` READ of
    /// `com.microsoft:partition` (what the SDKs' `get_partition_properties` asks).
    pub async fn partition_properties(
        &mut self,
        hub: &str,
        partition: &str,
    ) -> Result<PartitionProperties, AmqpFailure> {
        let what = format!("read partition {partition} of {hub} from $management");
        let read = ReadEntity {
            entity_type: "com.microsoft:partition",
            properties: vec![
                ("name", hub.to_string()),
                ("partition", partition.to_string()),
            ],
        };
        self.read(hub, &what, read).await
    }

    /// One `$management` READ on a short-lived management link, authorized for `hub`.
    async fn read<T>(&mut self, hub: &str, what: &str, read: ReadEntity) -> Result<T, AmqpFailure>
    where
        T: Response<Body = Value, Error = fe2o3_amqp_management::error::Error>,
    {
        self.authorize(hub).await?;
        let mut management = step(
            what,
            MgmtClient::builder()
                .management_node_address("$management")
                .client_node_addr(format!("siemflow-management-{}", uuid::Uuid::new_v4()))
                .attach(&mut self.session),
        )
        .await?;
        let answer =
            tokio::time::timeout(STEP_TIMEOUT, management.call(Read::<T>::new(read))).await;
        let _ = management.close().await;
        match answer {
            Ok(Ok(properties)) => Ok(properties),
            Ok(Err(fe2o3_amqp_management::error::Error::Status(status))) => {
                Err(AmqpFailure::from_status(what.to_string(), &status))
            }
            Ok(Err(error)) => Err(AmqpFailure::new(what, error)),
            Err(_) => Err(AmqpFailure::new(what, "timed out")),
        }
    }

    /// Attaches a receiver to `address` starting at the selector `filter`, granting the service
    /// at most `credit` messages ahead of what the caller has taken (see [`EventReceiver`]).
    pub async fn receiver(
        &mut self,
        name: &str,
        address: &str,
        filter: &str,
        credit: u32,
    ) -> Result<EventReceiver, AmqpFailure> {
        const SELECTOR: &str = "apache.org:selector-filter:string";
        let source = Source::builder()
            .address(address)
            .add_to_filter(
                Symbol::from(SELECTOR),
                serde_amqp::described::Described {
                    descriptor: serde_amqp::descriptor::Descriptor::Name(Symbol::from(SELECTOR)),
                    value: Value::String(filter.to_string()),
                },
            )
            .build();
        let what = format!("attach a receiver to {address}");
        let attached = tokio::time::timeout(
            STEP_TIMEOUT,
            Receiver::builder()
                .name(name)
                .source(source)
                .target(format!("siemflow-{name}"))
                .sender_settle_mode(SenderSettleMode::Settled)
                .receiver_settle_mode(ReceiverSettleMode::First)
                .credit_mode(CreditMode::Manual)
                .auto_accept(false)
                .attach(&mut self.session),
        )
        .await;
        match attached {
            Ok(Ok(receiver)) => EventReceiver::start(receiver, address, credit).await,
            Ok(Err(fe2o3_amqp::link::ReceiverAttachError::RemoteClosedWithError(error))) => {
                Err(AmqpFailure::with_condition(what, &error))
            }
            Ok(Err(error)) => Err(AmqpFailure::new(what, error)),
            Err(_) => Err(AmqpFailure::new(what, "timed out")),
        }
    }

    /// Ends the session and closes the connection.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            let _ = self.session.end().await;
            let _ = self.connection.close().await;
        })
        .await;
    }
}

/// A `$management` READ of one entity: its type and the application properties naming it.
struct ReadEntity {
    entity_type: &'static str,
    properties: Vec<(&'static str, String)>,
}

/// A READ expecting the response `T`.
struct Read<T> {
    entity: ReadEntity,
    response: std::marker::PhantomData<fn() -> T>,
}

impl<T> Read<T> {
    fn new(entity: ReadEntity) -> Self {
        Self {
            entity,
            response: std::marker::PhantomData,
        }
    }
}

impl<T> Request for Read<T>
where
    T: Response<Body = Value, Error = fe2o3_amqp_management::error::Error>,
{
    const OPERATION: &'static str = "READ";
    type Response = T;
    type Body = Value;

    fn manageable_entity_type(&mut self) -> Option<String> {
        Some(self.entity.entity_type.into())
    }

    fn encode_application_properties(&mut self) -> Option<ApplicationProperties> {
        let mut properties = ApplicationProperties::builder();
        for (name, value) in &self.entity.properties {
            properties = properties.insert(*name, value.clone());
        }
        Some(properties.build())
    }

    fn encode_body(self) -> Self::Body {
        Value::Null
    }
}

/// A READ answer that is not the map the docs describe.
fn invalid_answer(expected: &str, actual: String) -> fe2o3_amqp_management::error::Error {
    fe2o3_amqp_management::error::Error::DecodeError(Some(
        fe2o3_amqp_management::error::InvalidType {
            expected: expected.into(),
            actual,
        },
    ))
}

/// What READ of a partition answers: the sequence numbers its retained events span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionProperties {
    /// The sequence number of the oldest retained event.
    pub begin_sequence_number: i64,
    /// The sequence number of the newest event (-1 when none was ever enqueued).
    pub last_enqueued_sequence_number: i64,
    /// No event is retained.
    pub is_empty: bool,
}

impl Response for PartitionProperties {
    const STATUS_CODE: u16 = 200;
    type Body = Value;
    type Error = fe2o3_amqp_management::error::Error;

    fn decode_message(message: Message<Self::Body>) -> Result<Self, Self::Error> {
        const EXPECTED: &str = "a map with the partition's sequence numbers";
        let Value::Map(map) = &message.body else {
            return Err(invalid_answer(EXPECTED, format!("{:?}", message.body)));
        };
        let long = |name: &str| match map.get(&Value::String(name.into())) {
            Some(Value::Long(value)) => Ok(*value),
            Some(Value::Int(value)) => Ok(i64::from(*value)),
            other => Err(invalid_answer(EXPECTED, format!("{name}: {other:?}"))),
        };
        let is_empty = match map.get(&Value::String("is_partition_empty".into())) {
            Some(Value::Bool(empty)) => *empty,
            _ => false,
        };
        Ok(Self {
            begin_sequence_number: long("begin_sequence_number")?,
            last_enqueued_sequence_number: long("last_enqueued_sequence_number")?,
            is_empty,
        })
    }
}

/// What READ of a hub answers that the source needs.
struct HubProperties {
    partition_ids: Vec<String>,
}

impl Response for HubProperties {
    const STATUS_CODE: u16 = 200;
    type Body = Value;
    type Error = fe2o3_amqp_management::error::Error;

    fn decode_message(message: Message<Self::Body>) -> Result<Self, Self::Error> {
        let invalid = |actual: String| invalid_answer("a map with partition_ids", actual);
        let Value::Map(map) = message.body else {
            return Err(invalid(format!("{:?}", message.body)));
        };
        let ids = map
            .get(&Value::String("partition_ids".into()))
            .ok_or_else(|| invalid("no partition_ids".into()))?;
        let items: Vec<Value> = match ids {
            Value::Array(array) => array.0.clone(),
            Value::List(list) => list.clone(),
            other => return Err(invalid(format!("{other:?}"))),
        };
        let partition_ids = items
            .into_iter()
            .map(|item| match item {
                Value::String(id) => Ok(id),
                other => Err(invalid(format!("{other:?}"))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { partition_ids })
    }
}
