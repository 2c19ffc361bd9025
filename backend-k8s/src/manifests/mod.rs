//! The three objects of an execution (teraslice-k8s.md §1): the EC `batch/v1` Job, its Service and
//! the worker `apps/v1` Deployment, customised in Teraslice's order (§1.6).
pub mod labels;
mod overlay;
mod placement;
mod pod;
mod resources;
mod volumes;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    ContainerPort, LocalObjectReference, PodSpec, PodTemplateSpec, Service, ServicePort,
    ServiceSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use teraslice_core::backend::Assignment;
use teraslice_core::job::ExternalPort;
use teraslice_core::ExecutionRecord;

use crate::config::K8sConfig;
use crate::error::K8sError;
use crate::names::{object_name, service_name, NameInfix, EC_PORT};

pub use overlay::deep_merge;
pub use pod::{subcommand, termination_grace_seconds};
pub use resources::quantity;

/// The EC Job the Service and Deployment hang off, so deleting it removes everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub name: String,
    pub uid: String,
}

/// `<service>.<namespace>`: where workers reach the execution controller.
pub fn controller_hostname(cfg: &K8sConfig, ex: &ExecutionRecord) -> String {
    format!(
        "{}.{}",
        service_name(&ex.job.name, &ex.job_id),
        cfg.namespace
    )
}

pub fn controller_job_name(ex: &ExecutionRecord) -> String {
    object_name(NameInfix::Controller, &ex.job.name, &ex.job_id)
}

pub fn worker_deployment_name(ex: &ExecutionRecord) -> String {
    object_name(NameInfix::Workers, &ex.job.name, &ex.job_id)
}

/// Where a pod finds the execution controller: the Service's name, on [`EC_PORT`].
fn controller_address(cfg: &K8sConfig, ex: &ExecutionRecord) -> String {
    ex.slicer_hostname
        .clone()
        .unwrap_or_else(|| controller_hostname(cfg, ex))
}

fn image(cfg: &K8sConfig, ex: &ExecutionRecord) -> Result<String, K8sError> {
    ex.job
        .kubernetes_image
        .clone()
        .filter(|s| !s.is_empty())
        .or_else(|| cfg.image.clone())
        .ok_or_else(|| K8sError::Manifest {
            ex_id: ex.ex_id.clone(),
            problem:
                "no container image: set teraslice.kubernetes_image or the job's kubernetes_image"
                    .into(),
        })
}

fn owner_reference(owner: &Owner) -> OwnerReference {
    OwnerReference {
        api_version: "batch/v1".into(),
        kind: "Job".into(),
        name: owner.name.clone(),
        uid: owner.uid.clone(),
        controller: Some(false),
        block_owner_deletion: Some(false),
    }
}

fn set_external_ports(spec: &mut PodSpec, ports: Option<&[ExternalPort]>) {
    let Some(c) = spec.containers.first_mut() else {
        return;
    };
    for p in ports.unwrap_or_default() {
        let port = match p {
            ExternalPort::Port(n) => ContainerPort {
                container_port: i32::from(*n),
                ..Default::default()
            },
            ExternalPort::Named { name, port } => ContainerPort {
                name: Some(name.clone()),
                container_port: i32::from(*port),
                ..Default::default()
            },
        };
        c.ports.get_or_insert_with(Vec::new).push(port);
    }
}

/// The pod spec and template labels of `role`, after every §1.6 step in Teraslice's order.
fn pod_template(
    cfg: &K8sConfig,
    ex: &ExecutionRecord,
    role: Assignment,
    name: &str,
) -> Result<PodTemplateSpec, K8sError> {
    let host = controller_address(cfg, ex);
    let env = pod::base_env(role, &ex.ex_id, &ex.job_id, &host, EC_PORT);
    let mut spec = pod::base_pod_spec(cfg, role, name, &image(cfg, ex)?, env);
    let mut template_labels = labels::standard(cfg, ex, role);
    let job = &ex.job;
    placement::set_targets(&mut spec, &job.targets);
    resources::set_resources(&mut spec, role, cfg, job);
    volumes::set_volumes(&mut spec, &job.volumes);
    volumes::set_assets_volume(&mut spec, cfg);
    if let Some(secret) = &cfg.image_pull_secret {
        spec.image_pull_secrets
            .get_or_insert_with(Vec::new)
            .push(LocalObjectReference {
                name: secret.clone(),
            });
    }
    volumes::set_ephemeral_storage(&mut spec, job.ephemeral_storage);
    set_external_ports(&mut spec, job.external_ports.as_deref());
    let metrics_port = metrics_port(cfg, job);
    if let Some(port) = metrics_port {
        set_metrics_port(&mut spec, port);
    }
    if let Some(class) = &cfg.priority_class_name {
        // The EC always gets the class (it must not be preempted); workers only when stateful.
        if role == Assignment::ExecutionController || job.stateful {
            spec.priority_class_name = Some(class.clone());
        }
        if job.stateful {
            template_labels.insert(labels::STATEFUL.into(), "true".into());
        }
    }
    match role {
        Assignment::ExecutionController => placement::set_execution_controller_targets(
            &mut spec,
            &cfg.execution_controller_targets,
        ),
        Assignment::Worker if cfg.worker_antiaffinity => {
            placement::set_worker_antiaffinity(&mut spec, &cfg.cluster_label)
        }
        Assignment::Worker => {}
    }
    if cfg.overrides_enabled && !job.pod_spec_override.is_empty() {
        spec = overlay::merge_pod_spec(&spec, &job.pod_spec_override).map_err(|e| {
            K8sError::Manifest {
                ex_id: ex.ex_id.clone(),
                problem: format!("pod_spec_override does not give a valid pod spec: {e}"),
            }
        })?;
    }
    Ok(PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(template_labels),
            annotations: metrics_port.map(scrape_annotations),
            ..Default::default()
        }),
        spec: Some(spec),
    })
}

