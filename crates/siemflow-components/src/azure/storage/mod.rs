//! Azure Blob Storage over its REST API: accounts from connection strings, SharedKey, SAS and
//! Entra authorization, and the three calls a reader needs (list containers, list blobs, read a
//! byte range).
//!
//! Hand-written on the shared HTTP client rather than a storage crate (docs/decisions/0005):
//! `object_store` cannot list containers, which discovering new Defender table containers
//! needs, and would bring its own HTTP, TLS (aws-lc) and Entra stacks beside the project's; the
//! Azure SDK crates have no SharedKey or connection-string support.

pub mod account;
pub mod client;
pub mod listing;
pub mod reach;
pub mod shared_key;
