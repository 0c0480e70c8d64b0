//! Sources: where events enter a pipeline.

pub mod azure_blob;
pub mod defender;
pub mod event_hubs;
pub mod file;
pub mod http_server;
mod json_stream;
mod start_time;
pub mod stdin;
