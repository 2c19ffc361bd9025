//! What the backend reads from the system config (teraslice-k8s.md §3.1), resolved once.
use std::time::Duration;

use teraslice_core::config::SystemConfig;
use teraslice_core::duration::parse_duration_ms;
use teraslice_core::job::Target;

use crate::error::K8sError;
use crate::names::cluster_name_label;

/// Our key: how long a pod may stay unschedulable before the execution fails.
pub const UNSCHEDULABLE_TIMEOUT_KEY: &str = "kubernetes_unschedulable_timeout";
/// Default of [`UNSCHEDULABLE_TIMEOUT_KEY`]; long enough for a cluster autoscaler to add a node.
pub const DEFAULT_UNSCHEDULABLE_TIMEOUT: Duration = Duration::from_secs(180);
/// The field manager of every create and patch.
pub const FIELD_MANAGER: &str = "teraslice";

/// The backend's view of `teraslice.*`.
#[derive(Debug, Clone, PartialEq)]
pub struct K8sConfig {
    pub namespace: String,
    /// `app.kubernetes.io/instance` and the pod watch selector.
    pub cluster_label: String,
    pub image: Option<String>,
    pub image_pull_secret: Option<String>,
    /// The ServiceAccount of EC and worker pods (`None`: the namespace's `default`).
    pub execution_service_account: Option<String>,
    pub config_map_name: String,
    /// The single assets directory to mount; `None` when zero or several are configured.
    pub assets_directory: Option<String>,
    pub assets_volume: Option<String>,
    pub overrides_enabled: bool,
    pub priority_class_name: Option<String>,
    pub worker_antiaffinity: bool,
    pub env_vars: teraslice_core::job::EnvVars,
    pub cpu: Option<f64>,
    pub memory: Option<f64>,
    pub cpu_execution_controller: f64,
    pub memory_execution_controller: f64,
    pub execution_controller_targets: Vec<Target>,
    /// `terminationGracePeriodSeconds` and the default graceful-stop timeout.
    pub shutdown_timeout: Duration,
    pub unschedulable_timeout: Duration,
    /// `terafoundation.prom_metrics_enabled` / `prom_metrics_port`: the pods' `metrics` port
    /// (a job's `prom_metrics_enabled` / `prom_metrics_port` override them).
    pub prom_metrics_enabled: bool,
    pub prom_metrics_port: u16,
}

impl K8sConfig {
    pub fn from_system(config: &SystemConfig) -> Result<Self, K8sError> {
        let t = &config.teraslice;
        let unschedulable_timeout = match t.extra.get(UNSCHEDULABLE_TIMEOUT_KEY) {
            None => DEFAULT_UNSCHEDULABLE_TIMEOUT,
            Some(v) => parse_duration_ms(v)
                .map(Duration::from_millis)
                .map_err(|e| K8sError::Config {
                    key: format!("teraslice.{UNSCHEDULABLE_TIMEOUT_KEY}"),
                    problem: format!("{e}; use milliseconds or a duration such as \"3 minutes\""),
                })?,
        };
        let assets_directory = match t.assets_directory.as_slice() {
            [one] if !one.is_empty() => Some(one.clone()),
            _ => None,
        };
        Ok(K8sConfig {
            namespace: t.kubernetes_namespace.clone(),
            cluster_label: cluster_name_label(&t.name),
            image: t.kubernetes_image.clone().filter(|s| !s.is_empty()),
            image_pull_secret: t
                .kubernetes_image_pull_secret
                .clone()
                .filter(|s| !s.is_empty()),
            execution_service_account: t
                .security
                .kubernetes_execution_service_account
                .clone()
                .filter(|s| !s.is_empty()),
            config_map_name: t.kubernetes_config_map_name.clone(),
            assets_directory,
            assets_volume: t.assets_volume.clone().filter(|s| !s.is_empty()),
            overrides_enabled: t.kubernetes_overrides_enabled,
            priority_class_name: t
                .kubernetes_priority_class_name
                .clone()
                .filter(|s| !s.is_empty()),
            worker_antiaffinity: t.kubernetes_worker_antiaffinity,
            env_vars: t.env_vars.clone(),
            cpu: t.cpu,
            memory: t.memory,
            cpu_execution_controller: t.cpu_execution_controller,
            memory_execution_controller: t.memory_execution_controller,
            execution_controller_targets: t
                .execution_controller_targets
                .clone()
                .unwrap_or_default(),
            shutdown_timeout: t.shutdown_timeout(),
            unschedulable_timeout,
            prom_metrics_enabled: config.terafoundation.prom_metrics_enabled,
            prom_metrics_port: config.terafoundation.prom_metrics_port,
        })
    }

    /// Label selector of every pod of this cluster (the watch and cluster state).
    pub fn pod_selector(&self) -> String {
        format!(
            "app.kubernetes.io/name=teraslice,app.kubernetes.io/instance={}",
            self.cluster_label
        )
    }
}
