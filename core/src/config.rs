//! System configuration: the `terafoundation` and `teraslice` sections of the YAML config file,
//! with Teraslice's keys and defaults (see [`SystemConfig`]).
//!
//! Keys of ours, not Teraslice's:
//! - `teraslice.state.connection_type`: `sqlite` (default), `elasticsearch-next` or `elasticsearch`;
//!   which store holds jobs, executions, slice state and analytics. SQLite cannot be combined with
//!   `cluster_manager_type: kubernetes` (pods could not reach the file).
//! - `teraslice.data_dir`: directory of the SQLite file (default `./teraslice-data`).
//! - `teraslice.mock.{nodes, slots_per_node, latency_ms}`: the in-memory backend's cluster.
//! - `teraslice.cluster_manager_type: mock`, and any backend a library user registers, whose
//!   settings are the section `teraslice.<its name>` ([`TerasliceConfig::backend_section`]).
//!
//! Defaults taken from the Kubernetes guide rather than Teraslice's code:
//! `kubernetes_config_map_name` = `<teraslice.name>-worker`, `kubernetes_image` = `teraslice:k8sdev`.
mod cluster_manager_type;
mod parse;
mod parse_nested;
mod parse_security;
mod parse_teraslice;
mod security;
mod system;
mod terafoundation;
mod teraslice;
#[cfg(test)]
mod tests;

pub use cluster_manager_type::{ClusterManagerType, InvalidBackendName};
pub use security::{
    image_allowed_by, parse_tokens_file, ApiRole, ApiToken, SecurityConfig,
    DEFAULT_MAX_SLICERS_PER_JOB, DEFAULT_MAX_WORKERS_PER_JOB,
};
pub use system::{ConfigError, SystemConfig};
pub use terafoundation::{LogDestination, LogLevelSetting, TerafoundationConfig};
pub use teraslice::{
    AssetStorageType, IndexRolloverFrequency, IndexSettings, IndexSettingsConfig, MockConfig,
    RolloverFrequency, SlicerPortRange, StateConfig, StateConnectionType, TerasliceConfig,
};

/// CPU count of this host (Teraslice's default for `workers`).
pub fn cpu_count() -> u32 {
    std::thread::available_parallelism()
        .ok()
        .and_then(|n| u32::try_from(n.get()).ok())
        .unwrap_or(1)
}
