//! Configuration errors that point at a file, line and column.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use super::yaml::Mark;

/// One problem in a pipeline file, printed as `file:line:column: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The pipeline file.
    pub file: Arc<Path>,
    /// Where in it.
    pub mark: Mark,
    /// What is wrong, naming the component when there is one.
    pub message: String,
}

impl ConfigError {
    /// Creates an error.
    pub fn new(file: &Arc<Path>, mark: Mark, message: impl Into<String>) -> Self {
        Self {
            file: file.clone(),
            mark,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.mark.line,
            self.mark.column,
            self.message
        )
    }
}

/// Every error found in a set of pipeline files, sorted by file and position.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// Sorts by file and position, so output is stable.
    pub fn sorted(mut self) -> Self {
        self.0
            .sort_by(|a, b| (&a.file, a.mark).cmp(&(&b.file, b.mark)));
        self
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}
