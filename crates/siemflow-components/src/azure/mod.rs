//! Microsoft Entra ID (Azure AD) authentication, shared by every component that calls a Microsoft
//! API: the Defender sources, the alert-update sink, and (later) Event Hubs and Blob Storage.
//!
//! - [`cloud`]: the sovereign clouds and their login and API hosts.
//! - [`credentials`]: the `tenant_id`/`client_id`/`client_secret`/`client_certificate` options.
//! - [`certificate`]: a certificate credential and the signed JWT client assertion it produces.
//! - [`event_hubs`]: Event Hubs namespaces over AMQP 1.0: connection strings, SAS, CBS.
//! - [`storage`]: Azure Blob Storage accounts, SharedKey signing, and the list and read calls.
//! - [`token`]: the OAuth 2.0 client-credentials flow (v2.0 `scope` and v1.0 `resource` forms),
//!   one cached token per resource, refreshed before expiry and after a 401.

pub mod certificate;
pub mod cloud;
pub mod credentials;
pub mod event_hubs;
pub mod storage;
pub mod token;
