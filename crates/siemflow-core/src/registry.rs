//! The map from `type:` names to component config types.

use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema};
use serde::de::DeserializeOwned;

use crate::component::{SinkConfig, SourceConfig, TransformConfig};
use crate::config::ComponentKind;
use crate::config::de::{DeError, from_node};
use crate::config::yaml::Node;

type Factory<T> = fn(&Node) -> Result<Box<T>, DeError>;

/// A registered type: how its options are read, and their schema (for the option reference).
struct Entry<T: ?Sized> {
    parse: Factory<T>,
    schema: fn() -> Schema,
}

impl<T: ?Sized> Entry<T> {
    fn new<C: JsonSchema>(parse: Factory<T>) -> Self {
        Self {
            parse,
            schema: || schemars::SchemaGenerator::default().into_root_schema_for::<C>(),
        }
    }
}

/// Component types known to this build. The components crate fills one with every built-in type;
/// tests add their own.
#[derive(Default)]
pub struct Registry {
    sources: BTreeMap<&'static str, Entry<dyn SourceConfig>>,
    transforms: BTreeMap<&'static str, Entry<dyn TransformConfig>>,
    sinks: BTreeMap<&'static str, Entry<dyn SinkConfig>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("sources", &self.sources.keys().collect::<Vec<_>>())
            .field("transforms", &self.transforms.keys().collect::<Vec<_>>())
            .field("sinks", &self.sinks.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Registry {
    /// Registers a source type.
    pub fn source<T: SourceConfig + DeserializeOwned + JsonSchema + 'static>(
        &mut self,
        name: &'static str,
    ) -> &mut Self {
        self.sources.insert(
            name,
            Entry::new::<T>(|node| {
                from_node::<T>(node).map(|config| Box::new(config) as Box<dyn SourceConfig>)
            }),
        );
        self
    }

    /// Registers a transform type.
    pub fn transform<T: TransformConfig + DeserializeOwned + JsonSchema + 'static>(
        &mut self,
        name: &'static str,
    ) -> &mut Self {
        self.transforms.insert(
            name,
            Entry::new::<T>(|node| {
                from_node::<T>(node).map(|config| Box::new(config) as Box<dyn TransformConfig>)
            }),
        );
        self
    }

    /// Registers a sink type.
    pub fn sink<T: SinkConfig + DeserializeOwned + JsonSchema + 'static>(
        &mut self,
        name: &'static str,
    ) -> &mut Self {
        self.sinks.insert(
            name,
            Entry::new::<T>(|node| {
                from_node::<T>(node).map(|config| Box::new(config) as Box<dyn SinkConfig>)
            }),
        );
        self
    }

    pub(crate) fn parse_source(
        &self,
        name: &str,
        node: &Node,
    ) -> Option<Result<Box<dyn SourceConfig>, DeError>> {
        self.sources.get(name).map(|entry| (entry.parse)(node))
    }

    pub(crate) fn parse_transform(
        &self,
        name: &str,
        node: &Node,
    ) -> Option<Result<Box<dyn TransformConfig>, DeError>> {
        self.transforms.get(name).map(|entry| (entry.parse)(node))
    }

    pub(crate) fn parse_sink(
        &self,
        name: &str,
        node: &Node,
    ) -> Option<Result<Box<dyn SinkConfig>, DeError>> {
        self.sinks.get(name).map(|entry| (entry.parse)(node))
    }

    /// Registered source type names.
    pub fn source_names(&self) -> Vec<&'static str> {
        self.sources.keys().copied().collect()
    }

    /// Registered transform type names.
    pub fn transform_names(&self) -> Vec<&'static str> {
        self.transforms.keys().copied().collect()
    }

    /// Registered sink type names.
    pub fn sink_names(&self) -> Vec<&'static str> {
        self.sinks.keys().copied().collect()
    }

    /// The JSON Schema of a type's options, its doc comments as descriptions: `kind` is
    /// `source`, `transform` or `sink`.
    pub fn options_schema(&self, kind: ComponentKind, name: &str) -> Option<Schema> {
        let schema = match kind {
            ComponentKind::Source => self.sources.get(name)?.schema,
            ComponentKind::Transform => self.transforms.get(name)?.schema,
            ComponentKind::Sink => self.sinks.get(name)?.schema,
        };
        Some(schema())
    }
}
