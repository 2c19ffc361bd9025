//! A cluster backend that starts each execution controller and worker by running a command
//! template — how HPC schedulers (`srun`), Nomad-style schedulers (`nomad alloc exec`), `ssh` or
//! `docker run` are driven. Selected by `teraslice.cluster_manager_type: command`; its settings
//! are the config's `teraslice.command` section ([`CommandConfig`]).
//!
//! The launched command must stay in the foreground for the life of the process it starts (as
//! `srun`, `ssh host cmd` and `docker run` do) and pass SIGTERM on: the backend tracks and stops
//! the command, not what it starts remotely. It gets the spawn protocol of the native backend:
//! env `EX` (base64 of the execution record), `TERAFOUNDATION_CONFIG`, `ex_id`, `job_id`,
//! `assignment`, `slicer_hostname` and `slicer_port`.
#![warn(missing_docs)]
mod backend;
mod config;
mod launch;
mod state;

use std::sync::Arc;

use teraslice_core::backend_factory::{BackendFactory, BackendFuture};
use teraslice_core::config::{ClusterManagerType, SystemConfig};
use teraslice_core::{BackendError, ClusterBackend};

pub use backend::CommandBackend;
pub use config::{CommandConfig, CommandConfigError};

/// `cluster_manager_type: command`.
pub const COMMAND: ClusterManagerType = ClusterManagerType::from_static("command");

/// Registers the backend under [`COMMAND`]: the constructor reads `teraslice.command`.
pub fn register(factory: &mut BackendFactory) {
    factory.register(COMMAND, |config: &SystemConfig| {
        let built = CommandConfig::from_system_config(config)
            .map_err(|e| BackendError::Other(e.to_string()))
            .map(|cfg| Arc::new(CommandBackend::new(cfg)) as Arc<dyn ClusterBackend>);
        Box::pin(async move { built }) as BackendFuture
    });
}
