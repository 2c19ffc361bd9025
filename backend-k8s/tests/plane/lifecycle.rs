//! Allocation, placement, scaling, stopping and cluster state, checked through the API server.
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::{Api, ListParams};
use kube::client::ClientBuilder;
use teraslice_core::backend::{processes_of, Assignment, StopOptions};
use teraslice_core::job::Target;
use teraslice_core::ClusterBackend;

use super::support::*;

async fn allocate(b: &dyn ClusterBackend, ex: &mut teraslice_core::ExecutionRecord, workers: u32) {
    let addr = b
        .allocate_execution_controller(ex)
        .await
        .expect("allocate EC");
    ex.slicer_hostname = Some(addr.hostname);
    ex.slicer_port = Some(addr.port);
    b.allocate_workers(ex, workers)
        .await
        .expect("allocate workers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocation_creates_owned_objects_and_pods_land_only_on_target_nodes_with_room() {
    let client = admin().await;
    let ns = TestNamespace::new(&client, "k8s-place").await;
    require_long_running_job_pods(&client, &ns.name).await;
    let b = backend(client.clone(), &system_config(&ns.name, "place", "")).await;
    let mut ex = execution("placed-job", 4);
    ex.job.targets = vec![Target {
        key: "zone".into(),
        value: "west".into(),
        constraint: None,
    }];
    // 3 CPUs each on 8-CPU nodes: at most two workers fit on one node.
    ex.job.cpu = Some(3.0);
    ex.job.memory = Some(1_073_741_824.0);
    allocate(b.as_ref(), &mut ex, 4).await;
    assert_eq!(
        ex.slicer_hostname.as_deref(),
        Some(format!("svc-ts-exc-placed-job-{}.{}", &ex.job_id[..13], ns.name).as_str())
    );

    let job = Api::<Job>::namespaced(client.clone(), &ns.name)
        .get(&format!("ts-exc-placed-job-{}", &ex.job_id[..13]))
        .await
        .expect("the EC Job exists");
    let job_uid = job.metadata.uid.clone().expect("uid");
    let labels = job.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels.get("teraslice.terascope.io/exId"), Some(&ex.ex_id));
    assert_eq!(
        labels.get("app.kubernetes.io/instance").map(String::as_str),
        Some("place")
    );
    let svc = Api::<Service>::namespaced(client.clone(), &ns.name)
        .get(&format!("svc-ts-exc-placed-job-{}", &ex.job_id[..13]))
        .await
        .expect("the EC Service exists");
    let dep = Api::<Deployment>::namespaced(client.clone(), &ns.name)
        .get(&format!("ts-wkr-placed-job-{}", &ex.job_id[..13]))
        .await
        .expect("the worker Deployment exists");
    for owners in [
        &svc.metadata.owner_references,
        &dep.metadata.owner_references,
    ] {
        let owner = owners
            .as_ref()
            .and_then(|o| o.first())
            .expect("owner reference");
        assert_eq!(
            (owner.kind.as_str(), owner.uid.as_str()),
            ("Job", job_uid.as_str())
        );
    }
    assert_eq!(dep.spec.replicas, Some(4));

    let west = nodes_in_zone(&client, "west").await;
    let workers = eventually("4 running workers", || async {
        let w = running_pods(&client, &ns.name, &ex.ex_id, "worker").await;
        (w.len() == 4).then_some(w)
    })
    .await;
    let ec = eventually("the running EC", || async {
        let e = running_pods(&client, &ns.name, &ex.ex_id, "execution_controller").await;
        (e.len() == 1).then_some(e)
    })
    .await;
    let mut per_node: BTreeMap<&String, usize> = BTreeMap::new();
    for node in workers.values().chain(ec.values()) {
        assert!(
            west.contains(node),
            "a pod landed on {node}, not a zone=west node {west:?}"
        );
    }
    for node in workers.values() {
        *per_node.entry(node).or_default() += 1;
    }
    assert!(
        per_node.values().all(|n| *n <= 2),
        "the scheduler put more 3-CPU workers on an 8-CPU node than fit: {per_node:?}"
    );

    force_stop_until_gone(&b, &client, &ns.name, &ex.ex_id, "force stop").await;
}

