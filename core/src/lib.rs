//! teraslice-core: the Teraslice job model and validation, execution records and their status
//! machine, system configuration, the [`ClusterBackend`] and [`StateStore`] traits, and the
//! [`Scheduler`] that drives executions through a backend. Knows nothing of Kubernetes, Elasticsearch
//! or HTTP.
#[warn(missing_docs)]
pub mod backend;
#[warn(missing_docs)]
pub mod backend_factory;
pub mod cluster_state;
pub mod config;
pub mod duration;
pub mod execution;
pub mod job;
pub mod redact;
pub mod scheduler;
pub mod status;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;

pub use backend::{BackendError, BackendEvent, ClusterBackend, ClusterState};
pub use execution::{ExecutionRecord, JobRecord, CONTROL_SECRET_KEY};
pub use job::JobConfig;
pub use scheduler::Scheduler;
pub use status::ExecutionStatus;
pub use store::{StateStore, StoreError};
