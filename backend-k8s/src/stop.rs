//! Stopping an execution (teraslice-k8s.md §2.7, Teraslice #942, #2670), each kind with one
//! `deletecollection` by the execution's labels: no lists, no per-pod deletes, and nothing to
//! read first, so an execution whose objects are gone stops like any other.
//! - Graceful, pods keeping their own grace period: the EC Job only, as Teraslice; the garbage
//!   collector removes the Service, Deployment, ReplicaSets and pods through the ownerReferences,
//!   each pod with its `terminationGracePeriodSeconds` (= `shutdown_timeout`).
//! - Graceful with another grace period (the stop's timeout): Deployment, ReplicaSets and Job,
//!   then the pods with that grace period. No controller is left to replace a terminating pod.
//! - Force: the same plus the Service, all with grace 0.
use kube::api::{DeleteParams, PropagationPolicy};
use teraslice_core::backend::{Assignment, StopOptions};
use tracing::info;

use crate::config::K8sConfig;
use crate::error::K8sError;
use crate::manifests::labels::{selector, EX_ID};
use crate::manifests::termination_grace_seconds;
use crate::objects::{delete_collection, Objects};

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

/// Whether deleting the Job alone gives every pod `grace` seconds: the pods the watch has seen
/// (`cached`: their `terminationGracePeriodSeconds`; `None` when the cache is not trustworthy)
/// and those still to come (this master's manifests) all have exactly that grace period.
pub fn job_alone_suffices(cfg: &K8sConfig, grace: u32, cached: Option<&[Option<i64>]>) -> bool {
    let grace = i64::from(grace);
    grace == termination_grace_seconds(cfg)
        && cached.is_some_and(|c| c.iter().all(|g| *g == Some(grace)))
}

