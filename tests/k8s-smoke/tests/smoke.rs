//! The test control plane is a real one: the scheduler places pods on kwok nodes, the controllers
//! reconcile Deployments, the garbage collector removes dependents and RBAC confines a namespace's
//! ServiceAccount. Needs `cargo xtask k8s up` (`cargo xtask test` does it).
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, Namespace, Node, Pod, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::config::{AuthInfo, KubeConfigOptions};
use kube::{Client, Config};
use serde_json::json;

const NO_KUBECONFIG: &str =
    "KUBECONFIG is not set: run `cargo xtask k8s up` and export the variables of `cargo xtask k8s env`";
const TIMEOUT: Duration = Duration::from_secs(90);

async fn admin_config() -> Config {
    // Without the plane this must fail, never pass silently.
    if std::env::var_os("KUBECONFIG").is_none() {
        panic!("{NO_KUBECONFIG}");
    }
    Config::from_kubeconfig(&KubeConfigOptions::default())
        .await
        .unwrap_or_else(|e| panic!("reading KUBECONFIG failed ({e}); run `cargo xtask k8s up`"))
}

async fn admin() -> Client {
    install_crypto_provider();
    Client::try_from(admin_config().await).expect("client from KUBECONFIG")
}

/// A namespace name unique to this test run.
fn unique(prefix: &str) -> String {
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

async fn create_namespace(client: &Client, prefix: &str) -> String {
    let name = unique(prefix);
    let ns: Namespace =
        serde_json::from_value(json!({"metadata": {"name": name}})).expect("namespace");
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .expect("create namespace");
    name
}

async fn delete_namespace(client: &Client, name: &str) {
    // Best effort: the namespace controller finishes the cleanup in the background.
    let _ = Api::<Namespace>::all(client.clone())
        .delete(name, &DeleteParams::default())
        .await;
}

/// Polls `check` until it returns Some, panicking with `what` after TIMEOUT.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
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
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn deployment(name: &str, replicas: i32, affinity: Option<serde_json::Value>) -> Deployment {
    let mut pod_spec = json!({
        "containers": [{
            "name": "worker",
            "image": "teraslice-rs/fake:test",
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}
        }]
    });
    if let Some(affinity) = affinity {
        pod_spec["affinity"] = affinity;
    }
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec}
        }
    }))
    .expect("deployment")
}

