//! Scaling: one JSON patch of the worker Deployment's `spec.replicas`, made conditional by a
//! `test` operation. `set` knows the Deployment's name and tests its exId label, so it needs no
//! read and never scales another execution's Deployment of the same name. `add` and `remove`
//! read the Deployment by label and test the count they read, so two concurrent changes cannot
//! both apply to the same count (the controller's status updates do not conflict with it, as
//! they did with a resourceVersion guard).
use kube::api::{ListParams, Patch, PatchParams};
use kube::ResourceExt;
use serde_json::{json, Value};
use teraslice_core::backend::{Assignment, WorkerChange};
use tracing::info;

use crate::config::FIELD_MANAGER;
use crate::error::{api_code, K8sError};
use crate::manifests::labels::{selector, EX_ID};
use crate::objects::Objects;
use crate::retry::retry;

/// Attempts when another writer changed the replica count between our read and our patch.
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

fn change(op: ScaleOp, ex_id: &str, n: u32) -> WorkerChange {
    WorkerChange {
        action: op.action().into(),
        ex_id: ex_id.to_string(),
        worker_num: n,
    }
}

/// `key` as a JSON pointer below `/metadata/labels` (RFC 6901: `~` → `~0`, `/` → `~1`).
fn label_pointer(key: &str) -> String {
    format!(
        "/metadata/labels/{}",
        key.replace('~', "~0").replace('/', "~1")
    )
}

/// Sends `ops` as a JSON patch of Deployment `name`; a failed `test` answers 422.
async fn patch(objects: &Objects, name: &str, ops: Value) -> Result<(), kube::Error> {
    let patch: json_patch::Patch = serde_json::from_value(ops).map_err(kube::Error::SerdeError)?;
    let patch = Patch::Json::<()>(patch);
    let pp = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    retry(&format!("patch Deployment {name}"), || {
        objects.deployments.patch(name, &pp, &patch)
    })
    .await
    .map(|_| ())
}

/// Sets the replicas of Deployment `name` of `ex_id` to `total` with one request.
pub async fn set(
    objects: &Objects,
    name: &str,
    ex_id: &str,
    total: u32,
) -> Result<WorkerChange, K8sError> {
    let target = new_count(ScaleOp::Set, 0, total, ex_id)?;
    let ops = json!([
        {"op": "test", "path": label_pointer(EX_ID), "value": ex_id},
        {"op": "add", "path": "/spec/replicas", "value": target},
    ]);
    match patch(objects, name, ops).await {
        Ok(()) => {
            info!(ex_id, name, target, "scaled workers");
            Ok(change(ScaleOp::Set, ex_id, total))
        }
        // Not under our name (e.g. created by Teraslice, whose names differ for dotted job
        // names): find it by label instead.
        Err(e) if api_code(&e) == Some(404) => scale(objects, ex_id, ScaleOp::Set, total).await,
        Err(e) if api_code(&e) == Some(422) => Err(refused(objects, name, ex_id, e).await),
        Err(e) => Err(objects.api_error("patch", "Deployment", name)(e)),
    }
}

/// Why a `set` was refused: usually the Deployment belongs to another execution.
async fn refused(objects: &Objects, name: &str, ex_id: &str, e: kube::Error) -> K8sError {
    let owner = match retry(&format!("get Deployment {name}"), || {
        objects.deployments.get(name)
    })
    .await
    {
        Ok(d) => d.labels().get(EX_ID).cloned().unwrap_or_default(),
        Err(_) => ex_id.to_string(),
    };
    if owner != ex_id {
        return K8sError::OwnedByOther {
            kind: "Deployment",
            name: name.to_string(),
            namespace: objects.namespace.clone(),
            owner: if owner.is_empty() {
                "<none: no exId label>".into()
            } else {
                owner
            },
            ex_id: ex_id.to_string(),
        };
    }
    objects.api_error("patch", "Deployment", name)(e)
}

