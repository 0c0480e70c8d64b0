//! One AMQP connection to the emulator: its sessions, and per link what Event Hubs does with it —
//! `$cbs` and `$management` requests answered on the session's paired reply link, events sent to
//! a hub or partition stored, partition receive links fed from the selector filter's position.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fe2o3_amqp::acceptor::{
    ConnectionAcceptor, LinkAcceptor, LinkEndpoint, ListenerSessionHandle, SessionAcceptor,
    SupportedReceiverSettleModes,
};
use fe2o3_amqp::link::{Receiver, Sender};
use fe2o3_amqp_types::definitions::{
    AmqpError, Error as AmqpErrorFrame, ErrorCondition, Fields, ReceiverSettleMode,
};
use fe2o3_amqp_types::messaging::annotations::OwnedKey;
use fe2o3_amqp_types::messaging::message::__private::Deserializable;
use fe2o3_amqp_types::messaging::{
    AmqpValue, ApplicationProperties, Body, Message, MessageAnnotations, Properties,
};
use fe2o3_amqp_types::primitives::{Array, OrderedMap, SimpleValue, Symbol, Timestamp, Value};
use tokio::sync::mpsc;

use super::Shared;
use super::cbs::{self, Grant};
use super::sasl::EventHubsSasl;
use super::selector;
use super::store::{LookupError, StoredEvent, now_ms};

/// The message format of an Event Hubs batch: each Data section is one encoded message.
const BATCH_FORMAT: u32 = 0x8001_3700;

/// Reply links of a session, by node (`$cbs`, `$management`).
type Replies = Arc<Mutex<HashMap<String, mpsc::UnboundedSender<Message<Body<Value>>>>>>;

/// What the connection's CBS put-token requests granted.
type Grants = Arc<Mutex<Vec<Grant>>>;

/// Non-empty properties make fe2o3 write every performative field, which the Python SDK's
/// AMQP stack reads by position.
fn properties() -> Fields {
    let mut fields = OrderedMap::new();
    fields.insert(
        Symbol::from("product"),
        Value::String("siemflow-event-hubs-emulator".into()),
    );
    fields
}

/// Serves one connection (TCP, or TLS over TCP) until it closes.
pub async fn serve<Io>(shared: Arc<Shared>, stream: Io)
where
    Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + std::fmt::Debug + Send + Unpin + 'static,
{
    let sasl = EventHubsSasl::new(&shared.keys);
    let acceptor = ConnectionAcceptor::builder()
        .container_id("siemflow-event-hubs-emulator")
        .properties(properties())
        .sasl_acceptor(sasl.clone())
        .build();
    let Ok(mut connection) = acceptor.accept(stream).await else {
        return;
    };
    let grants: Grants = Arc::default();
    if sasl.plain_user().is_some() {
        // A key's claims cover the namespace: no put-token needed.
        grants
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(Grant {
                path: String::new(),
                expires: u64::MAX,
            });
    }
    let sessions = SessionAcceptor::builder()
        .handle_max(1024u32)
        .properties(properties())
        .build();
    while let Ok(session) = sessions.accept(&mut connection).await {
        tokio::spawn(serve_session(shared.clone(), grants.clone(), session));
    }
}

async fn serve_session(shared: Arc<Shared>, grants: Grants, mut session: ListenerSessionHandle) {
    // Event Hubs settles what it receives at once (receiver settle mode first), whatever the
    // client asks: the Python SDK asks for "second" but ignores unsettled dispositions.
    let links = LinkAcceptor::builder()
        .properties(properties())
        .supported_receiver_settle_modes(SupportedReceiverSettleModes::First)
        .fallback_receiver_settle_mode(ReceiverSettleMode::First)
        .build();
    let replies: Replies = Arc::default();
    while let Ok(link) = links.accept(&mut session).await {
        match link {
            LinkEndpoint::Receiver(receiver) => {
                tokio::spawn(incoming(
                    shared.clone(),
                    grants.clone(),
                    replies.clone(),
                    receiver,
                ));
            }
            LinkEndpoint::Sender(sender) => {
                tokio::spawn(outgoing(
                    shared.clone(),
                    grants.clone(),
                    replies.clone(),
                    sender,
                ));
            }
        }
    }
}

