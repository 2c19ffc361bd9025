//! `OpContext`: what an operation instance knows about where it runs.
use std::sync::Arc;

use teraslice_core::job::{JobConfig, OpConfig};

use super::{ApiSet, DeadLetterQueue, OpError, Record};

/// Given to every op factory. `worker_id` is `None` when the op runs in the EC (slicers).
#[derive(Clone)]
pub struct OpContext {
    /// The execution the op runs in.
    pub ex_id: String,
    /// The job of that execution.
    pub job_id: String,
    /// The validated job.
    pub job: Arc<JobConfig>,
    /// This op's config (a copy: an op may not change another instance's config).
    pub config: OpConfig,
    /// Position in `job.operations` (0 = the reader).
    pub index: usize,
    /// The worker's id (`<host>__<pid>`); `None` in the EC.
    pub worker_id: Option<String>,
    /// The job's APIs, created for this process.
    pub apis: ApiSet,
}

impl OpContext {
    /// The API named by this op's `_api_name` (or `api_name`).
    pub fn op_api<T: std::any::Any + Send + Sync>(&self) -> Result<Arc<T>, OpError> {
        let name = self.config.api_name().ok_or_else(|| {
            OpError::non_retryable(format!(
                "operations[{}] ({}) has no _api_name",
                self.index,
                self.config.op_name()
            ))
        })?;
        self.apis.get::<T>(name).map_err(|_| {
            OpError::non_retryable(format!("Could not find the associated api for {name}"))
        })
    }

    /// Counters of this op on the process's `/metrics` (label `op_name`); they count for
    /// nobody when metrics are off. See [`crate::metrics::OpMetrics::counter`].
    pub fn metrics(&self) -> crate::metrics::OpMetrics {
        crate::metrics::OpMetrics::new(self.config.op_name())
    }

    /// Teraslice `rejectRecord`: applies `_dead_letter_action` (`throw` (default) returns the
    /// error, `none` drops the record, `log` logs it, any other value names a
    /// [`DeadLetterQueue`] api that gets the record).
    pub fn reject_record(&self, record: &Record, err: OpError) -> Result<(), OpError> {
        let action = self
            .config
            .get("_dead_letter_action")
            .and_then(|v| v.as_str())
            .unwrap_or("throw");
        match action {
            "throw" => Err(err),
            "none" => Ok(()),
            "log" => {
                tracing::error!(op = self.config.op_name(), error = %err, record = %record.data, "record rejected");
                Ok(())
            }
            api => {
                let dlq = self.apis.get::<DeadLetterQueue>(api)?;
                (dlq.0)(record, &err);
                Ok(())
            }
        }
    }
}