async fn running_workers(client: &kube::Client, ns: &str, ex_id: &str) -> usize {
    running_pods(client, ns, ex_id, "worker").await.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scaling_2_5_1_changes_the_pod_count_and_a_graceful_stop_leaves_nothing() {
    let client = admin().await;
    let ns = TestNamespace::new(&client, "k8s-scale").await;
    let b = backend(client.clone(), &system_config(&ns.name, "scale", "")).await;
    let mut ex = execution("scaled-job", 2);
    allocate(b.as_ref(), &mut ex, 2).await;
    for (total, op) in [(2, None), (5, Some(5)), (1, Some(1))] {
        if let Some(n) = op {
            let change = b.set_workers(&ex, n).await.expect("set workers");
            assert_eq!((change.action.as_str(), change.worker_num), ("set", n));
        }
        let c = client.clone();
        let (nsn, id) = (ns.name.clone(), ex.ex_id.clone());
        eventually(&format!("{total} running workers"), || {
            let (c, nsn, id) = (c.clone(), nsn.clone(), id.clone());
            async move {
                let pods = Api::<Pod>::namespaced(c.clone(), &nsn)
                    .list(&ListParams::default().labels(&format!(
                        "teraslice.terascope.io/exId={id},app.kubernetes.io/component=worker"
                    )))
                    .await
                    .ok()?;
                (pods.items.len() == total && running_workers(&c, &nsn, &id).await == total)
                    .then_some(())
            }
        })
        .await;
    }
    let opts = StopOptions {
        timeout_ms: Some(1000),
        force: false,
        exclude_node: None,
    };
    b.stop_execution(&ex.ex_id, &opts)
        .await
        .expect("graceful stop");
    wait_all_gone(&client, &ns.name, &ex.ex_id).await;
    b.stop_execution(&ex.ex_id, &opts)
        .await
        .expect("stopping again succeeds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_state_reflects_pods_by_node_without_api_calls() {
    let config = admin_config().await;
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    let counting =
        tower::util::MapRequestLayer::new(move |req: http::Request<kube::client::Body>| {
            counter.fetch_add(1, Ordering::SeqCst);
            req
        });
    let counted = ClientBuilder::try_from(config)
        .expect("client builder")
        .with_layer(&counting)
        .build();
    let admin = admin().await;
    let ns = TestNamespace::new(&admin, "k8s-state").await;
    require_long_running_job_pods(&admin, &ns.name).await;
    let b = backend(counted, &system_config(&ns.name, "state", "")).await;
    let mut ex = execution("state-job", 2);
    allocate(b.as_ref(), &mut ex, 2).await;
    eventually("the state to show 1 controller and 2 workers", || async {
        let state = b.cluster_state().await.ok()?;
        (processes_of(&state, &ex.ex_id).count() == 3).then_some(())
    })
    .await;

    let before = requests.load(Ordering::SeqCst);
    let mut state = b.cluster_state().await.expect("state");
    for _ in 0..50 {
        state = b.cluster_state().await.expect("state");
    }
    assert_eq!(
        requests.load(Ordering::SeqCst),
        before,
        "cluster_state made API requests"
    );

    // Every process is filed under its pod's host IP, as the API server reports it.
    let pods = Api::<Pod>::namespaced(admin.clone(), &ns.name)
        .list(&ListParams::default().labels(&format!("teraslice.terascope.io/exId={}", ex.ex_id)))
        .await
        .expect("pods");
    for pod in &pods.items {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let host = pod
            .status
            .as_ref()
            .and_then(|s| s.host_ip.clone())
            .expect("hostIP");
        let node = state
            .get(&host)
            .unwrap_or_else(|| panic!("no node {host} in {state:?}"));
        assert_eq!(node.total, None, "slots are N/A on Kubernetes");
        let p = node
            .active
            .iter()
            .find(|p| p.worker_id.to_string() == name)
            .expect("pod in state");
        assert_eq!(p.ex_id, ex.ex_id);
        assert_eq!(p.job_id, ex.job_id);
        assert_eq!(p.image.as_deref(), Some(IMAGE));
        assert_eq!(p.pod_ip, pod.status.as_ref().and_then(|s| s.pod_ip.clone()));
    }
    let ecs = processes_of(&state, &ex.ex_id)
        .filter(|p| p.assignment == Assignment::ExecutionController)
        .count();
    assert_eq!(ecs, 1);
    force_stop_until_gone(&b, &admin, &ns.name, &ex.ex_id, "force stop").await;
}
