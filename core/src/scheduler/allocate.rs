//! The allocation loop: drains the pending queue, up to `allocation_concurrency` at once.
use std::sync::Arc;

use backon::Retryable;
use tracing::{error, info, warn};

use super::{lock, Scheduler};
use crate::backend::{BackendError, Readiness, StopOptions};
use crate::execution::{ExecutionRecord, StatusUpdate};
use crate::status::ExecutionStatus;
use crate::store::StoreError;

impl Scheduler {
    pub(super) async fn allocation_loop(self: Arc<Self>) {
        loop {
            if lock(&self.queue).is_empty() {
                self.wake.notified().await;
                continue;
            }
            if let Readiness::NotReady { reason } = self.backend.ready_for_allocation().await {
                *lock(&self.pending_reason) = Some(reason);
                self.pause_retry().await;
                continue;
            }
            *lock(&self.pending_reason) = None;
            let Ok(permit) = self.slots.clone().acquire_owned().await else {
                return;
            };
            let Some(ex_id) = lock(&self.queue).pop_front() else {
                continue;
            };
            let this = self.clone();
            tokio::spawn(async move {
                let _permit = permit;
                this.allocate(&ex_id).await;
            });
        }
    }

    /// Waits `retry_interval`, or less if something new is queued.
    async fn pause_retry(&self) {
        let _ = tokio::time::timeout(self.config.retry_interval, self.wake.notified()).await;
    }

    /// pending → scheduling → (controller) → initializing + (workers). Idempotent, so a master
    /// restart can run it again on an execution it left half-allocated. An unreachable store is
    /// waited for at every step: the execution is never dropped half-way.
    pub(super) async fn allocate(&self, ex_id: &str) {
        let loaded = self
            .until_reachable(ex_id, "loading a queued execution", || {
                self.store.get_execution(ex_id)
            })
            .await;
        let ex = match loaded {
            Ok(ex) if ex.status.is_init() => ex,
            Ok(_) => return, // stopped (or otherwise moved on) while queued
            Err(e) => return warn!(ex_id, error = %e, "cannot load queued execution"),
        };
        let none = StatusUpdate::default();
        let scheduling = self
            .until_reachable(ex_id, "recording `scheduling`", || {
                self.store
                    .set_execution_status(&ex.ex_id, ExecutionStatus::Scheduling, &none)
            })
            .await;
        let ex = match scheduling {
            Ok(ex) => ex,
            Err(StoreError::Transition { .. }) => return,
            Err(e @ StoreError::Unavailable(_)) => {
                return warn!(ex_id, error = %e, "scheduler shut down while allocating")
            }
            Err(e) => {
                return self
                    .fail(ex_id, format!("Failed to provision execution {ex_id}: {e}"))
                    .await
            }
        };
        let addr = match self.backend.allocate_execution_controller(&ex).await {
            Ok(addr) => addr,
            Err(BackendError::NoCapacity(reason)) => return self.requeue(ex_id, reason).await,
            Err(e) => {
                return self
                    .fail(ex_id, format!("Failed to provision execution {ex_id}: {e}"))
                    .await
            }
        };
        let update = StatusUpdate {
            slicer_hostname: Some(addr.hostname.clone()),
            slicer_port: Some(addr.port),
            ..Default::default()
        };
        let mut located = ex.clone();
        located.slicer_hostname = Some(addr.hostname);
        located.slicer_port = Some(addr.port);
        // The workers start with the `initializing` write, not after it: they retry connecting
        // until their controller listens, and a short run need not wait for a store round trip.
        let (recorded, workers) = tokio::join!(
            self.record_initializing(ex_id, &update),
            self.backend.allocate_workers(&located, ex.job.workers)
        );
        match recorded {
            Ok(_) => {}
            Err(e @ StoreError::Unavailable(_)) => {
                // Only when shutting down: the next master re-allocates (idempotently).
                return warn!(ex_id, error = %e, "scheduler shut down while allocating");
            }
            Err(e) => {
                // Stopped while its processes were being started: take them down again.
                info!(ex_id, error = %e, "execution moved on during allocation; stopping its processes");
                return self.force_remove(ex_id).await;
            }
        }
        if let Err(e) = workers {
            self.fail(ex_id, format!("Failure to allocateWorkers {ex_id}: {e}"))
                .await;
            return;
        }
        self.stop_workers_started_after_a_stop(ex_id).await;
    }

