//! The exact API requests of execution lifecycles, counted as `cargo xtask bench --only k8s`
//! counts them (the shared pod watch left out): a regression test for request counts, not timing.
use std::sync::{Arc, Mutex};

use kube::client::ClientBuilder;
use kube::Client;
use teraslice_core::backend::{EventKind, StopOptions};
use teraslice_core::{ClusterBackend, ExecutionRecord};

use super::support::*;

/// `METHOD path` of every request but the pod watch's (its watches and lists of pods).
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

async fn counted_client(log: &Log) -> Client {
    let log = log.clone();
    let layer = tower::util::MapRequestLayer::new(move |req: http::Request<kube::client::Body>| {
        let query = req.uri().query().unwrap_or("");
        let path = req.uri().path();
        let watch = query.split('&').any(|kv| kv == "watch=true")
            || (req.method() == http::Method::GET && path.ends_with("/pods"));
        if !watch {
            let line = format!("{} {path}", req.method());
            log.0.lock().unwrap_or_else(|p| p.into_inner()).push(line);
        }
        req
    });
    ClientBuilder::try_from(admin_config().await)
        .expect("client builder")
        .with_layer(&layer)
        .build()
}

struct Paths {
    jobs: String,
    services: String,
    deployments: String,
    replicasets: String,
    pods: String,
}

fn paths(ns: &str) -> Paths {
    Paths {
        jobs: format!("/apis/batch/v1/namespaces/{ns}/jobs"),
        services: format!("/api/v1/namespaces/{ns}/services"),
        deployments: format!("/apis/apps/v1/namespaces/{ns}/deployments"),
        replicasets: format!("/apis/apps/v1/namespaces/{ns}/replicasets"),
        pods: format!("/api/v1/namespaces/{ns}/pods"),
    }
}

async fn until_running(client: &Client, ns: &str, ex: &ExecutionRecord, workers: usize) {
    eventually(
        &format!("1 controller and {workers} workers running"),
        || async {
            let w = running_pods(client, ns, &ex.ex_id, "worker").await.len();
            let ec = running_pods(client, ns, &ex.ex_id, "execution_controller")
                .await
                .len();
            (w == workers && ec == 1).then_some(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocate_scale_and_stop_with_a_timeout_cost_eight_requests_and_one_config_map_check() {
    let admin = admin().await;
    let ns = TestNamespace::new(&admin, "k8s-reqs").await;
    let log = Log::default();
    let b = backend(
        counted_client(&log).await,
        &system_config(&ns.name, "reqs", ""),
    )
    .await;
    log.take();
    let mut ex = execution("reqs-job", 2);
    let addr = b.allocate_execution_controller(&ex).await.expect("EC");
    ex.slicer_hostname = Some(addr.hostname);
    b.allocate_workers(&ex, 2).await.expect("workers");
    until_running(&admin, &ns.name, &ex, 2).await;
    b.set_workers(&ex, 3).await.expect("scale to 3");
    until_running(&admin, &ns.name, &ex, 3).await;
    let opts = StopOptions {
        timeout_ms: Some(1000),
        ..Default::default()
    };
    b.stop_execution(&ex.ex_id, &opts).await.expect("stop");
    let p = paths(&ns.name);
    let deployment = format!("{}/ts-wkr-reqs-job-{}", p.deployments, &ex.job_id[..13]);
    assert_eq!(
        log.take(),
        [
            // A fresh master checks the pods' ConfigMap once (then not again for 30 s).
            format!("GET /api/v1/namespaces/{}/configmaps/reqs-worker", ns.name),
            format!("POST {}", p.jobs),
            format!("POST {}", p.services),
            format!("POST {}", p.deployments),
            format!("PATCH {deployment}"),
            format!("DELETE {}", p.deployments),
            format!("DELETE {}", p.replicasets),
            format!("DELETE {}", p.jobs),
            format!("DELETE {}", p.pods),
        ]
    );
    wait_all_gone(&admin, &ns.name, &ex.ex_id).await;
    b.stop_execution(&ex.ex_id, &opts)
        .await
        .expect("stopping what is gone succeeds");
}

/// After a master restart the new process reads the EC Job back once; a stop with the pods' own
/// grace period deletes only the Job and the garbage collector removes everything else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_after_a_restart_read_the_job_once_and_a_default_stop_deletes_only_the_job() {
    let admin = admin().await;
    let ns = TestNamespace::new(&admin, "k8s-reqs2").await;
    require_long_running_job_pods(&admin, &ns.name).await;
    let config = system_config(&ns.name, "reqs2", "");
    let first = backend(admin.clone(), &config).await;
    let mut ex = execution("reqs-restart", 2);
    let addr = first.allocate_execution_controller(&ex).await.expect("EC");
    ex.slicer_hostname = Some(addr.hostname);
    first.shutdown().await.expect("shutdown");
    drop(first);

    let log = Log::default();
    let b = backend(counted_client(&log).await, &config).await;
    let mut events = b.subscribe();
    log.take();
    b.allocate_workers(&ex, 2).await.expect("workers");
    until_running(&admin, &ns.name, &ex, 2).await;
    eventually("the watch cache to hold the 3 pods", || async {
        let state = b.cluster_state().await.ok()?;
        (teraslice_core::backend::processes_of(&state, &ex.ex_id).count() == 3).then_some(())
    })
    .await;
    b.stop_execution(&ex.ex_id, &StopOptions::default())
        .await
        .expect("stop");
    let p = paths(&ns.name);
    let job = format!("{}/ts-exc-reqs-restart-{}", p.jobs, &ex.job_id[..13]);
    assert_eq!(
        log.take(),
        [
            format!("GET {job}"),
            format!("POST {}", p.deployments),
            format!("DELETE {}", p.jobs),
        ]
    );
    wait_all_gone(&admin, &ns.name, &ex.ex_id).await;
    tokio::time::timeout(TIMEOUT, async {
        loop {
            match events.recv().await {
                Ok(e) if e.ex_id == ex.ex_id && e.kind == EventKind::Stopped => return,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("event stream ended: {e}"),
            }
        }
    })
    .await
    .expect("Stopped once the last pod is gone");
}
