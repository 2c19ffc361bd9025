//! The `teraslice` section: Teraslice's keys and defaults (teraslice-master.md §6.1,
//! teraslice-k8s.md §3.1), plus our own keys for the embedded store and the mock backend.
use std::path::PathBuf;
use std::time::Duration;

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use super::{cpu_count, ClusterManagerType};
use crate::job::Target;

/// `teraslice.*`. Durations are stored in ms under Teraslice's key names; read them as
/// [`Duration`] through the accessor of the same name (e.g. [`TerasliceConfig::shutdown_timeout`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TerasliceConfig {
    /// Cluster name (an elasticsearch_name): index prefix, Kubernetes labels. Default `teracluster`.
    pub name: String,
    /// Master HTTP port. Default 5678.
    pub port: u16,
    /// This node runs the cluster master. Default false (true in [`super::SystemConfig::default`]).
    pub master: bool,
    /// Where node masters and execution controllers reach the master. Default `localhost`.
    pub master_hostname: String,
    /// This node's address; `None` means the first non-internal IPv4, found by the binary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Native: worker slots on this node. Default: the CPU count.
    pub workers: u32,
    /// `native` (default), `kubernetes` (alias `kubernetesV2`), `mock`, or the name of a backend
    /// a library user registered (its settings: [`TerasliceConfig::backend_section`]).
    pub cluster_manager_type: ClusterManagerType,
    pub state: StateConfig,
    /// Ours: directory of the SQLite state file (`state.connection_type: sqlite`). Default
    /// `./teraslice-data`.
    pub data_dir: PathBuf,
    pub index_settings: IndexSettingsConfig,
    pub index_rollover_frequency: IndexRolloverFrequency,
    #[serde(rename = "api_response_timeout")]
    pub api_response_timeout_ms: u64,
    #[serde(rename = "shutdown_timeout")]
    pub shutdown_timeout_ms: u64,
    #[serde(rename = "node_disconnect_timeout")]
    pub node_disconnect_timeout_ms: u64,
    #[serde(rename = "worker_disconnect_timeout")]
    pub worker_disconnect_timeout_ms: u64,
    #[serde(rename = "slicer_timeout")]
    pub slicer_timeout_ms: u64,
    #[serde(rename = "action_timeout")]
    pub action_timeout_ms: u64,
    #[serde(rename = "network_latency_buffer")]
    pub network_latency_buffer_ms: u64,
    /// Ours: how long the execution controller and a worker go without hearing from each other
    /// (frames, WebSocket pings/pongs) before dropping the connection; also the `worker:hello`
    /// handshake timeout. Default 120000.
    #[serde(rename = "heartbeat_timeout")]
    pub heartbeat_timeout_ms: u64,
    #[serde(rename = "node_state_interval")]
    pub node_state_interval_ms: u64,
    #[serde(rename = "analytics_rate")]
    pub analytics_rate_ms: u64,
    #[serde(rename = "kubernetes_api_poll_delay")]
    pub kubernetes_api_poll_delay_ms: u64,
    /// Execution controller placement attempts. Default 3.
    pub slicer_allocation_attempts: u32,
    /// Native: `"start:end"`; start is the assets port, slicer ports are (start, end].
    pub slicer_port_range: SlicerPortRange,
    /// Where assets are unpacked (one or more directories). Default `$CWD/assets`.
    pub assets_directory: Vec<String>,
    /// Assets loaded at boot. Default `$CWD/autoload`.
    pub autoload_directory: Option<String>,
    /// Kubernetes: the PVC mounted at `assets_directory`.
    pub assets_volume: Option<String>,
    /// Where asset zips are kept: `elasticsearch-next` (the state store; with SQLite state, the
    /// SQLite file) or `s3`.
    pub asset_storage_connection_type: AssetStorageType,
    /// Connector name for asset storage (checked for `s3`). Default `default`.
    pub asset_storage_connection: String,
    /// S3 bucket (only with `s3`); see [`TerasliceConfig::asset_bucket`] for the default.
    pub asset_storage_bucket: Option<String>,
    /// Kubernetes: env vars for every execution controller and worker container.
    pub env_vars: crate::job::EnvVars,
    /// Kubernetes: old-style worker CPU (cores) and memory (bytes); the job's values win.
    pub cpu: Option<f64>,
    pub memory: Option<f64>,
    /// Kubernetes: execution controller CPU (default 0.5) and memory (default 512000000 bytes).
    pub cpu_execution_controller: f64,
    pub memory_execution_controller: f64,
    /// Declared by Teraslice for EC and worker pods, never read by it.
    pub ephemeral_storage: bool,
    /// Kubernetes: required node affinity for the execution controller only.
    pub execution_controller_targets: Option<Vec<Target>>,
    /// Kubernetes image for execution controllers and workers. Default `teraslice:k8sdev`
    /// (the guide's default; Teraslice's code says `terascope/teraslice`).
    pub kubernetes_image: Option<String>,
    /// Default `default`.
    pub kubernetes_namespace: String,
    /// Allows a job's `pod_spec_override`. Default false.
    pub kubernetes_overrides_enabled: bool,
    pub kubernetes_priority_class_name: Option<String>,
    /// ConfigMap mounted at `/app/config` in pods. Default `<name>-worker` (the guide's default).
    pub kubernetes_config_map_name: String,
    pub kubernetes_image_pull_secret: Option<String>,
    /// Preferred anti-affinity between the workers of one execution. Default false.
    pub kubernetes_worker_antiaffinity: bool,
    /// Ours: the in-memory mock backend.
    pub mock: MockConfig,
    /// Ours: API tokens, image policy, pod ServiceAccount, file roots, per-job limits.
    #[serde(flatten)]
    pub security: super::SecurityConfig,
    /// Keys we do not know (warned about at load, except the section of the configured
    /// third-party backend), kept as given.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl TerasliceConfig {
    /// The settings of the configured third-party backend: the section `teraslice.<name>` of the
    /// config (e.g. `teraslice.command` for `cluster_manager_type: command`), as parsed from
    /// YAML; `None` when the config has none. The built-in backends have typed settings
    /// instead (`teraslice.kubernetes_*`, `teraslice.mock`, `teraslice.workers`, …).
    /// Deserialize it into the backend's own type with `serde_json::from_value`.
    pub fn backend_section(&self) -> Option<&Value> {
        self.extra.get(self.cluster_manager_type.as_str())
    }
}

