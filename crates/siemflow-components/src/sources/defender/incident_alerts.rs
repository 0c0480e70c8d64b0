//! The alerts of a changed incident, for `include_alerts: true`.
//!
//! Graph answers HTTP 500, every time, to an incident list that combines `$expand=alerts` with
//! `$filter` once a page holds an incident with many alerts (`shared/reference/defender-apis.md`
//! section 7). So the list is read without `$expand`, and each incident change the source emits
//! gets its alerts from `GET /v1.0/security/incidents/{id}?$expand=alerts`: one request per
//! changed incident, whatever its number of alerts. The alerts are spliced into the listed
//! incident's JSON as the API wrote them (`"alerts": [...]`, the shape `$expand` gives), so the
//! event is the listed version of the incident, with its alerts as they are when it is read.
//!
//! Defender XDR's `/api/incidents` always carries the alerts; with `include_alerts: false` they
//! are taken out.

use bytes::Bytes;
use reqwest::Method;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::defender_api::client::{ApiClient, ApiError, CallContext};

#[derive(Deserialize)]
struct Expanded<'a> {
    #[serde(borrow, default)]
    alerts: Option<&'a RawValue>,
}

/// The alerts of incident `id` as a JSON array, exactly as Graph wrote it.
pub async fn fetch(
    client: &ApiClient,
    collection: &str,
    id: &str,
    cx: CallContext<'_>,
) -> Result<Bytes, ApiError> {
    let mut url = client
        .url(&format!("{collection}/{id}"))
        .map_err(|message| ApiError::Refused {
            status: 0,
            code: "InvalidId".into(),
            message,
        })?;
    url.query_pairs_mut().append_pair("$expand", "alerts");
    let body = client.call(Method::GET, &url, None, cx).await?;
    let expanded: Expanded<'_> =
        serde_json::from_slice(&body).map_err(|error| ApiError::Refused {
            status: 200,
            code: "InvalidResponse".into(),
            message: format!("the incident is not a JSON object: {error}"),
        })?;
    Ok(match expanded.alerts {
        Some(alerts) => body.slice_ref(alerts.get().as_bytes()),
        None => Bytes::from_static(b"[]"),
    })
}

/// `incident` (a JSON object without `alerts`) with `"alerts": <alerts>` added as its last
/// property; `None` if it is not an object.
pub fn with_alerts(incident: &[u8], alerts: &[u8]) -> Option<Bytes> {
    property_added(incident, "alerts", alerts)
}

/// `incident` with a property naming why its alerts could not be read; `None` if it is not an
/// object.
pub fn with_alerts_error(incident: &[u8], error: &str) -> Option<Bytes> {
    let text = serde_json::to_string(error).ok()?;
    property_added(incident, "alerts@siemflow.error", text.as_bytes())
}

fn property_added(object: &[u8], name: &str, value: &[u8]) -> Option<Bytes> {
    let end = object.iter().rposition(|b| !b.is_ascii_whitespace())?;
    let start = object.iter().position(|b| !b.is_ascii_whitespace())?;
    if object[start] != b'{' || object[end] != b'}' || end == start {
        return None;
    }
    let empty = object[start + 1..end].iter().all(u8::is_ascii_whitespace);
    let mut out = Vec::with_capacity(object.len() + name.len() + value.len() + 4);
    out.extend_from_slice(&object[..end]);
    if !empty {
        out.push(b',');
    }
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
    out.extend_from_slice(value);
    out.push(b'}');
    Some(Bytes::from(out))
}

/// `incident` without its `alerts` (Defender XDR, `include_alerts: false`); the body as it was
/// if it has none or is not an object.
pub fn without_alerts(incident: &Bytes) -> Bytes {
    let Ok(mut map) =
        serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(incident)
    else {
        return incident.clone();
    };
    if map.remove("alerts").is_none() {
        return incident.clone();
    }
    serde_json::to_vec(&map)
        .map(Bytes::from)
        .unwrap_or_else(|_| incident.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_are_spliced_in_as_written() {
        let merged = with_alerts(br#"{"id":"7","n":1} "#, br#"[{"id":"da1","x":1.50}]"#).unwrap();
        assert_eq!(
            &merged[..],
            br#"{"id":"7","n":1,"alerts":[{"id":"da1","x":1.50}]}"#
        );
        assert_eq!(
            &with_alerts(b"{ }", b"[]").unwrap()[..],
            br#"{ "alerts":[]}"#
        );
        assert!(with_alerts(b"[1]", b"[]").is_none());
        let marked = with_alerts_error(br#"{"id":"7"}"#, "HTTP 500 \"x\"").unwrap();
        let value: serde_json::Value = serde_json::from_slice(&marked).unwrap();
        assert_eq!(value["alerts@siemflow.error"], "HTTP 500 \"x\"");
        let xdr = Bytes::from_static(br#"{"incidentId":5,"alerts":[{"alertId":"a"}]}"#);
        assert_eq!(&without_alerts(&xdr)[..], br#"{"incidentId":5}"#);
    }
}
