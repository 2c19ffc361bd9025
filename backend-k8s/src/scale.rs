//! Scaling: a merge patch of the worker Deployment's `spec.replicas`, guarded by its
//! resourceVersion so two concurrent changes cannot both apply to the same count.
use kube::api::{ListParams, Patch, PatchParams};
use serde_json::json;
use teraslice_core::backend::{Assignment, WorkerChange};
use tracing::info;

use crate::config::FIELD_MANAGER;
use crate::error::{api_code, K8sError};
use crate::manifests::labels::selector;
use crate::objects::Objects;
use crate::retry::retry;

/// Attempts when another writer changed the Deployment between our read and our patch.
const CONFLICT_ATTEMPTS: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaleOp {
    Add,
    Remove,
    Set,
}

impl ScaleOp {
    fn action(self) -> &'static str {
        match self {
            ScaleOp::Add => "add",
            ScaleOp::Remove => "remove",
            ScaleOp::Set => "set",
        }
    }
}

/// The new replica count; an execution keeps at least one worker (stop it instead).
pub fn new_count(op: ScaleOp, current: i64, n: u32, ex_id: &str) -> Result<i64, K8sError> {
    let n = i64::from(n);
    let target = match op {
        ScaleOp::Add => current + n,
        ScaleOp::Remove => current - n,
        ScaleOp::Set => n,
    };
    if target < 1 {
        return Err(K8sError::Invalid(format!(
            "cannot {} {n} worker(s) of execution {ex_id}: it has {current} and would have {target}; at least 1 must remain (stop the execution instead)",
            op.action()
        )));
    }
    if target > i64::from(i32::MAX) {
        return Err(K8sError::Invalid(format!(
            "execution {ex_id} cannot have {target} workers: a Deployment holds at most {}",
            i32::MAX
        )));
    }
    Ok(target)
}

pub async fn scale(
    objects: &Objects,
    ex_id: &str,
    op: ScaleOp,
    n: u32,
) -> Result<WorkerChange, K8sError> {
    let sel = selector(Assignment::Worker, ex_id);
    let lp = ListParams::default().labels(&sel);
    for _ in 0..CONFLICT_ATTEMPTS {
        let list = retry("list Deployments", || objects.deployments.list(&lp))
            .await
            .map_err(objects.api_error("list", "Deployment", &format!("with labels {sel}")))?;
        let deployment = match list.items.as_slice() {
            [one] => one,
            [] => {
                return Err(K8sError::Missing {
                    ex_id: ex_id.to_string(),
                    what: format!("worker Deployment (labels {sel})"),
                    namespace: objects.namespace.clone(),
                })
            }
            many => {
                return Err(K8sError::Invalid(format!(
                    "execution {ex_id} has {} worker Deployments (labels {sel}) in namespace {}, expected 1",
                    many.len(),
                    objects.namespace
                )))
            }
        };
        let name = deployment.metadata.name.clone().unwrap_or_default();
        let current = i64::from(deployment.spec.replicas.unwrap_or(1));
        let target = new_count(op, current, n, ex_id)?;
        let patch = Patch::Merge(json!({
            "metadata": {"resourceVersion": deployment.metadata.resource_version},
            "spec": {"replicas": target}
        }));
        let pp = PatchParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..Default::default()
        };
        let patched = retry(&format!("patch Deployment {name}"), || {
            objects.deployments.patch(&name, &pp, &patch)
        })
        .await;
        match patched {
            Ok(_) => {
                info!(ex_id, name, current, target, "scaled workers");
                return Ok(WorkerChange {
                    action: op.action().into(),
                    ex_id: ex_id.to_string(),
                    worker_num: n,
                });
            }
            // Someone else changed it since our read: read again and recompute.
            Err(e) if api_code(&e) == Some(409) => continue,
            Err(e) => return Err(objects.api_error("patch", "Deployment", &name)(e)),
        }
    }
    Err(K8sError::Invalid(format!(
        "the worker Deployment of execution {ex_id} kept changing while it was being scaled; try again"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_the_operation_and_keep_one_worker() {
        assert_eq!(new_count(ScaleOp::Add, 2, 3, "ex").ok(), Some(5));
        assert_eq!(new_count(ScaleOp::Remove, 5, 4, "ex").ok(), Some(1));
        assert_eq!(new_count(ScaleOp::Set, 5, 2, "ex").ok(), Some(2));
        let err = new_count(ScaleOp::Remove, 2, 2, "ex1").expect_err("zero workers");
        assert!(err.to_string().contains("at least 1 must remain"), "{err}");
        assert!(new_count(ScaleOp::Set, 3, 0, "ex").is_err());
    }
}

#[cfg(test)]
mod api_tests {
    use serde_json::json;

    use super::{scale, ScaleOp};
    use crate::mock_api::{bodies, client, seen, status};
    use crate::objects::Objects;

    fn deployment_list(replicas: i32) -> serde_json::Value {
        json!({"kind": "DeploymentList", "apiVersion": "apps/v1", "metadata": {}, "items": [{
            "metadata": {"name": "ts-wkr-x", "namespace": "default", "resourceVersion": "7"},
            "spec": {"replicas": replicas, "selector": {}, "template": {}}
        }]})
    }

    #[tokio::test]
    async fn busy_or_failing_answers_are_retried_and_the_scale_applies() {
        let (c, s) = client(vec![
            status(503, "ServiceUnavailable"),
            (200, deployment_list(2)),
            status(429, "TooManyRequests"),
            (
                200,
                json!({"metadata": {"name": "ts-wkr-x"}, "spec": {"replicas": 5, "selector": {}, "template": {}}}),
            ),
        ]);
        let change = scale(&Objects::new(c, "default"), "ex1", ScaleOp::Add, 3)
            .await
            .expect("scaled after retries");
        assert_eq!((change.action.as_str(), change.worker_num), ("add", 3));
        let path = "/apis/apps/v1/namespaces/default/deployments";
        assert_eq!(
            seen(&s),
            vec![
                format!("GET {path}"),
                format!("GET {path}"),
                format!("PATCH {path}/ts-wkr-x"),
                format!("PATCH {path}/ts-wkr-x"),
            ]
        );
        // 2 + 3, guarded by the version that was read.
        let patch = &bodies(&s, "PATCH")[1];
        assert_eq!(patch["spec"]["replicas"], 5);
        assert_eq!(patch["metadata"]["resourceVersion"], "7");
    }

    #[tokio::test]
    async fn a_refused_request_is_not_retried_and_the_error_names_the_object() {
        let (c, s) = client(vec![status(403, "Forbidden")]);
        let err = scale(&Objects::new(c, "ts-dev1"), "ex1", ScaleOp::Set, 2)
            .await
            .expect_err("forbidden");
        assert_eq!(seen(&s).len(), 1);
        let msg = err.to_string();
        assert!(msg.contains("list Deployment"), "{msg}");
        assert!(msg.contains("ts-dev1"), "{msg}");
    }

    #[tokio::test]
    async fn a_conflicting_writer_makes_the_scale_read_again() {
        let (c, s) = client(vec![
            (200, deployment_list(2)),
            status(409, "Conflict"),
            (200, deployment_list(4)),
            (
                200,
                json!({"metadata": {"name": "ts-wkr-x"}, "spec": {"selector": {}, "template": {}}}),
            ),
        ]);
        scale(&Objects::new(c, "default"), "ex1", ScaleOp::Remove, 1)
            .await
            .expect("second attempt");
        assert_eq!(seen(&s).len(), 4);
    }
}