    /// `initializing` with the controller's address, waiting for the store; a fast controller's
    /// `running` is kept (see [`Self::record_address_if_running`]).
    async fn record_initializing(
        &self,
        ex_id: &str,
        update: &StatusUpdate,
    ) -> Result<ExecutionRecord, StoreError> {
        self.until_reachable(ex_id, "recording `initializing`", || async {
            match self
                .store
                .set_execution_status(ex_id, ExecutionStatus::Initializing, update)
                .await
            {
                Err(StoreError::Transition { .. }) => {
                    self.record_address_if_running(ex_id, update).await
                }
                other => other,
            }
        })
        .await
    }

    /// A stop that reached the backend while the workers were being allocated may have come
    /// before them: stop again, so the stop watcher sees every process of the execution end.
    async fn stop_workers_started_after_a_stop(&self, ex_id: &str) {
        let reread = self
            .until_reachable(
                ex_id,
                "re-reading the execution after allocating its workers",
                || self.store.get_execution(ex_id),
            )
            .await;
        let status = match reread {
            Ok(ex) => ex.status,
            Err(e) => {
                return warn!(ex_id, error = %e, "cannot re-read the execution after allocating its workers")
            }
        };
        if status != ExecutionStatus::Stopping && !status.is_terminal() {
            return;
        }
        info!(ex_id, %status, "stopped while its workers were being allocated; stopping them");
        let opts = StopOptions {
            timeout_ms: Some(self.config.shutdown_timeout.as_millis() as u64),
            ..Default::default()
        };
        if let Err(e) = self.backend.stop_execution(ex_id, &opts).await {
            warn!(ex_id, error = %e, "cannot stop the workers of a stopped execution");
        }
    }

    /// A fast controller can record `running` before the master records `initializing`; keep
    /// its status and add the address. Stopped or ended executions stay refused.
    async fn record_address_if_running(
        &self,
        ex_id: &str,
        update: &StatusUpdate,
    ) -> Result<ExecutionRecord, StoreError> {
        let current = self.store.get_execution(ex_id).await?;
        if !current.status.is_running() || current.status == ExecutionStatus::Stopping {
            return Err(StoreError::Transition {
                ex_id: ex_id.to_string(),
                to: ExecutionStatus::Initializing,
                source: crate::status::InvalidTransition {
                    from: current.status,
                    to: ExecutionStatus::Initializing,
                },
            });
        }
        self.store
            .set_execution_status(ex_id, current.status, update)
            .await
    }

    /// No room right now: back to `pending`, at the front of the queue.
    async fn requeue(&self, ex_id: &str, reason: String) {
        let none = StatusUpdate::default();
        let pending = self
            .until_reachable(ex_id, "returning the execution to `pending`", || {
                self.store
                    .set_execution_status(ex_id, ExecutionStatus::Pending, &none)
            })
            .await;
        if let Err(e) = pending {
            // Stopped meanwhile (nothing of it was started), or the scheduler shut down.
            return info!(ex_id, error = %e, "execution not returned to pending");
        }
        *lock(&self.pending_reason) = Some(reason);
        lock(&self.queue).push_front(ex_id.to_string());
        self.pause_retry().await;
        self.wake.notify_one();
    }

    /// Marks a living execution `failed` with `reason` and removes whatever it has on the cluster.
    pub(super) async fn fail(&self, ex_id: &str, reason: String) {
        warn!(ex_id, %reason, "execution failed");
        let update = StatusUpdate::failed(reason);
        let recorded = self
            .until_reachable(ex_id, "recording a failure", || {
                self.store
                    .set_execution_status(ex_id, ExecutionStatus::Failed, &update)
            })
            .await;
        match recorded {
            Ok(_) | Err(StoreError::Transition { .. }) => {}
            Err(e) => warn!(ex_id, error = %e, "cannot record the failure"),
        }
        self.force_remove(ex_id).await;
    }

    /// Kills every process of an execution that has ended or was refused, retrying the backend a
    /// few times; what is still left after that is logged as an error.
    async fn force_remove(&self, ex_id: &str) {
        let opts = StopOptions {
            force: true,
            ..Default::default()
        };
        let removed = (|| self.backend.stop_execution(ex_id, &opts))
            .retry(self.backend_backoff())
            .notify(|e, wait| {
                warn!(ex_id, error = %e, ?wait, "cannot remove the execution's processes; retrying")
            })
            .await;
        if let Err(e) = removed {
            error!(ex_id, error = %e, "cannot remove the execution's processes; giving up");
        }
    }
}
