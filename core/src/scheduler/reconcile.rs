//! Restart reconciliation: every non-terminal execution a previous master left is re-queued,
//! adopted or failed — none is left stuck (unlike the original, master reference §2.7).
use tracing::info;

use super::{Scheduler, SchedulerResult};
use crate::backend::{processes_of, Assignment, StopOptions};
use crate::status::ExecutionStatus;
use crate::store::{ExecutionQuery, ListQuery};

impl Scheduler {
    pub(super) async fn reconcile(&self) -> SchedulerResult<()> {
        let query = ExecutionQuery {
            job_id: None,
            statuses: ExecutionStatus::INIT.to_vec(),
            page: ListQuery {
                from: 0,
                size: usize::MAX,
            },
        };
        let mut init = self.store.list_executions(&query).await?;
        // Oldest first, as Teraslice re-queues pending executions.
        init.sort_by_key(|ex| ex.created);
        for ex in init {
            // Allocation is idempotent: re-running it adopts whatever a half-done allocation created.
            info!(ex_id = %ex.ex_id, status = %ex.status, "re-queueing execution left by a previous master");
            self.enqueue(ex.ex_id);
        }
        self.reconcile_living().await
    }

    /// Running executions whose controller is gone are failed; `stopping` ones are watched.
    pub(super) async fn reconcile_living(&self) -> SchedulerResult<()> {
        let query = ExecutionQuery {
            job_id: None,
            statuses: ExecutionStatus::RUNNING.to_vec(),
            page: ListQuery {
                from: 0,
                size: usize::MAX,
            },
        };
        let running = self.store.list_executions(&query).await?;
        if running.is_empty() {
            return Ok(());
        }
        let state = self.backend.cluster_state().await?;
        for ex in running {
            if ex.status == ExecutionStatus::Stopping {
                // The stop may not have reached the backend before the previous master died.
                let opts = StopOptions {
                    timeout_ms: Some(self.config.shutdown_timeout.as_millis() as u64),
                    ..Default::default()
                };
                if let Err(e) = self.backend.stop_execution(&ex.ex_id, &opts).await {
                    tracing::warn!(ex_id = %ex.ex_id, error = %e, "cannot re-issue stop");
                }
                self.watch_stopping(&ex.ex_id);
                continue;
            }
            let has_controller = processes_of(&state, &ex.ex_id)
                .any(|p| p.assignment == Assignment::ExecutionController);
            if has_controller {
                info!(ex_id = %ex.ex_id, "adopting running execution");
            } else {
                let reason = format!("execution controller of {} is no longer running (found after a master restart or a missed event)", ex.ex_id);
                self.fail(&ex.ex_id, reason).await;
            }
        }
        Ok(())
    }
}
