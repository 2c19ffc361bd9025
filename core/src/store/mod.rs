//! The `StateStore` contract: jobs, executions (status changes checked and compare-and-set),
//! slice state (bulk) and analytics. Implemented in memory here, on SQLite and
//! Elasticsearch/OpenSearch in teraslice-storage.
mod memory;
mod records;

use async_trait::async_trait;

pub use memory::MemoryStore;
pub use records::*;

use crate::execution::{ExecutionRecord, JobRecord, StatusUpdate};
use crate::status::{ExecutionStatus, InvalidTransition};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: String },
    #[error("{kind} {id} already exists")]
    AlreadyExists { kind: &'static str, id: String },
    #[error("Unable to set execution {ex_id} status code to {to}, caused by {source}")]
    Transition {
        ex_id: String,
        to: ExecutionStatus,
        #[source]
        source: InvalidTransition,
    },
    /// A compare-and-set lost: the record changed since the caller read it.
    #[error("{kind} {id} was changed by another request meanwhile")]
    Conflict { kind: &'static str, id: String },
    /// The job already has an execution that has not ended (one living execution per job).
    #[error("job {job_id} already has execution {ex_id}, which is {status}")]
    ActiveExecution {
        job_id: String,
        ex_id: String,
        status: ExecutionStatus,
    },
    /// The store could not be reached or failed; worth retrying.
    #[error("state store unavailable: {0}")]
    Unavailable(String),
    /// Stored data could not be read back (corrupt document, mapping conflict, …).
    #[error("state store data error: {0}")]
    Data(String),
}

impl StoreError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, StoreError::NotFound { .. })
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Where Teraslice state lives. Object-safe: used as `Arc<dyn StateStore>`.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait StateStore: Send + Sync {
    async fn create_job(&self, job: &JobRecord) -> StoreResult<()>;
    async fn get_job(&self, job_id: &str) -> StoreResult<JobRecord>;
    /// Full replace of an existing job.
    async fn update_job(&self, job: &JobRecord) -> StoreResult<()>;
    /// Compare-and-set replace: writes `job` only if the stored job still equals `expected`
    /// (what the caller read), else `Conflict` and nothing changes.
    async fn update_job_if_unchanged(
        &self,
        job: &JobRecord,
        expected: &JobRecord,
    ) -> StoreResult<()>;
    /// Newest first (`_created` desc), `from`/`size` paging.
    async fn list_jobs(&self, query: &ListQuery) -> StoreResult<Vec<JobRecord>>;

    async fn create_execution(&self, ex: &ExecutionRecord) -> StoreResult<()>;
    /// Creates `ex` unless its job already has a living (non-terminal) execution, atomically: of
    /// concurrent callers for one job exactly one wins, the others get `ActiveExecution`. Returns
    /// the stored record; a store may give it another `ex_id` (OpenSearch derives one from the
    /// job's latest execution so that racing creates collide on it).
    async fn create_execution_exclusive(
        &self,
        ex: &ExecutionRecord,
    ) -> StoreResult<ExecutionRecord>;
    async fn get_execution(&self, ex_id: &str) -> StoreResult<ExecutionRecord>;
    /// Newest first, filtered by job and statuses.
    async fn list_executions(&self, query: &ExecutionQuery) -> StoreResult<Vec<ExecutionRecord>>;
    /// Checks the transition against the stored status and writes it atomically (compare-and-set):
    /// of two concurrent writers, the second sees the first's status and may be refused.
    async fn set_execution_status(
        &self,
        ex_id: &str,
        status: ExecutionStatus,
        update: &StatusUpdate,
    ) -> StoreResult<ExecutionRecord>;
    /// Replaces `metadata` (EC bookkeeping) without touching the status.
    async fn update_execution_metadata(
        &self,
        ex_id: &str,
        metadata: &serde_json::Map<String, serde_json::Value>,
    ) -> StoreResult<()>;

    /// Creates or updates slice state records by `slice_id` (bulk).
    async fn write_slice_states(&self, records: &[SliceStateRecord]) -> StoreResult<()>;
    async fn list_slice_states(&self, query: &SliceQuery) -> StoreResult<Vec<SliceStateRecord>>;
    async fn count_slice_states(&self, ex_id: &str, state: Option<SliceState>) -> StoreResult<u64>;

    async fn write_analytics(&self, records: &[AnalyticsRecord]) -> StoreResult<()>;
    async fn list_analytics(&self, ex_id: &str) -> StoreResult<Vec<AnalyticsRecord>>;
}
