//! Errors of the Elasticsearch/OpenSearch store, and how they become `StoreError`s.
use std::time::Duration;

use teraslice_core::store::StoreError;
use teraslice_es::{Answer, ConfigError, RequestError};

/// A request that did not get a usable answer (a local type, so `?` makes it a `StoreError`).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub(crate) struct EsError(#[from] RequestError);

impl From<EsError> for StoreError {
    fn from(e: EsError) -> Self {
        StoreError::Unavailable(format!("Elasticsearch/OpenSearch state store: {e}"))
    }
}

/// An answer the store did not expect while doing `what` (which names the index or document).
pub(crate) fn unexpected(what: &str, answer: &Answer) -> StoreError {
    let text = format!(
        "Elasticsearch/OpenSearch state store: {what}: the server answered {} {}",
        answer.status,
        answer.error_reason()
    );
    if answer.error_type() == "index_not_found_exception" {
        return StoreError::Data(format!(
            "{text}; the index is created when the store opens, so it was deleted since: restart the \
             master to create it again"
        ));
    }
    if answer.status.is_server_error() || answer.status.as_u16() == 429 {
        StoreError::Unavailable(text)
    } else {
        StoreError::Data(text)
    }
}

/// Why [`super::ElasticsearchStore::open`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ElasticsearchOpenError {
    #[error("invalid state store connector: {0}")]
    Config(#[from] ConfigError),
    #[error("cannot set up the state store client for {source_key}: {problem}")]
    Client { source_key: String, problem: String },
    #[error(
        "cannot reach the Elasticsearch/OpenSearch state store at {nodes} ({source_key}) after \
         {attempts} attempt(s) over {waited:?}: {last_error}; check that the server is running and \
         the node address, or raise {source_key}.startupTimeout (now {limit:?})"
    )]
    Unreachable {
        nodes: String,
        source_key: String,
        attempts: u32,
        waited: Duration,
        limit: Duration,
        last_error: String,
    },
    #[error("the state store at {node} refused the credentials of {source_key} ({status}): {reason}; check username/password or apiKey")]
    Unauthorized {
        node: String,
        source_key: String,
        status: u16,
        reason: String,
    },
    #[error("the state store at {node} is not a supported server: {problem}")]
    UnsupportedServer { node: String, problem: String },
    #[error("cannot set up state store index {index}: {problem}")]
    Index { index: String, problem: String },
    #[error(
        "state store index {index} has a mapping that conflicts with Teraslice's: {}; \
         reindex it into an index with Teraslice's mapping or set teraslice.name to use other indices",
        conflicts.join("; ")
    )]
    MappingConflict {
        index: String,
        conflicts: Vec<String>,
    },
}

impl From<ElasticsearchOpenError> for StoreError {
    fn from(e: ElasticsearchOpenError) -> Self {
        match e {
            ElasticsearchOpenError::Unreachable { .. } => StoreError::Unavailable(e.to_string()),
            _ => StoreError::Data(e.to_string()),
        }
    }
}
