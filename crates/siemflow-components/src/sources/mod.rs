//! Sources: where events enter a pipeline.

pub mod file;
mod json_stream;
pub mod stdin;