/// The port the pod serves `/metrics` on, when metrics are on for this execution (the job's
/// `prom_metrics_enabled` / `prom_metrics_port` over `terafoundation`'s, as in Teraslice).
fn metrics_port(cfg: &K8sConfig, job: &teraslice_core::JobConfig) -> Option<u16> {
    job.prom_metrics_enabled
        .unwrap_or(cfg.prom_metrics_enabled)
        .then(|| job.prom_metrics_port.unwrap_or(cfg.prom_metrics_port))
}

/// The container port named `metrics`, which the chart's PodMonitor scrapes (pods are selected by
/// the `app.kubernetes.io/name` / `app.kubernetes.io/instance` labels they already carry). A job
/// whose `external_ports` already name a `metrics` port keeps it.
fn set_metrics_port(spec: &mut PodSpec, port: u16) {
    let Some(c) = spec.containers.first_mut() else {
        return;
    };
    let ports = c.ports.get_or_insert_with(Vec::new);
    if ports.iter().any(|p| p.name.as_deref() == Some("metrics")) {
        return;
    }
    ports.push(ContainerPort {
        name: Some("metrics".into()),
        container_port: i32::from(port),
        protocol: Some("TCP".into()),
        ..Default::default()
    });
}

/// `prometheus.io/*` annotations, for Prometheus setups that discover pods by annotation
/// instead of a PodMonitor.
fn scrape_annotations(port: u16) -> std::collections::BTreeMap<String, String> {
    [
        ("prometheus.io/scrape", "true".to_string()),
        ("prometheus.io/port", port.to_string()),
        ("prometheus.io/path", "/metrics".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The execution controller's `batch/v1` Job (§1.3).
pub fn controller_job(cfg: &K8sConfig, ex: &ExecutionRecord) -> Result<Job, K8sError> {
    let name = controller_job_name(ex);
    let template = pod_template(cfg, ex, Assignment::ExecutionController, &name)?;
    Ok(Job {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(cfg.namespace.clone()),
            labels: Some(labels::standard(cfg, ex, Assignment::ExecutionController)),
            ..Default::default()
        },
        spec: Some(JobSpec {
            template,
            ..Default::default()
        }),
        status: None,
    })
}

/// The Service in front of the EC pod (§1.4): a stable name if the EC pod is replaced.
pub fn controller_service(cfg: &K8sConfig, ex: &ExecutionRecord, owner: &Owner) -> Service {
    Service {
        metadata: ObjectMeta {
            name: Some(service_name(&ex.job.name, &ex.job_id)),
            namespace: Some(cfg.namespace.clone()),
            labels: Some(labels::service(ex)),
            owner_references: Some(vec![owner_reference(owner)]),
            ..Default::default()
        },
        spec: Some(ServiceSpec {
            selector: Some(labels::service_selector(&ex.ex_id)),
            // Headless: the name resolves straight to the EC pod's IP through cluster DNS, so
            // workers skip the ClusterIP's EndpointSlice → kube-proxy sync (≈ 1 s per start).
            cluster_ip: Some("None".into()),
            // Workers may connect as soon as the EC listens: its readiness probe (first after
            // 3 s, then every 10 s) kept them out for ~10 s after the pod started.
            publish_not_ready_addresses: Some(true),
            ports: Some(vec![ServicePort {
                port: i32::from(EC_PORT),
                target_port: Some(IntOrString::Int(i32::from(EC_PORT))),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        status: None,
    }
}

/// The workers' `apps/v1` Deployment (§1.5) with `replicas` pods.
pub fn worker_deployment(
    cfg: &K8sConfig,
    ex: &ExecutionRecord,
    replicas: u32,
    owner: &Owner,
) -> Result<Deployment, K8sError> {
    let name = worker_deployment_name(ex);
    let template = pod_template(cfg, ex, Assignment::Worker, &name)?;
    let replicas = i32::try_from(replicas).map_err(|_| K8sError::Manifest {
        ex_id: ex.ex_id.clone(),
        problem: format!(
            "{replicas} workers is more than a Deployment can hold (at most {})",
            i32::MAX
        ),
    })?;
    Ok(Deployment {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(cfg.namespace.clone()),
            labels: Some(labels::standard(cfg, ex, Assignment::Worker)),
            owner_references: Some(vec![owner_reference(owner)]),
            ..Default::default()
        },
        spec: DeploymentSpec {
            replicas: Some(replicas),
            selector: LabelSelector {
                match_labels: Some(labels::worker_selector(&ex.ex_id)),
                match_expressions: None,
            },
            template,
            ..Default::default()
        },
        status: None,
    })
}
