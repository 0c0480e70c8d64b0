//! A gauge whose value is the time since a moment, computed when it is scraped.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus_client::encoding::{EncodeMetric, MetricEncoder};
use prometheus_client::metrics::{MetricType, TypedMetric};

/// Seconds since the moment last [`set`](Age::set), read at scrape time. An age keeps growing
/// while nobody updates it, which is what an alert on a stalled checkpoint or a stale
/// high-water mark needs; a gauge set by the component would freeze with the component.
#[derive(Clone, Debug, Default)]
pub struct Age {
    /// Milliseconds since the Unix epoch.
    since: Arc<AtomicU64>,
}

impl Age {
    /// The age counts from `moment`.
    pub fn set(&self, moment: SystemTime) {
        let millis = moment.duration_since(UNIX_EPOCH).map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        });
        self.since.store(millis, Ordering::Relaxed);
    }

    /// Seconds from the moment to now; 0 for a moment in the future.
    pub fn seconds(&self) -> f64 {
        let since = UNIX_EPOCH + Duration::from_millis(self.since.load(Ordering::Relaxed));
        SystemTime::now()
            .duration_since(since)
            .map_or(0.0, |age| age.as_secs_f64())
    }
}

impl TypedMetric for Age {
    const TYPE: MetricType = MetricType::Gauge;
}

impl EncodeMetric for Age {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_gauge(&self.seconds())
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_the_moment_and_never_goes_negative() {
        let age = Age::default();
        age.set(SystemTime::now() - Duration::from_secs(90));
        assert!((90.0..100.0).contains(&age.seconds()), "{}", age.seconds());
        age.set(SystemTime::now() + Duration::from_secs(90));
        assert!(age.seconds() == 0.0);
    }
}
