//! Why a master could not start.
use std::net::SocketAddr;

use teraslice_core::backend_factory::BackendFactoryError;
use teraslice_core::scheduler::SchedulerError;
use teraslice_core::{BackendError, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum MasterError {
    #[error("teraslice.state: {0}")]
    StoreConfig(String),
    #[error("cannot open the state store: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Backend(#[from] BackendFactoryError),
    #[error("cannot initialize the cluster backend: {0}")]
    BackendInit(BackendError),
    #[error("cannot start the scheduler: {0}")]
    Scheduler(SchedulerError),
    #[error(transparent)]
    Auth(#[from] crate::api::auth::AuthConfigError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}
