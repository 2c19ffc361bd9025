//! What the API asks of the scheduler: create, stop, pause, resume, scale.
use crate::backend::{check_capabilities, StopOptions, WorkerChange};
use crate::execution::{ExecutionRecord, StatusUpdate};
use crate::job::JobConfig;
use crate::status::ExecutionStatus;
use crate::store::StoreError;

use super::{Scheduler, SchedulerError, SchedulerResult};

impl Scheduler {
    /// Stores a new `pending` execution of `job` and queues it, unless the job already has a
    /// living execution (`StoreError::ActiveExecution`, decided by the store atomically).
    /// Kubernetes fields the backend cannot honour are logged as ignored (as Teraslice's native
    /// clustering does).
    pub async fn create_execution(
        &self,
        job_id: &str,
        job: JobConfig,
    ) -> SchedulerResult<ExecutionRecord> {
        check_capabilities(
            self.backend.kind().as_str(),
            self.backend.capabilities(),
            &job,
        );
        self.create_exclusive(ExecutionRecord::new(job_id, job))
            .await
    }

    /// Stores `ex` (a new execution, e.g. a recovery) if its job has no living execution, and
    /// queues it. The stored record is returned: the store may have given it another `ex_id`.
    pub async fn create_exclusive(&self, ex: ExecutionRecord) -> SchedulerResult<ExecutionRecord> {
        let ex = self.store.create_execution_exclusive(&ex).await?;
        self.enqueue(ex.ex_id.clone());
        Ok(ex)
    }

    async fn load(&self, ex_id: &str) -> SchedulerResult<ExecutionRecord> {
        match self.store.get_execution(ex_id).await {
            Ok(ex) => Ok(ex),
            Err(StoreError::NotFound { .. }) => Err(SchedulerError::NotFound(ex_id.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    async fn load_active(&self, ex_id: &str) -> SchedulerResult<ExecutionRecord> {
        let ex = self.load(ex_id).await?;
        if ex.status.is_terminal() {
            return Err(SchedulerError::NotActive(ex_id.to_string()));
        }
        Ok(ex)
    }

    /// Stops an execution: `stopping`, then `stopped` once nothing of it is left. Graceful stops
    /// give processes `opts.timeout_ms` (default `shutdown_timeout`); `force` kills at once.
    /// A terminal execution is returned unchanged.
    pub async fn stop(&self, ex_id: &str, opts: StopOptions) -> SchedulerResult<ExecutionRecord> {
        let ex = self.load(ex_id).await?;
        if ex.status.is_terminal() {
            return Ok(ex);
        }
        let ex = if ex.status == ExecutionStatus::Stopping && !opts.force {
            ex
        } else {
            match self
                .store
                .set_execution_status(ex_id, ExecutionStatus::Stopping, &StatusUpdate::default())
                .await
            {
                Ok(ex) => ex,
                // It ended between the read and the write: nothing left to stop.
                Err(StoreError::Transition { .. }) => return self.load(ex_id).await,
                Err(e) => return Err(e.into()),
            }
        };
        let opts = StopOptions {
            timeout_ms: opts
                .timeout_ms
                .or(Some(self.config.shutdown_timeout.as_millis() as u64)),
            ..opts
        };
        self.watch_stopping(ex_id);
        self.backend.stop_execution(ex_id, &opts).await?;
        Ok(ex)
    }

    pub async fn pause(&self, ex_id: &str) -> SchedulerResult<ExecutionRecord> {
        let ex = self.load_active(ex_id).await?;
        if !ex.status.is_running() || ex.status == ExecutionStatus::Stopping {
            return Err(SchedulerError::WrongState {
                ex_id: ex_id.into(),
                status: ex.status,
                action: "pause",
                allowed: "a running execution (recovering, running, failing or paused)",
            });
        }
        self.controllers
            .pause(&ex)
            .await
            .map_err(|e| SchedulerError::Controller {
                ex_id: ex_id.into(),
                action: "pause",
                reason: e.0,
            })?;
        Ok(self
            .store
            .set_execution_status(ex_id, ExecutionStatus::Paused, &StatusUpdate::default())
            .await?)
    }

    pub async fn resume(&self, ex_id: &str) -> SchedulerResult<ExecutionRecord> {
        let ex = self.load_active(ex_id).await?;
        if ex.status != ExecutionStatus::Paused {
            return Err(SchedulerError::WrongState {
                ex_id: ex_id.into(),
                status: ex.status,
                action: "resume",
                allowed: "a paused execution",
            });
        }
        self.controllers
            .resume(&ex)
            .await
            .map_err(|e| SchedulerError::Controller {
                ex_id: ex_id.into(),
                action: "resume",
                reason: e.0,
            })?;
        Ok(self
            .store
            .set_execution_status(ex_id, ExecutionStatus::Running, &StatusUpdate::default())
            .await?)
    }

    /// Sets the log level of a running execution's processes, through its controller.
    pub async fn set_log_level(&self, ex_id: &str, level: &str) -> SchedulerResult<()> {
        let ex = self.load_active(ex_id).await?;
        if !ex.status.is_running() {
            return Err(SchedulerError::WrongState {
                ex_id: ex_id.into(),
                status: ex.status,
                action: "change the log level of",
                allowed: "a running execution (recovering, running, failing, paused or stopping)",
            });
        }
        self.controllers
            .set_log_level(&ex, level)
            .await
            .map_err(|e| SchedulerError::Controller {
                ex_id: ex_id.into(),
                action: "set the log level",
                reason: e.0,
            })
    }

    /// Teraslice ExecutionAnalytics of a running execution, from its controller.
    pub async fn controller_stats(&self, ex_id: &str) -> SchedulerResult<serde_json::Value> {
        let ex = self.load_active(ex_id).await?;
        self.controllers
            .stats(&ex)
            .await
            .map_err(|e| SchedulerError::Controller {
                ex_id: ex_id.into(),
                action: "analytics",
                reason: e.0,
            })
    }

    pub async fn add_workers(&self, ex_id: &str, n: u32) -> SchedulerResult<WorkerChange> {
        let ex = self.load_active(ex_id).await?;
        Ok(self.backend.add_workers(&ex, n).await?)
    }

    pub async fn remove_workers(&self, ex_id: &str, n: u32) -> SchedulerResult<WorkerChange> {
        self.load_active(ex_id).await?;
        Ok(self.backend.remove_workers(ex_id, n).await?)
    }

    pub async fn set_workers(&self, ex_id: &str, total: u32) -> SchedulerResult<WorkerChange> {
        let ex = self.load_active(ex_id).await?;
        Ok(self.backend.set_workers(&ex, total).await?)
    }
}
