//! Scaling and stopping executions whose workers are real pods.
use std::time::{Duration, Instant};

use serde_json::Value;

use super::cluster::{TeraCluster, PATIENCE};
use super::jobs::{ex_id, persistent, serial};
use super::store;

/// Workers of `ex_id` in `/cluster/state`.
fn workers_in_state(state: &Value, ex_id: &str) -> usize {
    state
        .as_object()
        .map(|nodes| {
            nodes
                .values()
                .flat_map(|n| n["active"].as_array().cloned().unwrap_or_default())
                .filter(|w| w["assignment"] == "worker" && w["ex_id"] == ex_id)
                .count()
        })
        .unwrap_or(0)
}

/// Waits until the Running worker pods, the workers in `/cluster/state` and the workers
/// connected to the EC are all `n`.
async fn wait_workers(cluster: &TeraCluster, job_id: &str, ex_id: &str, n: usize) {
    let start = Instant::now();
    loop {
        let pods = cluster.running_pods("worker").await.len();
        let state = workers_in_state(&cluster.get("/cluster/state").await, ex_id);
        let connected = cluster
            .controller(job_id)
            .await
            .map(|c| {
                (c["workers_active"].as_u64().unwrap_or(0)
                    + c["workers_available"].as_u64().unwrap_or(0)) as usize
            })
            .unwrap_or(0);
        if pods == n && state == n && connected == n {
            return;
        }
        if start.elapsed() > PATIENCE {
            panic!(
                "want {n} workers: {pods} Running pods, {state} in /cluster/state, {connected} connected to the EC\n{}",
                cluster.pod_summary().await
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Scale 2 → 5 → 1: the pods, the cluster state and the EC agree at each step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_changes_the_worker_pods_and_the_counts_agree() {
    let _one = serial().await;
    let cluster = TeraCluster::start("e2e-scale").await;
    let job_id = cluster.submit(&persistent("e2e-scale", 2, 200)).await;
    let ex = cluster.wait_status(&job_id, &["running"]).await;
    let ex_id = ex_id(&ex);
    wait_workers(&cluster, &job_id, &ex_id, 2).await;
    cluster
        .post(&format!("/jobs/{job_id}/_workers?add=3"), &Value::Null)
        .await;
    wait_workers(&cluster, &job_id, &ex_id, 5).await;
    cluster
        .post(&format!("/jobs/{job_id}/_workers?total=1"), &Value::Null)
        .await;
    wait_workers(&cluster, &job_id, &ex_id, 1).await;
    cluster
        .post(&format!("/jobs/{job_id}/_stop?force=true"), &Value::Null)
        .await;
    cluster.wait_status(&job_id, &["stopped"]).await;
    cluster.wait_objects_gone(&ex_id).await;
}

/// A graceful stop of a persistent job: the workers get SIGTERM mid-slice, finish it (no slice
/// is left `start`), and the execution is `stopped` within the shutdown timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_lets_workers_finish_their_slice() {
    let _one = serial().await;
    let cluster = TeraCluster::start("e2e-stop").await;
    let job_id = cluster.submit(&persistent("e2e-stop", 2, 3_000)).await;
    let ex = cluster.wait_status(&job_id, &["running"]).await;
    let ex_id = ex_id(&ex);
    cluster.wait_processed(&job_id, 2).await;
    let asked = Instant::now();
    cluster
        .post(&format!("/jobs/{job_id}/_stop"), &Value::Null)
        .await;
    let stopped = cluster
        .wait_status(&job_id, &["stopped", "failed", "terminated"])
        .await;
    assert_eq!(stopped["_status"], "stopped", "{stopped:#}");
    // shutdown_timeout of the example config is 30 s.
    assert!(
        asked.elapsed() < Duration::from_secs(30 + 15),
        "stop took {:?}",
        asked.elapsed()
    );
    cluster.wait_objects_gone(&ex_id).await;
    let states = store::slice_states(&cluster.name, &ex_id).await;
    // Slices still queued (`pending`) were never handed out; none may be left in flight
    // (`start`) or failed by the stop.
    let count = |state: &str| states.iter().filter(|s| s["state"] == state).count();
    assert_eq!(count("start"), 0, "slices left in flight by the stop");
    assert_eq!(count("error"), 0, "slices failed by the stop");
    assert!(count("completed") >= 2, "{} completed", count("completed"));
}

/// A force stop removes the pods at once, without waiting for slices.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_force_stop_removes_the_pods_at_once() {
    let _one = serial().await;
    let cluster = TeraCluster::start("e2e-force").await;
    let job_id = cluster.submit(&persistent("e2e-force", 2, 10_000)).await;
    let ex = cluster.wait_status(&job_id, &["running"]).await;
    let ex_id = ex_id(&ex);
    while cluster.running_pods("worker").await.len() < 2 {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let asked = Instant::now();
    cluster
        .post(&format!("/jobs/{job_id}/_stop?force=true"), &Value::Null)
        .await;
    cluster.wait_objects_gone(&ex_id).await;
    // Every slice takes 10 s and the shutdown timeout is 30 s: a stop that waited for them
    // would take longer than this.
    assert!(
        asked.elapsed() < Duration::from_secs(8),
        "force stop took {:?}",
        asked.elapsed()
    );
    let ex = cluster.wait_status(&job_id, &["stopped"]).await;
    assert_eq!(ex["_status"], "stopped");
}