/// The node a link address names: `$cbs`, `$management`, or an entity path.
fn node(address: Option<&str>) -> String {
    cbs::entity_path(address.unwrap_or_default())
}

fn error(condition: &str, description: String) -> AmqpErrorFrame {
    let condition = match condition {
        "amqp:unauthorized-access" => ErrorCondition::AmqpError(AmqpError::UnauthorizedAccess),
        "amqp:not-found" => ErrorCondition::AmqpError(AmqpError::NotFound),
        other => ErrorCondition::Custom(Symbol::from(other)),
    };
    AmqpErrorFrame::new(condition, Some(description), None)
}

fn authorized(grants: &Grants, path: &str) -> bool {
    let now = now_ms() as u64 / 1000;
    grants
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .iter()
        .any(|grant| grant.expires > now && path.starts_with(&grant.path))
}

/// A link the client sends on: requests to `$cbs`/`$management`, or events to a hub.
async fn incoming(shared: Arc<Shared>, grants: Grants, replies: Replies, mut receiver: Receiver) {
    let address = receiver
        .target()
        .as_ref()
        .and_then(|target| target.address.clone());
    let node = node(address.as_deref());
    if node == "$cbs" || node == "$management" {
        while let Ok(delivery) = receiver.recv::<Body<Value>>().await {
            let _ = receiver.accept(&delivery).await;
            let request = delivery.into_message();
            let reply = if node == "$cbs" {
                put_token(&shared, &grants, &request)
            } else {
                management(&shared, &request)
            };
            send_reply(&replies, &node, &request, reply).await;
        }
        return;
    }
    let (hub, partition) = match parse_send_entity(&node) {
        Some(entity) => entity,
        None => {
            let _ = receiver
                .close_with_error(error("amqp:not-found", format!("no entity {node}")))
                .await;
            return;
        }
    };
    if !authorized(&grants, &node) {
        let _ = receiver
            .close_with_error(error(
                "amqp:unauthorized-access",
                format!("Unauthorized access. 'Send' claim(s) are required to perform this operation. Resource: '{node}'."),
            ))
            .await;
        return;
    }
    while let Ok(delivery) = receiver.recv::<Body<Value>>().await {
        let batch = *delivery.message_format() == Some(BATCH_FORMAT);
        let message = delivery.message().clone();
        let mut stored: Result<(), LookupError> = Ok(());
        if batch {
            if let Body::Data(sections) = &message.body {
                for section in sections.iter() {
                    match serde_amqp::from_slice::<Deserializable<Message<Body<Value>>>>(&section.0)
                    {
                        Ok(Deserializable(inner)) => {
                            let key = partition_key(&inner).or_else(|| partition_key(&message));
                            stored =
                                shared
                                    .store
                                    .append(&hub, partition, key, inner, section.0.len());
                        }
                        Err(decode) => {
                            stored = Err(("amqp:decode-error", decode.to_string()));
                        }
                    }
                    if stored.is_err() {
                        break;
                    }
                }
            }
        } else {
            let size = serde_amqp::to_vec(
                &fe2o3_amqp_types::messaging::message::__private::Serializable(&message),
            )
            .map_or(1, |bytes| bytes.len());
            let key = partition_key(&message);
            stored = shared.store.append(&hub, partition, key, message, size);
        }
        match stored {
            Ok(()) => {
                let _ = receiver.accept(&delivery).await;
            }
            Err((condition, text)) => {
                let _ = receiver.reject(&delivery, error(condition, text)).await;
            }
        }
    }
}

