//! The backend needs nothing beyond a namespace-scoped wildcard Role for the namespace's
//! `default` ServiceAccount, nor beyond the narrowest Role examples/k8s/role.yaml ships, which
//! refuses everything else (Secrets, RoleBindings, bare Pods).
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, ListParams, PostParams};
use kube::config::AuthInfo;
use kube::Client;
use serde_json::json;
use teraslice_core::backend::{processes_of, StopOptions};
use teraslice_core::ClusterBackend;

use super::support::*;

/// The wildcard Role the guide used to ship (everything in the namespace).
fn guide_rules() -> serde_json::Value {
    json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}])
}

/// The rules of the Role examples/k8s/role.yaml ships: the narrowest the backend works with.
fn shipped_rules() -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/k8s/role.yaml");
    let text = std::fs::read_to_string(&path).expect("examples/k8s/role.yaml");
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let value: serde_json::Value =
            serde::Deserialize::deserialize(doc).expect("role.yaml is YAML");
        if value["kind"] == "Role" {
            return value["rules"].clone();
        }
    }
    panic!("no Role in {}", path.display());
}

/// Asserts `result` is the API server's 403.
fn refused<T: std::fmt::Debug>(result: Result<T, kube::Error>, what: &str) {
    match result {
        Err(kube::Error::Api(e)) if e.code == 403 => {}
        other => panic!("{what} must be forbidden by the shipped Role, got {other:?}"),
    }
}

/// A Role of `rules` bound to `namespace`'s default ServiceAccount.
async fn grant_role(admin: &Client, namespace: &str, rules: serde_json::Value) {
    let name = format!("teraslice-all-{namespace}");
    let role: Role = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": namespace},
        "rules": rules
    }))
    .expect("role");
    Api::<Role>::namespaced(admin.clone(), namespace)
        .create(&PostParams::default(), &role)
        .await
        .expect("create role");
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": namespace},
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": namespace}],
        "roleRef": {"kind": "Role", "name": name, "apiGroup": "rbac.authorization.k8s.io"}
    }))
    .expect("rolebinding");
    Api::<RoleBinding>::namespaced(admin.clone(), namespace)
        .create(&PostParams::default(), &binding)
        .await
        .expect("create rolebinding");
}

/// A client with a TokenRequest token of `namespace`'s default ServiceAccount.
async fn service_account_client(admin: &Client, namespace: &str) -> Client {
    let accounts: Api<ServiceAccount> = Api::namespaced(admin.clone(), namespace);
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
    let token = issued.status.and_then(|s| s.token).expect("a token");
    let mut config = admin_config().await;
    config.auth_info = AuthInfo {
        token: Some(token.into()),
        ..AuthInfo::default()
    };
    teraslice_backend_k8s::install_crypto_provider();
    Client::try_from(config).expect("service account client")
}

/// A client of `namespace`'s default ServiceAccount once a Role of `rules` applies to it.
async fn bound_client(admin: &Client, namespace: &str, rules: serde_json::Value) -> Client {
    grant_role(admin, namespace, rules).await;
    let sa = service_account_client(admin, namespace).await;
    // RBAC reaches the authorizer's cache quickly but not instantly.
    eventually("the RoleBinding to take effect", || async {
        Api::<Pod>::namespaced(sa.clone(), namespace)
            .list(&ListParams::default())
            .await
            .ok()
    })
    .await;
    sa
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guide_role_is_enough_to_allocate_and_stop() {
    let admin = admin().await;
    let ns = TestNamespace::new(&admin, "k8s-rbac").await;
    require_long_running_job_pods(&admin, &ns.name).await;
    let sa = bound_client(&admin, &ns.name, guide_rules()).await;
    let b = backend(sa, &system_config(&ns.name, "rbac", "")).await;
    let mut ex = execution("rbac-job", 2);
    let addr = b
        .allocate_execution_controller(&ex)
        .await
        .expect("allocate EC with the Role");
    ex.slicer_hostname = Some(addr.hostname);
    b.allocate_workers(&ex, 2)
        .await
        .expect("allocate workers with the Role");
    eventually("1 controller and 2 workers in the state", || async {
        let state = b.cluster_state().await.ok()?;
        (processes_of(&state, &ex.ex_id).count() == 3).then_some(())
    })
    .await;
    b.add_workers(&ex, 1).await.expect("scale with the Role");
    force_stop_until_gone(&b, &admin, &ns.name, &ex.ex_id, "force stop with the Role").await;
}

/// Every call the backend makes, including adoption and a restarted master's reads, with the
/// Role examples/k8s ships; anything beyond it is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_role_is_enough_for_every_operation_and_nothing_more() {
    let admin = admin().await;
    let ns = TestNamespace::new(&admin, "k8s-narrow").await;
    let sa = bound_client(&admin, &ns.name, shipped_rules()).await;
    refused(
        Api::<Secret>::namespaced(sa.clone(), &ns.name)
            .list(&ListParams::default())
            .await,
        "list Secrets",
    );
    refused(
        Api::<ConfigMap>::namespaced(sa.clone(), &ns.name)
            .get("some-other-configmap")
            .await,
        "get a ConfigMap other than teraslice-worker",
    );
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": "escalate", "namespace": ns.name},
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": ns.name}],
        "roleRef": {"kind": "ClusterRole", "name": "admin", "apiGroup": "rbac.authorization.k8s.io"}
    }))
    .expect("rolebinding");
    refused(
        Api::<RoleBinding>::namespaced(sa.clone(), &ns.name)
            .create(&PostParams::default(), &binding)
            .await,
        "create a RoleBinding",
    );
    refused(
        Api::<Pod>::namespaced(sa.clone(), &ns.name)
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({
                    "metadata": {"name": "sneaky"},
                    "spec": {"containers": [{"name": "c", "image": "busybox"}]}
                }))
                .expect("pod"),
            )
            .await,
        "create a bare Pod",
    );
    let config = system_config(&ns.name, "narrow", "");
    let first = backend(sa.clone(), &config).await;
    let mut ex = execution("narrow-job", 2);
    first
        .allocate_execution_controller(&ex)
        .await
        .expect("allocate EC");
    let addr = first
        .allocate_execution_controller(&ex)
        .await
        .expect("adopt the EC's objects");
    ex.slicer_hostname = Some(addr.hostname);
    drop(first);
    // A new process: it reads the Job back for the workers' owner.
    let b = backend(sa, &config).await;
    b.allocate_workers(&ex, 2).await.expect("allocate workers");
    b.set_workers(&ex, 3).await.expect("set workers");
    b.remove_workers(&ex.ex_id, 1)
        .await
        .expect("remove workers");
    let timed = StopOptions {
        timeout_ms: Some(1000),
        ..Default::default()
    };
    b.stop_execution(&ex.ex_id, &timed)
        .await
        .expect("graceful stop");
    force_stop_until_gone(&b, &admin, &ns.name, &ex.ex_id, "force stop").await;
}