fn is_running(pod: &Pod) -> bool {
    let status = pod.status.as_ref();
    status.and_then(|s| s.phase.as_deref()) == Some("Running")
        && status
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Waits for `n` Running pods labelled app=`app`; returns pod name -> node name.
async fn running_pods(pods: &Api<Pod>, app: &str, n: usize) -> BTreeMap<String, String> {
    let lp = ListParams::default().labels(&format!("app={app}"));
    eventually(&format!("{n} running pods of {app}"), || async {
        let list = pods.list(&lp).await.ok()?;
        let placed: BTreeMap<String, String> = list
            .items
            .iter()
            .filter(|p| is_running(p) && p.metadata.deletion_timestamp.is_none())
            .filter_map(|p| {
                Some((
                    p.metadata.name.clone()?,
                    p.spec.as_ref()?.node_name.clone()?,
                ))
            })
            .collect();
        (placed.len() == n && list.items.len() == n).then_some(placed)
    })
    .await
}

/// Names of the simulated nodes with label zone=`zone`.
async fn nodes_in_zone(client: &Client, zone: &str) -> BTreeSet<String> {
    let lp = ListParams::default().labels(&format!("teraslice-rs/node=kwok,zone={zone}"));
    let nodes = Api::<Node>::all(client.clone())
        .list(&lp)
        .await
        .expect("list nodes");
    nodes
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect()
}

#[tokio::test]
async fn deployment_pods_are_scheduled_onto_simulated_nodes_and_run() {
    let client = admin().await;
    let ns = create_namespace(&client, "smoke-deploy").await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    deployments
        .create(&PostParams::default(), &deployment("web", 3, None))
        .await
        .expect("create deployment");

    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let placed = running_pods(&pods, "web", 3).await;
    let mut all_nodes = nodes_in_zone(&client, "west").await;
    all_nodes.extend(nodes_in_zone(&client, "east").await);
    for (pod, node) in &placed {
        assert!(
            all_nodes.contains(node),
            "pod {pod} on {node}, not a simulated node ({all_nodes:?})"
        );
    }
    // kwok never binds pods: the placement must come from kube-scheduler.
    let events: Api<Event> = Api::namespaced(client.clone(), &ns);
    eventually(
        "a Scheduled event from default-scheduler for each pod",
        || async {
            let list = events
                .list(&ListParams::default().fields("reason=Scheduled"))
                .await
                .ok()?;
            let scheduled: BTreeSet<String> = list
                .items
                .into_iter()
                .filter(|e| {
                    e.reporting_component.as_deref() == Some("default-scheduler")
                        || e.source.as_ref().and_then(|s| s.component.as_deref())
                            == Some("default-scheduler")
                })
                .filter_map(|e| e.involved_object.name)
                .collect();
            placed
                .keys()
                .all(|pod| scheduled.contains(pod))
                .then_some(())
        },
    )
    .await;
    let ready = eventually("deployment status readyReplicas=3", || async {
        let d = deployments.get("web").await.ok()?;
        (d.status?.ready_replicas? == 3).then_some(())
    });
    ready.await;
    delete_namespace(&client, &ns).await;
}

#[tokio::test]
async fn required_node_affinity_for_west_lands_only_on_west_nodes() {
    let client = admin().await;
    let ns = create_namespace(&client, "smoke-affinity").await;
    let affinity = json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "zone", "operator": "In", "values": ["west"]}]}]
    }}});
    // More replicas than west nodes: without the affinity some would surely land east.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    deployments
        .create(
            &PostParams::default(),
            &deployment("west-only", 6, Some(affinity)),
        )
        .await
        .expect("create");

    let placed = running_pods(&Api::namespaced(client.clone(), &ns), "west-only", 6).await;
    let west = nodes_in_zone(&client, "west").await;
    assert!(
        west.len() >= 2,
        "expected at least two west nodes, got {west:?}"
    );
    for (pod, node) in &placed {
        assert!(
            west.contains(node),
            "pod {pod} landed on {node}, not a west node ({west:?})"
        );
    }
    delete_namespace(&client, &ns).await;
}

#[tokio::test]
async fn deleting_an_owner_removes_its_dependents_through_the_garbage_collector() {
    let client = admin().await;
    let ns = create_namespace(&client, "smoke-gc").await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    deployments
        .create(&PostParams::default(), &deployment("owned", 2, None))
        .await
        .expect("create");
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    running_pods(&pods, "owned", 2).await;
    let replicasets: Api<ReplicaSet> = Api::namespaced(client.clone(), &ns);
    let rs = replicasets
        .list(&ListParams::default())
        .await
        .expect("list replicasets");
    assert_eq!(
        rs.items.len(),
        1,
        "the deployment controller made one ReplicaSet"
    );

    // Background propagation: the API deletes the owner at once, the garbage collector the rest.
    deployments
        .delete("owned", &DeleteParams::background())
        .await
        .expect("delete deployment");
    eventually(
        "the garbage collector to delete the ReplicaSet and its pods",
        || async {
            let rs = replicasets.list(&ListParams::default()).await.ok()?;
            let pods = pods.list(&ListParams::default()).await.ok()?;
            (rs.items.is_empty() && pods.items.is_empty()).then_some(())
        },
    )
    .await;
    delete_namespace(&client, &ns).await;
}

/// The Role and RoleBinding of the Teraslice Kubernetes guide, for `namespace`'s default ServiceAccount.
async fn grant_guide_role(client: &Client, namespace: &str) {
    let name = format!("teraslice-all-{namespace}");
    let role: Role = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": namespace},
        "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
    }))
    .expect("role");
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": namespace},
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": namespace}],
        "roleRef": {"kind": "Role", "name": name, "apiGroup": "rbac.authorization.k8s.io"}
    }))
    .expect("rolebinding");
    Api::<Role>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &role)
        .await
        .expect("role");
    Api::<RoleBinding>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &binding)
        .await
        .expect("rolebinding");
}