/// Stops `ex_id`; `cached_grace` holds the grace periods of its pods in the watch cache.
pub async fn stop(
    objects: &Objects,
    cfg: &K8sConfig,
    ex_id: &str,
    opts: &StopOptions,
    cached_grace: Option<&[Option<i64>]>,
) -> Result<(), K8sError> {
    if ex_id.trim().is_empty() {
        return Err(K8sError::Invalid(
            "stop_execution needs an execution id, got an empty one".into(),
        ));
    }
    let grace = grace_seconds(cfg, opts);
    let dp = params(grace);
    let ec = selector(Assignment::ExecutionController, ex_id);
    let o = objects;
    if !opts.force && job_alone_suffices(cfg, grace, cached_grace) {
        let deleted = delete_collection(o, &o.jobs, "Job", &ec, &dp).await?;
        info!(
            ex_id,
            grace_seconds = grace,
            deleted,
            "stopping execution: deleted its Job, the garbage collector removes the rest"
        );
        return Ok(());
    }
    let wkr = selector(Assignment::Worker, ex_id);
    let mut deleted = 0;
    // Owners before pods, so no controller replaces a pod that is terminating (#2670).
    deleted += delete_collection(o, &o.deployments, "Deployment", &wkr, &dp).await?;
    deleted += delete_collection(o, &o.replicasets, "ReplicaSet", &wkr, &dp).await?;
    deleted += delete_collection(o, &o.jobs, "Job", &ec, &dp).await?;
    if opts.force {
        deleted += delete_collection(o, &o.services, "Service", &ec, &dp).await?;
    }
    // Where the grace period takes effect: SIGTERM now, SIGKILL after `grace` seconds (#942).
    let pods = format!("{EX_ID}={ex_id}");
    deleted += delete_collection(o, &o.pods, "Pod", &pods, &dp).await?;
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

    use super::{job_alone_suffices, stop};
    use crate::config::K8sConfig;
    use crate::error::K8sError;
    use crate::mock_api::{bodies, client, seen, status, Seen};
    use crate::objects::Objects;

    /// What a `deletecollection` answers: the deleted objects.
    fn deleted(kind: &str, names: &[&str]) -> (u16, Value) {
        let items: Vec<_> = names
            .iter()
            .map(|n| json!({"metadata": {"name": n}}))
            .collect();
        (
            200,
            json!({"kind": kind, "apiVersion": "v1", "metadata": {}, "items": items}),
        )
    }

    /// `shutdown_timeout` 5 s: pods have a 5 s grace period.
    fn config() -> K8sConfig {
        let yaml = "teraslice:\n  shutdown_timeout: 5000\n";
        let system = teraslice_core::config::SystemConfig::from_yaml_str(yaml).expect("yaml");
        K8sConfig::from_system(&system).expect("config")
    }

    /// Stops execution `ex1` of namespace `default`, whose cached pods have `cached` grace
    /// periods, against an API that gives `answers`.
    async fn stop_with(
        answers: Vec<(u16, Value)>,
        opts: &StopOptions,
        cached: &[Option<i64>],
    ) -> (Result<(), K8sError>, Seen) {
        let (c, s) = client(answers);
        let o = Objects::new(c, "default");
        let stopped = stop(&o, &config(), "ex1", opts, Some(cached)).await;
        (stopped, s)
    }

    const EC: &str = "labelSelector=app.kubernetes.io%2Fcomponent%3Dexecution_controller%2Cteraslice.terascope.io%2FexId%3Dex1";
    const WKR: &str =
        "labelSelector=app.kubernetes.io%2Fcomponent%3Dworker%2Cteraslice.terascope.io%2FexId%3Dex1";
    const EX: &str = "labelSelector=teraslice.terascope.io%2FexId%3Dex1";

    #[test]
    fn the_job_alone_suffices_only_when_every_pod_has_the_stop_grace() {
        let cfg = config();
        assert!(job_alone_suffices(&cfg, 5, Some(&[])));
        assert!(job_alone_suffices(&cfg, 5, Some(&[Some(5), Some(5)])));
        assert!(
            !job_alone_suffices(&cfg, 1, Some(&[])),
            "new pods would get 5 s"
        );
        assert!(
            !job_alone_suffices(&cfg, 5, Some(&[Some(5), Some(60)])),
            "a pod of an earlier configuration"
        );
        assert!(!job_alone_suffices(&cfg, 5, Some(&[None])));
        assert!(
            !job_alone_suffices(&cfg, 5, None),
            "the watch is not synced"
        );
    }

    #[tokio::test]
    async fn a_graceful_stop_with_the_pods_own_grace_deletes_only_the_job() {
        let cached = [Some(5), Some(5), Some(5)];
        let (stopped, s) = stop_with(
            vec![deleted("JobList", &["ts-exc-x"])],
            &StopOptions::default(),
            &cached,
        )
        .await;
        stopped.expect("stop");
        assert_eq!(
            seen(&s),
            [format!(
                "DELETE /apis/batch/v1/namespaces/default/jobs?&{EC}"
            )]
        );
        let body = &bodies(&s, "DELETE")[0];
        assert_eq!(body["propagationPolicy"], "Background", "{body}");
        assert_eq!(body["gracePeriodSeconds"], 5, "{body}");
    }

    #[tokio::test]
    async fn a_graceful_stop_with_a_timeout_deletes_owners_then_pods_with_that_grace() {
        let answers = vec![
            deleted("DeploymentList", &["ts-wkr-x"]),
            deleted("ReplicaSetList", &["ts-wkr-x-1"]),
            deleted("JobList", &["ts-exc-x"]),
            deleted("PodList", &["w1", "w2", "ec"]),
        ];
        let opts = StopOptions {
            timeout_ms: Some(2500),
            ..Default::default()
        };
        let (stopped, s) = stop_with(answers, &opts, &[Some(5)]).await;
        stopped.expect("stop");
        assert_eq!(
            seen(&s),
            [
                format!("DELETE /apis/apps/v1/namespaces/default/deployments?&{WKR}"),
                format!("DELETE /apis/apps/v1/namespaces/default/replicasets?&{WKR}"),
                format!("DELETE /apis/batch/v1/namespaces/default/jobs?&{EC}"),
                format!("DELETE /api/v1/namespaces/default/pods?&{EX}"),
            ]
        );
        for body in bodies(&s, "DELETE") {
            assert_eq!(body["gracePeriodSeconds"], 3, "2500 ms rounds up: {body}");
            assert_eq!(body["propagationPolicy"], "Background", "{body}");
        }
    }

    #[tokio::test]
    async fn a_force_stop_deletes_every_kind_at_once_owners_first() {
        let answers = vec![
            deleted("DeploymentList", &["d"]),
            deleted("ReplicaSetList", &["rs"]),
            deleted("JobList", &["j"]),
            deleted("ServiceList", &["svc"]),
            deleted("PodList", &["w1", "ec"]),
        ];
        let opts = StopOptions {
            force: true,
            ..Default::default()
        };
        let (stopped, s) = stop_with(answers, &opts, &[Some(5)]).await;
        stopped.expect("stop");
        let kinds: Vec<String> = seen(&s)
            .into_iter()
            .filter_map(|l| {
                let path = l.split('?').next()?;
                path.rsplit('/').next().map(str::to_string)
            })
            .collect();
        assert_eq!(
            kinds,
            ["deployments", "replicasets", "jobs", "services", "pods"]
        );
        for body in bodies(&s, "DELETE") {
            assert_eq!(body["gracePeriodSeconds"], 0, "{body}");
        }
    }

    #[tokio::test]
    async fn an_execution_already_gone_stops_without_error() {
        let answers = vec![
            deleted("DeploymentList", &[]),
            deleted("ReplicaSetList", &[]),
            deleted("JobList", &[]),
            deleted("ServiceList", &[]),
            deleted("PodList", &[]),
        ];
        let opts = StopOptions {
            force: true,
            ..Default::default()
        };
        let (stopped, s) = stop_with(answers, &opts, &[]).await;
        stopped.expect("nothing to delete is success");
        assert_eq!(seen(&s).len(), 5);
    }

    #[tokio::test]
    async fn a_failing_delete_names_the_kind_the_selector_and_the_namespace() {
        let (stopped, s) =
            stop_with(vec![status(403, "Forbidden")], &StopOptions::default(), &[]).await;
        let msg = stopped.expect_err("forbidden").to_string();
        assert_eq!(seen(&s).len(), 1, "a 403 is not retried");
        assert!(msg.contains("delete Job with labels"), "{msg}");
        assert!(msg.contains("exId=ex1"), "{msg}");
        assert!(msg.contains("namespace default"), "{msg}");
    }
}
