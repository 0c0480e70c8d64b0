//! Waiting before trying again: the one retry policy of every component that talks to a server.
//!
//! Exponential, from `initial` to at most `max`, with full jitter so that many pipelines that
//! lost the same server do not come back at the same instant; never giving up (delivery is
//! retried until it works or the pipeline stops).

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

/// Delays between attempts; call [`Backoff::reset`] after a success.
#[derive(Debug)]
pub struct Backoff {
    builder: ExponentialBuilder,
    delays: backon::ExponentialBackoff,
    max: Duration,
}

impl Backoff {
    /// Starts at `initial`, doubles up to `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        let builder = ExponentialBuilder::default()
            .with_min_delay(initial)
            .with_max_delay(max)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times();
        Self {
            delays: builder.build(),
            builder,
            max,
        }
    }

    /// The next delay.
    pub fn next_delay(&mut self) -> Duration {
        self.delays.next().unwrap_or(self.max)
    }

    /// Back to the first delay.
    pub fn reset(&mut self) {
        self.delays = self.builder.build();
    }
}

impl Default for Backoff {
    /// 100 ms up to 30 s.
    fn default() -> Self {
        Self::new(Duration::from_millis(100), Duration::from_secs(30))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_its_bound_and_starts_over_after_a_reset() {
        let mut backoff = Backoff::new(Duration::from_millis(10), Duration::from_millis(80));
        let delays: Vec<Duration> = (0..12).map(|_| backoff.next_delay()).collect();
        // Full jitter adds up to one more delay, so each is below twice the bound.
        assert!(
            delays.iter().all(|d| *d < Duration::from_millis(160)),
            "{delays:?}"
        );
        assert!(
            delays[8..].iter().all(|d| *d >= Duration::from_millis(80)),
            "{delays:?}"
        );
        backoff.reset();
        assert!(backoff.next_delay() < Duration::from_millis(20));
    }
}
