//! What a real kubelet reports when pods fail, and what the execution makes of it.
use kube::api::ListParams;
use serde_json::{json, Value};

use super::cluster::TeraCluster;
use super::jobs::{
    assert_every_slice_completed_once, ex_id, generate_to_index, persistent, serial,
};

fn reason(ex: &Value) -> String {
    ex["_failureReason"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The EC pod deleted: the execution fails saying so, and its objects are removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_execution_controller_pod_fails_the_execution() {
    let _one = serial().await;
    let cluster = TeraCluster::start("e2e-ecdel").await;
    let job_id = cluster.submit(&persistent("e2e-ec-deleted", 1, 200)).await;
    let ex = cluster.wait_status(&job_id, &["running"]).await;
    let ex_id = ex_id(&ex);
    cluster.wait_processed(&job_id, 1).await;
    let ec = cluster.running_pods("execution_controller").await;
    let name = ec[0].metadata.name.clone().expect("EC pod name");
    cluster.delete_pod_now(&name, "delete the EC pod").await;
    let failed = cluster
        .wait_status(&job_id, &["failed", "terminated", "stopped", "completed"])
        .await;
    assert_eq!(failed["_status"], "failed", "{failed:#}");
    let why = reason(&failed);
    assert!(
        why.contains("execution controller") || why.contains(&name),
        "reason: {why}"
    );
    cluster.wait_objects_gone(&ex_id).await;
}

/// An image that does not exist: the kubelet's ErrImagePull / ImagePullBackOff is the reason.
/// (The image must be allowed first: by default a job may only run the configured image.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_that_does_not_exist_fails_with_the_kubelets_reason() {
    let _one = serial().await;
    let env_image = super::env::NodeEnv::get().image;
    let cluster = TeraCluster::start_with(
        "e2e-image",
        &format!("  kubernetes_allowed_images: [\"{env_image}\", \"localhost/\"]\n"),
    )
    .await;
    let mut refused = persistent("e2e-refused-image", 1, 200);
    refused["kubernetes_image"] = json!("registry.example.com/evil:1");
    let (status, body) = cluster
        .call(reqwest::Method::POST, "/jobs", Some(&refused))
        .await;
    assert_eq!(status, 400, "{body}");
    let msg = body["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("kubernetes_image") && msg.contains("registry.example.com/evil:1"),
        "{msg}"
    );
    let mut job = persistent("e2e-missing-image", 1, 200);
    job["kubernetes_image"] = json!("localhost/teraslice-rs-missing:1");
    let job_id = cluster.submit(&job).await;
    let failed = cluster
        .wait_status(&job_id, &["failed", "completed", "stopped"])
        .await;
    assert_eq!(failed["_status"], "failed", "{failed:#}");
    let why = reason(&failed);
    assert!(
        why.contains("ErrImagePull") || why.contains("ImagePullBackOff"),
        "reason: {why}"
    );
    assert!(
        why.contains("localhost/teraslice-rs-missing:1"),
        "reason names the image: {why}"
    );
    cluster.wait_objects_gone(&ex_id(&failed)).await;
}

/// A container that exits 1 (here: its config file does not exist): the execution fails with
/// the exit, not stuck waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_that_exits_1_fails_the_execution() {
    let _one = serial().await;
    let cluster = TeraCluster::start("e2e-exit").await;
    let mut job = persistent("e2e-exit-1", 1, 200);
    job["env_vars"] = json!({"TERAFOUNDATION_CONFIG": "/app/config/missing.yaml"});
    let job_id = cluster.submit(&job).await;
    let failed = cluster
        .wait_status(&job_id, &["failed", "completed", "stopped"])
        .await;
    assert_eq!(failed["_status"], "failed", "{failed:#}");
    let why = reason(&failed);
    assert!(
        why.contains("exit") || why.contains("CrashLoopBackOff") || why.contains("Error"),
        "reason: {why}"
    );
    cluster.wait_objects_gone(&ex_id(&failed)).await;
}

/// The master pod deleted mid-job: the Deployment starts a new master, which adopts the running
/// execution; it completes with every slice once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_master_adopts_the_running_execution() {
    let _one = serial().await;
    let cluster = TeraCluster::start("e2e-master").await;
    let index = format!("{}-adopt", cluster.name);
    let job = generate_to_index("e2e-adopt", 2, 12_000, 1_000, 1_000, &index);
    let job_id = cluster.submit(&job).await;
    cluster.wait_processed(&job_id, 2).await;
    let masters = cluster
        .pods()
        .list(&ListParams::default().labels("app.kubernetes.io/component=master"))
        .await
        .expect("master pods")
        .items;
    assert_eq!(masters.len(), 1, "one master pod");
    let old = masters[0].metadata.name.clone().expect("master pod name");
    cluster.delete_pod_now(&old, "delete the master pod").await;
    let done = cluster
        .wait_status(&job_id, &["completed", "failed", "terminated", "stopped"])
        .await;
    assert_eq!(done["_status"], "completed", "{done:#}");
    let ex_id = ex_id(&done);
    assert_eq!(
        assert_every_slice_completed_once(&cluster, &ex_id).await,
        12
    );
    let now = cluster.component_pods("master").await;
    assert!(
        now.iter()
            .all(|p| p.metadata.name.as_deref() != Some(old.as_str())),
        "a new master pod answered"
    );
    cluster.wait_objects_gone(&ex_id).await;
}
