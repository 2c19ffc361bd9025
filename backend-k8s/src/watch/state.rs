//! Watched pods → Teraslice cluster state: one node per host IP, Running pods as `active`
//! (teraslice-k8s.md §2.3). Slot counts do not apply on Kubernetes: `"N/A"`.
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use teraslice_core::backend::{ClusterState, NodeState, ProcessInfo, WorkerId};

use super::pod_info as info;

pub fn cluster_state(pods: &[Arc<Pod>]) -> ClusterState {
    let mut state = ClusterState::new();
    for pod in pods {
        // An unscheduled pod has no host yet; Teraslice files it under "undefined", we skip it.
        let Some(host) = info::host_ip(pod) else {
            continue;
        };
        let node = state
            .entry(host.to_string())
            .or_insert_with(|| NodeState::connected(host, None, None));
        if info::phase(pod) != Some("Running") {
            continue;
        }
        // The master (component `master`) shows its node but is not an execution's process.
        let (Some(role), Some(ex_id)) = (info::role(pod), info::ex_id(pod)) else {
            continue;
        };
        node.active.push(ProcessInfo {
            worker_id: WorkerId::Name(info::name(pod).to_string()),
            assignment: role,
            ex_id: ex_id.to_string(),
            job_id: info::job_id(pod).unwrap_or_default().to_string(),
            pid: None,
            pod_name: Some(info::name(pod).to_string()),
            pod_ip: info::pod_ip(pod).map(str::to_string),
            image: info::image(pod).map(str::to_string),
            assets: Vec::new(),
        });
    }
    for node in state.values_mut() {
        // The reflector's order is a hash order: sort so the state reads the same every call.
        node.active.sort_by(|a, b| a.worker_id.cmp(&b.worker_id));
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use teraslice_core::backend::Assignment;

    fn pod(name: &str, component: &str, host: Option<&str>, phase: &str) -> Arc<Pod> {
        let mut status = json!({"phase": phase, "podIP": "172.17.0.5"});
        if let Some(h) = host {
            status["hostIP"] = json!(h);
        }
        Arc::new(
            serde_json::from_value(json!({
                "metadata": {"name": name, "labels": {
                    "app.kubernetes.io/component": component,
                    "teraslice.terascope.io/exId": "123456",
                    "teraslice.terascope.io/jobId": "654321"
                }},
                "spec": {"containers": [{"name": "c", "image": "teraslice:0.0.0"}]},
                "status": status
            }))
            .expect("pod"),
        )
    }

    #[test]
    fn running_pods_are_grouped_by_host_with_their_execution() {
        let pods = vec![
            pod("master", "master", Some("192.168.99.100"), "Running"),
            pod(
                "ec",
                "execution_controller",
                Some("192.168.99.100"),
                "Running",
            ),
            pod("w1", "worker", Some("192.168.99.100"), "Running"),
            pod("w2", "worker", Some("192.168.99.101"), "Pending"),
            pod("w3", "worker", None, "Pending"),
        ];
        let state = cluster_state(&pods);
        assert_eq!(state.len(), 2, "two hosts, the unscheduled pod has none");
        let node = &state["192.168.99.100"];
        assert_eq!((node.total, node.available), (None, None));
        assert_eq!(node.active.len(), 2, "master is not an execution process");
        assert_eq!(node.active[0].assignment, Assignment::ExecutionController);
        assert_eq!(node.active[0].ex_id, "123456");
        assert_eq!(node.active[0].job_id, "654321");
        assert_eq!(node.active[0].pod_ip.as_deref(), Some("172.17.0.5"));
        assert_eq!(node.active[0].image.as_deref(), Some("teraslice:0.0.0"));
        assert!(
            state["192.168.99.101"].active.is_empty(),
            "pending pods are not active"
        );
    }
}