/// A client authenticating with a TokenRequest token of `namespace`'s default ServiceAccount.
async fn service_account_client(admin: &Client, namespace: &str) -> Client {
    let accounts: Api<ServiceAccount> = Api::namespaced(admin.clone(), namespace);
    // The service-account controller creates `default` shortly after the namespace.
    eventually("the default ServiceAccount", || async {
        accounts.get_opt("default").await.ok().flatten()
    })
    .await;
    let request: TokenRequest =
        serde_json::from_value(json!({"spec": {"audiences": [], "expirationSeconds": 3600}}))
            .expect("token request");
    let issued: TokenRequest = accounts
        .create_subresource("token", "default", &PostParams::default(), &request)
        .await
        .expect("token");
    let token = issued
        .status
        .and_then(|s| s.token)
        .expect("the TokenRequest returned a token");
    let mut config = admin_config().await;
    config.auth_info = AuthInfo {
        token: Some(token.into()),
        ..AuthInfo::default()
    };
    install_crypto_provider();
    Client::try_from(config).expect("service account client")
}

fn is_forbidden(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(status) if status.code == 403)
}

fn pod(name: &str) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "teraslice-rs/fake:test"}]}
    }))
    .expect("pod")
}

#[tokio::test]
async fn namespace_role_lets_the_service_account_create_workloads_only_in_its_namespace() {
    let client = admin().await;
    let own = create_namespace(&client, "smoke-rbac-own").await;
    let other = create_namespace(&client, "smoke-rbac-other").await;
    grant_guide_role(&client, &own).await;
    let sa = service_account_client(&client, &own).await;

    let pp = PostParams::default();
    // RBAC changes reach the authorizer's cache quickly but not instantly: retry the first call briefly.
    eventually("the RoleBinding to take effect", || async {
        Api::<Pod>::namespaced(sa.clone(), &own)
            .list(&ListParams::default())
            .await
            .ok()
    })
    .await;
    let job: Job = serde_json::from_value(json!({
        "metadata": {"name": "job"},
        "spec": {"template": {"spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "c", "image": "teraslice-rs/fake:test"}]
        }}}
    }))
    .expect("job");
    Api::<Job>::namespaced(sa.clone(), &own)
        .create(&pp, &job)
        .await
        .expect("SA creates a Job in its namespace");
    Api::<Deployment>::namespaced(sa.clone(), &own)
        .create(&pp, &deployment("dep", 1, None))
        .await
        .expect("SA creates a Deployment in its namespace");
    let service: Service = serde_json::from_value(json!({
        "metadata": {"name": "svc"},
        "spec": {"selector": {"app": "dep"}, "ports": [{"port": 5678}]}
    }))
    .expect("service");
    Api::<Service>::namespaced(sa.clone(), &own)
        .create(&pp, &service)
        .await
        .expect("SA creates a Service");
    Api::<Pod>::namespaced(sa.clone(), &own)
        .create(&pp, &pod("pod"))
        .await
        .expect("SA creates a Pod");

    let refused = Api::<Pod>::namespaced(sa.clone(), &other)
        .create(&pp, &pod("pod"))
        .await;
    assert!(
        matches!(&refused, Err(e) if is_forbidden(e)),
        "SA creating a Pod in another namespace: {refused:?}"
    );
    let refused = Api::<Job>::namespaced(sa.clone(), &other)
        .create(&pp, &job)
        .await;
    assert!(
        matches!(&refused, Err(e) if is_forbidden(e)),
        "SA creating a Job in another namespace: {refused:?}"
    );
    let refused = Api::<Namespace>::all(sa.clone())
        .list(&ListParams::default())
        .await;
    assert!(
        matches!(&refused, Err(e) if is_forbidden(e)),
        "SA listing namespaces: {refused:?}"
    );

    delete_namespace(&client, &own).await;
    delete_namespace(&client, &other).await;
}

/// ring as rustls's provider: the workspace also links aws-lc (object_store), and with both
/// features on rustls cannot pick one by itself.
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
