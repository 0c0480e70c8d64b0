//! The start position of a receive link: the `apache.org:selector-filter:string` expression
//! SDKs send, e.g. `amqp.annotation.x-opt-offset > '-1'` (from the start), `... > '@latest'`,
//! `amqp.annotation.x-opt-sequence-number >= '42'`, `amqp.annotation.x-opt-enqueued-time >
//! '1764752400000'`.

use super::store::StoredEvent;

/// The index of the first event the expression selects (`events.len()` for "after the end").
pub fn start(expression: &str, events: &[StoredEvent]) -> Result<usize, String> {
    let rest = expression
        .trim()
        .strip_prefix("amqp.annotation.x-opt-")
        .ok_or_else(|| format!("unsupported selector {expression}"))?;
    let (field, rest) = rest
        .split_once(' ')
        .ok_or_else(|| format!("unsupported selector {expression}"))?;
    let (operator, value) = rest
        .trim()
        .split_once(' ')
        .ok_or_else(|| format!("unsupported selector {expression}"))?;
    let inclusive = match operator {
        ">" => false,
        ">=" => true,
        _ => return Err(format!("unsupported operator {operator}")),
    };
    let value = value.trim().trim_matches('\'');
    if value == "@latest" {
        return Ok(events.len());
    }
    let number: i64 = value
        .parse()
        .map_err(|_| format!("the selector value {value} is not a number"))?;
    let after = |key: fn(&StoredEvent) -> i64| {
        events
            .iter()
            .position(|event| {
                let own = key(event);
                own > number || (inclusive && own == number)
            })
            .unwrap_or(events.len())
    };
    match field {
        "offset" => Ok(after(|event| event.offset)),
        "sequence-number" => Ok(after(|event| event.sequence_number)),
        "enqueued-time" => Ok(after(|event| event.enqueued_ms)),
        other => Err(format!("unsupported selector field x-opt-{other}")),
    }
}