fn partition_key(message: &Message<Body<Value>>) -> Option<String> {
    let annotations = message.message_annotations.as_ref()?;
    match annotations.get(&OwnedKey::Symbol(Symbol::from("x-opt-partition-key"))) {
        Some(Value::String(key)) => Some(key.clone()),
        _ => None,
    }
}

/// `hub` or `hub/partitions/N`.
fn parse_send_entity(node: &str) -> Option<(String, Option<usize>)> {
    let parts: Vec<&str> = node.split('/').collect();
    match parts.as_slice() {
        [hub] if !hub.is_empty() => Some(((*hub).to_string(), None)),
        [hub, "partitions", id] => Some(((*hub).to_string(), Some(id.parse().ok()?))),
        _ => None,
    }
}

/// `hub/consumergroups/<group>/partitions/N`.
fn parse_receive_entity(node: &str) -> Option<(String, String, usize)> {
    let parts: Vec<&str> = node.split('/').collect();
    match parts.as_slice() {
        [hub, "consumergroups", group, "partitions", id] => {
            Some(((*hub).to_string(), (*group).to_string(), id.parse().ok()?))
        }
        _ => None,
    }
}

fn text_property(message: &Message<Body<Value>>, name: &str) -> Option<String> {
    match message.application_properties.as_ref()?.get(name)? {
        SimpleValue::String(text) => Some(text.clone()),
        SimpleValue::Symbol(symbol) => Some(symbol.0.clone()),
        _ => None,
    }
}

/// A reply: status code, description, body.
type Reply = (i32, String, Value);

fn put_token(shared: &Shared, grants: &Grants, request: &Message<Body<Value>>) -> Reply {
    let token_type = text_property(request, "type").unwrap_or_default();
    let audience = text_property(request, "name").unwrap_or_default();
    let token = match &request.body {
        Body::Value(AmqpValue(Value::String(token))) => token.clone(),
        _ => return (400, "the token is not a string".into(), Value::Null),
    };
    shared.count(|counters| counters.put_tokens += 1);
    match cbs::put_token(
        &token_type,
        &audience,
        &token,
        &shared.keys,
        now_ms() as u64 / 1000,
    ) {
        Ok(grant) => {
            grants
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(grant);
            (202, "Accepted".into(), Value::Null)
        }
        Err(reason) => {
            shared.count(|counters| counters.refused_tokens += 1);
            (401, reason, Value::Null)
        }
    }
}

fn management(shared: &Shared, request: &Message<Body<Value>>) -> Reply {
    let operation = text_property(request, "operation").unwrap_or_default();
    let kind = text_property(request, "type").unwrap_or_default();
    let name = text_property(request, "name").unwrap_or_default();
    if operation != "READ" {
        return (
            400,
            format!("unsupported operation {operation}"),
            Value::Null,
        );
    }
    let map = |pairs: Vec<(&str, Value)>| {
        let mut map = OrderedMap::new();
        for (key, value) in pairs {
            map.insert(Value::String(key.into()), value);
        }
        Value::Map(map)
    };
    shared.store.with(|hubs| {
        let Some(hub) = hubs.get(&name.to_ascii_lowercase()) else {
            return (
                404,
                format!("The messaging entity '{name}' could not be found."),
                Value::Null,
            );
        };
        match kind.as_str() {
            "com.microsoft:eventhub" => (
                200,
                "OK".into(),
                map(vec![
                    ("name", Value::String(hub.name.clone())),
                    (
                        "created_at",
                        Value::Timestamp(Timestamp::from_milliseconds(hub.created_ms)),
                    ),
                    ("partition_count", Value::Int(hub.partitions.len() as i32)),
                    (
                        "partition_ids",
                        Value::Array(Array::from(
                            (0..hub.partitions.len())
                                .map(|id| Value::String(id.to_string()))
                                .collect::<Vec<_>>(),
                        )),
                    ),
                ]),
            ),
            "com.microsoft:partition" => {
                let partition = text_property(request, "partition").unwrap_or_default();
                let Some(log) = partition
                    .parse::<usize>()
                    .ok()
                    .and_then(|id| hub.partitions.get(id))
                else {
                    return (400, format!("no partition {partition}"), Value::Null);
                };
                let last = log.events.last();
                (
                    200,
                    "OK".into(),
                    map(vec![
                        ("name", Value::String(hub.name.clone())),
                        ("partition", Value::String(partition.clone())),
                        ("begin_sequence_number", Value::Long(0)),
                        (
                            "last_enqueued_sequence_number",
                            Value::Long(last.map_or(-1, |event| event.sequence_number)),
                        ),
                        (
                            "last_enqueued_offset",
                            Value::String(last.map_or(-1, |event| event.offset).to_string()),
                        ),
                        (
                            "last_enqueued_time_utc",
                            Value::Timestamp(Timestamp::from_milliseconds(
                                last.map_or(0, |event| event.enqueued_ms),
                            )),
                        ),
                        ("is_partition_empty", Value::Bool(last.is_none())),
                    ]),
                )
            }
            other => (400, format!("unsupported type {other}"), Value::Null),
        }
    })
}