macro_rules! duration_accessors {
    ($($name:ident => $field:ident),* $(,)?) => {
        impl TerasliceConfig {
            $(
                #[doc = concat!("`teraslice.", stringify!($name), "` as a [`Duration`].")]
                pub fn $name(&self) -> Duration {
                    Duration::from_millis(self.$field)
                }
            )*
        }
    };
}

duration_accessors! {
    api_response_timeout => api_response_timeout_ms,
    shutdown_timeout => shutdown_timeout_ms,
    node_disconnect_timeout => node_disconnect_timeout_ms,
    worker_disconnect_timeout => worker_disconnect_timeout_ms,
    slicer_timeout => slicer_timeout_ms,
    action_timeout => action_timeout_ms,
    network_latency_buffer => network_latency_buffer_ms,
    heartbeat_timeout => heartbeat_timeout_ms,
    node_state_interval => node_state_interval_ms,
    analytics_rate => analytics_rate_ms,
    kubernetes_api_poll_delay => kubernetes_api_poll_delay_ms,
}

impl TerasliceConfig {
    /// The S3 bucket for assets: `asset_storage_bucket`, else `ts-assets-<name>`.
    pub fn asset_bucket(&self) -> String {
        self.asset_storage_bucket
            .clone()
            .unwrap_or_else(|| format!("ts-assets-{}", self.name))
    }
}

pub(crate) fn cwd_join(dir: &str) -> String {
    std::env::current_dir()
        .map(|d| d.join(dir).display().to_string())
        .unwrap_or_else(|_| dir.to_string())
}

impl Default for TerasliceConfig {
    /// Teraslice's schema defaults (what an empty `teraslice:` section gives).
    fn default() -> Self {
        Self {
            name: "teracluster".into(),
            port: 5678,
            master: false,
            master_hostname: "localhost".into(),
            hostname: None,
            workers: cpu_count(),
            cluster_manager_type: ClusterManagerType::NATIVE,
            state: StateConfig::default(),
            data_dir: PathBuf::from("./teraslice-data"),
            index_settings: IndexSettingsConfig::default(),
            index_rollover_frequency: IndexRolloverFrequency::default(),
            api_response_timeout_ms: 300_000,
            shutdown_timeout_ms: 60_000,
            node_disconnect_timeout_ms: 300_000,
            worker_disconnect_timeout_ms: 300_000,
            slicer_timeout_ms: 180_000,
            action_timeout_ms: 120_000,
            network_latency_buffer_ms: 15_000,
            heartbeat_timeout_ms: 120_000,
            node_state_interval_ms: 5_000,
            analytics_rate_ms: 60_000,
            kubernetes_api_poll_delay_ms: 1_000,
            slicer_allocation_attempts: 3,
            slicer_port_range: SlicerPortRange {
                start: 45679,
                end: 46678,
            },
            assets_directory: vec![cwd_join("assets")],
            autoload_directory: Some(cwd_join("autoload")),
            assets_volume: None,
            asset_storage_connection_type: AssetStorageType::ElasticsearchNext,
            asset_storage_connection: "default".into(),
            asset_storage_bucket: None,
            env_vars: crate::job::EnvVars::new(),
            cpu: None,
            memory: None,
            cpu_execution_controller: 0.5,
            memory_execution_controller: 512_000_000.0,
            ephemeral_storage: false,
            execution_controller_targets: None,
            kubernetes_image: Some("teraslice:k8sdev".into()),
            kubernetes_namespace: "default".into(),
            kubernetes_overrides_enabled: false,
            kubernetes_priority_class_name: None,
            kubernetes_config_map_name: "teracluster-worker".into(),
            kubernetes_image_pull_secret: None,
            kubernetes_worker_antiaffinity: false,
            mock: MockConfig::default(),
            security: super::SecurityConfig::default(),
            extra: Map::new(),
        }
    }
}

