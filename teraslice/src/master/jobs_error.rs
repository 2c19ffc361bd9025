//! What a jobs request can fail with; the API maps each variant to a status code.
use teraslice_core::job::ValidationErrors;
use teraslice_core::scheduler::SchedulerError;
use teraslice_core::{ExecutionStatus, StoreError};

/// What a jobs request can fail with; the API maps each to a status code.
#[derive(Debug, thiserror::Error)]
pub enum JobsError {
    /// 400: the body is not a job object.
    #[error("No job was posted: the body must be a job JSON object with `operations`, got {0}")]
    NoJob(&'static str),
    /// 422.
    #[error("Job cannot include a job_id on submit: remove `job_id`, the master assigns it")]
    JobIdOnSubmit,
    /// 400, every problem with its path.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// 400.
    #[error("no data was provided to update job {0}: send the full job spec as a JSON object")]
    EmptyUpdate(String),
    /// 404.
    #[error("job {0} not found")]
    JobNotFound(String),
    /// 410, with what was asked: `started`, `updated` or `recovered` (Teraslice's words).
    #[error("Job {job_id} has been deleted and cannot be {refused}.")]
    Deleted {
        job_id: String,
        refused: &'static str,
    },
    /// 410.
    #[error("Job {0} has already been deleted.")]
    AlreadyDeleted(String),
    /// 404.
    #[error("No execution was found for job {0}")]
    NoExecution(String),
    /// 404.
    #[error("execution {0} not found")]
    ExecutionNotFound(String),
    /// 404.
    #[error("Job {0} is missing an execution to recover from")]
    NothingToRecover(String),
    /// 409.
    #[error("Job {job_id} is currently running, cannot have the same job concurrently running: execution {ex_id} is {status}; stop it first")]
    Running {
        job_id: String,
        ex_id: String,
        status: ExecutionStatus,
    },
    /// 409.
    #[error("Job {job_id} is currently running, cannot delete a running job.: execution {ex_id} is {status}; stop it first")]
    RunningDelete {
        job_id: String,
        ex_id: String,
        status: ExecutionStatus,
    },
    #[error(transparent)]
    Scheduler(#[from] SchedulerError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type JobsResult<T> = Result<T, JobsError>;
