//! Wiring of the Prometheus metrics (`teraslice_runtime::metrics`) into the master, execution
//! controller and worker processes: default labels, the info gauge, the port, and on the native
//! backend a Prometheus file-SD target per process (many processes share one machine there, so
//! each EC and worker listens on a free port and says which in
//! `<teraslice.data_dir>/metrics-targets/<assignment>-<pid>.json`).
mod execution_resources;
pub mod master;

use std::net::SocketAddr;
use std::path::PathBuf;

use teraslice_core::config::{ClusterManagerType, SystemConfig};
use teraslice_core::execution::TERASLICE_VERSION;
use teraslice_core::ExecutionRecord;
use teraslice_runtime::metrics::{
    self, Assignment, Labels, MetricsServer, MetricsSettings, ProcessMetrics, Refresh,
};

/// A running `/metrics` server and the file-SD target it wrote (removed on drop).
pub struct Exporter {
    server: MetricsServer,
    target: Option<PathBuf>,
}

impl Exporter {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        if let Some(path) = &self.target {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Teraslice's default labels: `name` (the cluster), `assignment`, the execution's `ex_id`,
/// `job_id`, `job_name`, `pod_name` on a worker pod (hostname `ts-wkr-…`); ours: `url` when
/// `prom_metrics_display_url` is set.
fn default_labels(
    config: &SystemConfig,
    assignment: Assignment,
    ex: Option<&ExecutionRecord>,
    display_url: &str,
) -> Labels {
    let mut labels = vec![
        ("name".to_string(), config.teraslice.name.clone()),
        ("assignment".to_string(), assignment.as_str().to_string()),
    ];
    if let Some(ex) = ex {
        labels.push(("ex_id".into(), ex.ex_id.clone()));
        labels.push(("job_id".into(), ex.job_id.clone()));
        labels.push(("job_name".into(), ex.job.name.clone()));
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let host = host.trim();
    if host.starts_with("ts-wkr-") {
        labels.push(("pod_name".into(), host.to_string()));
    }
    if !display_url.is_empty() {
        labels.push(("url".into(), display_url.to_string()));
    }
    labels
}

/// The labels of `master_info` / `execution_controller_info` / `worker_info` (`name` is a
/// default label already).
fn info_labels(config: &SystemConfig) -> Labels {
    vec![
        ("arch".into(), crate::api::arch().into()),
        (
            "clustering_type".into(),
            config.teraslice.cluster_manager_type.as_str().into(),
        ),
        ("node_version".into(), "N/A".into()),
        ("platform".into(), std::env::consts::OS.into()),
        ("teraslice_version".into(), TERASLICE_VERSION.into()),
    ]
}

/// Starts the `/metrics` server of this process when `settings` enable it; a port that cannot
/// be bound is logged and metrics stay off (as in Teraslice).
pub async fn start(
    config: &SystemConfig,
    assignment: Assignment,
    ex: Option<&ExecutionRecord>,
    refresh: impl FnOnce(&ProcessMetrics) -> Option<Refresh>,
) -> Option<Exporter> {
    let settings = match ex {
        Some(ex) => MetricsSettings::for_job(&config.terafoundation, &ex.job),
        None => MetricsSettings::from_terafoundation(&config.terafoundation),
    };
    if !settings.enabled {
        return None;
    }
    let native = config.teraslice.cluster_manager_type == ClusterManagerType::NATIVE;
    // Natively the master keeps the configured port; its children share the machine.
    let port = if native && assignment != Assignment::Master {
        0
    } else {
        settings.port
    };
    let labels = default_labels(config, assignment, ex, &settings.display_url);
    let process = metrics::install(assignment, &settings, labels.clone());
    process.set_info(info_labels(config));
    let bind = SocketAddr::from(([0, 0, 0, 0], port));
    let refresh = refresh(&process);
    let server = match metrics::serve(bind, process.clone(), refresh).await {
        Ok(server) => server,
        Err(e) => {
            tracing::error!(error = %e, %bind, "prometheus metrics not served: cannot bind");
            return None;
        }
    };
    if native && assignment == Assignment::Master {
        remove_dead_targets(&targets_dir(config));
    }
    let target = native
        .then(|| write_target(config, assignment, server.local_addr(), &labels))
        .flatten();
    Some(Exporter { server, target })
}

/// Where the native backend's processes write their Prometheus file-SD targets.
pub fn targets_dir(config: &SystemConfig) -> PathBuf {
    config.teraslice.data_dir.join("metrics-targets")
}

/// Removes the targets of processes that are gone without removing theirs (SIGKILL, or a child
/// that exited at once because its master died).
fn remove_dead_targets(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let pid = name
            .strip_suffix(".json")
            .and_then(|n| n.rsplit_once('-'))
            .and_then(|(_, pid)| pid.parse::<u32>().ok());
        if pid.is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn write_target(
    config: &SystemConfig,
    assignment: Assignment,
    addr: SocketAddr,
    labels: &Labels,
) -> Option<PathBuf> {
    let dir = targets_dir(config);
    let host = config
        .teraslice
        .hostname
        .clone()
        .unwrap_or_else(|| "127.0.0.1".into());
    let labels: serde_json::Map<String, serde_json::Value> = labels
        .iter()
        .filter(|(k, _)| k != "name")
        .map(|(k, v)| (k.clone(), v.clone().into()))
        .collect();
    let body = serde_json::json!([{
        "targets": [format!("{host}:{}", addr.port())],
        "labels": labels,
    }]);
    let path = dir.join(format!(
        "{}-{}.json",
        assignment.as_str(),
        std::process::id()
    ));
    let tmp = path.with_extension("tmp");
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&tmp, body.to_string()))
        .and_then(|()| std::fs::rename(&tmp, &path));
    match written {
        Ok(()) => Some(path),
        Err(e) => {
            tracing::warn!(error = %e, path = %path.display(), "cannot write the metrics target file");
            None
        }
    }
}