async fn send_reply(replies: &Replies, node: &str, request: &Message<Body<Value>>, reply: Reply) {
    let (status, description, body) = reply;
    let mut properties = Properties::default();
    properties.correlation_id = request
        .properties
        .as_ref()
        .and_then(|properties| properties.message_id.clone());
    let message = Message::builder()
        .properties(properties)
        .application_properties(
            ApplicationProperties::builder()
                .insert("status-code", SimpleValue::Int(status))
                .insert("status-description", SimpleValue::String(description))
                .build(),
        )
        .body(Body::Value(AmqpValue(body)))
        .build();
    // The client may attach its reply link just after sending the request.
    for _ in 0..200 {
        let link = replies
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(node)
            .cloned();
        if let Some(link) = link {
            let _ = link.send(message);
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A link the client receives on: a reply link, or a partition's events.
async fn outgoing(shared: Arc<Shared>, grants: Grants, replies: Replies, mut sender: Sender) {
    let address = sender
        .source()
        .as_ref()
        .and_then(|source| source.address.clone());
    let node = node(address.as_deref());
    if node == "$cbs" || node == "$management" {
        let (link, mut queued) = mpsc::unbounded_channel();
        replies
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(node, link);
        while let Some(message) = queued.recv().await {
            if sender.send_batchable(message).await.is_err() {
                return;
            }
        }
        return;
    }
    let Some((hub, group, partition)) = parse_receive_entity(&node) else {
        let _ = sender
            .close_with_error(error("amqp:not-found", format!("no entity {node}")))
            .await;
        return;
    };
    let known_group = shared.store.with(|hubs| {
        hubs.get(&hub).map(|entry| {
            entry
                .consumer_groups
                .iter()
                .any(|name| name.to_ascii_lowercase() == group)
        })
    });
    match known_group {
        None | Some(false) => {
            let _ = sender
                .close_with_error(error(
                    "amqp:not-found",
                    format!(
                        "The messaging entity '{hub}/ConsumerGroups/{group}' could not be found."
                    ),
                ))
                .await;
            return;
        }
        Some(true) => {}
    }
    if !authorized(&grants, &node) {
        let _ = sender
            .close_with_error(error(
                "amqp:unauthorized-access",
                format!("Unauthorized access. 'Listen' claim(s) are required to perform this operation. Resource: '{node}'."),
            ))
            .await;
        return;
    }
    if shared.take_server_busy() {
        let _ = sender
            .close_with_error(error(
                "com.microsoft:server-busy",
                "The request was terminated because the namespace is being throttled. Please wait 4 seconds and try again.".into(),
            ))
            .await;
        return;
    }
    let filter = sender.source().as_ref().and_then(|source| {
        source.filter.as_ref().and_then(|filters| {
            filters.iter().find_map(|(_, value)| match value {
                Value::Described(described) => match &described.value {
                    Value::String(text) => Some(text.clone()),
                    _ => None,
                },
                Value::String(text) => Some(text.clone()),
                _ => None,
            })
        })
    });
    let mut next = {
        let events = match shared.store.read(&hub, partition, 0, usize::MAX) {
            Ok(events) => events,
            Err((condition, text)) => {
                let _ = sender.close_with_error(error(condition, text)).await;
                return;
            }
        };
        match filter.as_deref().map(|text| selector::start(text, &events)) {
            Some(Ok(index)) => index,
            Some(Err(reason)) => {
                let _ = sender
                    .close_with_error(error("com.microsoft:argument-out-of-range", reason))
                    .await;
                return;
            }
            None => 0,
        }
    };
    shared.count(|counters| counters.receivers += 1);
    let _reading = shared.readers.enter(&hub, &group, partition);
    let mut stolen = shared.stolen.subscribe();
    let mut dropped = shared.dropped.subscribe();
    loop {
        let appended = shared.store.appended.notified();
        tokio::pin!(appended);
        appended.as_mut().enable();
        let events = shared
            .store
            .read(&hub, partition, next, 256)
            .unwrap_or_default();
        if events.is_empty() {
            tokio::select! {
                () = &mut appended => continue,
                changed = stolen.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    if stolen_here(&stolen, &hub, partition) {
                        close_stolen(sender, partition, &shared).await;
                        return;
                    }
                    continue;
                }
                _ = dropped.changed() => return,
                // The client detached or its connection died: stop counting it as a reader.
                _ = sender.on_detach() => return,
            }
        }
        for event in events {
            // A steal is noticed between deliveries too, not only when the partition is idle.
            if stolen.has_changed().unwrap_or(false) {
                stolen.mark_unchanged();
                if stolen_here(&stolen, &hub, partition) {
                    close_stolen(sender, partition, &shared).await;
                    return;
                }
            }
            next += 1;
            let message = annotated(event);
            // Event deliveries are fire-and-forget: waiting for each outcome stalls SDK clients.
            if sender.send_batchable(message).await.is_err() {
                return;
            }
        }
    }
}

fn stolen_here(
    stolen: &tokio::sync::watch::Receiver<Option<(String, usize)>>,
    hub: &str,
    partition: usize,
) -> bool {
    stolen
        .borrow()
        .as_ref()
        .is_some_and(|(h, p)| h == hub && *p == partition)
}

/// Detaches a receiver the way the service does when a higher epoch takes its partition.
async fn close_stolen(sender: Sender, partition: usize, shared: &Shared) {
    let _ = sender
        .close_with_error(error(
            "amqp:link:stolen",
            format!("New receiver with higher epoch of '1' is created hence current receiver with epoch '0' is getting disconnected. Partition {partition}."),
        ))
        .await;
    shared.count(|counters| counters.stolen += 1);
}

/// The stored message with the annotations Event Hubs adds on delivery.
fn annotated(event: StoredEvent) -> Message<Body<Value>> {
    let mut message = event.message;
    let annotations = message
        .message_annotations
        .get_or_insert_with(|| MessageAnnotations(OrderedMap::new()));
    let mut put = |key: &str, value: Value| {
        annotations.insert(OwnedKey::Symbol(Symbol::from(key)), value);
    };
    put("x-opt-sequence-number", Value::Long(event.sequence_number));
    put("x-opt-offset", Value::String(event.offset.to_string()));
    put(
        "x-opt-enqueued-time",
        Value::Timestamp(Timestamp::from_milliseconds(event.enqueued_ms)),
    );
    if let Some(key) = event.partition_key {
        put("x-opt-partition-key", Value::String(key));
    }
    message
}
