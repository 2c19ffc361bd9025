//! `helm install` of charts/teraslice on the real node, a job run through the installed master,
//! and `helm uninstall` leaving nothing in the namespace, nor the chart's PriorityClass.
use std::time::{Duration, Instant};

use serde_json::json;

use super::cluster::{
    client, create_namespace, service_ip, unique, wait_http_ok, TeraCluster, PATIENCE,
};
use super::env::NodeEnv;
use super::jobs::{assert_every_slice_completed_once, ex_id, generate_to_index, serial};
use super::kubectl::kubectl;
use super::store;
use crate::helm_support::{chart_dir, helm_ok};

/// What a namespace holds before anything is installed in it.
const NAMESPACE_DEFAULTS: [&str; 2] = ["configmap/kube-root-ca.crt", "serviceaccount/default"];

/// Every namespaced kind the chart or an execution creates.
const KINDS: &str = "pods,services,configmaps,secrets,serviceaccounts,\
     deployments.apps,replicasets.apps,jobs.batch,roles.rbac.authorization.k8s.io,\
     rolebindings.rbac.authorization.k8s.io,persistentvolumeclaims,ingresses.networking.k8s.io";

/// The values a user writes: the image, the state store, small execution pods, a PriorityClass.
fn values(env: &NodeEnv) -> String {
    let (repository, tag) = env
        .image
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("TERASLICE_K8S_IMAGE {} has no tag", env.image));
    let values = json!({
        "image": {"repository": repository, "tag": tag, "pullPolicy": "IfNotPresent"},
        "priorityClass": {"create": true},
        "terafoundation": {"connectors": {"elasticsearch-next": {"default": {
            "node": [format!("http://elasticsearch.{}.svc.cluster.local:9200", store::NAMESPACE)]
        }}}},
        "master": {"teraslice": {
            "cpu": 0.25, "memory": 268435456,
            "cpu_execution_controller": 0.25, "memory_execution_controller": 268435456,
            "shutdown_timeout": 30000
        }}
    });
    // JSON is YAML.
    values.to_string()
}

fn left_in(env: &NodeEnv, namespace: &str) -> Vec<String> {
    let out = kubectl(env, &["-n", namespace, "get", KINDS, "-o", "name"], None);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .filter(|o| !NAMESPACE_DEFAULTS.contains(&o.as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_install_runs_a_job_and_uninstall_leaves_nothing() {
    let _one = serial().await;
    let env = NodeEnv::get();
    store::shared().await;
    // The release is named after the namespace, so the cluster name (the index prefix) is too.
    let name = unique("e2e-helm");
    create_namespace(&env, &name);
    let tmp = tempfile::tempdir().expect("tempdir");
    let values_file = tmp.path().join("values.yaml");
    std::fs::write(&values_file, values(&env)).expect("write values");
    let chart = chart_dir().display().to_string();
    let values_path = values_file.display().to_string();
    let installed = helm_ok(&["install", &name, &chart, "-n", &name, "-f", &values_path]);
    assert!(
        installed.contains("STATUS: deployed"),
        "helm install: {installed}"
    );

    let client = client().await;
    let fullname = format!("{name}-teraslice");
    let master_url = format!(
        "http://{}:5678",
        service_ip(&client, &name, &fullname).await
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client");
    wait_http_ok(&http, &format!("{master_url}/"), "the chart's master").await;
    // Dropping it deletes the namespace, whatever happens below.
    let cluster = TeraCluster {
        env,
        client,
        name: name.clone(),
        master_url,
        http,
    };

    let index = format!("{name}-generated");
    let job_id = cluster
        .submit(&generate_to_index("e2e-helm", 2, 4_000, 500, 100, &index))
        .await;
    let done = cluster
        .wait_status(&job_id, &["completed", "failed", "terminated"])
        .await;
    assert_eq!(done["_status"], "completed", "{done:#}");
    let ex = ex_id(&done);
    assert_eq!(assert_every_slice_completed_once(&cluster, &ex).await, 8);
    assert_eq!(store::count(&index).await, 4_000);
    cluster.wait_objects_gone(&ex).await;

    let removed = helm_ok(&["uninstall", &name, "-n", &name]);
    assert!(removed.contains("uninstalled"), "helm uninstall: {removed}");
    let start = Instant::now();
    loop {
        let left = left_in(&cluster.env, &name);
        if left.is_empty() {
            break;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "left in {name} after helm uninstall: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let classes = kubectl(
        &cluster.env,
        &["get", "priorityclasses", "-o", "name"],
        None,
    );
    let classes = String::from_utf8_lossy(&classes.stdout);
    assert!(
        !classes
            .lines()
            .any(|c| c == format!("priorityclass.scheduling.k8s.io/{fullname}")),
        "the chart's PriorityClass is left: {classes}"
    );
}

/// Kinds of the Prometheus Operator and the Gateway API, whose CRDs the plane does not have.
const CRD_KINDS: [&str; 4] = [
    "kind: PodMonitor",
    "kind: ServiceMonitor",
    "kind: PrometheusRule",
    "kind: HTTPRoute",
];

/// Every object the Teraslice-style values render (PVC, PriorityClass, Ingress, the Deployment
/// with its `tpl` extras, ...) passes the API server's validation (`--dry-run=server`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teraslice_chart_values_render_objects_the_api_server_accepts() {
    let env = NodeEnv::get();
    let chart = chart_dir().display().to_string();
    let values = crate::helm_support::tests_dir()
        .join("teraslice-values.yaml")
        .display()
        .to_string();
    let out = helm_ok(&["template", "ts", &chart, "-n", "default", "-f", &values]);
    let docs: Vec<&str> = out
        .split("\n---\n")
        .filter(|d| d.contains("kind: "))
        .filter(|d| !CRD_KINDS.iter().any(|k| d.lines().any(|l| l == *k)))
        .collect();
    assert!(docs.len() >= 10, "rendered objects: {}", docs.len());
    let applied = kubectl(
        &env,
        &["apply", "--dry-run=server", "-n", "default", "-f", "-"],
        Some(&docs.join("\n---\n")),
    );
    let applied = String::from_utf8_lossy(&applied.stdout);
    for kind in [
        "deployment.apps/ts-teraslice-master",
        "priorityclass.scheduling.k8s.io/ts-teraslice",
        "persistentvolumeclaim/ts-teraslice-assets",
        "ingress.networking.k8s.io/ts-teraslice",
    ] {
        assert!(applied.contains(kind), "{kind} not in: {applied}");
    }
}