/// `teraslice.state`: where jobs, executions, slice state and analytics are kept.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StateConfig {
    /// Connector name in `terafoundation.connectors.<connection_type>`. Default `default`.
    pub connection: String,
    /// Ours: `sqlite` (a file in `teraslice.data_dir`), `elasticsearch-next` or `elasticsearch`
    /// (Teraslice's index names, so an existing cluster's data reads back). Default `sqlite`;
    /// with `cluster_manager_type: kubernetes` the default is `elasticsearch-next` (or
    /// `elasticsearch`) when that connector type is configured, so Teraslice configs keep working.
    pub connection_type: StateConnectionType,
    /// Ours: how long slice-state, analytics and status writes are buffered and retried while
    /// the store is unreachable before the execution fails (ms). Default 5 minutes.
    pub write_retry_timeout_ms: u64,
    /// Ours: most slice-state and analytics records held in memory while the store is
    /// unreachable; more fails the execution. Default 100000.
    pub write_buffer_limit: u32,
}

impl Default for StateConfig {
    fn default() -> Self {
        Self {
            connection: "default".into(),
            connection_type: StateConnectionType::Sqlite,
            write_retry_timeout_ms: 300_000,
            write_buffer_limit: 100_000,
        }
    }
}

impl StateConfig {
    pub fn write_retry_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.write_retry_timeout_ms)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StateConnectionType {
    #[serde(rename = "sqlite")]
    Sqlite,
    #[serde(rename = "elasticsearch-next")]
    ElasticsearchNext,
    #[serde(rename = "elasticsearch")]
    Elasticsearch,
}

impl StateConnectionType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::ElasticsearchNext => "elasticsearch-next",
            Self::Elasticsearch => "elasticsearch",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AssetStorageType {
    #[serde(rename = "elasticsearch-next")]
    ElasticsearchNext,
    #[serde(rename = "s3")]
    S3,
}

/// Shards and replicas of one index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct IndexSettings {
    pub number_of_shards: u32,
    pub number_of_replicas: u32,
}

impl Default for IndexSettings {
    fn default() -> Self {
        Self {
            number_of_shards: 5,
            number_of_replicas: 1,
        }
    }
}

/// `teraslice.index_settings.{analytics,assets,jobs,execution,state}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct IndexSettingsConfig {
    pub analytics: IndexSettings,
    pub assets: IndexSettings,
    pub jobs: IndexSettings,
    pub execution: IndexSettings,
    pub state: IndexSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RolloverFrequency {
    Daily,
    #[default]
    Monthly,
    Yearly,
}

/// `teraslice.index_rollover_frequency`: date suffix of the state and analytics indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct IndexRolloverFrequency {
    pub state: RolloverFrequency,
    pub analytics: RolloverFrequency,
}

/// `teraslice.slicer_port_range`, written `"start:end"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlicerPortRange {
    pub start: u16,
    pub end: u16,
}

impl Serialize for SlicerPortRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}:{}", self.start, self.end))
    }
}

/// Ours: `teraslice.mock`, the in-memory backend's simulated cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MockConfig {
    /// Simulated nodes. Default 1.
    pub nodes: u32,
    /// Worker slots per simulated node. Default 10.
    pub slots_per_node: u32,
    /// Delay added to every backend call, in ms (or a duration string). Default 0.
    pub latency_ms: u64,
}

impl MockConfig {
    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.latency_ms)
    }
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            nodes: 1,
            slots_per_node: 10,
            latency_ms: 0,
        }
    }
}
