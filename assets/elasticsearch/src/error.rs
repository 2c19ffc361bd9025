//! What can go wrong talking to Elasticsearch/OpenSearch.
use teraslice_es::RequestError;

use teraslice_runtime::ops::OpError;

#[derive(Debug, thiserror::Error)]
pub enum EsError {
    /// A connector or op setting that cannot be used.
    #[error("{0}")]
    Config(String),
    /// The server could not be reached or kept failing after the connector's `maxRetries`.
    #[error("{what} failed on {node} after {attempts} attempts: {last}")]
    GaveUp {
        what: String,
        node: String,
        attempts: u32,
        last: String,
    },
    /// The server answered with an error.
    #[error("{what}: {status} {kind}: {reason}")]
    Status {
        what: String,
        status: u16,
        kind: String,
        reason: String,
    },
    /// One try without retries did not reach the server (the ops always retry; kept for the match).
    #[error("{0}")]
    Unreachable(String),
    /// The answer did not have the expected shape.
    #[error("{what}: unexpected answer: {body}")]
    Shape { what: String, body: String },
}

impl From<EsError> for OpError {
    fn from(e: EsError) -> Self {
        match e {
            // Bad settings and refused requests do not get better by retrying the slice.
            EsError::Config(_)
            | EsError::Status {
                status: 400..=404, ..
            } => OpError::non_retryable(e.to_string()),
            _ => OpError::new(e.to_string()),
        }
    }
}

impl From<RequestError> for EsError {
    fn from(e: RequestError) -> Self {
        match e {
            RequestError::GaveUp {
                what,
                node,
                attempts,
                last,
            } => EsError::GaveUp {
                what,
                node,
                attempts,
                last,
            },
            RequestError::Transport { .. } => EsError::Unreachable(e.to_string()),
        }
    }
}
