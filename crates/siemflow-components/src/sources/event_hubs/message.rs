//! What the source takes from a received Event Hubs message: the annotations Event Hubs adds
//! (`x-opt-sequence-number`, `x-opt-offset`, `x-opt-enqueued-time`) and the body bytes.

use bytes::Bytes;
use fe2o3_amqp::types::messaging::annotations::OwnedKey;
use fe2o3_amqp::types::messaging::{Body, Message};
use fe2o3_amqp::types::primitives::{Symbol, Value};

/// One received event.
#[derive(Debug)]
pub struct ReceivedEvent {
    /// Its sequence number in the partition (`None` if the service did not say: not resumable).
    pub sequence_number: Option<i64>,
    /// Its offset, opaque.
    pub offset: Option<String>,
    /// When it was enqueued, milliseconds since the epoch.
    pub enqueued_ms: Option<i64>,
    /// The body, or why it has no usable bytes.
    pub body: Result<Bytes, &'static str>,
}

fn annotation<'a>(message: &'a Message<Body<Value>>, name: &str) -> Option<&'a Value> {
    message
        .message_annotations
        .as_ref()?
        .0
        .get(&OwnedKey::Symbol(Symbol::from(name)))
}

/// Reads the annotations and body of `message`.
pub fn read(message: Message<Body<Value>>) -> ReceivedEvent {
    let sequence_number = match annotation(&message, "x-opt-sequence-number") {
        Some(Value::Long(number)) => Some(*number),
        Some(Value::Int(number)) => Some(i64::from(*number)),
        Some(Value::Ulong(number)) => i64::try_from(*number).ok(),
        _ => None,
    };
    let offset = match annotation(&message, "x-opt-offset") {
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Long(number)) => Some(number.to_string()),
        _ => None,
    };
    let enqueued_ms = match annotation(&message, "x-opt-enqueued-time") {
        Some(Value::Timestamp(time)) => Some(time.milliseconds()),
        _ => None,
    };
    let body = match message.body {
        Body::Data(sections) if sections.len() == 1 => sections
            .into_iter()
            .next()
            .map(|data| Bytes::from(data.0.into_vec()))
            .ok_or("the message has no body"),
        Body::Data(sections) => {
            let mut joined = Vec::new();
            for data in sections {
                joined.extend_from_slice(&data.0);
            }
            Ok(Bytes::from(joined))
        }
        Body::Value(value) => match value.0 {
            Value::String(text) => Ok(Bytes::from(text)),
            Value::Binary(bytes) => Ok(Bytes::from(bytes.into_vec())),
            _ => Err("the message body is an AMQP value that is neither text nor binary"),
        },
        Body::Sequence(_) => Err("the message body is an AMQP sequence, not bytes"),
        Body::Empty => Err("the message has no body"),
    };
    ReceivedEvent {
        sequence_number,
        offset,
        enqueued_ms,
        body,
    }
}

#[cfg(test)]
mod tests {
    use fe2o3_amqp::types::messaging::{AmqpValue, Data, MessageAnnotations};
    use fe2o3_amqp::types::primitives::{Binary, Timestamp};

    use super::*;

    #[test]
    fn takes_the_annotations_and_any_byte_body() {
        let annotations = MessageAnnotations::builder()
            .insert(Symbol::from("x-opt-sequence-number"), Value::Long(41))
            .insert(Symbol::from("x-opt-offset"), Value::String("8192".into()))
            .insert(
                Symbol::from("x-opt-enqueued-time"),
                Value::Timestamp(Timestamp::from_milliseconds(1_764_752_400_000)),
            )
            .build();
        let message = Message::builder()
            .message_annotations(annotations)
            .body(Body::<Value>::Data(
                vec![
                    Data(Binary::from(b"{\"records\"".to_vec())),
                    Data(Binary::from(b":[]}".to_vec())),
                ]
                .into(),
            ))
            .build();
        let event = read(message);
        assert_eq!(event.sequence_number, Some(41));
        assert_eq!(event.offset.as_deref(), Some("8192"));
        assert_eq!(event.enqueued_ms, Some(1_764_752_400_000));
        assert_eq!(event.body.unwrap().as_ref(), b"{\"records\":[]}");

        let text = Message::builder()
            .body(Body::Value(AmqpValue(Value::String("{}".into()))))
            .build();
        let event = read(text);
        assert_eq!(event.sequence_number, None);
        assert_eq!(event.body.unwrap().as_ref(), b"{}");

        let number = Message::builder()
            .body(Body::Value(AmqpValue(Value::Int(7))))
            .build();
        assert!(read(number).body.is_err());
    }
}
