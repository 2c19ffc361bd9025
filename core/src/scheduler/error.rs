//! What the scheduler's operations can fail with; the HTTP layer maps these to status codes.
use crate::backend::BackendError;
use crate::status::ExecutionStatus;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// 404: no execution with that id.
    #[error("execution {0} not found")]
    NotFound(String),
    /// 404: the execution exists but has ended.
    #[error("no active execution context was found for ex_id: {0}")]
    NotActive(String),
    /// 409: the execution is in a status that does not allow the operation.
    #[error("execution {ex_id} is {status}: {action} needs {allowed}")]
    WrongState {
        ex_id: String,
        status: ExecutionStatus,
        action: &'static str,
        allowed: &'static str,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The execution controller did not answer a control request.
    #[error("execution controller of {ex_id} did not answer {action}: {reason}")]
    Controller {
        ex_id: String,
        action: &'static str,
        reason: String,
    },
}

pub type SchedulerResult<T> = Result<T, SchedulerError>;
