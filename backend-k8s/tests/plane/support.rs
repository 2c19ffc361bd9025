//! Reaching the plane, per-test namespaces, backends and executions.
#![allow(dead_code)]
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Pod, Service};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::config::KubeConfigOptions;
use kube::{Client, Config};
use serde_json::json;
use teraslice_backend_k8s::KubernetesBackend;
use teraslice_core::backend::StopOptions;
use teraslice_core::config::SystemConfig;
use teraslice_core::testing::sample_execution;
use teraslice_core::{ClusterBackend, ExecutionRecord};

pub const NO_KUBECONFIG: &str =
    "KUBECONFIG is not set: run `cargo xtask k8s up` and `eval $(cargo xtask k8s env)`";
pub const TIMEOUT: Duration = Duration::from_secs(90);
/// kwok does not run images; any name will do.
pub const IMAGE: &str = "teraslice-rs/fake:test";

pub async fn admin_config() -> Config {
    // Without the plane this must fail, never pass silently.
    if std::env::var_os("KUBECONFIG").is_none() {
        panic!("{NO_KUBECONFIG}");
    }
    Config::from_kubeconfig(&KubeConfigOptions::default())
        .await
        .unwrap_or_else(|e| panic!("reading KUBECONFIG failed ({e}); run `cargo xtask k8s up`"))
}

pub async fn admin() -> Client {
    teraslice_backend_k8s::install_crypto_provider();
    Client::try_from(admin_config().await).expect("client from KUBECONFIG")
}

pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{}-{}",
        std::process::id(),
        t % 100_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A namespace deleted when dropped (best effort; the namespace controller finishes it).
pub struct TestNamespace {
    pub client: Client,
    pub name: String,
}

impl TestNamespace {
    pub async fn new(client: &Client, prefix: &str) -> Self {
        let name = unique(prefix);
        let ns: Namespace =
            serde_json::from_value(json!({"metadata": {"name": name}})).expect("namespace");
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .expect("create namespace");
        TestNamespace {
            client: client.clone(),
            name,
        }
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        let api = Api::<Namespace>::all(self.client.clone());
        let name = self.name.clone();
        let delete = async move {
            // Best effort: the namespace controller finishes the cleanup in the background.
            let _ = api.delete(&name, &DeleteParams::default()).await;
        };
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        // A task spawned here would die with the test's runtime: wait for the request instead.
        if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
            tokio::task::block_in_place(|| handle.block_on(delete));
        } else {
            handle.spawn(delete);
        }
    }
}

/// A kubernetes system config for `namespace`, plus `extra` YAML lines under `teraslice:`.
pub fn system_config(namespace: &str, cluster: &str, extra: &str) -> SystemConfig {
    let yaml = format!(
        "terafoundation:
  connectors:
    elasticsearch-next:
      default: {{node: [\"http://elasticsearch:9200\"]}}
teraslice:
  name: {cluster}
  state: {{connection_type: elasticsearch-next}}
  cluster_manager_type: kubernetes
  kubernetes_namespace: {namespace}
  kubernetes_image: {IMAGE}
  shutdown_timeout: 5000
  cpu_execution_controller: 0.1
  memory_execution_controller: 67108864
{extra}"
    );
    SystemConfig::from_yaml_str(&yaml).unwrap_or_else(|e| panic!("config: {e}\n{yaml}"))
}

/// Creates the ConfigMap the execution pods mount (`teraslice.kubernetes_config_map_name`), as
/// an operator does before starting the master; the backend fails executions without it.
pub async fn create_worker_config_map(namespace: &str, name: &str) {
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": name},
        "data": {"teraslice.yaml": "teraslice:\n  name: plane-test\n"}
    }))
    .expect("ConfigMap");
    let api = Api::<ConfigMap>::namespaced(admin().await, namespace);
    match api.create(&PostParams::default(), &cm).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 409 => {}
        Err(e) => panic!("create ConfigMap {name} in {namespace}: {e}"),
    }
}

pub async fn backend(client: Client, config: &SystemConfig) -> Arc<KubernetesBackend> {
    let t = &config.teraslice;
    create_worker_config_map(&t.kubernetes_namespace, &t.kubernetes_config_map_name).await;
    let b = KubernetesBackend::with_client(client, config).expect("backend");
    b.initialize().await.expect("initialize (pod watch synced)");
    b
}

pub fn execution(name: &str, workers: u32) -> ExecutionRecord {
    sample_execution(name, workers)
}

