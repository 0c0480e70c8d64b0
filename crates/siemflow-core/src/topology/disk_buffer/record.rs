//! An event as a record payload, and back.
//!
//! Version 1, little endian: `version u8`, `format u8` (0 JSON, 1 text), `id u128`,
//! `received_at` in nanoseconds since the Unix epoch `u64`, the source component id, the event
//! type, the three labels (each an optional string: `0`, or `1` then `u32` length and UTF-8), and
//! the body as the rest. The pipeline id is not stored: a buffer belongs to one pipeline.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;

use crate::event::{BodyFormat, Event, EventId, EventMetadata, Labels, Origin};

const VERSION: u8 = 1;

/// Why a payload is not an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("undecodable buffered event: {0}")]
pub(crate) struct DecodeError(&'static str);

/// Writes `event` as a payload into `out` (cleared first).
pub(crate) fn encode(event: &Event, out: &mut Vec<u8>) {
    out.clear();
    let metadata = event.metadata();
    out.push(VERSION);
    out.push(match event.format() {
        BodyFormat::Json => 0,
        BodyFormat::Text => 1,
    });
    out.extend_from_slice(&metadata.id.as_u128().to_le_bytes());
    let nanos = metadata
        .received_at
        .duration_since(UNIX_EPOCH)
        .map(|since| u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    out.extend_from_slice(&nanos.to_le_bytes());
    put_str(out, Some(&metadata.origin.component));
    put_str(out, metadata.event_type.as_deref());
    let labels = metadata.labels.as_deref();
    put_str(out, labels.and_then(|l| l.siem_event_id.as_deref()));
    put_str(out, labels.and_then(|l| l.sourcetype.as_deref()));
    put_str(out, labels.and_then(|l| l.route.as_deref()));
    out.extend_from_slice(event.body());
}

fn put_str(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        None => out.push(0),
        Some(text) => {
            out.push(1);
            // Component ids, event types and labels are short; a longer one is cut, not lost.
            let length = u32::try_from(text.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&length.to_le_bytes());
            out.extend_from_slice(&text.as_bytes()[..length as usize]);
        }
    }
}

/// Rebuilds events of one pipeline, sharing one [`Origin`] per source component.
#[derive(Debug)]
pub(crate) struct Decoder {
    pipeline: Arc<str>,
    origins: Vec<Arc<Origin>>,
}

impl Decoder {
    /// A decoder for the buffer of `pipeline`.
    pub(crate) fn new(pipeline: Arc<str>) -> Self {
        Self {
            pipeline,
            origins: Vec::new(),
        }
    }

    /// The event a payload holds (without finalizers).
    pub(crate) fn decode(&mut self, payload: Bytes) -> Result<Event, DecodeError> {
        let mut cursor = Cursor {
            bytes: &payload,
            at: 0,
        };
        if cursor.u8()? != VERSION {
            return Err(DecodeError("unknown record version"));
        }
        let format = match cursor.u8()? {
            0 => BodyFormat::Json,
            1 => BodyFormat::Text,
            _ => return Err(DecodeError("unknown body format")),
        };
        let id = EventId::from(u128::from_le_bytes(cursor.array()?));
        let received_at = UNIX_EPOCH + Duration::from_nanos(u64::from_le_bytes(cursor.array()?));
        let component = cursor.string()?.ok_or(DecodeError("no source component"))?;
        let origin = self.origin(component);
        let event_type = cursor.string()?.map(Arc::from);
        let siem_event_id = cursor.string()?.map(Arc::from);
        let sourcetype = cursor.string()?.map(Arc::from);
        let route = cursor.string()?.map(Arc::from);
        let labels =
            (siem_event_id.is_some() || sourcetype.is_some() || route.is_some()).then(|| {
                Arc::new(Labels {
                    siem_event_id,
                    sourcetype,
                    route,
                })
            });
        let metadata = EventMetadata {
            origin,
            event_type,
            received_at,
            id,
            labels,
        };
        let body = payload.slice(cursor.at..);
        Ok(match format {
            BodyFormat::Json => Event::json(body, metadata),
            BodyFormat::Text => Event::text(body, metadata),
        })
    }

    fn origin(&mut self, component: &str) -> Arc<Origin> {
        if let Some(origin) = self.origins.iter().find(|o| &*o.component == component) {
            return origin.clone();
        }
        let origin = Arc::new(Origin {
            pipeline: self.pipeline.clone(),
            component: component.into(),
        });
        self.origins.push(origin.clone());
        origin
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, count: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .at
            .checked_add(count)
            .filter(|end| *end <= self.bytes.len())
            .ok_or(DecodeError("cut short"))?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        self.take(N)?
            .try_into()
            .map_err(|_| DecodeError("cut short"))
    }

    fn string(&mut self) -> Result<Option<&'a str>, DecodeError> {
        if self.u8()? == 0 {
            return Ok(None);
        }
        let length = u32::from_le_bytes(self.array()?) as usize;
        std::str::from_utf8(self.take(length)?)
            .map(Some)
            .map_err(|_| DecodeError("a string that is not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_survives_the_round_trip() {
        let origin = Arc::new(Origin {
            pipeline: "tenant-a".into(),
            component: "defender".into(),
        });
        let mut metadata = EventMetadata::new(origin, EventId::from(u128::MAX - 5));
        metadata.event_type = Some("AdvancedHunting-DeviceProcessEvents".into());
        metadata.labels = Some(Arc::new(Labels {
            siem_event_id: Some("4688".into()),
            sourcetype: None,
            route: Some("endpoint".into()),
        }));
        let event = Event::text(
            Bytes::from_static("CEF:0|Microsoft|é|\n".as_bytes()),
            metadata,
        );
        let mut payload = Vec::new();
        encode(&event, &mut payload);

        let mut decoder = Decoder::new("tenant-a".into());
        let back = decoder.decode(Bytes::from(payload.clone())).unwrap();
        assert_eq!(back.body(), event.body());
        assert_eq!(back.format(), BodyFormat::Text);
        assert_eq!(back.id(), event.id());
        assert_eq!(back.metadata().received_at, event.metadata().received_at);
        assert_eq!(back.metadata().origin, event.metadata().origin);
        assert_eq!(back.metadata().event_type, event.metadata().event_type);
        assert_eq!(back.metadata().labels, event.metadata().labels);

        let again = decoder.decode(Bytes::from(payload.clone())).unwrap();
        assert!(Arc::ptr_eq(
            &again.metadata().origin,
            &back.metadata().origin
        ));
        for cut in [0, 1, 10, 30] {
            assert!(
                decoder
                    .decode(Bytes::from(payload[..cut].to_vec()))
                    .is_err(),
                "{cut}"
            );
        }
    }
}
