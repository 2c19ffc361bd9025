//! Objects that already exist: adopted when they are the same execution's, refused when another
//! execution of the same job still has them; an EC pod that disappears is reported.
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams};
use teraslice_core::backend::EventKind;
use teraslice_core::{BackendError, ClusterBackend};

use super::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_execution_of_the_same_job_is_refused_naming_the_owner() {
    let client = admin().await;
    let ns = TestNamespace::new(&client, "k8s-adopt").await;
    let b = backend(client.clone(), &system_config(&ns.name, "adopt", "")).await;
    let first = execution("same-job", 1);
    b.allocate_execution_controller(&first)
        .await
        .expect("first allocation");
    let again = b
        .allocate_execution_controller(&first)
        .await
        .expect("same execution adopts");
    assert!(
        again.hostname.starts_with("svc-ts-exc-same-job-"),
        "{again:?}"
    );

    let mut second = first.clone();
    second.ex_id = "22222222-2222-4222-8222-222222222222".into();
    let err = b
        .allocate_execution_controller(&second)
        .await
        .expect_err("the Job belongs to the first execution");
    match &err {
        BackendError::Conflict(msg) => {
            assert!(msg.contains(&first.ex_id), "names the owner: {msg}");
            assert!(
                msg.contains(&second.ex_id),
                "names the new execution: {msg}"
            );
            assert!(msg.contains("ts-exc-same-job-"), "names the object: {msg}");
        }
        other => panic!("expected a Conflict, got {other:?}"),
    }
    force_stop_until_gone(&b, &client, &ns.name, &first.ex_id, "stop").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_controller_pod_that_disappears_is_reported_as_exited() {
    let client = admin().await;
    let ns = TestNamespace::new(&client, "k8s-ecgone").await;
    require_long_running_job_pods(&client, &ns.name).await;
    let b = backend(client.clone(), &system_config(&ns.name, "ecgone", "")).await;
    let mut events = b.subscribe();
    let ex = execution("ec-gone-job", 1);
    b.allocate_execution_controller(&ex)
        .await
        .expect("allocate EC");
    let pods = Api::<Pod>::namespaced(client.clone(), &ns.name);
    let lp = ListParams::default().labels(&format!(
        "teraslice.terascope.io/exId={},app.kubernetes.io/component=execution_controller",
        ex.ex_id
    ));
    let pod = eventually("the EC pod to run", || async {
        let list = pods.list(&lp).await.ok()?;
        let p = list.items.into_iter().next()?;
        (p.status.as_ref()?.phase.as_deref() == Some("Running")).then_some(p)
    })
    .await;
    let name = pod.metadata.name.clone().expect("name");
    // As when its node dies: the pod goes away without Teraslice stopping the execution.
    pods.delete(&name, &DeleteParams::default().grace_period(0))
        .await
        .expect("delete EC pod");
    let exited = tokio::time::timeout(TIMEOUT, async {
        loop {
            match events.recv().await {
                Ok(e) if e.ex_id == ex.ex_id => {
                    if let EventKind::ControllerExited { code, reason } = e.kind {
                        return (code, reason);
                    }
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("event stream ended: {e}"),
            }
        }
    })
    .await
    .expect("a ControllerExited event");
    assert!(
        exited.1.contains(&name),
        "the reason names the pod: {exited:?}"
    );
    force_stop_until_gone(&b, &client, &ns.name, &ex.ex_id, "stop").await;
}