/// Polls `check` until it returns Some, panicking with `what` after TIMEOUT.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if start.elapsed() > TIMEOUT {
            panic!("timed out after {TIMEOUT:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn ex_selector(ex_id: &str) -> ListParams {
    ListParams::default().labels(&format!("teraslice.terascope.io/exId={ex_id}"))
}

/// How many objects of each kind carry the execution's exId label.
pub async fn objects_of(client: &Client, ns: &str, ex_id: &str) -> BTreeMap<&'static str, usize> {
    let lp = ex_selector(ex_id);
    let mut out = BTreeMap::new();
    macro_rules! count {
        ($kind:ty, $name:literal) => {
            let n = Api::<$kind>::namespaced(client.clone(), ns)
                .list(&lp)
                .await
                .map(|l| l.items.len())
                .unwrap_or(usize::MAX);
            out.insert($name, n);
        };
    }
    count!(Job, "jobs");
    count!(Service, "services");
    count!(Deployment, "deployments");
    count!(ReplicaSet, "replicasets");
    count!(Pod, "pods");
    out
}

/// Waits until nothing of the execution is left (the garbage collector included).
pub async fn wait_all_gone(client: &Client, ns: &str, ex_id: &str) {
    eventually(
        &format!("every object of {ex_id} to be deleted"),
        || async {
            let counts = objects_of(client, ns, ex_id).await;
            counts.values().all(|n| *n == 0).then_some(())
        },
    )
    .await;
}

/// Force-stops the execution (`what` names the stop if it fails) and waits until nothing of it is
/// left, as seen through `client`.
pub async fn force_stop_until_gone(
    b: &KubernetesBackend,
    client: &Client,
    ns: &str,
    ex_id: &str,
    what: &str,
) {
    let force = StopOptions {
        force: true,
        ..Default::default()
    };
    b.stop_execution(ex_id, &force).await.expect(what);
    wait_all_gone(client, ns, ex_id).await;
}

/// Running pods of the execution: pod name → node name.
pub async fn running_pods(
    client: &Client,
    ns: &str,
    ex_id: &str,
    component: &str,
) -> BTreeMap<String, String> {
    let lp = ListParams::default().labels(&format!(
        "teraslice.terascope.io/exId={ex_id},app.kubernetes.io/component={component}"
    ));
    let pods = Api::<Pod>::namespaced(client.clone(), ns)
        .list(&lp)
        .await
        .expect("list pods");
    pods.items
        .iter()
        .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter_map(|p| {
            Some((
                p.metadata.name.clone()?,
                p.spec.as_ref()?.node_name.clone()?,
            ))
        })
        .collect()
}

/// Names of the simulated nodes with label zone=`zone`.
pub async fn nodes_in_zone(client: &Client, zone: &str) -> Vec<String> {
    let lp = ListParams::default().labels(&format!("teraslice-rs/node=kwok,zone={zone}"));
    Api::<Node>::all(client.clone())
        .list(&lp)
        .await
        .expect("list nodes")
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect()
}

/// The plane must let a Job's pod keep running, as a real execution controller does. kwok's
/// "fast" `pod-complete` stage finishes every Job pod at once; then no EC can be seen running.
pub async fn require_long_running_job_pods(client: &Client, ns: &str) {
    let name = unique("probe");
    let job: Job = serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"template": {"metadata": {"labels": {"probe": name}}, "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "c", "image": IMAGE}]
        }}}
    }))
    .expect("probe job");
    let jobs = Api::<Job>::namespaced(client.clone(), ns);
    jobs.create(&PostParams::default(), &job)
        .await
        .expect("create probe Job");
    let pods = Api::<Pod>::namespaced(client.clone(), ns);
    let lp = ListParams::default().labels(&format!("probe={name}"));
    let phase = eventually("the probe Job's pod to start", || async {
        let list = pods.list(&lp).await.ok()?;
        let phase = list.items.first()?.status.as_ref()?.phase.clone()?;
        (phase != "Pending").then_some(phase)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let later = pods.list(&lp).await.ok().and_then(|l| {
        l.items
            .first()
            .and_then(|p| p.status.as_ref()?.phase.clone())
    });
    let _ = jobs.delete(&name, &DeleteParams::background()).await;
    assert!(
        phase == "Running" && later.as_deref() == Some("Running"),
        "the test plane finished a Job's pod on its own (phase {phase}, then {later:?}): kwok's \
         `pod/fast/pod-complete` stage completes every Job pod at once, so no execution \
         controller can be seen running. Current `cargo xtask k8s up` leaves that stage out: \
         restart the plane (`cargo xtask k8s down && cargo xtask k8s up`)."
    );
}
