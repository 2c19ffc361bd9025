//! What goes wrong in the kafka asset, before it becomes an [`OpError`].
use teraslice_runtime::ops::OpError;

/// A kafka asset failure.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    /// Bad connector or op settings: retrying cannot help.
    #[error("{0}")]
    Config(String),
    /// The broker or client failed; `action` says what was being done.
    #[error("Failure when performing {action}, caused by error: {source}")]
    Client {
        /// What the asset was doing.
        action: String,
        /// The client's error.
        source: rdkafka::error::KafkaError,
    },
}

impl KafkaError {
    /// A client failure while doing `action`.
    pub fn client(action: impl Into<String>, source: rdkafka::error::KafkaError) -> Self {
        KafkaError::Client {
            action: action.into(),
            source,
        }
    }
}

impl From<KafkaError> for OpError {
    fn from(e: KafkaError) -> Self {
        match e {
            KafkaError::Config(_) => OpError::non_retryable(e.to_string()),
            KafkaError::Client { .. } => OpError::new(e.to_string()),
        }
    }
}