/// Adds or removes `n` workers (or sets them) relative to the count read from the Deployment.
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
        let name = deployment.name_any();
        let read = deployment.spec.replicas;
        let current = i64::from(read.unwrap_or(1));
        let target = new_count(op, current, n, ex_id)?;
        let mut ops = vec![json!({"op": "add", "path": "/spec/replicas", "value": target})];
        if let Some(read) = read {
            ops.insert(
                0,
                json!({"op": "test", "path": "/spec/replicas", "value": read}),
            );
        }
        match patch(objects, &name, Value::Array(ops)).await {
            Ok(()) => {
                info!(ex_id, name, current, target, "scaled workers");
                return Ok(change(op, ex_id, n));
            }
            // The count changed since our read (a failed test), or the object did: read again.
            Err(e) if matches!(api_code(&e), Some(409 | 422)) => continue,
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
    use teraslice_core::BackendError;

    use super::{scale, set, ScaleOp};
    use crate::mock_api::{bodies, client, seen, status};
    use crate::objects::Objects;

    const PATH: &str = "/apis/apps/v1/namespaces/default/deployments";
    const WKR: &str =
        "labelSelector=app.kubernetes.io%2Fcomponent%3Dworker%2Cteraslice.terascope.io%2FexId%3Dex1";

    fn deployment(replicas: i32, ex_id: &str) -> serde_json::Value {
        json!({
            "metadata": {"name": "ts-wkr-x", "namespace": "default", "resourceVersion": "7",
                         "labels": {"teraslice.terascope.io/exId": ex_id}},
            "spec": {"replicas": replicas, "selector": {}, "template": {}}
        })
    }

    fn deployment_list(replicas: i32) -> serde_json::Value {
        json!({"kind": "DeploymentList", "apiVersion": "apps/v1", "metadata": {},
               "items": [deployment(replicas, "ex1")]})
    }

    #[tokio::test]
    async fn set_is_one_patch_that_tests_the_execution_label() {
        let (c, s) = client(vec![(200, deployment(3, "ex1"))]);
        let change = set(&Objects::new(c, "default"), "ts-wkr-x", "ex1", 3)
            .await
            .expect("set");
        assert_eq!((change.action.as_str(), change.worker_num), ("set", 3));
        assert_eq!(
            seen(&s),
            [format!("PATCH {PATH}/ts-wkr-x?&fieldManager=teraslice")]
        );
        assert_eq!(
            bodies(&s, "PATCH")[0],
            json!([
                {"op": "test", "path": "/metadata/labels/teraslice.terascope.io~1exId", "value": "ex1"},
                {"op": "add", "path": "/spec/replicas", "value": 3},
            ])
        );
    }

    #[tokio::test]
    async fn set_refuses_zero_workers_without_a_request() {
        let (c, s) = client(vec![]);
        let err = set(&Objects::new(c, "default"), "ts-wkr-x", "ex1", 0)
            .await
            .expect_err("zero");
        assert!(err.to_string().contains("at least 1 must remain"), "{err}");
        assert!(seen(&s).is_empty());
    }

    #[tokio::test]
    async fn set_without_a_deployment_of_that_name_looks_for_it_by_label() {
        let (c, s) = client(vec![
            status(404, "NotFound"),
            (200, deployment_list(2)),
            (200, deployment(4, "ex1")),
        ]);
        set(&Objects::new(c, "default"), "ts-wkr-x", "ex1", 4)
            .await
            .expect("found by label");
        assert_eq!(seen(&s)[1], format!("GET {PATH}?&{WKR}"));
        assert_eq!(bodies(&s, "PATCH")[1][1]["value"], 4);

        let empty =
            json!({"kind": "DeploymentList", "apiVersion": "apps/v1", "metadata": {}, "items": []});
        let (c, _) = client(vec![status(404, "NotFound"), (200, empty)]);
        let err = set(&Objects::new(c, "ts-dev1"), "ts-wkr-x", "ex1", 2)
            .await
            .expect_err("missing");
        let msg = err.to_string();
        assert!(
            msg.contains("worker Deployment") && msg.contains("ts-dev1"),
            "{msg}"
        );
        assert!(matches!(
            BackendError::from(err),
            BackendError::UnknownExecution(id) if id == "ex1"
        ));
    }

    #[tokio::test]
    async fn set_on_another_executions_deployment_names_its_owner() {
        let (c, s) = client(vec![status(422, "Invalid"), (200, deployment(2, "ex0"))]);
        let err = set(&Objects::new(c, "default"), "ts-wkr-x", "ex1", 2)
            .await
            .expect_err("owned by ex0");
        let msg = err.to_string();
        assert!(msg.contains("belongs to execution ex0, not ex1"), "{msg}");
        assert_eq!(seen(&s)[1], format!("GET {PATH}/ts-wkr-x"));
    }

    #[tokio::test]
    async fn busy_or_failing_answers_are_retried_and_the_scale_applies() {
        let (c, s) = client(vec![
            status(503, "ServiceUnavailable"),
            (200, deployment_list(2)),
            status(429, "TooManyRequests"),
            (200, deployment(5, "ex1")),
        ]);
        let change = scale(&Objects::new(c, "default"), "ex1", ScaleOp::Add, 3)
            .await
            .expect("scaled after retries");
        assert_eq!((change.action.as_str(), change.worker_num), ("add", 3));
        let patch = format!("PATCH {PATH}/ts-wkr-x?&fieldManager=teraslice");
        assert_eq!(
            seen(&s),
            [
                format!("GET {PATH}?&{WKR}"),
                format!("GET {PATH}?&{WKR}"),
                patch.clone(),
                patch,
            ]
        );
        // 2 + 3, only if the count is still the 2 that was read.
        assert_eq!(
            bodies(&s, "PATCH")[1],
            json!([
                {"op": "test", "path": "/spec/replicas", "value": 2},
                {"op": "add", "path": "/spec/replicas", "value": 5},
            ])
        );
    }

    #[tokio::test]
    async fn a_refused_request_is_not_retried_and_the_error_names_the_object() {
        let (c, s) = client(vec![status(403, "Forbidden")]);
        let err = scale(&Objects::new(c, "ts-dev1"), "ex1", ScaleOp::Remove, 2)
            .await
            .expect_err("forbidden");
        assert_eq!(seen(&s).len(), 1);
        let msg = err.to_string();
        assert!(msg.contains("list Deployment"), "{msg}");
        assert!(msg.contains("ts-dev1"), "{msg}");
    }

    #[tokio::test]
    async fn a_count_changed_by_another_writer_makes_the_scale_read_again() {
        let (c, s) = client(vec![
            (200, deployment_list(2)),
            status(422, "Invalid"),
            (200, deployment_list(4)),
            (200, deployment(3, "ex1")),
        ]);
        scale(&Objects::new(c, "default"), "ex1", ScaleOp::Remove, 1)
            .await
            .expect("second attempt");
        assert_eq!(seen(&s).len(), 4);
        assert_eq!(bodies(&s, "PATCH")[1][1]["value"], 3, "4 - 1");
    }
}
