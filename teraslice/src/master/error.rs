//! Why a master could not start.
use std::net::SocketAddr;

use teraslice_core::backend_factory::BackendFactoryError;
use teraslice_core::scheduler::SchedulerError;
use teraslice_core::{BackendError, StoreError};

/// Why a master could not start.
#[derive(Debug, thiserror::Error)]
pub enum MasterError {
    /// `teraslice.state` names a store that cannot be used.
    #[error("teraslice.state: {0}")]
    StoreConfig(String),
    /// The state store cannot be opened.
    #[error("cannot open the state store: {0}")]
    Store(#[from] StoreError),
    /// No backend of the configured name, or it could not be built.
    #[error(transparent)]
    Backend(#[from] BackendFactoryError),
    /// The backend's `initialize` failed.
    #[error("cannot initialize the cluster backend: {0}")]
    BackendInit(BackendError),
    /// The scheduler's start (reconciling a previous master's executions) failed.
    #[error("cannot start the scheduler: {0}")]
    Scheduler(SchedulerError),
    /// `teraslice.api_tokens` / `api_tokens_file` cannot be used.
    #[error(transparent)]
    Auth(#[from] crate::api::auth::AuthConfigError),
    /// The HTTP port cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}
