//! Executions in `stopping` become `stopped` once the backend shows none of their processes, or
//! are reaped (force-stopped) after `shutdown_timeout`. A force stop that fails keeps the
//! execution `stopping`, says so in its `_failureReason`, and is tried again with backoff; an
//! unreachable store keeps the execution watched.
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::time::Instant;
use tracing::warn;

use super::store_retry::STORE_RETRY_MAX_DELAY;
use super::{lock, Scheduler};
use crate::backend::{processes_of, BackendError, StopOptions};
use crate::execution::{ExecutionRecord, StatusUpdate};
use crate::status::ExecutionStatus;
use crate::store::StoreError;

/// What the watcher keeps of one stopping execution besides its record.
#[derive(Debug, Default)]
pub(super) struct Watch {
    /// After a failed force stop: when to try again, and the pause after that one.
    retry: Option<(Instant, Duration)>,
    /// The failure last written to `_failureReason` (written once, not at every try).
    recorded: Option<String>,
}

impl Scheduler {
    pub(super) async fn stop_watcher(self: Arc<Self>) {
        loop {
            tokio::time::sleep(self.config.stop_poll).await;
            self.check_stopping().await;
        }
    }

    pub(super) fn watch_stopping(&self, ex_id: &str) {
        lock(&self.stopping).entry(ex_id.to_string()).or_default();
    }

    fn unwatch(&self, ex_id: &str) {
        lock(&self.stopping).remove(ex_id);
    }

    async fn check_stopping(&self) {
        let ids: Vec<String> = lock(&self.stopping).keys().cloned().collect();
        if ids.is_empty() {
            return;
        }
        let state = match self.backend.cluster_state().await {
            Ok(s) => s,
            Err(e) => return warn!(error = %e, "cannot read cluster state for stopping executions"),
        };
        for ex_id in ids {
            let ex = match self.store.get_execution(&ex_id).await {
                Ok(ex) => ex,
                Err(e @ StoreError::Unavailable(_)) => {
                    // Still watched: the next poll asks the store again.
                    warn!(ex_id, error = %e, "cannot read a stopping execution; retrying");
                    continue;
                }
                Err(e) => {
                    warn!(ex_id, error = %e, "stopping execution unreadable; no longer watched");
                    self.unwatch(&ex_id);
                    continue;
                }
            };
            if ex.status != ExecutionStatus::Stopping {
                self.unwatch(&ex_id);
                continue;
            }
            let gone = processes_of(&state, &ex_id).next().is_none();
            if !gone {
                if !self.force_stop_due(&ex) {
                    continue;
                }
                warn!(
                    ex_id,
                    "still has processes after shutdown_timeout; killing them"
                );
                let opts = StopOptions {
                    force: true,
                    ..Default::default()
                };
                if let Err(e) = self.backend.stop_execution(&ex_id, &opts).await {
                    self.force_stop_failed(&ex_id, e).await;
                    continue;
                }
            }
            let none = StatusUpdate::default();
            match self
                .store
                .set_execution_status(&ex_id, ExecutionStatus::Stopped, &none)
                .await
            {
                Ok(_) | Err(StoreError::Transition { .. }) => self.unwatch(&ex_id),
                Err(e) => warn!(ex_id, error = %e, "cannot mark execution stopped; retrying"),
            }
        }
    }

    /// Past `shutdown_timeout` the first time; after a failed force stop, when its backoff ends.
    fn force_stop_due(&self, ex: &ExecutionRecord) -> bool {
        let retry = lock(&self.stopping)
            .get(&ex.ex_id)
            .and_then(|w| w.retry.map(|(at, _)| at));
        match retry {
            Some(at) => Instant::now() >= at,
            None => {
                Utc::now()
                    .signed_duration_since(ex.updated)
                    .to_std()
                    .unwrap_or_default()
                    > self.config.shutdown_timeout
            }
        }
    }

    /// Keeps the execution `stopping`, schedules the next try and writes the failure into the
    /// execution's `_failureReason` (once per distinct error).
    async fn force_stop_failed(&self, ex_id: &str, e: BackendError) {
        let reason = format!(
            "force stop of the execution's processes failed: {e}; still stopping, retrying"
        );
        warn!(ex_id, %reason);
        let first = self.config.retry_interval.max(self.config.stop_poll);
        let record = {
            let mut watched = lock(&self.stopping);
            let Some(watch) = watched.get_mut(ex_id) else {
                return;
            };
            let delay = watch.retry.map_or(first, |(_, d)| {
                (d * 2).min(STORE_RETRY_MAX_DELAY.max(first))
            });
            watch.retry = Some((Instant::now() + delay, delay));
            watch.recorded.as_ref() != Some(&reason)
        };
        if !record {
            return;
        }
        let update = StatusUpdate::failed(reason.clone());
        match self
            .store
            .set_execution_status(ex_id, ExecutionStatus::Stopping, &update)
            .await
        {
            Ok(_) => {
                if let Some(w) = lock(&self.stopping).get_mut(ex_id) {
                    w.recorded = Some(reason);
                }
            }
            Err(e) => warn!(ex_id, error = %e, "cannot record the failed force stop"),
        }
    }
}
