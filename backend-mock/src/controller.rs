//! The simulated execution controllers answer the master's control requests.
use async_trait::async_trait;
use serde_json::{json, Value};
use teraslice_core::backend::{processes_of, Assignment, ClusterBackend};
use teraslice_core::execution::ExecutionRecord;
use teraslice_core::scheduler::{ControllerClient, ControllerError};

use crate::MockBackend;

impl MockBackend {
    async fn require_controller(&self, ex: &ExecutionRecord) -> Result<usize, ControllerError> {
        let state = self
            .cluster_state()
            .await
            .map_err(|e| ControllerError(e.to_string()))?;
        let procs: Vec<_> = processes_of(&state, &ex.ex_id).collect();
        if !procs
            .iter()
            .any(|p| p.assignment == Assignment::ExecutionController)
        {
            return Err(ControllerError(format!(
                "Execution {} is not available: no execution controller",
                ex.ex_id
            )));
        }
        Ok(procs.len() - 1)
    }
}

#[async_trait]
impl ControllerClient for MockBackend {
    async fn pause(&self, ex: &ExecutionRecord) -> Result<(), ControllerError> {
        self.require_controller(ex).await.map(|_| ())
    }

    async fn resume(&self, ex: &ExecutionRecord) -> Result<(), ControllerError> {
        self.require_controller(ex).await.map(|_| ())
    }

    async fn set_log_level(
        &self,
        ex: &ExecutionRecord,
        _level: &str,
    ) -> Result<(), ControllerError> {
        self.require_controller(ex).await.map(|_| ())
    }

    async fn stats(&self, ex: &ExecutionRecord) -> Result<Value, ControllerError> {
        let workers = self.require_controller(ex).await?;
        Ok(
            json!({ "workers_available": workers, "workers_active": 0, "workers_joined": workers, "processed": 0, "failed": 0 }),
        )
    }
}
