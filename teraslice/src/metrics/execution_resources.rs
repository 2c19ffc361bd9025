//! The master's `execution_info` (what each running execution runs) and the worker resources of
//! each living execution (`execution_cpu_*`, `execution_memory_*`), as Teraslice's master sets
//! them; read at scrape time like the other master gauges.
use teraslice_core::cluster_state::ClusterState;
use teraslice_core::config::{ClusterManagerType, SystemConfig};
use teraslice_core::execution::TERASLICE_VERSION;
use teraslice_core::ExecutionRecord;
use teraslice_runtime::metrics::{Family, FloatGauge, Gauge, Labels, ProcessMetrics};

/// The gauges, registered once.
pub struct ResourceGauges {
    cpu_limit: Family<Labels, FloatGauge>,
    cpu_request: Family<Labels, FloatGauge>,
    memory_limit: Family<Labels, FloatGauge>,
    memory_request: Family<Labels, FloatGauge>,
    info: Family<Labels, Gauge>,
}

impl ResourceGauges {
    pub fn register(m: &ProcessMetrics) -> Self {
        ResourceGauges {
            cpu_limit: m.float_gauge_family(
                "execution_cpu_limit",
                "CPU core limit for a Teraslice worker container.",
            ),
            cpu_request: m.float_gauge_family(
                "execution_cpu_request",
                "Requested number of CPU cores for a Teraslice worker container.",
            ),
            memory_limit: m.float_gauge_family(
                "execution_memory_limit",
                "Memory limit for Teraslice a worker container.",
            ),
            memory_request: m.float_gauge_family(
                "execution_memory_request",
                "Requested amount of memory for a Teraslice worker container.",
            ),
            info: m.gauge_family("execution_info", "Information about Teraslice execution."),
        }
    }

    /// Forgets every execution (those that ended leave the gauges).
    pub fn clear(&self) {
        for family in [
            &self.cpu_limit,
            &self.cpu_request,
            &self.memory_limit,
            &self.memory_request,
        ] {
            family.clear();
        }
        self.info.clear();
    }

    /// The resources fields `ex` sets (Teraslice sets a gauge only for a field that is set and
    /// not 0; the deprecated `cpu` / `memory` have none).
    pub fn set_resources(&self, ex: &ExecutionRecord, labels: &Labels) {
        let job = &ex.job;
        for (family, value) in [
            (&self.cpu_request, job.resources_requests_cpu),
            (&self.cpu_limit, job.resources_limits_cpu),
            (&self.memory_request, job.resources_requests_memory),
            (&self.memory_limit, job.resources_limits_memory),
        ] {
            if let Some(v) = value.filter(|v| *v != 0.0) {
                family.get_or_create(labels).set(v);
            }
        }
    }

    /// `execution_info` = 1 for each execution with processes in `state` (Teraslice: each one
    /// with pods), `exs` being the living executions.
    pub fn set_info(&self, config: &SystemConfig, state: &ClusterState, exs: &[ExecutionRecord]) {
        let mut seen = std::collections::HashSet::new();
        let processes = state.values().flat_map(|node| node.active.iter());
        for p in processes.filter(|p| !p.ex_id.is_empty()) {
            if !seen.insert(p.ex_id.clone()) {
                continue;
            }
            let record = exs.iter().find(|ex| ex.ex_id == p.ex_id);
            let image = p
                .image
                .clone()
                .or_else(|| record.and_then(|ex| record_image(config, ex)));
            self.info
                .get_or_create(&info_labels(&p.ex_id, &p.job_id, image.as_deref()))
                .set(1);
        }
    }
}

/// The image a Kubernetes execution's pods run: the job's `kubernetes_image`, else the cluster's.
fn record_image(config: &SystemConfig, ex: &ExecutionRecord) -> Option<String> {
    if config.teraslice.cluster_manager_type != ClusterManagerType::KUBERNETES {
        return None;
    }
    ex.job
        .kubernetes_image
        .clone()
        .or_else(|| config.teraslice.kubernetes_image.clone())
}

/// Teraslice's labels: ex_id, job_id, image, version. Native processes run no image: `image` is
/// empty and `version` the binary's (the master's own).
fn info_labels(ex_id: &str, job_id: &str, image: Option<&str>) -> Labels {
    let (image, version) = match image {
        Some(image) => (image.to_string(), image_version(image)),
        None => (String::new(), TERASLICE_VERSION.to_string()),
    };
    vec![
        ("ex_id".into(), ex_id.into()),
        ("job_id".into(), job_id.into()),
        ("image".into(), image),
        ("version".into(), version),
    ]
}

/// The tag of `image` up to its first `_` (Teraslice's `extractVersionFromImage`); empty when
/// untagged. A registry port (`host:5000/name`) is not a tag (Teraslice takes it for one).
pub fn image_version(image: &str) -> String {
    let name = image.rsplit('/').next().unwrap_or(image);
    name.split_once(':')
        .map(|(_, tag)| tag.split('_').next().unwrap_or(tag).to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_the_tag_up_to_an_underscore() {
        assert_eq!(
            image_version("ghcr.io/terascope/teraslice:v2.6.2-nodev22.9.0"),
            "v2.6.2-nodev22.9.0"
        );
        assert_eq!(image_version("teraslice:k8sdev_extra"), "k8sdev");
        assert_eq!(image_version("localhost:5000/teraslice:v3.1.0"), "v3.1.0");
        assert_eq!(image_version("localhost:5000/teraslice"), "");
        assert_eq!(image_version("teraslice"), "");
    }

    #[test]
    fn native_processes_have_no_image_and_the_binarys_version() {
        let labels = info_labels("ex1", "job1", None);
        assert_eq!(labels[2], ("image".to_string(), String::new()));
        assert_eq!(labels[3], ("version".to_string(), TERASLICE_VERSION.into()));
        let labels = info_labels("ex1", "job1", Some("teraslice:v3.0.0"));
        assert_eq!(labels[3], ("version".to_string(), "v3.0.0".into()));
    }

    #[test]
    fn a_kubernetes_execution_runs_its_jobs_image_else_the_clusters() {
        let mut config = SystemConfig::default();
        config.teraslice.cluster_manager_type = ClusterManagerType::KUBERNETES;
        config.teraslice.kubernetes_image = Some("teraslice:cluster".into());
        let spec = serde_json::json!({
            "name": "j", "operations": [{"_op": "data_generator"}, {"_op": "noop"}]
        });
        let ctx = config.validation_context(None);
        let job = teraslice_core::job::validate_job(&spec, &ctx).expect("a valid job");
        let mut ex = ExecutionRecord::new("job1", job);
        assert_eq!(
            record_image(&config, &ex).as_deref(),
            Some("teraslice:cluster")
        );
        ex.job.kubernetes_image = Some("teraslice:mine".into());
        assert_eq!(
            record_image(&config, &ex).as_deref(),
            Some("teraslice:mine")
        );
        config.teraslice.cluster_manager_type = ClusterManagerType::NATIVE;
        assert_eq!(record_image(&config, &ex), None);
    }
}
