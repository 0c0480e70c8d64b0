//! Sources: where events enter a pipeline.

mod acked_batch;
pub mod azure_blob;
pub mod defender;
pub mod defender_hunting;
pub mod event_hubs;
pub mod file;
pub mod http_server;
mod json_stream;
pub mod poll_health;
mod start_time;
pub mod stdin;
