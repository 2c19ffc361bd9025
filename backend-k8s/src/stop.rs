//! Stopping an execution (teraslice-k8s.md §2.7, Teraslice #942, #2670).
//! Graceful: delete the EC Job and worker Deployment (Background propagation) and the pods with
//! the stop timeout as grace period. Force: every kind with grace 0, owners before pods so no
//! controller re-creates a pod we just removed.
use kube::api::{DeleteParams, PropagationPolicy};
use teraslice_core::backend::{Assignment, StopOptions};
use tracing::info;

use crate::config::K8sConfig;
use crate::error::K8sError;
use crate::manifests::labels::selector;
use crate::objects::{delete_matching, Objects};

fn params(grace_seconds: u32) -> DeleteParams {
    DeleteParams {
        grace_period_seconds: Some(grace_seconds),
        propagation_policy: Some(PropagationPolicy::Background),
        ..Default::default()
    }
}

/// Seconds of grace: the stop's timeout, else `shutdown_timeout` (rounded up, so 500 ms ≠ 0).
pub fn grace_seconds(cfg: &K8sConfig, opts: &StopOptions) -> u32 {
    if opts.force {
        return 0;
    }
    let ms = opts
        .timeout_ms
        .unwrap_or(cfg.shutdown_timeout.as_millis() as u64);
    u32::try_from(ms.div_ceil(1000)).unwrap_or(u32::MAX)
}

pub async fn stop(
    objects: &Objects,
    cfg: &K8sConfig,
    ex_id: &str,
    opts: &StopOptions,
) -> Result<(), K8sError> {
    if ex_id.trim().is_empty() {
        return Err(K8sError::Invalid(
            "stop_execution needs an execution id, got an empty one".into(),
        ));
    }
    let grace = grace_seconds(cfg, opts);
    let dp = params(grace);
    let ec = selector(Assignment::ExecutionController, ex_id);
    let wkr = selector(Assignment::Worker, ex_id);
    let o = objects;
    let mut deleted = 0;
    deleted += delete_matching(o, &o.deployments, "Deployment", &wkr, &dp).await?;
    if opts.force {
        deleted += delete_matching(o, &o.replicasets, "ReplicaSet", &wkr, &dp).await?;
    }
    deleted += delete_matching(o, &o.jobs, "Job", &ec, &dp).await?;
    if opts.force {
        deleted += delete_matching(o, &o.services, "Service", &ec, &dp).await?;
    }
    // Pods last: their owners are gone, and this is where the grace period takes effect.
    deleted += delete_matching(o, &o.pods, "Pod", &wkr, &dp).await?;
    deleted += delete_matching(o, &o.pods, "Pod", &ec, &dp).await?;
    info!(
        ex_id,
        force = opts.force,
        grace_seconds = grace,
        deleted,
        "stopped execution"
    );
    Ok(())
}

#[cfg(test)]
mod api_tests {
    use serde_json::{json, Value};
    use teraslice_core::backend::StopOptions;

    use super::stop;
    use crate::config::K8sConfig;
    use crate::error::K8sError;
    use crate::mock_api::{bodies, client, seen, status, Seen};
    use crate::objects::Objects;

    fn list(kind: &str, names: &[&str]) -> (u16, Value) {
        let items: Vec<_> = names
            .iter()
            .map(|n| json!({"metadata": {"name": n}}))
            .collect();
        (
            200,
            json!({"kind": kind, "apiVersion": "v1", "metadata": {}, "items": items}),
        )
    }

    /// The answers to listing `kind` (a `…List`) with one object `name`, then deleting it.
    fn one_deleted(kind: &str, name: &str) -> [(u16, Value); 2] {
        [list(kind, &[name]), (200, json!({}))]
    }

    /// Stops execution `ex1` of namespace `default` against an API that gives `answers`.
    async fn stop_with(
        answers: Vec<(u16, Value)>,
        opts: &StopOptions,
    ) -> (Result<(), K8sError>, Seen) {
        let (c, s) = client(answers);
        let cfg = K8sConfig::from_system(&teraslice_core::config::SystemConfig::default())
            .expect("config");
        let stopped = stop(&Objects::new(c, "default"), &cfg, "ex1", opts).await;
        (stopped, s)
    }

    fn deletes(s: &Seen) -> Vec<String> {
        seen(s)
            .into_iter()
            .filter(|l| l.starts_with("DELETE"))
            .collect()
    }

    #[tokio::test]
    async fn a_graceful_stop_gives_pods_the_stop_timeout_and_lets_the_gc_cascade() {
        let answers = [
            one_deleted("DeploymentList", "ts-wkr-x"),
            one_deleted("JobList", "ts-exc-x"),
            one_deleted("PodList", "w1"),
            one_deleted("PodList", "ec"),
        ];
        let opts = StopOptions {
            timeout_ms: Some(2500),
            ..Default::default()
        };
        let (stopped, s) = stop_with(answers.concat(), &opts).await;
        stopped.expect("stop");
        assert_eq!(
            deletes(&s),
            vec![
                "DELETE /apis/apps/v1/namespaces/default/deployments/ts-wkr-x",
                "DELETE /apis/batch/v1/namespaces/default/jobs/ts-exc-x",
                "DELETE /api/v1/namespaces/default/pods/w1",
                "DELETE /api/v1/namespaces/default/pods/ec",
            ]
        );
        for body in bodies(&s, "DELETE") {
            assert_eq!(body["gracePeriodSeconds"], 3, "2500 ms rounds up: {body}");
            assert_eq!(body["propagationPolicy"], "Background", "{body}");
        }
    }

    #[tokio::test]
    async fn a_force_stop_deletes_every_kind_at_once_owners_first() {
        let answers = [
            one_deleted("DeploymentList", "d"),
            one_deleted("ReplicaSetList", "rs"),
            one_deleted("JobList", "j"),
            one_deleted("ServiceList", "svc"),
            one_deleted("PodList", "w1"),
            one_deleted("PodList", "ec"),
        ];
        let opts = StopOptions {
            force: true,
            ..Default::default()
        };
        let (stopped, s) = stop_with(answers.concat(), &opts).await;
        stopped.expect("stop");
        let kinds: Vec<String> = deletes(&s)
            .into_iter()
            .filter_map(|l| l.rsplit('/').nth(1).map(str::to_string))
            .collect();
        assert_eq!(
            kinds,
            [
                "deployments",
                "replicasets",
                "jobs",
                "services",
                "pods",
                "pods"
            ]
        );
        for body in bodies(&s, "DELETE") {
            assert_eq!(body["gracePeriodSeconds"], 0, "{body}");
        }
    }

    #[tokio::test]
    async fn an_object_already_gone_counts_as_deleted() {
        let answers = vec![
            list("DeploymentList", &[]),
            list("JobList", &["ts-exc-x"]),
            status(404, "NotFound"),
            list("PodList", &[]),
            list("PodList", &[]),
        ];
        let (stopped, s) = stop_with(answers, &StopOptions::default()).await;
        stopped.expect("a 404 on delete is success");
        assert_eq!(
            seen(&s)[2],
            "DELETE /apis/batch/v1/namespaces/default/jobs/ts-exc-x"
        );
    }
}
