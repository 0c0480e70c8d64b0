//! The map from `type:` names to component config types.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;

use crate::component::{SinkConfig, SourceConfig, TransformConfig};
use crate::config::de::{DeError, from_node};
use crate::config::yaml::Node;

type Factory<T> = fn(&Node) -> Result<Box<T>, DeError>;

/// Component types known to this build. The components crate fills one with every built-in type;
/// tests add their own.
#[derive(Default)]
pub struct Registry {
    sources: BTreeMap<&'static str, Factory<dyn SourceConfig>>,
    transforms: BTreeMap<&'static str, Factory<dyn TransformConfig>>,
    sinks: BTreeMap<&'static str, Factory<dyn SinkConfig>>,
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
    pub fn source<T: SourceConfig + DeserializeOwned + 'static>(
        &mut self,
        name: &'static str,
    ) -> &mut Self {
        self.sources.insert(name, |node| {
            from_node::<T>(node).map(|config| Box::new(config) as Box<dyn SourceConfig>)
        });
        self
    }

    /// Registers a transform type.
    pub fn transform<T: TransformConfig + DeserializeOwned + 'static>(
        &mut self,
        name: &'static str,
    ) -> &mut Self {
        self.transforms.insert(name, |node| {
            from_node::<T>(node).map(|config| Box::new(config) as Box<dyn TransformConfig>)
        });
        self
    }

    /// Registers a sink type.
    pub fn sink<T: SinkConfig + DeserializeOwned + 'static>(
        &mut self,
        name: &'static str,
    ) -> &mut Self {
        self.sinks.insert(name, |node| {
            from_node::<T>(node).map(|config| Box::new(config) as Box<dyn SinkConfig>)
        });
        self
    }

    pub(crate) fn parse_source(
        &self,
        name: &str,
        node: &Node,
    ) -> Option<Result<Box<dyn SourceConfig>, DeError>> {
        self.sources.get(name).map(|factory| factory(node))
    }

    pub(crate) fn parse_transform(
        &self,
        name: &str,
        node: &Node,
    ) -> Option<Result<Box<dyn TransformConfig>, DeError>> {
        self.transforms.get(name).map(|factory| factory(node))
    }

    pub(crate) fn parse_sink(
        &self,
        name: &str,
        node: &Node,
    ) -> Option<Result<Box<dyn SinkConfig>, DeError>> {
        self.sinks.get(name).map(|factory| factory(node))
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
}
