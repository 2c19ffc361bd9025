//! The pod template both the EC Job and the worker Deployment start from (§1.3, §1.5).
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapVolumeSource, Container, ContainerPort, EnvVar, EnvVarSource,
    HTTPGetAction, KeyToPath, ObjectFieldSelector, PodSecurityContext, PodSpec, Probe,
    SeccompProfile, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use teraslice_core::backend::Assignment;

use crate::config::K8sConfig;
use crate::names::{CONFIG_DIR, CONFIG_FILE_KEY, EC_PORT};

/// Non-root uid/gid the image's `teraslice` user has (see examples/k8s/Dockerfile).
const RUN_AS: i64 = 10001;

/// The `teraslice` subcommand that runs a role.
pub fn subcommand(role: Assignment) -> &'static str {
    match role {
        Assignment::ExecutionController => "execution-controller",
        Assignment::Worker => "worker",
    }
}

fn env(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        value_from: None,
    }
}

fn env_field(name: &str, path: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: None,
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                api_version: None,
                field_path: path.into(),
            }),
            ..Default::default()
        }),
    }
}

/// The process env the `teraslice` binary reads, before the user's `env_vars`. The execution
/// record itself is not in the env (it can exceed what one variable may hold, and the pod spec
/// is readable by anyone who may read Jobs): the process loads it from the state store by
/// `ex_id`; `slicer_hostname`/`slicer_port` say where the controller listens.
pub fn base_env(
    role: Assignment,
    ex_id: &str,
    job_id: &str,
    slicer_hostname: &str,
    slicer_port: u16,
) -> Vec<EnvVar> {
    let node_type = super::labels::component(role);
    vec![
        env("NODE_TYPE", node_type),
        env("assignment", node_type),
        env("ex_id", ex_id),
        env("job_id", job_id),
        env("slicer_hostname", slicer_hostname),
        env("slicer_port", &slicer_port.to_string()),
        env_field("POD_IP", "status.podIP"),
        env_field("node_id", "spec.nodeName"),
        env(
            "TERAFOUNDATION_CONFIG",
            &format!("{CONFIG_DIR}/{CONFIG_FILE_KEY}"),
        ),
    ]
}

/// `terminationGracePeriodSeconds` of every pod: `shutdown_timeout` rounded, as Teraslice.
pub fn termination_grace_seconds(cfg: &K8sConfig) -> i64 {
    (cfg.shutdown_timeout.as_millis() as f64 / 1000.0).round() as i64
}

/// Container 0 and the pod around it, before the §1.6 customisation steps.
pub fn base_pod_spec(
    cfg: &K8sConfig,
    role: Assignment,
    container_name: &str,
    image: &str,
    env: Vec<EnvVar>,
) -> PodSpec {
    let readiness_probe = (role == Assignment::ExecutionController).then(|| Probe {
        http_get: Some(HTTPGetAction {
            path: Some("/health".into()),
            port: IntOrString::Int(i32::from(EC_PORT)),
            ..Default::default()
        }),
        initial_delay_seconds: Some(3),
        period_seconds: Some(10),
        timeout_seconds: Some(1),
        success_threshold: Some(1),
        failure_threshold: Some(3),
        ..Default::default()
    });
    let container = Container {
        name: container_name.into(),
        image: Some(image.into()),
        // The image's entrypoint is `tini -- teraslice` (examples/k8s/Dockerfile): tini reaps
        // and forwards SIGTERM; the pod only names the subcommand.
        args: Some(vec![subcommand(role).into()]),
        ports: Some(vec![ContainerPort {
            container_port: i32::from(EC_PORT),
            ..Default::default()
        }]),
        readiness_probe,
        volume_mounts: Some(vec![VolumeMount {
            mount_path: CONFIG_DIR.into(),
            name: "config".into(),
            ..Default::default()
        }]),
        env: Some(env),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                add: None,
            }),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            run_as_user: Some(RUN_AS),
            ..Default::default()
        }),
        ..Default::default()
    };
    PodSpec {
        containers: vec![container],
        restart_policy: (role == Assignment::ExecutionController).then(|| "Never".into()),
        // Controllers and workers never call the Kubernetes API: no token in the pod, under the
        // account `teraslice.kubernetes_execution_service_account` names (else `default`).
        service_account_name: cfg.execution_service_account.clone(),
        automount_service_account_token: Some(false),
        termination_grace_period_seconds: Some(termination_grace_seconds(cfg)),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(RUN_AS),
            run_as_group: Some(RUN_AS),
            fs_group: Some(RUN_AS),
            fs_group_change_policy: Some("OnRootMismatch".into()),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".into(),
                localhost_profile: None,
            }),
            ..Default::default()
        }),
        volumes: Some(vec![Volume {
            name: "config".into(),
            config_map: Some(ConfigMapVolumeSource {
                name: cfg.config_map_name.clone(),
                items: Some(vec![KeyToPath {
                    key: CONFIG_FILE_KEY.into(),
                    path: CONFIG_FILE_KEY.into(),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        }]),
        ..Default::default()
    }
}
