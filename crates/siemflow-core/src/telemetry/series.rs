//! Which metric series each pipeline created, so that a removed pipeline leaves `/metrics`.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use prometheus_client::metrics::family::{Family, MetricConstructor};

type Remove = Box<dyn Fn() + Send + Sync>;

/// Per pipeline id, how to remove each of its series from its family.
#[derive(Clone, Default)]
pub(crate) struct Series {
    by_pipeline: Arc<Mutex<HashMap<String, Vec<Remove>>>>,
}

impl std::fmt::Debug for Series {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Series").finish_non_exhaustive()
    }
}

impl Series {
    /// The series of `family` with `labels`, created and remembered for `pipeline` on first use.
    pub(crate) fn get<S, M, C>(&self, pipeline: &str, family: &Family<S, M, C>, labels: &S) -> M
    where
        S: Clone + Hash + Eq + Send + Sync + 'static,
        M: Clone + Send + Sync + 'static,
        C: MetricConstructor<M> + Clone + Send + Sync + 'static,
    {
        if family.get(labels).is_none() {
            let (family, labels) = (family.clone(), labels.clone());
            self.by_pipeline
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .entry(pipeline.to_string())
                .or_default()
                .push(Box::new(move || {
                    family.remove(&labels);
                }));
        }
        family.get_or_create_owned(labels)
    }

    /// Removes every series `pipeline` created.
    pub(crate) fn forget(&self, pipeline: &str) {
        let removes = self
            .by_pipeline
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(pipeline);
        for remove in removes.into_iter().flatten() {
            remove();
        }
    }
}
