//! How many calls an app may make to one service in one tenant, shared process-wide.
//!
//! Microsoft counts calls per app per tenant, whatever component makes them: the alerts source
//! and the alert-update sink of one customer spend the same budget. Every component asks
//! [`CallBudget::shared`] for the budget of its (service, tenant, app), and waits in
//! [`CallBudget::acquire`] before each call: a GCRA limiter per minute and one per hour
//! (`governor`), and a pause that a 429's `Retry-After` sets for all of them, so no call goes
//! out before the service said it may.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, RateLimiter};
use tokio_util::sync::CancellationToken;

use crate::azure::cloud::Service;

/// A quota Microsoft counts separately: an API, or advanced hunting within Graph (its own
/// calls-per-minute allowance, beside `/security`'s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quota {
    /// The calls to one API.
    Api(Service),
    /// Graph `runHuntingQuery`.
    Hunting,
}

/// Which budget: one per quota, tenant and app.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BudgetKey {
    /// The quota.
    pub quota: Quota,
    /// The tenant.
    pub tenant: String,
    /// The app.
    pub client_id: String,
}

/// One app's budget for one service in one tenant.
pub struct CallBudget {
    per_minute: DefaultDirectRateLimiter,
    per_hour: DefaultDirectRateLimiter,
    limits: (u32, u32),
    paused_until: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for CallBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallBudget")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// A GCRA quota that never lets more than `calls` through in any `window`: a burst of a tenth
/// of them, the rest spread evenly. (A plain `calls per window` GCRA allows a full burst and then
/// the full rate, nearly twice the limit in the first window; the services count in windows.)
fn window_quota(calls: u32, window: Duration) -> governor::Quota {
    let burst = (calls / 10).max(1);
    let spread = (calls - burst).max(1);
    let period = window / spread;
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    governor::Quota::with_period(period.max(Duration::from_micros(1)))
        .unwrap_or_else(|| governor::Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

/// The component stopped while waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped;

impl CallBudget {
    /// A budget of `per_minute` and `per_hour` calls (each at least 1).
    pub fn new(per_minute: u32, per_hour: u32) -> Self {
        let per_minute = per_minute.max(1);
        let per_hour = per_hour.max(1);
        Self {
            per_minute: RateLimiter::direct(window_quota(per_minute, Duration::from_secs(60))),
            per_hour: RateLimiter::direct(window_quota(per_hour, Duration::from_secs(3600))),
            limits: (per_minute, per_hour),
            paused_until: Mutex::new(None),
        }
    }

    /// The process-wide budget for `key`, created with `limits` by its first user. A later user
    /// asking for other limits gets the existing budget (and a warning): one app has one quota.
    pub fn shared(key: BudgetKey, limits: (u32, u32)) -> Arc<Self> {
        static BUDGETS: OnceLock<Mutex<HashMap<BudgetKey, Weak<CallBudget>>>> = OnceLock::new();
        let mut budgets = BUDGETS
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        budgets.retain(|_, budget| budget.strong_count() > 0);
        if let Some(budget) = budgets.get(&key).and_then(Weak::upgrade) {
            if budget.limits != limits {
                tracing::warn!(
                    tenant = %key.tenant,
                    client_id = %key.client_id,
                    "components of one app set different rate limits; the first one's ({:?}) applies",
                    budget.limits
                );
            }
            return budget;
        }
        let budget = Arc::new(Self::new(limits.0, limits.1));
        budgets.insert(key, Arc::downgrade(&budget));
        budget
    }

    /// Waits until a call may be made; the time waited beyond none.
    pub async fn acquire(&self, shutdown: &CancellationToken) -> Result<Duration, Stopped> {
        let start = Instant::now();
        loop {
            let paused = *self
                .paused_until
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            match paused {
                Some(until) if until > Instant::now() => {
                    tokio::select! {
                        () = tokio::time::sleep_until(until.into()) => {}
                        () = shutdown.cancelled() => return Err(Stopped),
                    }
                }
                _ => break,
            }
        }
        tokio::select! {
            () = async {
                self.per_hour.until_ready().await;
                self.per_minute.until_ready().await;
            } => Ok(start.elapsed()),
            () = shutdown.cancelled() => Err(Stopped),
        }
    }

    /// Stops every call for `delay` (a 429's `Retry-After`).
    pub fn pause(&self, delay: Duration) {
        let until = Instant::now() + delay;
        let mut paused = self
            .paused_until
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if paused.is_none_or(|current| current < until) {
            *paused = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_pause_holds_callers_and_the_minute_limit_holds_the_next_call() {
        let budget = CallBudget::new(600, 100_000);
        let shutdown = CancellationToken::new();
        budget.pause(Duration::from_millis(150));
        let waited = budget.acquire(&shutdown).await.unwrap();
        assert!(waited >= Duration::from_millis(140), "{waited:?}");
        // The burst of a one-a-minute budget is one call; the next waits for the minute.
        let tight = CallBudget::new(1, 100);
        tight.acquire(&shutdown).await.unwrap();
        let early =
            tokio::time::timeout(Duration::from_millis(200), tight.acquire(&shutdown)).await;
        assert!(early.is_err(), "a second call within the minute must wait");
        shutdown.cancel();
        budget.pause(Duration::from_secs(60));
        assert_eq!(budget.acquire(&shutdown).await, Err(Stopped));
    }

    #[test]
    fn one_budget_per_app_tenant_and_service() {
        let key = |tenant: &str| BudgetKey {
            quota: Quota::Api(Service::Graph),
            tenant: tenant.into(),
            client_id: "app".into(),
        };
        let a = CallBudget::shared(key("t1"), (10, 100));
        let b = CallBudget::shared(key("t1"), (10, 100));
        let c = CallBudget::shared(key("t2"), (10, 100));
        let hunting = CallBudget::shared(
            BudgetKey {
                quota: Quota::Hunting,
                ..key("t1")
            },
            (45, 2700),
        );
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        assert!(!Arc::ptr_eq(&a, &hunting), "hunting has its own quota");
    }
}
