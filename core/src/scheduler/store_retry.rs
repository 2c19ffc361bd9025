//! Store calls on the scheduler's paths wait out an unreachable store (exponential backoff with
//! jitter, no limit) instead of dropping the execution they are about: a dropped execution would
//! sit in `pending`, `scheduling` or `stopping` until the next master restart.
use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use tracing::warn;

use super::Scheduler;
use crate::store::{StoreError, StoreResult};

/// The longest pause between two tries of an unreachable store.
pub const STORE_RETRY_MAX_DELAY: Duration = Duration::from_secs(5);
/// Tries after the first of a backend clean-up call.
const BACKEND_RETRIES: usize = 4;

impl Scheduler {
    pub(super) fn store_backoff(&self) -> ExponentialBuilder {
        let min = self.config.retry_interval.max(Duration::from_millis(1));
        ExponentialBuilder::default()
            .with_min_delay(min)
            .with_max_delay(STORE_RETRY_MAX_DELAY.max(min))
            .without_max_times()
            .with_jitter()
    }

    /// Clean-up calls to the backend (force stops): a few tries, then the caller logs.
    pub(super) fn backend_backoff(&self) -> ExponentialBuilder {
        self.store_backoff().with_max_times(BACKEND_RETRIES)
    }

    /// Runs `call` until the store answers: `Unavailable` is retried (logged each time) until the
    /// store is back or the scheduler shuts down; every other answer is returned as it is.
    pub(super) async fn until_reachable<T, F, Fut>(
        &self,
        ex_id: &str,
        what: &str,
        call: F,
    ) -> StoreResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = StoreResult<T>>,
    {
        call.retry(self.store_backoff())
            .when(|e| matches!(e, StoreError::Unavailable(_)) && !self.is_shut_down())
            .notify(|e, wait| {
                warn!(ex_id, error = %e, ?wait, "state store unreachable while {what}; retrying")
            })
            .await
    }

    pub(super) fn is_shut_down(&self) -> bool {
        self.shut_down.load(Ordering::SeqCst)
    }
}
