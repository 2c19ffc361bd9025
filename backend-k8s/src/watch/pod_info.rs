//! What the backend reads from a watched pod, with every field optional as Kubernetes sends it.
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use teraslice_core::backend::Assignment;

use crate::manifests::labels::{COMPONENT, EX_ID, JOB_ID, RELOCATABLE};

/// The role a pod plays, from its component label; the master and others are `None`.
pub fn role(pod: &Pod) -> Option<Assignment> {
    match label(pod, COMPONENT)? {
        "execution_controller" => Some(Assignment::ExecutionController),
        "worker" => Some(Assignment::Worker),
        _ => None,
    }
}

pub fn label<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
    pod.metadata.labels.as_ref()?.get(key).map(String::as_str)
}

/// An EC pod whose slicer can move to another pod (`job.teraslice.terascope.io/relocatable`).
pub fn relocatable(pod: &Pod) -> bool {
    label(pod, RELOCATABLE) == Some("true")
}

pub fn ex_id(pod: &Pod) -> Option<&str> {
    label(pod, EX_ID)
}

pub fn job_id(pod: &Pod) -> Option<&str> {
    label(pod, JOB_ID)
}

pub fn name(pod: &Pod) -> &str {
    pod.metadata.name.as_deref().unwrap_or("<unnamed>")
}

/// The uid, or the name when a (malformed) pod has none: the key of per-pod bookkeeping.
pub fn key(pod: &Pod) -> String {
    pod.metadata
        .uid
        .clone()
        .unwrap_or_else(|| name(pod).to_string())
}

pub fn phase(pod: &Pod) -> Option<&str> {
    pod.status.as_ref()?.phase.as_deref()
}

pub fn host_ip(pod: &Pod) -> Option<&str> {
    pod.status.as_ref()?.host_ip.as_deref()
}

pub fn pod_ip(pod: &Pod) -> Option<&str> {
    pod.status.as_ref()?.pod_ip.as_deref()
}

pub fn image(pod: &Pod) -> Option<&str> {
    pod.spec.as_ref()?.containers.first()?.image.as_deref()
}

/// Init containers first: a failing init container keeps the main one from starting.
pub fn container_statuses(pod: &Pod) -> impl Iterator<Item = &ContainerStatus> {
    let status = pod.status.as_ref();
    let init = status.and_then(|s| s.init_container_statuses.as_deref());
    let main = status.and_then(|s| s.container_statuses.as_deref());
    init.unwrap_or_default()
        .iter()
        .chain(main.unwrap_or_default())
}

/// `PodScheduled=False, reason=Unschedulable`: the scheduler's message when no node fits.
pub fn unschedulable_message(pod: &Pod) -> Option<String> {
    let conditions = pod.status.as_ref()?.conditions.as_ref()?;
    let c = conditions.iter().find(|c| {
        c.type_ == "PodScheduled"
            && c.status == "False"
            && c.reason.as_deref() == Some("Unschedulable")
    })?;
    Some(
        c.message
            .clone()
            .unwrap_or_else(|| "no node fits the pod".into()),
    )
}

/// Exit code and reason of the first terminated container, or the pod's own reason.
pub fn termination(pod: &Pod) -> (Option<i32>, String) {
    let terminated = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default()
        .iter()
        .find_map(|c| c.state.as_ref()?.terminated.as_ref());
    if let Some(t) = terminated {
        let reason = t.reason.clone().unwrap_or_else(|| "Terminated".into());
        let reason = match &t.message {
            Some(m) if !m.is_empty() => format!("{reason}: {m}"),
            _ => reason,
        };
        return (Some(t.exit_code), format!("pod {}: {reason}", name(pod)));
    }
    let status = pod.status.as_ref();
    let reason = status
        .and_then(|s| s.reason.clone().or_else(|| s.message.clone()))
        .unwrap_or_else(|| format!("phase {}", phase(pod).unwrap_or("unknown")));
    (None, format!("pod {}: {reason}", name(pod)))
}
