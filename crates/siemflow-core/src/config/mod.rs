//! Pipeline files: YAML with positions, interpolation, and typed component options.
//!
//! Loading happens in two steps so that every error is found before anything connects:
//! [`load_file`] reads the shape every pipeline shares and interpolates `${...}`;
//! [`crate::compile`] then types each component's options through the
//! [`crate::registry::Registry`] and checks the graph. Both collect errors instead of stopping at
//! the first, and every error reads `file:line:column: message`.

pub mod de;
pub mod duration;
mod error;
pub mod interpolate;
pub mod paths;
mod pipeline;
pub mod reference;
pub mod size;
pub mod yaml;

pub use error::{ConfigError, ConfigErrors};
pub use pipeline::{
    BufferConfig, BufferType, ComponentDecl, ComponentKind, InputRef, PipelineFile, TestCase,
    TestExpect, TestInput, WhenFull, check_id, de_error, load_file, load_str, quoted_list,
    read_file,
};
