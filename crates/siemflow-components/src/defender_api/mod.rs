//! Calling the Defender and Graph security APIs: shared by the `defender_alerts` and
//! `defender_incidents` sources and the `defender_alert_update` sink.
//!
//! - [`endpoints`]: the four list APIs (paths, last-update fields, page sizes, documented rate
//!   limits) and where each lives per cloud.
//! - [`budget`]: each app's call budget per tenant and service, shared by every component of
//!   the process that uses the same app, paused for everyone by a 429's `Retry-After`.
//! - [`client`]: one request with a token, within the budget, retried until it works, is
//!   refused, or the component stops.
//! - [`options`]: the options every Defender component shares (credentials, cloud, overrides).
//! - [`reach`]: the `validate --connect` check: a token and one small read.

pub mod budget;
pub mod client;
pub mod endpoints;
pub mod options;
pub mod reach;
