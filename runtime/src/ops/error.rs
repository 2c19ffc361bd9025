//! The error an operation returns.
use std::fmt;

/// An operation failed. `retryable == false` stops the worker's per-slice retries at once
/// (Teraslice `retryable: false`); `fatal` also makes the worker give up and exit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpError {
    /// What went wrong, for the slice's error and the logs.
    pub message: String,
    /// Whether the worker may retry the slice (up to the job's `max_retries`).
    pub retryable: bool,
    /// Whether the worker must give up and exit.
    pub fatal: bool,
}

impl OpError {
    /// A normal failure: the worker retries the slice up to `max_retries` times.
    pub fn new(message: impl Into<String>) -> Self {
        OpError {
            message: message.into(),
            retryable: true,
            fatal: false,
        }
    }
    /// A failure that retrying cannot fix (bad config, bad data).
    pub fn non_retryable(message: impl Into<String>) -> Self {
        OpError {
            retryable: false,
            ..OpError::new(message)
        }
    }
    /// The worker cannot go on (e.g. its store is gone for good).
    pub fn fatal(message: impl Into<String>) -> Self {
        OpError {
            retryable: false,
            fatal: true,
            ..OpError::new(message)
        }
    }
    /// Prefixes the message with where it happened, e.g. the op name.
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for OpError {}

impl From<String> for OpError {
    fn from(message: String) -> Self {
        OpError::new(message)
    }
}

impl From<&str> for OpError {
    fn from(message: &str) -> Self {
        OpError::new(message)
    }
}
