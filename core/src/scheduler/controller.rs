//! How the master talks to a running execution controller (pause, resume, stats).
use async_trait::async_trait;
use serde_json::Value;

use crate::execution::ExecutionRecord;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ControllerError(pub String);

/// Requests to an execution's controller, at `slicer_hostname:slicer_port`.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ControllerClient: Send + Sync {
    async fn pause(&self, ex: &ExecutionRecord) -> Result<(), ControllerError>;
    async fn resume(&self, ex: &ExecutionRecord) -> Result<(), ControllerError>;
    /// Teraslice's ExecutionAnalytics (`workers_active`, `processed`, …).
    async fn stats(&self, ex: &ExecutionRecord) -> Result<Value, ControllerError>;
    /// Sets the log level (`trace` … `error`) of the execution's controller and workers.
    async fn set_log_level(&self, ex: &ExecutionRecord, level: &str)
        -> Result<(), ControllerError>;
}
