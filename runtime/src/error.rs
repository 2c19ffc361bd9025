//! Errors of the EC and the worker as a whole (an op's own failures are [`OpError`]s).
use std::time::Duration;

use teraslice_core::store::StoreError;
use teraslice_core::ExecutionStatus;

use crate::ops::OpError;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("state store: {0}")]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Op(#[from] OpError),
    #[error("Execution {ex_id} was starting in {status} status; only pending, scheduling or initializing executions can start")]
    BadStartStatus {
        ex_id: String,
        status: ExecutionStatus,
    },
    #[error("Execution {ex_id} is already {status} and its slicer is not relocatable; this execution controller exits without changing it")]
    NotRelocatable {
        ex_id: String,
        status: ExecutionStatus,
    },
    #[error("Unable to connect to ExecutionController at {url} after {after:?}: {last_error}")]
    Connect {
        url: String,
        after: Duration,
        last_error: String,
    },
    #[error("execution {ex_id} ended {status} but that status could not be written to the state store ({source}); reason: {reason}")]
    StatusNotWritten {
        ex_id: String,
        status: ExecutionStatus,
        reason: String,
        #[source]
        source: StoreError,
    },
    #[error("EC-worker transport: {0}")]
    Transport(#[from] TransportError),
}

/// A request over the EC-worker WebSocket did not get its answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("timed out after {0:?} waiting for the reply to \"{1}\"")]
    Timeout(Duration, &'static str),
    #[error("the connection closed before the reply to \"{0}\"")]
    Closed(&'static str),
    #[error("\"{event}\" was answered with an error: {message}")]
    Remote {
        event: &'static str,
        message: String,
    },
    #[error("unexpected reply to \"{0}\": {1}")]
    Unexpected(&'static str, String),
    /// The peer read none of the frames queued for it: its connection is closed instead of
    /// queueing more.
    #[error(
        "\"{0}\" not sent: the worker has not read its last {1} frames; its connection is closed"
    )]
    Overwhelmed(&'static str, usize),
}
