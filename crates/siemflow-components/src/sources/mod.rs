//! Sources: where events enter a pipeline.

pub mod defender;
pub mod file;
pub mod http_server;
mod json_stream;
pub mod stdin;
