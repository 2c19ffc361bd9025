//! Jobs that run to the end in real pods.
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;

use super::cluster::TeraCluster;
use super::jobs::{assert_every_slice_completed_once, ex_id, generate_to_index, serial};
use super::store;

fn node_of(pod: &Pod) -> String {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.clone())
        .unwrap_or_default()
}

/// data_generator → elasticsearch_bulk, 1 EC + 3 workers on the real node: every record lands
/// in OpenSearch, every slice is recorded `completed` once, and nothing is left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_records_reach_opensearch_from_real_pods() {
    let _one = serial().await;
    let cluster = TeraCluster::start("e2e-gen").await;
    let index = format!("{}-generated", cluster.name);
    let job = generate_to_index("e2e-generate", 3, 12_000, 1_000, 300, &index);
    let job_id = cluster.submit(&job).await;
    let running = cluster
        .wait_status(&job_id, &["running", "completed"])
        .await;
    let ex_id = ex_id(&running);

    // While it runs: the EC and the three workers are pods on the real node.
    let real_node = cluster.env.real_node.clone();
    let mut workers_seen = 0;
    for _ in 0..60 {
        let ec = cluster.running_pods("execution_controller").await;
        let workers = cluster.running_pods("worker").await;
        workers_seen = workers_seen.max(workers.len());
        if ec.len() == 1 && workers.len() == 3 {
            for p in ec.iter().chain(&workers) {
                assert_eq!(
                    node_of(p),
                    real_node,
                    "pod {:?} is not on the real node",
                    p.metadata.name
                );
            }
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        workers_seen,
        3,
        "three worker pods ran: {}",
        cluster.pod_summary().await
    );

    let done = cluster
        .wait_status(&job_id, &["completed", "failed", "terminated"])
        .await;
    assert_eq!(done["_status"], "completed", "{done:#}");
    assert_eq!(store::count(&index).await, 12_000);
    assert_eq!(
        assert_every_slice_completed_once(&cluster, &ex_id).await,
        12
    );
    cluster.wait_objects_gone(&ex_id).await;
}

/// A worker pod deleted with grace 0 mid-job: the Deployment replaces it, its slice goes to
/// another worker, the job completes with every slice recorded once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_pod_killed_mid_job_loses_no_slice() {
    let _one = serial().await;
    let cluster = TeraCluster::start("e2e-kill").await;
    let index = format!("{}-kill", cluster.name);
    let (records, per_slice) = (20_000, 1_000);
    let job = generate_to_index("e2e-kill-worker", 3, records, per_slice, 1_500, &index);
    let job_id = cluster.submit(&job).await;
    // Once a few slices are done, kill a worker that is surely busy.
    cluster.wait_processed(&job_id, 3).await;
    let workers = cluster.running_pods("worker").await;
    let victim = workers
        .first()
        .and_then(|p| p.metadata.name.clone())
        .expect("a running worker pod");
    cluster
        .delete_pod_now(&victim, "delete the worker pod")
        .await;

    let done = cluster
        .wait_status(&job_id, &["completed", "failed", "terminated"])
        .await;
    assert_eq!(done["_status"], "completed", "{done:#}");
    let ex_id = ex_id(&done);
    assert_eq!(
        assert_every_slice_completed_once(&cluster, &ex_id).await,
        20
    );
    // The killed worker may have written its slice's documents before it died (the bulk
    // request has no document ids): at most one slice more than generated.
    let count = store::count(&index).await;
    assert!(
        (records..=records + per_slice).contains(&count),
        "{count} documents for {records} records"
    );
    cluster.wait_objects_gone(&ex_id).await;
}
